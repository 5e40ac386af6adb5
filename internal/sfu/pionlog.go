package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/logging"
)

// Why the SFU dropped a packet it received (Stats.Dropped).
const (
	// DropUnknownSource: a UDP packet from an address and with an ICE
	// username of no connection (a stray, a scan, garbage at the port).
	DropUnknownSource = "unknown-source"
	// DropSRTP: a packet of a connection that does not decrypt or
	// authenticate, or a replay.
	DropSRTP = "srtp"
	// DropUnknownSSRC: a decrypted RTP or RTCP packet of an SSRC the
	// connection did not negotiate and cannot tell a track of.
	DropUnknownSSRC = "unknown-ssrc"
	// DropTooManySSRCs: RTP of a new SSRC from a connection that has
	// sent maxSSRCs already (ssrcguard.go).
	DropTooManySSRCs = "too-many-ssrcs"
	// DropTCPLimit: an ICE-TCP connection from an address that holds
	// maxTCPPerIP already, closed at accept (a connection, not a packet).
	DropTCPLimit = "tcp-limit"
)

// DropReasons are the reasons of Stats.Dropped, for metrics.
var DropReasons = []string{DropUnknownSource, DropSRTP, DropUnknownSSRC, DropTooManySSRCs, DropTCPLimit}

// dropCounter counts dropped packets by reason.
type dropCounter struct {
	unknownSource, srtp, unknownSSRC, tooManySSRCs, tcpLimit atomic.Uint64
}

func (d *dropCounter) add(reason string) {
	switch reason {
	case DropUnknownSource:
		d.unknownSource.Add(1)
	case DropSRTP:
		d.srtp.Add(1)
	case DropUnknownSSRC:
		d.unknownSSRC.Add(1)
	case DropTooManySSRCs:
		d.tooManySSRCs.Add(1)
	case DropTCPLimit:
		d.tcpLimit.Add(1)
	}
}

func (d *dropCounter) snapshot() map[string]uint64 {
	return map[string]uint64{
		DropUnknownSource: d.unknownSource.Load(),
		DropSRTP:          d.srtp.Load(),
		DropUnknownSSRC:   d.unknownSSRC.Load(),
		DropTooManySSRCs:  d.tooManySSRCs.Load(),
		DropTCPLimit:      d.tcpLimit.Load(),
	}
}

// Stats are the SFU's counters since New.
type Stats struct {
	// Dropped counts the packets received and dropped, by DropReasons.
	Dropped map[string]uint64
}

// Stats returns the SFU's counters.
func (s *SFU) Stats() Stats { return Stats{Dropped: s.drops.snapshot()} }

// pionLogs is pion's LoggerFactory: pion's logs go to the SFU's slog
// logger, and the ones that report a dropped packet are counted. pion
// tells us of drops only through its logs; the test of each reason
// (bad_input_test.go) catches a pion upgrade that rewords them.
//
// The levels go down two steps: pion logs at warning and error what a
// client can cause at will (one line per bad packet), which must not
// flood the server's log at its default level.
type pionLogs struct {
	log   *slog.Logger
	drops *dropCounter
	// once keeps one line per scope and message at Info for the first
	// drop of each kind, so that an operator sees that they happen.
	once sync.Map
}

func (f *pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{f: f, scope: scope, log: f.log.With("pion", scope)}
}

type pionLogger struct {
	f     *pionLogs
	scope string
	log   *slog.Logger
}

// classify returns the drop reason a pion log line reports, or "".
func (l *pionLogger) classify(level slog.Level, msg string) string {
	switch {
	case l.scope == "srtp" && level == slog.LevelInfo:
		// srtp logs one line per packet it cannot decrypt, and nothing
		// else at this level.
		return DropSRTP
	case strings.HasPrefix(msg, "Incoming unhandled RTP ssrc"),
		strings.HasPrefix(msg, "Incoming unhandled RTCP ssrc"),
		strings.HasPrefix(msg, "simulcast probe limit has been reached"):
		return DropUnknownSSRC
	}
	return ""
}

func (l *pionLogger) emit(level slog.Level, msg string) {
	if reason := l.classify(level, msg); reason != "" {
		l.f.drops.add(reason)
		if _, seen := l.f.once.LoadOrStore(reason, true); !seen {
			l.log.Info("dropping bad packets (counted in huddle_sfu_dropped_packets_total)", "reason", reason, "first", msg)
			return
		}
		level = slog.LevelDebug - 4 // below debug: counted, not logged
	} else {
		level = min(level-8, slog.LevelInfo) // two steps down, never above info
	}
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l *pionLogger) Trace(msg string)                  {}
func (l *pionLogger) Tracef(format string, args ...any) {}

// pion's debug lines report no drop; below the SFU's debug level, they
// are not even formatted (some come per packet).
func (l *pionLogger) Debug(msg string) {
	if l.log.Enabled(context.Background(), slog.LevelDebug-4) {
		l.log.Log(context.Background(), slog.LevelDebug-4, msg)
	}
}

func (l *pionLogger) Debugf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug-4) {
		l.log.Log(context.Background(), slog.LevelDebug-4, fmt.Sprintf(format, args...))
	}
}

func (l *pionLogger) Info(msg string) { l.emit(slog.LevelInfo, msg) }
func (l *pionLogger) Infof(format string, args ...any) {
	l.emit(slog.LevelInfo, fmt.Sprintf(format, args...))
}
func (l *pionLogger) Warn(msg string) { l.emit(slog.LevelWarn, msg) }
func (l *pionLogger) Warnf(format string, args ...any) {
	l.emit(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (l *pionLogger) Error(msg string) { l.emit(slog.LevelError, msg) }
func (l *pionLogger) Errorf(format string, args ...any) {
	l.emit(slog.LevelError, fmt.Sprintf(format, args...))
}
