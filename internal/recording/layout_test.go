package recording

import (
	"context"
	"testing"
	"time"
)

// Layout events noted while a meeting is recorded end up in its manifest,
// in order and timed from the start; none are kept before or after.
func TestLayoutEventsInTheManifest(t *testing.T) {
	src := meeting(t, "alice")
	m := newManager(t, Config{FFmpeg: "-"}, src)
	m.Note("r1", LayoutJoined, "early") // not recording yet: dropped
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	m.Note("r1", LayoutJoined, "bob")
	time.Sleep(50 * time.Millisecond)
	m.Note("r1", LayoutScreenOn, "bob")
	m.Note("r1", LayoutSpotlight, "bob")
	m.Note("other", LayoutJoined, "stranger") // another room: dropped
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	m.Note("r1", LayoutLeft, "bob") // after the stop: dropped
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readMan(t, m, man.ID).Layout
	want := []string{"joined/bob", "screen-on/bob", "spotlight/bob"}
	if len(got) != len(want) {
		t.Fatalf("layout %+v, want %v", got, want)
	}
	for i, e := range got {
		if e.Kind+"/"+e.Participant != want[i] {
			t.Errorf("event %d: %+v, want %s", i, e, want[i])
		}
	}
	if got[1].OffsetMs < got[0].OffsetMs+40 {
		t.Errorf("offsets %d then %d: not timed from the start", got[0].OffsetMs, got[1].OffsetMs)
	}
}
