//go:build race

package sfu_test

// raceDetector: the tests run under the race detector, several times
// slower; timing measurements (netem_test.go) mean nothing there.
const raceDetector = true
