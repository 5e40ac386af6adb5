package signaling

import (
	"errors"
	"slices"
	"testing"

	"github.com/huddlehq/huddle/internal/rooms"
)

// codeOf is the refusal code of err ("" when it has none).
func codeOf(err error) string {
	var re *rooms.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

// The server lowers one hand, then all that are left; members learn it
// from hand {raised: false, by: "system"}; an unknown id moves nothing.
func TestServerLowersHands(t *testing.T) {
	ts := newTestServer(t, Config{})
	host, a, b := ts.dial(), ts.dial(), ts.dial()
	host.join("h", "Host", "")
	aID := a.join("h", "Ann", "").ID
	bID := b.join("h", "Ben", "").ID
	for _, c := range []*testClient{a, b} {
		if r := c.ask("raise-hand", map[string]bool{"raised": true}); !r.OK {
			t.Fatalf("raise: %s", r.raw)
		}
	}
	host.waitFor("hand", 2)

	if _, err := ts.svc.LowerHands("h", []string{aID, "nobody"}); codeOf(err) != "unknown-peer" {
		t.Fatalf("unknown id: %v, want unknown-peer", err)
	}
	if _, err := ts.svc.LowerHands("nowhere", nil); codeOf(err) != "not-found" {
		t.Fatalf("unknown room: %v, want not-found", err)
	}
	got, err := ts.svc.LowerHands("h", []string{bID})
	if err != nil || !slices.Equal(got, []string{bID}) {
		t.Fatalf("lower Ben: %v %v", got, err)
	}
	if h := handOf(t, host.waitFor("hand", 3)[2]); h.ID != bID || h.Raised || h.By != SystemFrom {
		t.Fatalf("host saw %+v, want Ben lowered by system", h)
	}
	got, err = ts.svc.LowerHands("h", nil)
	if err != nil || !slices.Equal(got, []string{aID}) {
		t.Fatalf("lower all: %v %v (the unknown id must not have lowered Ann's)", got, err)
	}
	if got, err = ts.svc.LowerHands("h", nil); err != nil || len(got) != 0 {
		t.Fatalf("lower all again: %v %v, want none", got, err)
	}
	host.sync()
	if n := len(host.received("hand")); n != 4 {
		t.Fatalf("%d hand events, want 4 (2 up, 2 down)", n)
	}
}

// The server starts, stops and lists a meeting's recording; members are
// told; without a recorder every call is recording-off.
func TestServerControlsRecording(t *testing.T) {
	off := newTestServer(t, Config{})
	for _, err := range []error{off.svc.StartRecording("r"), off.svc.StopRecording("r")} {
		if codeOf(err) != "recording-off" {
			t.Fatalf("without a recorder: %v", err)
		}
	}
	if _, err := off.svc.ListRecordings("r"); codeOf(err) != "recording-off" {
		t.Fatalf("list without a recorder: %v", err)
	}

	rec := &fakeRecorder{active: map[string]bool{}}
	ts := newTestServer(t, Config{Recorder: rec})
	member := ts.dial()
	member.join("r1", "Ann", "")
	// The join's handler goes on after its ack (a joiner is told if the
	// meeting is being recorded): let it finish first, or a recording
	// started meanwhile is told twice, the first time without By.
	member.sync()
	if err := ts.svc.StartRecording("none"); codeOf(err) != "not-found" {
		t.Fatalf("start in no meeting: %v", err)
	}
	if err := ts.svc.StartRecording("r1"); err != nil {
		t.Fatal(err)
	}
	if m := recordingOf(t, member.waitFor("recording", 1)[0]); !m.Active || m.By != SystemFrom {
		t.Fatalf("member saw %+v", m)
	}
	if err := ts.svc.StopRecording("r1"); err != nil {
		t.Fatal(err)
	}
	if m := recordingOf(t, member.waitFor("recording", 2)[1]); m.Active {
		t.Fatalf("member saw %+v after stop", m)
	}
	if err := ts.svc.StopRecording("r1"); codeOf(err) != "recording-failed" {
		t.Fatalf("stop twice: %v, want the recorder's refusal", err)
	}
	if _, err := ts.svc.ListRecordings("../etc"); codeOf(err) != "invalid-room" {
		t.Fatalf("list of a bad room id: %v", err)
	}
	list, err := ts.svc.ListRecordings("gone-room") // recordings outlast meetings
	if err != nil || list == nil {
		t.Fatalf("list: %v %v", list, err)
	}
	if !slices.Contains(rec.calls, "start r1 system") {
		t.Fatalf("recorder calls %q", rec.calls)
	}
}
