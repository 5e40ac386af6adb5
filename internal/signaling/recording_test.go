package signaling

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRecorder records what signaling asks of the recorder.
type fakeRecorder struct {
	mu     sync.Mutex
	active map[string]bool
	calls  []string
	fail   error
}

func (f *fakeRecorder) Start(room, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+room+" "+by)
	if f.fail != nil {
		return f.fail
	}
	f.active[room] = true
	return nil
}

func (f *fakeRecorder) Stop(room string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+room)
	if !f.active[room] {
		return errors.New("recording: the meeting is not being recorded")
	}
	delete(f.active, room)
	return nil
}

func (f *fakeRecorder) Active(room string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active[room]
}

func (f *fakeRecorder) List(room string) (any, error) {
	return []map[string]string{{"id": "rec-of-" + room}}, nil
}

func (f *fakeRecorder) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func recordingOf(t *testing.T, raw json.RawMessage) recordingMsg {
	t.Helper()
	var m recordingMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The host starts and stops the recording; everyone is told; a late
// joiner hears of it; a guest may not start, stop or list.
func TestRecordingHostOnly(t *testing.T) {
	rec := &fakeRecorder{active: map[string]bool{}}
	ts := newTestServer(t, Config{Recorder: rec})
	host, guest := ts.dial(), ts.dial()
	hostID := host.join("r1", "Host", "").ID
	guest.join("r1", "Guest", "")

	for _, ev := range []string{"recording-start", "recording-stop", "recording-list"} {
		if r := guest.ask(ev, map[string]any{}); r.OK || r.Error.Code != "not-host" {
			t.Errorf("guest %s: %s, want not-host", ev, r.raw)
		}
	}
	if n := rec.callCount(); n != 0 {
		t.Fatalf("a guest's events reached the recorder %d times", n)
	}
	if r := host.ask("recording-start", map[string]any{}); !r.OK {
		t.Fatalf("host start: %s", r.raw)
	}
	for _, c := range []*testClient{host, guest} {
		if m := recordingOf(t, c.waitFor("recording", 1)[0]); !m.Active || m.By != hostID {
			t.Errorf("recording event %+v", m)
		}
	}
	late := ts.dial()
	late.join("r1", "Late", "")
	if m := recordingOf(t, late.waitFor("recording", 1)[0]); !m.Active {
		t.Errorf("late joiner told %+v", m)
	}
	r := host.ask("recording-list", map[string]any{})
	if !r.OK || !json.Valid(r.raw) || string(r.raw) == "" {
		t.Errorf("list: %s", r.raw)
	}
	if r := host.ask("recording-stop", map[string]any{}); !r.OK {
		t.Fatalf("host stop: %s", r.raw)
	}
	if m := recordingOf(t, guest.waitFor("recording", 2)[1]); m.Active {
		t.Errorf("stop told as %+v", m)
	}
	// A second stop: the recorder's error, with its text.
	if r := host.ask("recording-stop", map[string]any{}); r.OK || r.Error.Code != "recording-failed" || r.Error.Message == "" {
		t.Errorf("second stop: %s", r.raw)
	}
	// A recording that stops by itself is told with its reason.
	ts.svc.RecordingStopped("r1", "disk-full")
	if m := recordingOf(t, guest.waitFor("recording", 3)[2]); m.Active || m.Reason != "disk-full" {
		t.Errorf("stopped by itself told as %+v", m)
	}
}

// Without a recorder the events are refused as recording-off.
func TestRecordingOff(t *testing.T) {
	ts := newTestServer(t, Config{})
	host := ts.dial()
	host.join("r1", "Host", "")
	if r := host.ask("recording-start", map[string]any{}); r.OK || r.Error.Code != "recording-off" {
		t.Errorf("start without a recorder: %s", r.raw)
	}
}

// The join ack says whether the server records, so that the app offers
// the server's recording to the host, or its own in-browser one.
func TestJoinAckSaysServerRecording(t *testing.T) {
	for _, on := range []bool{true, false} {
		cfg := Config{}
		if on {
			cfg.Recorder = &fakeRecorder{active: map[string]bool{}}
		}
		ts := newTestServer(t, cfg)
		var ack struct {
			ServerRecording *bool `json:"serverRecording"`
		}
		raw := ts.dial().join("r1", "Host", "").raw
		if err := json.Unmarshal(raw, &ack); err != nil {
			t.Fatal(err)
		}
		if got := ack.ServerRecording != nil && *ack.ServerRecording; got != on {
			t.Errorf("recorder %v: join ack %s", on, raw)
		}
	}
}

// The end of a composition goes to the host alone: made, or failed with
// its reason (ffmpeg died); a room that is gone is skipped.
func TestRecordingComposedToHostOnly(t *testing.T) {
	ts := newTestServer(t, Config{Recorder: &fakeRecorder{active: map[string]bool{}}})
	host, guest := ts.dial(), ts.dial()
	host.join("r1", "Host", "")
	guest.join("r1", "Guest", "")
	ts.svc.RecordingComposed("r1", "rec-1", "")
	ts.svc.RecordingComposed("r1", "rec-2", "ffmpeg: signal: killed")
	ts.svc.RecordingComposed("no-such-room", "rec-3", "")
	got := host.waitFor("recording-composed", 2)
	var made, failed composedMsg
	if json.Unmarshal(got[0], &made) != nil || json.Unmarshal(got[1], &failed) != nil {
		t.Fatalf("events %s", got)
	}
	if made != (composedMsg{ID: "rec-1", OK: true}) || failed != (composedMsg{ID: "rec-2", Error: "ffmpeg: signal: killed"}) {
		t.Errorf("host told %+v and %+v", made, failed)
	}
	guest.sync()
	if n := len(guest.received("recording-composed")); n != 0 {
		t.Errorf("a guest was told of %d compositions", n)
	}
}

// A participant the host removed, and a socket that never joined, cannot
// list the meeting's recordings (nor so get download links).
func TestRecordingListRefusedToTheRemovedAndStrangers(t *testing.T) {
	rec := &fakeRecorder{active: map[string]bool{}}
	ts := newTestServer(t, Config{Recorder: rec})
	host, guest, stranger := ts.dial(), ts.dial(), ts.dial()
	host.join("r1", "Host", "")
	guestID := guest.join("r1", "Guest", "").ID
	if r := host.ask("remove-participant", map[string]string{"id": guestID}); !r.OK {
		t.Fatalf("remove: %s", r.raw)
	}
	guest.waitFor("removed", 1)
	for name, c := range map[string]*testClient{"removed guest": guest, "stranger": stranger} {
		if r := c.ask("recording-list", map[string]any{}); r.OK {
			t.Errorf("%s listed the recordings: %s", name, r.raw)
		}
	}
	if n := rec.callCount(); n != 0 {
		t.Fatalf("the recorder was asked %d times", n)
	}
}

// notingRecorder takes layout notes too, as recording.Manager does.
type notingRecorder struct {
	*fakeRecorder
	mu    sync.Mutex
	notes []string
}

func (n *notingRecorder) Note(room, kind, participant string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notes = append(n.notes, room+":"+kind+"/"+participant)
}

func (n *notingRecorder) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.notes...)
}

// Who joins and leaves, screen shares and the spotlight are noted for the
// recording's manifest; other media changes are not.
func TestLayoutNotedForTheRecorder(t *testing.T) {
	rec := &notingRecorder{fakeRecorder: &fakeRecorder{active: map[string]bool{}}}
	ts := newTestServer(t, Config{Recorder: rec})
	host, guest := ts.dial(), ts.dial()
	hostID := host.join("r1", "Host", "").ID
	guestID := guest.join("r1", "Guest", "").ID
	guest.ask("media-state", map[string]bool{"audio": false})
	guest.ask("media-state", map[string]bool{"screen": true})
	guest.ask("media-state", map[string]bool{"screen": true, "video": false})
	host.ask("spotlight", map[string]string{"id": guestID})
	guest.ask("leave-room", map[string]any{})
	host.sync()
	want := []string{"r1:joined/" + hostID, "r1:joined/" + guestID, "r1:screen-on/" + guestID, "r1:spotlight/" + guestID, "r1:left/" + guestID}
	if got := rec.list(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("notes %v, want %v", got, want)
	}
}

// notingStreamer takes layout notes, as live.Manager does.
type notingStreamer struct {
	*fakeStreamer
	notes notingRecorder
}

func (n *notingStreamer) Note(room, kind, participant string) { n.notes.Note(room, kind, participant) }

// The live stream hears of screens shared and stopped, as the recorder
// does, so that it puts them on its stage.
func TestScreenNotedForTheStream(t *testing.T) {
	st := &notingStreamer{fakeStreamer: &fakeStreamer{status: map[string]StreamStatus{}}}
	ts := newTestServer(t, Config{Streamer: st})
	st.svc = ts.svc
	host, guest := ts.dial(), ts.dial()
	host.join("r1", "Host", "")
	guestID := guest.join("r1", "Guest", "").ID
	guest.ask("media-state", map[string]bool{"screen": true})
	guest.ask("media-state", map[string]bool{"screen": false})
	host.sync()
	var screens []string
	for _, n := range st.notes.list() {
		if strings.Contains(n, ":screen-") {
			screens = append(screens, n)
		}
	}
	if want := []string{"r1:screen-on/" + guestID, "r1:screen-off/" + guestID}; strings.Join(screens, " ") != strings.Join(want, " ") {
		t.Fatalf("the stream's screen notes %v, want %v", screens, want)
	}
}

// gatedRecorder holds its answer to Active, once armed, until released:
// the moment between a joiner's "is it recorded?" and its notice.
type gatedRecorder struct {
	*fakeRecorder
	armed             atomic.Bool
	checking, release chan struct{}
}

func (g *gatedRecorder) Active(room string) bool {
	on := g.fakeRecorder.Active(room)
	if g.armed.CompareAndSwap(true, false) {
		close(g.checking)
		<-g.release
	}
	return on
}

// A join that crosses a stop of the recording is not told "recording"
// after the stop's broadcast: the last it hears is that it stopped.
func TestRecordingNoticeNotAfterStop(t *testing.T) {
	g := &gatedRecorder{fakeRecorder: &fakeRecorder{active: map[string]bool{}}, checking: make(chan struct{}), release: make(chan struct{})}
	ts := newTestServer(t, Config{Recorder: g})
	host := ts.dial()
	host.join("r1", "Host", "")
	host.sync()
	if err := ts.svc.StartRecording("r1"); err != nil {
		t.Fatal(err)
	}
	g.armed.Store(true)
	late := ts.dial()
	late.join("r1", "Late", "") // its notice asks Active after the ack
	select {
	case <-g.checking:
	case <-time.After(5 * time.Second):
		t.Fatal("the joiner's notice never asked whether the meeting is recorded")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- ts.svc.StopRecording("r1") }()
	// Time for the stop's broadcast to go out, were it not ordered
	// after the notice being made.
	time.Sleep(150 * time.Millisecond)
	close(g.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	host.waitFor("recording", 2)
	late.waitFor("recording", 1)
	late.sync()
	got := late.received("recording")
	if last := recordingOf(t, got[len(got)-1]); last.Active {
		t.Fatalf("the joiner heard %d recording events, the last saying it is on: %s", len(got), got[len(got)-1])
	}
}
