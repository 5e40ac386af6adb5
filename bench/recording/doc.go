// Package recording measures what server recording costs (issue 16): the
// CPU and memory of recording a meeting's tracks (copy only) and of
// composing one 720p file with ffmpeg, per minute of meeting. The
// measurement is a test, recording_test.go, so that it can use the SFU's
// test participants (internal/sfu/sfutest); make bench runs it through
// bench/runner, and by hand:
//
//	HUDDLE_BENCH_RECORDING=bench/out/recording.md go test -count=1 -v -run TestRecordingCost ./bench/recording
//
// Without HUDDLE_BENCH_RECORDING the test is skipped (make test).
package recording
