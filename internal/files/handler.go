package files

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/huddlehq/huddle/internal/jsonhttp"
	"github.com/huddlehq/huddle/internal/refusal"
)

// The HTTP side:
//
//	POST /files/{room}       the body is the file; X-File-Name its name
//	                         (percent-encoded), Content-Type its type.
//	                         201 {"file": {id, name, size, type}}
//	GET  /files/{room}/{id}  the file, always as a download
//
// Both need TokenHeader: the participant's current resume token, which
// only a member of the meeting holds, and which is checked against the
// meeting's members at every request, so that someone who left or was
// removed is refused at once. A token rather than a cookie: the app keeps
// it per tab (two tabs, two participants), and no other site's page can
// make a browser send it.

// Prefix is where the handler is mounted.
const Prefix = "/files/"

// TokenHeader carries the participant's resume token.
const TokenHeader = "X-Huddle-Token"

// NameHeader carries the file's name, percent-encoded (headers are ASCII).
const NameHeader = "X-File-Name"

// Refusals of the HTTP side besides the store's.
var (
	ErrNotMember  = refusal.New("not-member", "only the meeting's current participants can share and download its files")
	ErrViewer     = refusal.New("viewer", "viewers cannot share files")
	ErrOrigin     = refusal.New("origin", "this page may not use the meeting's files")
	ErrIPRate     = refusal.New("rate-limited", "too many files shared from this address; wait a minute")
	ErrBadRequest = refusal.New("bad-request", "the upload is malformed")
	ErrNoMeeting  = refusal.New("not-found", "no such meeting: it ended, and its files with it")
)

// Members is what the handler asks the meetings (the signaling service).
type Members interface {
	// Member returns the participant whose current resume token token is,
	// if it is a member of room now (not waiting, not gone); else an
	// error: ErrNotMember, ErrViewer for one who may not share, ErrNoMeeting
	// when room is no meeting now (it ended: its files are gone).
	Member(room, token string, upload bool) (participant string, err error)
	// Shared tells the meeting that from shared f: a chat message with the
	// file, kept in the chat history. An error (from left meanwhile)
	// undoes the upload.
	Shared(room, from string, f File) error
}

// HandlerConfig is the handler's. Zero values mean the defaults in the
// comments.
type HandlerConfig struct {
	Store   *Store
	Members Members
	// CheckOrigin refuses requests from other sites' pages; nil: all pass.
	CheckOrigin func(*http.Request) bool
	// ClientIP is the address an upload is counted by; nil: RemoteAddr.
	ClientIP func(*http.Request) netip.Addr
	// UploadsPerIPPerMinute bounds uploads per client address (IPv4
	// address, IPv6 /64) across meetings. Default 30.
	UploadsPerIPPerMinute int
	// TransferTimeout bounds one upload or download: a 25 MB file over a
	// slow link takes longer than the server's request timeout. Default
	// 10 minutes.
	TransferTimeout time.Duration
	Logger          *slog.Logger
}

// Handler serves the files of a Store.
type Handler struct {
	cfg  HandlerConfig
	rate *iplimit.Rate
	mux  *http.ServeMux
}

// NewHandler returns the handler of cfg.Store.
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.UploadsPerIPPerMinute <= 0 {
		cfg.UploadsPerIPPerMinute = 30
	}
	if cfg.TransferTimeout <= 0 {
		cfg.TransferTimeout = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, rate: iplimit.NewRate(cfg.UploadsPerIPPerMinute, time.Minute), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST "+Prefix+"{room}", h.upload)
	h.mux.HandleFunc("GET "+Prefix+"{room}/{id}", h.download)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// refuse answers err as JSON with its status.
func refuse(w http.ResponseWriter, err error) {
	var re *refusal.Error
	if !errors.As(err, &re) {
		re = refusal.New("internal", "the file could not be stored")
	}
	status := http.StatusForbidden
	if re.Code == ErrDisk.Code && re.Err != nil {
		re = ErrDisk // a wrapped disk failure
	}
	switch re {
	case ErrTooLarge:
		status = http.StatusRequestEntityTooLarge
	case ErrTooMany, ErrMeetingFull, ErrRateLimited, ErrIPRate:
		status = http.StatusTooManyRequests
		if re == ErrRateLimited || re == ErrIPRate {
			w.Header().Set("Retry-After", "60")
		}
	case ErrServerFull, ErrDisk:
		status = http.StatusInsufficientStorage
	case ErrNotFound, ErrBadID, ErrEnded, ErrNoMeeting:
		status = http.StatusNotFound
	case ErrBadRequest:
		status = http.StatusBadRequest
	}
	if re.Code == "internal" {
		status = http.StatusInternalServerError
	}
	jsonhttp.Error(w, status, re.Code, re.Message)
}

// member checks the request's origin and token.
func (h *Handler) member(r *http.Request, upload bool) (room, participant string, err error) {
	if h.cfg.CheckOrigin != nil && !h.cfg.CheckOrigin(r) {
		return "", "", ErrOrigin
	}
	room = r.PathValue("room")
	if !ValidRoom(room) {
		return "", "", ErrNotMember
	}
	token := r.Header.Get(TokenHeader)
	if token == "" {
		return "", "", ErrNotMember
	}
	participant, err = h.cfg.Members.Member(room, token, upload)
	if err != nil {
		if !errors.Is(err, ErrViewer) && !errors.Is(err, ErrNoMeeting) {
			err = ErrNotMember
		}
		return "", "", err
	}
	return room, participant, nil
}

func (h *Handler) clientIP(r *http.Request) netip.Addr {
	if h.cfg.ClientIP != nil {
		return h.cfg.ClientIP(r)
	}
	return iplimit.ClientIP(r.RemoteAddr, nil, false)
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	room, from, err := h.member(r, true)
	if err != nil {
		refuse(w, err)
		return
	}
	limit := h.cfg.Store.MaxFileBytes()
	// Refused before a byte of the body is read: a browser learns at once
	// that its 2 GB file will not do.
	if r.ContentLength > limit {
		refuse(w, ErrTooLarge)
		return
	}
	if !h.rate.Allow(h.clientIP(r)) {
		refuse(w, ErrIPRate)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(h.cfg.TransferTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.TransferTimeout))
	// MaxBytesReader also tells net/http to close the connection rather
	// than read the rest of a body that is too long.
	body := http.MaxBytesReader(w, r.Body, limit)
	name, err := url.PathUnescape(r.Header.Get(NameHeader))
	if err != nil {
		name = r.Header.Get(NameHeader)
	}
	f, err := h.cfg.Store.Put(room, from, name, r.Header.Get("Content-Type"), r.ContentLength, body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = ErrTooLarge
	}
	if err != nil {
		var re *refusal.Error
		if errors.As(err, &re) && re.Err != nil {
			h.cfg.Logger.Warn("a shared file could not be stored", "room", room, "err", err)
		}
		if !errors.As(err, &re) {
			h.cfg.Logger.Info("a shared file was not stored", "room", room, "err", err)
			err = ErrBadRequest // mostly a body cut short
		}
		refuse(w, err)
		return
	}
	if err := h.cfg.Members.Shared(room, from, f); err != nil {
		h.cfg.Store.Remove(room, f.ID)
		refuse(w, ErrNotMember)
		return
	}
	jsonhttp.Write(w, http.StatusCreated, map[string]File{"file": f})
}

func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	room, _, err := h.member(r, false)
	if err != nil {
		refuse(w, err)
		return
	}
	fh, f, err := h.cfg.Store.Open(room, r.PathValue("id"))
	if err != nil {
		refuse(w, err)
		return
	}
	defer fh.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.TransferTimeout))
	hd := w.Header()
	// Always a download, never a page of this origin: whatever the
	// uploader claimed, the bytes are octet-stream, not sniffed, and a
	// browser told to show them anyway gets a sandbox without scripts.
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", ContentDisposition(f.Name))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	http.ServeContent(w, r, "", time.Time{}, fh)
}

// ContentDisposition is the attachment header of a file named name: an
// ASCII fallback for old clients and the UTF-8 name (RFC 6266, RFC 8187).
func ContentDisposition(name string) string {
	fallback := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' || r == ';' {
			return '_'
		}
		return r
	}, name)
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + rfc8187(name)
}

// rfc8187 percent-encodes everything but attr-char.
func rfc8187(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)) + strings.ToUpper(strconv.FormatUint(uint64(c)&15, 16)))
	}
	return b.String()
}
