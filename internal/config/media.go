package config

import (
	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/sfu"
)

// MediaConfig is how meetings' media travels (internal/media), as flags.
type MediaConfig struct {
	// Mode is auto (peer to peer for two, the SFU from three), mesh or sfu.
	Mode string
	// PublicIPs are advertised in the SFU's candidates behind a 1:1 NAT;
	// empty: --turn-public-ip when it is set (config.go).
	PublicIPs []string
	// UDPPort is the one UDP port of all the SFU's media; 0: a port per
	// connection, between MinPort and MaxPort (0: any).
	UDPPort, MinPort, MaxPort int
	// TCPPort is the SFU's ICE-TCP port; 0: none.
	TCPPort int
	// AudioLoudest is how many participants' audio a room of at least
	// AudioLoudestFrom participants forwards (the loudest); 0: everyone's.
	AudioLoudest, AudioLoudestFrom int
	// Recording is server recording, which needs the SFU (recording.go).
	Recording RecordingConfig
	// Live is live streaming, which needs the SFU too (live.go).
	Live LiveConfig
}

func registerMedia(fs *flagSet, c *MediaConfig) {
	fs.String(&c.Mode, "media", "auto", "how media travels: auto (peer to peer for two, through the server from three), mesh or sfu")
	fs.List(&c.PublicIPs, "sfu-public-ip", nil, "IP addresses advertised in the SFU's candidates (behind 1:1 NAT)")
	fs.Int(&c.UDPPort, "sfu-udp", 7882, "the one UDP port of all the SFU's media (0: a port per connection, see --sfu-min-port)")
	fs.Int(&c.TCPPort, "sfu-tcp", 7881, "the SFU's ICE-TCP port, for clients whose network blocks UDP (0: none)")
	fs.Int(&c.MinPort, "sfu-min-port", 0, "with --sfu-udp 0: lowest UDP port of the SFU's media (0: any)")
	fs.Int(&c.MaxPort, "sfu-max-port", 0, "with --sfu-udp 0: highest UDP port of the SFU's media (0: any)")
	fs.Int(&c.AudioLoudest, "sfu-audio-loudest", 3, "in a meeting of --sfu-audio-loudest-from or more, forward the audio of only this many, the loudest speakers (0: everyone's)")
	fs.Int(&c.AudioLoudestFrom, "sfu-audio-loudest-from", 10, "the meeting size (participants) from which only the loudest audio is forwarded")
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
	if c.UDPPort < 0 || c.UDPPort > 65535 || c.TCPPort < 0 || c.TCPPort > 65535 {
		return invalid("--sfu-udp and --sfu-tcp: want a port, 0 to 65535")
	}
	if c.AudioLoudest < 0 || c.AudioLoudestFrom < 1 {
		return invalid("--sfu-audio-loudest: want 0 (everyone) or more; --sfu-audio-loudest-from: want 1 or more")
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
	loudest := c.AudioLoudest
	if loudest == 0 {
		loudest = -1 // sfu.Config's "every participant's audio"
	}
	return media.Config{
		Mode: mode,
		SFU: sfu.Config{
			NAT1To1IPs: c.PublicIPs,
			UDPPort:    c.UDPPort, TCPPort: c.TCPPort,
			UDPPortMin: uint16(c.MinPort), UDPPortMax: uint16(c.MaxPort),
			AudioLoudest: loudest, AudioLoudestFrom: c.AudioLoudestFrom,
		},
	}
}
