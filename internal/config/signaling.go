package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/huddlehq/huddle/internal/signaling"
)

// registerSignaling registers the signaling flags. The returned function,
// called after parsing, decodes what cannot be decoded while parsing
// (a key: flag's own errors would repeat the secret).
func registerSignaling(fs *flagSet, c *signaling.Config) (finish func() error) {
	fs.Int(&c.MaxParticipants, "max-participants", 0, "participants per room (0: 100 with the SFU, 8 with --media mesh)")
	fs.Int(&c.MeshLimit, "mesh-max-participants", 8, "participants per room while anyone in it talks peer to peer (a client without the SFU)")
	fs.Int(&c.MaxRooms, "max-rooms", 10_000, "rooms in total")
	fs.Int(&c.MaxNameLen, "max-name-len", 64, "longest display name, in characters")
	fs.Int(&c.MaxChatLen, "max-chat-len", 2000, "longest chat message, in characters")
	fs.Int(&c.ChatHistory, "chat-history", 200, "chat messages kept for late joiners")
	fs.Int(&c.ChatRoomBytes, "chat-room-bytes", 256<<10, "bytes of chat history kept per room (oldest dropped first)")
	fs.Int(&c.ChatServerBytes, "chat-server-bytes", 64<<20, "bytes of chat history kept for all rooms together")
	fs.Int(&c.MaxEventBytes, "max-event-bytes", 65536, "largest signaling event payload, in bytes")
	fs.Float(&c.EventsPerSecond, "events-per-second", 50, "sustained signaling events per second per socket")
	fs.Int(&c.EventBurst, "event-burst", 200, "burst of signaling events per socket")
	fs.Duration(&c.ReconnectGrace, "reconnect-grace", 30*time.Second, "how long a dropped participant keeps its place")
	limit(fs, &c.MaxParticipantsPerIP, "max-participants-per-ip", 50,
		"participants one client IP address may hold at once, dropped ones within their grace period included (0: no limit)")
	limit(fs, &c.RoomsPerIPPerMinute, "rooms-per-ip-per-minute", 10, "meetings one client IP address may start per minute (0: no limit)")
	var resumeKey string
	fs.Secret(&resumeKey, "resume-key",
		"secret key (hex or base64, at least 16 bytes) signing resume tokens; keep it across restarts so participants keep their ids and the host its role (random when empty)")
	return func() error {
		key, err := decodeKey(strings.TrimSpace(resumeKey))
		if err != nil {
			return invalid("--resume-key: %v", err) // never the value: it is a secret
		}
		c.ResumeKey = key
		return nil
	}
}

// limit registers an int flag where 0 means no limit, stored as the
// signaling.Config convention: 0 is the default, negative no limit.
func limit(fs *flagSet, p *int, name string, def int, usage string) {
	*p = def
	fs.fs.Var((*limitValue)(p), name, usage)
	fs.track(name)
}

// limitValue is an int flag whose 0 (no limit) is stored as -1.
type limitValue int

func (v *limitValue) String() string {
	if v == nil || *v < 0 {
		return "0"
	}
	return strconv.Itoa(int(*v))
}

func (v *limitValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return errors.New("want a whole number, 0 or more")
	}
	if n == 0 {
		n = -1
	}
	*v = limitValue(n)
	return nil
}

// errKey is the error of a key flag; it never repeats the value.
var errKey = errors.New("want at least 16 bytes written in hex or base64")

func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var key []byte
	if k, err := hex.DecodeString(s); err == nil {
		key = k
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err := enc.DecodeString(s); err == nil {
				key = k
				break
			}
		}
	}
	if len(key) < 16 {
		return nil, errKey
	}
	return key, nil
}
