package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/huddlehq/huddle/internal/jsonhttp"
)

// Who may use the dashboard: a browser with a session cookie from the
// login form, or a client with an API key as Bearer token. Every wrong
// password or key counts against its address; once an address has
// Config.LoginFailures in a window, it is refused before any comparison.

// cookieName is the session cookie; Path /admin keeps it off every other
// request.
const cookieName = "huddle_admin"

// authed lets h run for a valid session or Bearer key; it answers 401
// (or 429 for an address past its wrong attempts) in JSON otherwise.
func (h *Handler) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if key, ok := bearer(r); ok {
			if !h.attempt(w, r, key, true) {
				return
			}
			next(w, withKey(r))
			return
		}
		if h.validSession(r) {
			next(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="huddle-admin"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "log in at /admin or send an API key: Authorization: Bearer <key>")
	}
}

// attempt checks a secret from a client (an API key, or with !keyOnly
// the password too) against the limit and the configured ones; it answers
// the refusal itself and reports whether the secret was right.
func (h *Handler) attempt(w http.ResponseWriter, r *http.Request, secret string, keyOnly bool) bool {
	ip := h.cfg.ClientIP(r)
	if h.failures.Spent(ip) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(h.cfg.LoginWindow.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "rate-limited", "too many wrong attempts from this address; wait a minute")
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	ok := h.isKey(sum)
	if !keyOnly && h.cfg.Password != "" {
		ok = subtle.ConstantTimeCompare(sum[:], h.password[:]) == 1 || ok
	}
	what := "key"
	if !keyOnly {
		what = "password"
	}
	if !ok {
		h.failures.Allow(ip) // counts the failure
		// The address and the kind, never what was sent.
		h.cfg.Logger.Info("admin: wrong "+what, "ip", ip.String())
		w.Header().Set("WWW-Authenticate", `Bearer realm="huddle-admin", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "the "+what+" is not valid")
	}
	return ok
}

// isKey reports whether sum is one of the keys' digests, comparing with
// every one of them in constant time.
func (h *Handler) isKey(sum [sha256.Size]byte) bool {
	found := 0
	for _, k := range h.keys {
		found |= subtle.ConstantTimeCompare(sum[:], k[:])
	}
	return found == 1
}

func bearer(r *http.Request) (string, bool) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return key, ok && key != ""
}

// keyAuth marks, in a request's context, one authorized by a Bearer key.
type keyAuth struct{}

func withKey(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), keyAuth{}, true))
}

func byKey(r *http.Request) bool { return r.Context().Value(keyAuth{}) == true }

// login checks the form's password (or API key) and sets the session
// cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.fromSameOrigin(r, false) {
		h.loginForm(w, http.StatusForbidden, "This form must be sent from the dashboard's own page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	secret := r.PostFormValue("password")
	rec := &refusal{}
	if !h.attempt(rec, r, secret, false) {
		msg := "Wrong password."
		if rec.status == http.StatusTooManyRequests {
			msg = "Too many wrong attempts. Wait a minute and try again."
			w.Header().Set("Retry-After", rec.header.Get("Retry-After"))
		}
		h.loginForm(w, rec.status, msg)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: h.sign(time.Now().Add(h.cfg.SessionTTL)), Path: Prefix,
		MaxAge: int(h.cfg.SessionTTL.Seconds()), HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode,
	})
	h.cfg.Logger.Info("admin: logged in", "ip", h.cfg.ClientIP(r).String())
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// secure says whether the cookie is for HTTPS only: when this request
// came over TLS, or the public URL is https (TLS ends at a proxy).
func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.cfg.PublicURL, "https://")
}

// refusal catches attempt's answer, so that login can show its own page.
type refusal struct {
	status int
	header http.Header
}

func (f *refusal) Header() http.Header {
	if f.header == nil {
		f.header = http.Header{}
	}
	return f.header
}
func (f *refusal) Write(b []byte) (int, error) { return len(b), nil }
func (f *refusal) WriteHeader(status int)      { f.status = status }

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.fromSameOrigin(r, false) {
		writeError(w, http.StatusForbidden, "cross-origin", "send this from the dashboard's own page")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// A session cookie is its expiry (Unix seconds) and an HMAC of it with a
// key made at start: nothing to store, and a restart logs everyone out.
func (h *Handler) sign(expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + base64.RawURLEncoding.EncodeToString(h.mac(exp))
}

func (h *Handler) mac(exp string) []byte {
	m := hmac.New(sha256.New, h.cookie)
	m.Write([]byte("huddle-admin-session|" + exp))
	return m.Sum(nil)
}

func (h *Handler) validSession(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return false
	}
	exp, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac(exp)) {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && time.Now().Unix() < unix
}

// sameOrigin lets next run only for a request from the dashboard's own
// origin: a page elsewhere must not make a logged-in browser end meetings
// (the SameSite cookie is the first guard, this the second).
func (h *Handler) sameOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.fromSameOrigin(r, byKey(r)) {
			writeError(w, http.StatusForbidden, "cross-origin", "send this from the dashboard's own page")
			return
		}
		next(w, r)
	}
}

// fromSameOrigin reads Origin, else Sec-Fetch-Site. A request with
// neither is not from a browser (curl, a script): it passes only when it
// carries a key, which a cross-site page cannot know. Origin "null" says
// nothing: the server's Referrer-Policy no-referrer makes browsers send it
// with the login form's POST (and sandboxed frames send it too), so
// Sec-Fetch-Site decides then.
func (h *Handler) fromSameOrigin(r *http.Request, withKey bool) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" {
			return false
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		if p, err := url.Parse(h.cfg.PublicURL); err == nil && p.Host != "" && strings.EqualFold(u.Host, p.Host) {
			return true
		}
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "":
		return withKey
	}
	return false
}

// writeError and writeJSON answer as every Huddle API does (jsonhttp).
func writeError(w http.ResponseWriter, status int, code, message string) {
	jsonhttp.Error(w, status, code, message)
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonhttp.Write(w, status, v) }
