package config

import "github.com/huddlehq/huddle/internal/live"

// LiveConfig is live streaming to RTMP(S) servers (internal/live), as
// flags.
type LiveConfig struct {
	// Enabled lets hosts stream meetings live.
	Enabled bool
	// FFmpeg composes and sends the stream.
	FFmpeg string
	// MaxStreams bounds the streams running at once (negative: no limit).
	MaxStreams int
	// AllowPrivate lets streams go to loopback and private addresses.
	AllowPrivate bool
	// VideoBitrate of the stream, kbit/s.
	VideoBitrate int
}

func registerLive(fs *flagSet, c *LiveConfig) {
	fs.Bool(&c.Enabled, "streaming", true, "let hosts stream meetings live to an RTMP(S) server (the meeting moves to the SFU while it streams)")
	fs.String(&c.FFmpeg, "stream-ffmpeg", "ffmpeg", "ffmpeg program that composes and sends live streams")
	fs.Int(&c.MaxStreams, "stream-max", 2, "live streams running at once, each one real-time H.264 encoding (-1: no limit)")
	fs.Bool(&c.AllowPrivate, "stream-allow-private", false, "let live streams go to loopback and private network addresses (an RTMP server on the LAN, tests)")
	fs.Int(&c.VideoBitrate, "stream-video-bitrate", 2500, "video bitrate of live streams, kbit/s (720p)")
}

func (c LiveConfig) validate() error {
	if c.Enabled && c.FFmpeg == "" {
		return invalid("--stream-ffmpeg: want a program")
	}
	if c.MaxStreams == 0 {
		return invalid("--stream-max: want a positive number, or -1 for no limit (--streaming=false turns streaming off)")
	}
	if c.VideoBitrate < 100 || c.VideoBitrate > 50000 {
		return invalid("--stream-video-bitrate: want 100-50000 kbit/s")
	}
	return nil
}

// Live returns the live package's configuration.
func (c LiveConfig) Live() live.Config {
	return live.Config{FFmpeg: c.FFmpeg, MaxStreams: c.MaxStreams, AllowPrivate: c.AllowPrivate, VideoBitrate: c.VideoBitrate}
}
