//go:build race

package abuse

// raceEnabled builds the server under test with the race detector too, so a
// data race provoked by the storm fails the test.
const raceEnabled = true
