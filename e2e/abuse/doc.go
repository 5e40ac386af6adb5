// Package abuse holds whole-server resilience tests: the real huddle binary,
// started as a subprocess, is fed a catalogue of malformed and hostile input
// while a separate meeting goes on, and must refuse each kind properly, keep
// the meeting whole and come back to its resting goroutine count and memory.
//
// The tests build ./cmd/huddle into a temporary directory, so they always
// test the source tree as it is and never a stale bin/huddle. With
// HUDDLE_ABUSE_RACE_SERVER=1 the server is built with -race too (then the
// memory check only logs: the race detector's shadow memory stays).
package abuse
