package metrics

// Label values come from clients (event names) and must stay a small,
// fixed set: every distinct value is a new time series kept forever.

// Other is the label value of every event name or reason not listed here.
const Other = "other"

// knownEvents are the events of docs/PROTOCOL.md (both dialects) plus
// "connect" for refused connections.
var knownEvents = setOf(
	"connect",
	// dialect A
	"join-room", "offer", "answer", "ice-candidate", "leave-room",
	"chat-message", "media-state", "ice-servers", "room-settings",
	"admit", "deny", "remove-participant", "request-mute",
	// dialect B
	"room:join", "user:call", "call:accepted", "peer:nego:needed", "peer:nego:done",
	// media through the SFU
	"sfu-publish", "sfu-subscribe", "sfu-answer", "sfu-candidate", "sfu-leave", "sfu-view",
	// hands, reactions and server recording
	"raise-hand", "lower-hand", "reaction", "recording-start", "recording-stop", "recording-list",
	// live streaming
	"stream-start", "stream-stop",
)

// knownReasons are the error codes of docs/PROTOCOL.md and the refusals
// of the server itself.
var knownReasons = setOf(
	"bad-request", "invalid-room", "invalid-name", "too-large", "rate-limited",
	"room-full", "too-many-rooms", "not-in-room", "unknown-peer", "locked",
	"wrong-password", "denied", "removed", "not-host", "unknown-event",
	"shutting-down", "too-many-attempts", "name-taken", "flood",
	"too-many-participants", "too-many-new-rooms",
	"not-in-sfu", "bad-sdp", "too-many-tracks", "no-offer",
	"recording-off", "recording-active", "recording-inactive", "recording-disk-full", "recording-needs-sfu",
	"stream-off", "stream-failed", "stream-active", "stream-inactive", "stream-bad-url", "stream-bad-key",
	"stream-private-target", "stream-unresolved", "stream-busy", "stream-needs-sfu",
	// join tokens and roles (--auth token)
	"auth-required", "auth-invalid", "auth-expired", "auth-wrong-room", "auth-used", "viewer",
	// connection refusals
	"too-many-connections", "origin",
)

func setOf(names ...string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// EventLabel returns event if it is a known event name, else Other.
func EventLabel(event string) string {
	if knownEvents[event] {
		return event
	}
	return Other
}

// ReasonLabel returns reason if it is a known refusal reason, else Other.
func ReasonLabel(reason string) string {
	if knownReasons[reason] {
		return reason
	}
	return Other
}
