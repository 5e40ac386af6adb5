package recording

import (
	"context"
	"testing"
	"time"
)

// OnFinished is told once per recording, when its files are final: after
// the composition, with the composed file named, so that a
// recording.finished webhook points at something that exists.
func TestOnFinishedAfterComposition(t *testing.T) {
	src := meeting(t, "alice")
	finished := make(chan Manifest, 2)
	m := newManager(t, Config{OnFinished: func(room string, man Manifest) {
		if room != "r1" {
			t.Errorf("finished in room %q", room)
		}
		finished <- man
	}}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-finished:
		if got.ID != man.ID || got.Composed != composedName || got.Stopped == nil || got.Reason != ReasonStopped {
			t.Errorf("finished %+v; want %s composed and stopped", got, man.ID)
		}
		if _, d := ffprobe(t, m.path(got.ID, got.Composed)); d <= 0 {
			t.Errorf("the composed file is not there when OnFinished is told")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("OnFinished was not told within 60 s of the stop")
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case again := <-finished:
		t.Errorf("OnFinished told twice: %+v", again)
	default:
	}
}
