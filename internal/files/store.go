// Package files keeps the files shared in meetings' chats: stored on disk
// only while their meeting lasts, under ids nobody can guess, for the
// meeting's current members (handler.go checks who asks).
//
// Files go to disk, not memory: at 25 MB each, a few meetings sharing
// slides would hold hundreds of megabytes of heap that nobody reads after
// the first download. On disk they cost nothing until downloaded, and
// uploads stream through without being buffered whole. The server keeps
// only their names and sizes in memory.
package files

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/huddlehq/huddle/internal/refusal"
)

// Config bounds the store. The zero value of every field means the default
// in its comment.
type Config struct {
	// Dir is where the store makes its folder (huddle-files-*, removed by
	// Close). Default: the system's temporary folder.
	Dir string
	// MaxFileBytes is the largest file. Default 25 MB (25,000,000 bytes).
	MaxFileBytes int64
	// MaxFilesPerMeeting is how many files one meeting may hold. Default 100.
	MaxFilesPerMeeting int
	// MaxMeetingBytes bounds the bytes of one meeting's files. Default 500 MiB.
	MaxMeetingBytes int64
	// MaxTotalBytes bounds the bytes of all meetings' files. Default 5 GiB.
	MaxTotalBytes int64
	// UploadsPerMinute is how many files one participant may share per
	// minute. Default 10.
	UploadsPerMinute int
	// Logger; nil: slog.Default.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = 25_000_000
	}
	if c.MaxFilesPerMeeting <= 0 {
		c.MaxFilesPerMeeting = 100
	}
	if c.MaxMeetingBytes <= 0 {
		c.MaxMeetingBytes = 500 << 20
	}
	if c.MaxTotalBytes <= 0 {
		c.MaxTotalBytes = 5 << 30
	}
	if c.UploadsPerMinute <= 0 {
		c.UploadsPerMinute = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Refusals, with the codes clients show messages for (docs/PROTOCOL.md).
var (
	ErrTooLarge    = refusal.New("file-too-large", "the file is larger than this server accepts")
	ErrTooMany     = refusal.New("too-many-files", "this meeting has shared as many files as it may")
	ErrMeetingFull = refusal.New("meeting-files-full", "this meeting's shared files take all the space it may use")
	ErrServerFull  = refusal.New("files-full", "the server has no room for more shared files now; try again later")
	ErrRateLimited = refusal.New("rate-limited", "too many files shared in a short time; wait a minute")
	ErrNotFound    = refusal.New("not-found", "no such file: it was never shared here, or its meeting ended")
	ErrBadID       = refusal.New("not-found", "no such file")
	ErrEnded       = refusal.New("not-found", "the meeting ended while the file was sent")
	// ErrDisk is a file the server could not write (a full or failing
	// disk); its cause is wrapped, for the log.
	ErrDisk = refusal.New("files-full", "the server could not store the file")
)

// diskError wraps a failure of the store's own disk.
func diskError(err error) error {
	return &refusal.Error{Code: ErrDisk.Code, Message: ErrDisk.Message, Err: err}
}

// File describes a stored file. Name and Type are what the uploader said,
// cleaned: data to show as text, never to interpret.
type File struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"type,omitempty"`
	// From is the uploader's participant id.
	From string `json:"-"`
}

// Store holds the files of every meeting.
type Store struct {
	cfg  Config
	root string
	now  func() time.Time

	mu       sync.Mutex
	meetings map[string]*meeting
	total    int64 // bytes stored or reserved, all meetings
	closed   bool
}

// meeting is one meeting's files, with its reservations for uploads in
// progress and its uploaders' recent upload times.
type meeting struct {
	dir     string
	files   map[string]File
	bytes   int64                  // stored and reserved
	count   int                    // stored and reserved
	uploads map[string][]time.Time // per uploader, within the last minute
}

// New makes the store's folder under cfg.Dir.
func New(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	root, err := os.MkdirTemp(cfg.Dir, "huddle-files-")
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, root: root, now: time.Now, meetings: map[string]*meeting{}}, nil
}

// MaxFileBytes is the largest file the store takes.
func (s *Store) MaxFileBytes() int64 { return s.cfg.MaxFileBytes }

// Root is the store's folder.
func (s *Store) Root() string { return s.root }

// reservation is room taken for an upload in progress.
type reservation struct {
	m    *meeting
	room string
	size int64
}

// reserve takes room for a file of up to size bytes in room's meeting for
// participant from, or says why not.
func (s *Store) reserve(room, from string, size int64) (*reservation, error) {
	if size > s.cfg.MaxFileBytes {
		return nil, ErrTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerFull
	}
	m := s.meetings[room]
	if m == nil {
		m = &meeting{dir: filepath.Join(s.root, room), files: map[string]File{}, uploads: map[string][]time.Time{}}
	}
	switch {
	case m.count >= s.cfg.MaxFilesPerMeeting:
		return nil, ErrTooMany
	case m.bytes+size > s.cfg.MaxMeetingBytes:
		return nil, ErrMeetingFull
	case s.total+size > s.cfg.MaxTotalBytes:
		return nil, ErrServerFull
	}
	now := s.now()
	recent := m.uploads[from][:0]
	for _, t := range m.uploads[from] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.cfg.UploadsPerMinute {
		m.uploads[from] = recent
		return nil, ErrRateLimited
	}
	if s.meetings[room] == nil {
		if err := os.Mkdir(m.dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, diskError(err)
		}
		s.meetings[room] = m
	}
	m.uploads[from] = append(recent, now)
	m.count++
	m.bytes += size
	s.total += size
	return &reservation{m: m, room: room, size: size}, nil
}

// unreserve gives back the room of an upload that failed.
func (s *Store) unreserve(res *reservation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meetings[res.room] != res.m {
		return // the meeting ended: Delete gave its bytes back
	}
	res.m.count--
	res.m.bytes -= res.size
	s.total -= res.size
}

// Put stores a file of room shared by participant from, reading at most
// the declared size (or, with size < 0, the store's largest file) from
// body; a body longer than that is ErrTooLarge. The body is copied to disk
// as it arrives.
func (s *Store) Put(room, from, name, typ string, size int64, body io.Reader) (File, error) {
	if !ValidRoom(room) {
		return File{}, ErrNotFound
	}
	limit := size
	if size < 0 {
		limit = s.cfg.MaxFileBytes
	}
	res, err := s.reserve(room, from, limit)
	if err != nil {
		return File{}, err
	}
	f := File{ID: newID(), Name: CleanName(name), Type: cleanType(typ), From: from}
	path := filepath.Join(res.m.dir, f.ID)
	n, err := writeFile(path, body, limit)
	if err == nil && size >= 0 && n != size {
		err = io.ErrUnexpectedEOF // the body was not what Content-Length said
	}
	if err != nil {
		os.Remove(path)
		s.unreserve(res)
		return File{}, err
	}
	f.Size = n
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meetings[room] != res.m {
		// The meeting ended while the file came in: its folder is gone.
		os.Remove(path)
		return File{}, ErrEnded
	}
	res.m.files[f.ID] = f
	res.m.bytes += n - res.size
	s.total += n - res.size
	return f, nil
}

// writeFile copies at most limit bytes of body to a new file at path; more
// is ErrTooLarge.
func writeFile(path string, body io.Reader, limit int64) (int64, error) {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, diskError(err)
	}
	n, err := io.Copy(diskWriter{out}, io.LimitReader(body, limit+1))
	if cerr := out.Close(); err == nil && cerr != nil {
		err = diskError(cerr)
	}
	if err == nil && n > limit {
		err = ErrTooLarge
	}
	return n, err
}

// diskWriter tells the store's write errors from the body's read errors
// in io.Copy: the first are the server's, the second the client's.
type diskWriter struct{ f *os.File }

func (w diskWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = diskError(err)
	}
	return n, err
}

// Remove forgets one file (its sharing was refused after all).
func (s *Store) Remove(room, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.meetings[room]
	if m == nil {
		return
	}
	f, ok := m.files[id]
	if !ok {
		return
	}
	delete(m.files, id)
	m.count--
	m.bytes -= f.Size
	s.total -= f.Size
	os.Remove(filepath.Join(m.dir, id))
}

// Open returns a stored file for reading, with its description. The
// caller closes it.
func (s *Store) Open(room, id string) (*os.File, File, error) {
	if !ValidRoom(room) || !validID(id) {
		return nil, File{}, ErrBadID
	}
	s.mu.Lock()
	m := s.meetings[room]
	var f File
	ok := false
	if m != nil {
		f, ok = m.files[id]
	}
	s.mu.Unlock()
	if !ok {
		return nil, File{}, ErrNotFound
	}
	// A Delete between here and the open leaves nothing to open, or an
	// open file whose name is gone: served to someone who was a member
	// when asking.
	fh, err := os.Open(filepath.Join(m.dir, id))
	if err != nil {
		return nil, File{}, ErrNotFound
	}
	return fh, f, nil
}

// Delete removes every file of a meeting: it ended.
func (s *Store) Delete(room string) {
	s.mu.Lock()
	m := s.meetings[room]
	if m != nil {
		delete(s.meetings, room)
		s.total -= m.bytes
	}
	s.mu.Unlock()
	if m == nil {
		return
	}
	if err := os.RemoveAll(m.dir); err != nil {
		s.cfg.Logger.Warn("cannot delete a meeting's shared files", "room", room, "err", err)
	}
}

// Stats counts the files and bytes stored (and reserved) now.
func (s *Store) Stats() (files int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.meetings {
		files += m.count
	}
	return files, s.total
}

// Close deletes every file and the store's folder; later uploads are
// refused.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.meetings = map[string]*meeting{}
	s.total = 0
	s.mu.Unlock()
	return os.RemoveAll(s.root)
}

// idBytes is the entropy of a file id: 128 bits, written as 32 hex digits.
const idBytes = 16

func newID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

// validID reports whether id looks like one of newID's: only then is it
// joined to a path.
func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidRoom reports whether room is a room id (1-64 of A-Z a-z 0-9 - _),
// safe as a folder name.
func ValidRoom(room string) bool {
	if room == "" || len(room) > 64 {
		return false
	}
	for i := 0; i < len(room); i++ {
		c := room[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// maxNameBytes bounds a file name, as most file systems do.
const maxNameBytes = 255

// CleanName makes an uploader's file name safe to show and to offer as a
// download name: its last path element only (no folders, no "..": a
// browser saving it cannot be steered elsewhere), without control or
// format characters (no bidi tricks such as "gpj.exe" shown backwards),
// at most 255 bytes, and "file" when nothing is left.
func CleanName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	// Leading dots would make a hidden file, or be all there is ("..").
	name = strings.TrimLeft(name, ".")
	for len(name) > maxNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "file"
	}
	return name
}

// cleanType keeps a media type that is only type/subtype of token
// characters (no parameters); anything else is dropped. It is shown, never
// served: downloads are application/octet-stream.
func cleanType(typ string) string {
	typ = strings.ToLower(strings.TrimSpace(typ))
	if len(typ) > 100 {
		return ""
	}
	main, sub, ok := strings.Cut(typ, "/")
	if !ok || main == "" || sub == "" {
		return ""
	}
	for _, c := range main + sub {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$&-^_.+", c)) {
			return ""
		}
	}
	return typ
}
