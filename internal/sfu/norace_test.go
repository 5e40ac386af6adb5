//go:build !race

package sfu_test

// raceDetector: see race_test.go.
const raceDetector = false
