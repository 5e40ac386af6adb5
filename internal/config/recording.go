package config

import (
	"time"

	"github.com/huddlehq/huddle/internal/recording"
)

// RecordingConfig is server recording (internal/recording), as flags.
type RecordingConfig struct {
	// Enabled lets hosts record meetings on the server.
	Enabled bool
	// Dir holds one folder per recording.
	Dir string
	// MaxDuration stops a recording that runs this long.
	MaxDuration time.Duration
	// MinFreeDiskMB is the free disk space floor, in MiB (negative: none).
	MinFreeDiskMB int
	// FFmpeg composes the playable file ("-": none).
	FFmpeg string
}

func registerRecording(fs *flagSet, c *RecordingConfig) {
	fs.Bool(&c.Enabled, "recording", true, "let hosts record meetings on the server (the meeting moves to the SFU while recorded)")
	fs.String(&c.Dir, "recordings-dir", "recordings", "folder of the server recordings, one unguessable folder per recording")
	fs.Duration(&c.MaxDuration, "recording-max-duration", 4*time.Hour, "longest server recording; it stops by itself then")
	fs.Int(&c.MinFreeDiskMB, "recording-min-free-disk", 1024, "free disk space in MiB under which recordings do not start and running ones stop (negative: no check)")
	fs.String(&c.FFmpeg, "recording-ffmpeg", "ffmpeg", "ffmpeg program composing the playable file of a recording (\"-\": no composition)")
}

func (c RecordingConfig) validate() error {
	if c.MaxDuration <= 0 {
		return invalid("--recording-max-duration: want a positive duration")
	}
	if c.Enabled && c.Dir == "" {
		return invalid("--recordings-dir: want a folder")
	}
	return nil
}

// Recording returns the recording package's configuration.
func (c RecordingConfig) Recording() recording.Config {
	floor := int64(c.MinFreeDiskMB) << 20
	if c.MinFreeDiskMB == 0 {
		floor = -1 // 0 MiB: no floor (the package's zero means its default)
	}
	return recording.Config{Dir: c.Dir, MaxDuration: c.MaxDuration, MinFreeDisk: floor, FFmpeg: c.FFmpeg}
}
