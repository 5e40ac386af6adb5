package recording

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// URLPrefix is where Handler is mounted; download URLs start with it.
const URLPrefix = "/recordings/"

// Listing is one recording as its room's host sees it: the manifest and
// a one-time download URL per file.
type Listing struct {
	Manifest
	Files []File `json:"files"`
}

// File is one downloadable file of a recording.
type File struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	URL  string `json:"url"` // relative to the server, one use, expires
}

// fileName is what a recording's folder may serve: nothing else, ever.
var fileName = regexp.MustCompile(`^(manifest\.json|composed\.mp4|track-[0-9]{1,4}\.webm)$`)

// List returns a room's recordings, newest first, with signed URLs; the
// caller has checked that the asker is the room's host.
func (m *Manager) List(room string) ([]Listing, error) {
	entries, err := os.ReadDir(m.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Listing{}, nil // nothing recorded yet
	}
	if err != nil {
		return nil, err
	}
	out := []Listing{}
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		man, err := readManifest(m.path(e.Name(), manifestName))
		if err != nil || man.Room != room || man.ID != e.Name() {
			continue
		}
		l := Listing{Manifest: man, Files: []File{}}
		names := []string{manifestName}
		if man.Composed != "" {
			names = append(names, man.Composed)
		}
		for _, t := range man.Tracks {
			if t.File != "" {
				names = append(names, t.File)
			}
		}
		for _, n := range names {
			st, err := os.Stat(m.path(man.ID, n))
			if err != nil || !fileName.MatchString(n) {
				continue
			}
			l.Files = append(l.Files, File{Name: n, Size: st.Size(), URL: m.signURL(man.ID, n, time.Now())})
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// signURL makes a download URL for one file, good once until the TTL.
func (m *Manager) signURL(id, name string, now time.Time) string {
	exp := strconv.FormatInt(now.Add(m.cfg.URLTTL).Unix(), 10)
	// A nonce, so that two links made in the same second are two links,
	// each good once.
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	exp += "." + hex.EncodeToString(b)
	q := url.Values{"exp": {exp}, "sig": {m.sign(id, name, exp)}}
	return URLPrefix + id + "/" + name + "?" + q.Encode()
}

// sign is the link's HMAC over the file and its expiry (with the nonce).
func (m *Manager) sign(id, name, exp string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(id + "/" + name + "/" + exp))
	return hex.EncodeToString(h.Sum(nil))
}

// Handler serves the files of signed URLs, each URL once; anything else
// is a 404 (never a directory listing) or, for a bad, spent or expired
// signature, a 403.
func (m *Manager) Handler() http.Handler {
	return http.HandlerFunc(m.serve)
}

func (m *Manager) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpError(w, http.StatusMethodNotAllowed, "method-not-allowed", "GET only")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, URLPrefix), "/")
	if len(parts) != 2 || !validID(parts[0]) || !fileName.MatchString(parts[1]) {
		httpError(w, http.StatusNotFound, "not-found", "no such file")
		return
	}
	id, name := parts[0], parts[1]
	exp, sig := r.URL.Query().Get("exp"), r.URL.Query().Get("sig")
	expires, err := strconv.ParseInt(strings.SplitN(exp, ".", 2)[0], 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(m.sign(id, name, exp))) {
		httpError(w, http.StatusForbidden, "bad-signature", "this download link is not valid")
		return
	}
	now := time.Now()
	if now.Unix() > expires {
		httpError(w, http.StatusForbidden, "expired", "this download link has expired; list the recordings again")
		return
	}
	if !m.spend(sig, time.Unix(expires, 0), now) {
		httpError(w, http.StatusForbidden, "used", "this download link was used already; list the recordings again")
		return
	}
	f, err := os.Open(m.path(id, name))
	if err != nil {
		httpError(w, http.StatusNotFound, "not-found", "no such file")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		httpError(w, http.StatusNotFound, "not-found", "no such file")
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// spend marks a signature used; false if it was. Spent signatures are
// forgotten once they expire.
func (m *Manager) spend(sig string, expires, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s, e := range m.used {
		if now.After(e) {
			delete(m.used, s)
		}
	}
	if _, ok := m.used[sig]; ok {
		return false
	}
	m.used[sig] = expires
	return true
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
