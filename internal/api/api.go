// Package api is Huddle's server API: REST and JSON under /api/v1/, for
// the portals that create meetings and manage them (docs/openapi.json).
// Every request but the OpenAPI document's needs a Bearer API key from
// --api-keys; every error is {"error": {"code", "message"}}; each key has
// its own rate limit.
//
// The package reaches meetings only through the Rooms interface, which
// the server fills from internal/signaling.
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/jsonhttp"
	"golang.org/x/time/rate"
)

// OpenAPI is the API's OpenAPI 3.1 document; docs/openapi.json is a copy
// (a test keeps them equal).
//
//go:embed openapi.json
var OpenAPI []byte

// Rooms is what the API needs of the meetings. Errors should implement
// ErrorCode() (code, message) with the codes of docs/PROTOCOL.md
// ("not-found", "room-exists", "invalid-room", "unknown-peer", ...).
type Rooms interface {
	ListRooms() []Room
	GetRoom(id string) (Room, error)
	CreateRoom(id string, opts RoomOptions) (Room, error)
	UpdateRoom(id string, patch SettingsPatch) (Room, error)
	EndRoom(id string) error
	RemoveParticipant(room, id string) error
	MuteParticipant(room, id string) error
	SendMessage(room, text string) (Message, error)
}

// Hands lowers raised hands in a meeting: those of ids, or every raised
// hand when ids is empty; it returns the ids whose hands went down. An id
// not in the meeting fails the call with unknown-peer, lowering nothing.
type Hands interface {
	LowerHands(room string, ids []string) ([]string, error)
}

// Recordings is the server recording of meetings. Its errors have codes
// like Rooms' ("recording-off", "recording-active", ...).
type Recordings interface {
	// StartRecording and StopRecording act on a live meeting.
	StartRecording(room string) error
	StopRecording(room string) error
	// ListRecordings lists a room's recordings (live or not), newest
	// first; each has files with download URLs relative to the server.
	ListRecordings(room string) (any, error)
}

// TokenIssuer signs join tokens (nil: the API cannot issue them).
type TokenIssuer func(room, name, role string, ttl time.Duration) (string, error)

// Room is a meeting as the API shows it.
type Room struct {
	ID           string        `json:"id"`
	URL          string        `json:"url,omitempty"`
	Host         string        `json:"host,omitempty"`
	Participants []Participant `json:"participants"`
	Waiting      []Participant `json:"waiting"`
	Settings     Settings      `json:"settings"`
	Media        string        `json:"media,omitempty"`
	// Persistent rooms were created by the API: they last until ended or
	// expired, however often they empty.
	Persistent bool       `json:"persistent"`
	CreatedAt  *time.Time `json:"createdAt,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
}

// Participant is one person in a meeting and what it sends.
type Participant struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role,omitempty"`
	Host      bool   `json:"host"`
	Audio     bool   `json:"audio"`
	Video     bool   `json:"video"`
	Screen    bool   `json:"screen"`
	Recording bool   `json:"recording"`
}

// Settings are a meeting's settings (never its password).
type Settings struct {
	Locked          bool `json:"locked"`
	HasPassword     bool `json:"hasPassword"`
	WaitingRoom     bool `json:"waitingRoom"`
	MaxParticipants int  `json:"maxParticipants"`
}

// RoomOptions create a meeting.
type RoomOptions struct {
	Password        string
	Locked          bool
	WaitingRoom     bool
	MaxParticipants int
	ExpiresAt       time.Time // zero: none
	Media           string    // auto, mesh or sfu; "": the server's
}

// SettingsPatch changes settings; nil fields stay.
type SettingsPatch struct {
	Locked      *bool   `json:"locked"`
	Password    *string `json:"password"`
	WaitingRoom *bool   `json:"waitingRoom"`
}

// Message is a chat message.
type Message struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
	TS   int64  `json:"ts"`
}

// Config sets up the API. Zero values are the defaults in comments.
type Config struct {
	// Keys are the accepted API keys; none: the API answers api-disabled.
	Keys []string
	// RequestsPerSecond and Burst shape each key's rate limit. Defaults
	// 10 and 40.
	RequestsPerSecond float64
	Burst             int
	// PublicURL makes meeting links (Room.URL, token URLs); "": none.
	PublicURL string
	// IssueToken signs join tokens for POST /rooms/{room}/tokens; nil:
	// that route answers tokens-disabled.
	IssueToken TokenIssuer
	// Hands lowers hands for POST /rooms/{room}/hands/lower; nil: that
	// route answers not-implemented.
	Hands Hands
	// Recordings serves the recording routes; nil: they answer
	// recording-off.
	Recordings Recordings
	Logger     *slog.Logger
}

// Route is one registered operation.
type Route struct{ Method, Path string }

// API is the /api/v1/ handler.
type API struct {
	cfg    Config
	rooms  Rooms
	mux    *http.ServeMux
	routes []Route
	keys   [][sha256.Size]byte

	mu      sync.Mutex
	limiter map[int]*rate.Limiter // by key index: the key itself is never kept twice
}

// Prefix is where the API lives.
const Prefix = "/api/v1"

// New returns the API over rooms.
func New(cfg Config, rooms Rooms) *API {
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 40
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	a := &API{cfg: cfg, rooms: rooms, mux: http.NewServeMux(), limiter: map[int]*rate.Limiter{}}
	for _, k := range cfg.Keys {
		// Compared as digests: equal lengths, so the comparison's time
		// says nothing of a key's length either.
		a.keys = append(a.keys, sha256.Sum256([]byte(k)))
	}
	a.handle("GET", "/openapi.json", a.openAPI)
	a.handle("GET", "/rooms", a.authed(a.listRooms))
	a.handle("POST", "/rooms", a.authed(a.createRoom))
	a.handle("GET", "/rooms/{room}", a.authed(a.getRoom))
	a.handle("PATCH", "/rooms/{room}", a.authed(a.updateRoom))
	a.handle("DELETE", "/rooms/{room}", a.authed(a.endRoom))
	a.handle("DELETE", "/rooms/{room}/participants/{participant}", a.authed(a.removeParticipant))
	a.handle("POST", "/rooms/{room}/participants/{participant}/mute", a.authed(a.muteParticipant))
	a.handle("POST", "/rooms/{room}/messages", a.authed(a.sendMessage))
	a.handle("POST", "/rooms/{room}/tokens", a.authed(a.issueToken))
	a.handle("POST", "/rooms/{room}/hands/lower", a.authed(a.lowerHands))
	a.handle("POST", "/rooms/{room}/recording", a.authed(a.startRecording))
	a.handle("DELETE", "/rooms/{room}/recording", a.authed(a.stopRecording))
	a.handle("GET", "/rooms/{room}/recordings", a.authed(a.listRecordings))
	a.mux.HandleFunc(Prefix+"/", a.notFound)
	return a
}

func (a *API) handle(method, path string, h http.HandlerFunc) {
	a.routes = append(a.routes, Route{method, Prefix + path})
	a.mux.HandleFunc(method+" "+Prefix+path, h)
}

// Routes lists the registered operations (for the OpenAPI coverage test).
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// notFound answers what no route matched: 405 when another method would
// have, else 404; in JSON like every other error.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{"GET", "POST", "PATCH", "DELETE", "PUT"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != Prefix+"/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method-not-allowed", "this path takes "+strings.Join(allowed, ", "))
		return
	}
	writeError(w, http.StatusNotFound, "not-found", "no such API path")
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(OpenAPI)
}

// authed checks the Bearer key and its rate limit before h.
func (a *API) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(a.keys) == 0 {
			writeError(w, http.StatusNotFound, "api-disabled", "the server API is off: start the server with --api-keys")
			return
		}
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || key == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="huddle"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "send an API key: Authorization: Bearer <key>")
			return
		}
		idx := a.keyIndex(key)
		if idx < 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="huddle", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "the API key is not valid")
			return
		}
		if wait := a.limit(idx); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "rate-limited", "too many requests with this key; slow down")
			return
		}
		h(w, r)
	}
}

// keyIndex finds key among the configured ones in constant time (every
// key is compared, whichever matches); -1 when none does.
func (a *API) keyIndex(key string) int {
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i, k := range a.keys {
		if subtle.ConstantTimeCompare(sum[:], k[:]) == 1 {
			found = i
		}
	}
	return found
}

// limit takes one request from the key's bucket; it returns how long to
// wait when the bucket is empty.
func (a *API) limit(idx int) time.Duration {
	a.mu.Lock()
	l := a.limiter[idx]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(a.cfg.RequestsPerSecond), a.cfg.Burst)
		a.limiter[idx] = l
	}
	a.mu.Unlock()
	res := l.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d
	}
	return 0
}

// writeError and writeJSON answer as every Huddle API does (jsonhttp).
func writeError(w http.ResponseWriter, status int, code, message string) {
	jsonhttp.Error(w, status, code, message)
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonhttp.Write(w, status, v) }

// coded is an error with a code (rooms.Error, auth.Error, ...).
type coded interface{ ErrorCode() (code, message string) }

// statusOf maps the meetings' refusal codes to HTTP statuses.
var statusOf = map[string]int{
	"not-found": http.StatusNotFound, "unknown-peer": http.StatusNotFound,
	"room-exists": http.StatusConflict,
	"bad-request": http.StatusBadRequest, "invalid-room": http.StatusBadRequest,
	"invalid-name": http.StatusBadRequest, "too-large": http.StatusRequestEntityTooLarge,
	"too-many-rooms": http.StatusServiceUnavailable,
	"recording-off":  http.StatusNotFound, "recording-disk-full": http.StatusInsufficientStorage,
	"recording-failed": http.StatusInternalServerError,
}

// fail answers err: its code and message when it has them.
func (a *API) fail(w http.ResponseWriter, err error) {
	var c coded
	if errors.As(err, &c) {
		code, msg := c.ErrorCode()
		status, ok := statusOf[code]
		if !ok {
			status = http.StatusConflict // a refusal of the meeting's own rules
		}
		writeError(w, status, code, msg)
		return
	}
	a.cfg.Logger.Error("api: unexpected error", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error")
}

// decode reads a JSON body of at most 64 KiB into v, refusing unknown
// fields (a typo should not pass silently).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too-large", "the body is larger than 64 KiB")
		} else {
			writeError(w, http.StatusBadRequest, "bad-request", "the body is not the JSON expected: "+err.Error())
		}
		return false
	}
	return true
}
