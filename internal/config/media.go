package config

import (
	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/sfu"
)

// MediaConfig is how meetings' media travels (internal/media), as flags.
type MediaConfig struct {
	// Mode is auto (peer to peer for two, the SFU from three), mesh or sfu.
	Mode string
	// PublicIPs are advertised in the SFU's candidates behind a 1:1 NAT.
	PublicIPs []string
	// MinPort and MaxPort bound the SFU's UDP ports; 0: any.
	MinPort, MaxPort int
	// Recording is server recording, which needs the SFU (recording.go).
	Recording RecordingConfig
	// Live is live streaming, which needs the SFU too (live.go).
	Live LiveConfig
}

func registerMedia(fs *flagSet, c *MediaConfig) {
	fs.String(&c.Mode, "media", "auto", "how media travels: auto (peer to peer for two, through the server from three), mesh or sfu")
	fs.List(&c.PublicIPs, "sfu-public-ip", nil, "IP addresses advertised in the SFU's candidates (behind 1:1 NAT)")
	fs.Int(&c.MinPort, "sfu-min-port", 0, "lowest UDP port of the SFU's media (0: any)")
	fs.Int(&c.MaxPort, "sfu-max-port", 0, "highest UDP port of the SFU's media (0: any)")
	registerRecording(fs, &c.Recording)
	registerLive(fs, &c.Live)
}

func (c MediaConfig) validate() error {
	if _, err := media.ParseMode(c.Mode); err != nil {
		return invalid("--media: want auto, mesh or sfu, got %q", c.Mode)
	}
	if c.MinPort < 0 || c.MaxPort > 65535 || c.MinPort > c.MaxPort {
		return invalid("--sfu-min-port and --sfu-max-port: want 0 <= min <= max <= 65535")
	}
	if (c.MinPort == 0) != (c.MaxPort == 0) {
		return invalid("--sfu-min-port and --sfu-max-port go together")
	}
	if err := c.Live.validate(); err != nil {
		return err
	}
	return c.Recording.validate()
}

// Media returns the media package's configuration.
func (c MediaConfig) Media() media.Config {
	mode, _ := media.ParseMode(c.Mode) // validated by Parse
	return media.Config{
		Mode: mode,
		SFU: sfu.Config{
			NAT1To1IPs: c.PublicIPs,
			UDPPortMin: uint16(c.MinPort), UDPPortMax: uint16(c.MaxPort),
		},
	}
}
