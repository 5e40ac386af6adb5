package admin

import (
	"net/http"
	"runtime"
	"time"
)

// Snapshot is what the dashboard shows at one moment; the event stream
// sends one every Config.Interval.
type Snapshot struct {
	Time   int64        `json:"time"` // Unix milliseconds
	Server ServerFigure `json:"server"`
	Relay  *RelayFigure `json:"relay,omitempty"` // nil: no relay
	Rooms  []RoomFigure `json:"rooms"`
	// Participants counts the members of every room.
	Participants int `json:"participants"`
}

// ServerFigure is the process's use of the machine.
type ServerFigure struct {
	// CPU is the process's CPU time over the last interval, in percent
	// of one core (200 is two cores busy); -1 on the first sample.
	CPU        float64 `json:"cpu"`
	Memory     uint64  `json:"memory"` // resident set, or the Go runtime's total where unknown
	Heap       uint64  `json:"heap"`   // live Go heap objects
	Goroutines int     `json:"goroutines"`
	// Files is the open file descriptors (sockets among them); -1 where
	// unknown.
	Files     int   `json:"files"`
	Polling   int   `json:"polling"`   // signaling sessions on long-polling
	WebSocket int   `json:"websocket"` // signaling sessions on WebSocket
	Uptime    int64 `json:"uptime"`    // seconds
}

// RelayFigure is the TURN relay's.
type RelayFigure struct {
	Allocations int     `json:"allocations"`
	Bitrate     float64 `json:"bitrate"` // bits per second relayed, both ways
}

// RoomFigure is one meeting.
type RoomFigure struct {
	ID           string              `json:"id"`
	Media        string              `json:"media"` // "mesh" or "sfu"
	Persistent   bool                `json:"persistent"`
	Locked       bool                `json:"locked"`
	Participants []ParticipantFigure `json:"participants"`
	Waiting      int                 `json:"waiting"`
}

// ParticipantFigure is one member of a meeting. The rates and the
// network figures are there only when its media passes the SFU.
type ParticipantFigure struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Role   string `json:"role,omitempty"`
	Host   bool   `json:"host"`
	Audio  bool   `json:"audio"`
	Video  bool   `json:"video"`
	Screen bool   `json:"screen"`
	// Path is "sfu" when its media passes the server, else "mesh".
	Path string `json:"path"`
	// Up is what it sends to the server, Down what the server sends it,
	// in bits per second.
	Up   *float64 `json:"up,omitempty"`
	Down *float64 `json:"down,omitempty"`
	// Loss (0 to 1) and RTT (milliseconds) of the server's path to it.
	Loss *float64 `json:"loss,omitempty"`
	RTT  *float64 `json:"rtt,omitempty"`
}

var started = time.Now()

// sampler makes snapshots for one viewer: rates need the figures of the
// sample before, so each stream keeps its own.
type sampler struct {
	cfg      Config
	last     time.Time
	cpu      time.Duration
	relay    uint64
	bytes    map[string][2]uint64 // room/participant -> published, forwarded
	hasRelay bool
}

func newSampler(cfg Config) *sampler { return &sampler{cfg: cfg, bytes: map[string][2]uint64{}} }

func (s *sampler) sample() Snapshot {
	now := time.Now()
	dt := now.Sub(s.last).Seconds()
	first := s.last.IsZero()
	rate := func(cur, prev uint64) *float64 {
		if first || dt <= 0 || cur < prev {
			return nil
		}
		v := float64(cur-prev) * 8 / dt
		return &v
	}
	snap := Snapshot{Time: now.UnixMilli(), Server: s.server(now, dt, first), Rooms: []RoomFigure{}}
	if s.cfg.Relay != nil {
		rl := s.cfg.Relay()
		rf := &RelayFigure{Allocations: rl.Allocations}
		if r := rate(rl.BytesRelayed, s.relay); r != nil {
			rf.Bitrate = *r
		}
		s.relay = rl.BytesRelayed
		snap.Relay = rf
	}
	seen := map[string][2]uint64{}
	for _, room := range s.cfg.Rooms.ListRooms() {
		rf := RoomFigure{ID: room.ID, Media: room.Media, Persistent: room.Persistent, Locked: room.Settings.Locked,
			Waiting: len(room.Waiting), Participants: []ParticipantFigure{}}
		if rf.Media == "" {
			rf.Media = "mesh"
		}
		var media map[string]MediaFigures
		if s.cfg.Media != nil && len(room.Participants) > 0 {
			media = s.cfg.Media(room.ID)
		}
		for _, p := range room.Participants {
			pf := ParticipantFigure{ID: p.ID, Name: p.Name, Role: p.Role, Host: p.Host,
				Audio: p.Audio, Video: p.Video, Screen: p.Screen, Path: "mesh"}
			if m, ok := media[p.ID]; ok {
				pf.Path = "sfu"
				key := room.ID + "/" + p.ID
				prev, had := s.bytes[key]
				if had {
					pf.Up, pf.Down = rate(m.PublishedBytes, prev[0]), rate(m.ForwardedBytes, prev[1])
				}
				seen[key] = [2]uint64{m.PublishedBytes, m.ForwardedBytes}
				if m.Reported {
					loss, rtt := m.Loss, float64(m.RTT)/float64(time.Millisecond)
					pf.Loss, pf.RTT = &loss, &rtt
				}
			}
			rf.Participants = append(rf.Participants, pf)
		}
		snap.Participants += len(rf.Participants)
		snap.Rooms = append(snap.Rooms, rf)
	}
	s.bytes = seen // those gone are forgotten
	s.last = now
	return snap
}

// server is the process's figures; CPU is a rate like the bitrates.
func (s *sampler) server(now time.Time, dt float64, first bool) ServerFigure {
	f := ServerFigure{CPU: -1, Goroutines: runtime.NumGoroutine(), Files: openFiles(),
		Uptime: int64(now.Sub(started).Seconds())}
	f.Memory, f.Heap = memory()
	if cpu, ok := cpuTime(); ok {
		if !first && dt > 0 {
			f.CPU = max(0, (cpu-s.cpu).Seconds()/dt*100)
		}
		s.cpu = cpu
	}
	if s.cfg.Sockets != nil {
		f.Polling, f.WebSocket = s.cfg.Sockets()
	}
	return f
}

// snapshot answers one snapshot as JSON (scripts, and the page's first
// paint before the stream's first event).
func (h *Handler) snapshot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, newSampler(h.cfg).sample())
}
