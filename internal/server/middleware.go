package server

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// securityHeaders sets headers that make the browser refuse what the app
// never does: framing (except by the --embed-origins sites), sniffing,
// leaking the meeting URL as a referrer, loading code from elsewhere, and
// using camera or microphone from frames of other origins.
func securityHeaders(embedOrigins []string, next http.Handler) http.Handler {
	ancestors := frameAncestors(embedOrigins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/socket.io/") && httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
			// A Socket.IO WebSocket handshake: the engine writes its own
			// response on the hijacked connection, and none of these
			// would be sent. (Any other request gets them, whatever it
			// says in Upgrade.)
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if len(embedOrigins) == 0 {
			// For browsers that predate frame-ancestors. With embed
			// origins it is left out: it has no form that names sites,
			// and DENY would win over the CSP in those browsers.
			h.Set("X-Frame-Options", "DENY")
		}
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
		h.Set("Content-Security-Policy", contentSecurityPolicy(r)+"; frame-ancestors "+ancestors)
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// safeHost matches a Host header fit to be copied into a header value.
var safeHost = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// contentSecurityPolicy allows the app's own scripts, styles and images,
// media from the camera (mediastream:) and blobs (recordings), and
// WebSockets back to this server. 'self' covers ws: and wss: to the same
// host only in recent browsers, so the host is named as well.
func contentSecurityPolicy(r *http.Request) string {
	connect := "'self'"
	if safeHost.MatchString(r.Host) {
		connect += " ws://" + r.Host + " wss://" + r.Host
	}
	return "default-src 'self'; " +
		"script-src 'self'; " +
		"style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data: blob:; " +
		"media-src 'self' blob: mediastream:; " +
		"font-src 'self' data:; " +
		"worker-src 'self' blob:; " +
		"connect-src " + connect + "; " +
		"object-src 'none'; base-uri 'self'; form-action 'self'"
}

// frameAncestors is the CSP source list of the pages that may frame the
// app: the --embed-origins (checked by config to be plain origins, safe in
// a header), or none.
func frameAncestors(origins []string) string {
	if len(origins) == 0 {
		return "'none'"
	}
	return strings.Join(origins, " ")
}

// accessLog logs each request at debug level: method, path, status, size
// and duration. The query string is never logged: Socket.IO and invite
// links may carry tokens and passwords there.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		log.Debug("http request",
			"method", r.Method, "path", r.URL.Path, "status", status,
			"bytes", rec.bytes, "duration", time.Since(start).Round(time.Microsecond),
			"remote", r.RemoteAddr)
	})
}

// statusRecorder remembers the status and size of a response. It keeps
// Hijack and Flush working for WebSocket upgrades and long-polling.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Flush() {
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil {
		s.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// sessionStartHeader carries, in a request that opens a Socket.IO session,
// when it arrived; the CONNECT check reads it to time handshakes. A header
// rather than a context value because the engine keeps the request without
// its context. Whatever a client sends under this name is thrown away.
const sessionStartHeader = "X-Request-Start"

// stampSessionStart records the arrival of requests that open a session
// (no sid in the query yet).
func stampSessionStart(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del(sessionStartHeader)
		if !hasQueryValue(r.URL.RawQuery, "sid") {
			r.Header.Set(sessionStartHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
		}
		next.ServeHTTP(w, r)
	})
}

// hasQueryValue reports whether a raw query has a non-empty value for key,
// as url.Values.Get would see it for a plain key, without building the map.
func hasQueryValue(rawQuery, key string) bool {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(part, "=")
		if k == key {
			return v != ""
		}
	}
	return false
}

// sessionStart reads the stamp from the header's values.
func sessionStart(stamp []string) (time.Time, bool) {
	if len(stamp) == 0 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(stamp[0], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}
