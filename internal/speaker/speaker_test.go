package speaker

import (
	"slices"
	"testing"
	"time"
)

// meeting drives a Detector with one Opus packet every 20 ms per
// participant, as a browser sends them.
type meeting struct {
	d   *Detector
	now time.Time
}

func newMeeting() *meeting {
	return &meeting{d: New(Config{}), now: time.Unix(1_700_000_000, 0)}
}

// play advances time by dur; levels gives each participant's level for
// the whole span (127: silence).
func (m *meeting) play(dur time.Duration, levels map[string]uint8) {
	for end := m.now.Add(dur); m.now.Before(end); m.now = m.now.Add(20 * time.Millisecond) {
		for id, l := range levels {
			m.d.Observe(id, l, m.now)
		}
	}
}

// dominant runs Dominant every 100 ms over dur, as the server's ticker
// does, and returns the last answer and every change seen.
func (m *meeting) dominant(dur time.Duration, levels map[string]uint8) (string, []string) {
	var changes []string
	id := ""
	for end := m.now.Add(dur); m.now.Before(end); {
		m.play(100*time.Millisecond, levels)
		var changed bool
		id, changed = m.d.Dominant(m.now)
		if changed {
			changes = append(changes, id)
		}
	}
	return id, changes
}

const (
	talk    = 30  // -30 dBov: speech
	silence = 127 // nothing
	hum     = 70  // background noise under the threshold
)

func TestSpeakingTakesTheStageWithinOneSecond(t *testing.T) {
	m := newMeeting()
	if id, _ := m.dominant(time.Second, map[string]uint8{"ada": talk, "bob": hum}); id != "ada" {
		t.Fatalf("dominant after 1 s of Ada talking = %q, want ada", id)
	}
}

func TestCoughDoesNotMoveTheStage(t *testing.T) {
	m := newMeeting()
	m.dominant(3*time.Second, map[string]uint8{"ada": talk, "bob": silence})
	// Ada pauses; Bob coughs for 300 ms, then all is quiet.
	m.dominant(time.Second, map[string]uint8{"ada": silence, "bob": silence})
	_, changes := m.dominant(300*time.Millisecond, map[string]uint8{"ada": silence, "bob": 10})
	_, later := m.dominant(3*time.Second, map[string]uint8{"ada": silence, "bob": silence})
	if len(changes)+len(later) != 0 {
		t.Fatalf("a 300 ms cough changed the dominant speaker: %v %v", changes, later)
	}
}

func TestAnotherSpeakerTakesOver(t *testing.T) {
	m := newMeeting()
	m.dominant(3*time.Second, map[string]uint8{"ada": talk, "bob": silence})
	id, changes := m.dominant(2*time.Second, map[string]uint8{"ada": silence, "bob": talk})
	if id != "bob" || !slices.Equal(changes, []string{"bob"}) {
		t.Fatalf("after Bob talked 2 s: dominant %q, changes %v; want bob once", id, changes)
	}
}

func TestTalkingOverEachOtherDoesNotFlicker(t *testing.T) {
	m := newMeeting()
	m.dominant(3*time.Second, map[string]uint8{"bob": talk})
	// Ada joins in and talks without a break while Bob pauses for breath
	// one interval in ten: about as much, so Bob keeps the stage.
	var changes []string
	for i := 0; i < 50; i++ {
		bob := uint8(talk)
		if i%10 == 9 {
			bob = silence
		}
		_, c := m.dominant(100*time.Millisecond, map[string]uint8{"ada": 20, "bob": bob})
		changes = append(changes, c...)
	}
	if len(changes) != 0 {
		t.Fatalf("Ada talking over Bob, about as much as he does, moved the stage: %v", changes)
	}
}

func TestHoldKeepsANewSpeakerOnStage(t *testing.T) {
	m := newMeeting()
	m.dominant(3*time.Second, map[string]uint8{"ada": talk, "bob": silence})
	// Bob talks until he has the stage, then Ada answers at once: within
	// the hold Bob keeps it.
	var bobAt, adaAt time.Time
	for i := 0; i < 50 && adaAt.IsZero(); i++ {
		levels := map[string]uint8{"ada": silence, "bob": talk}
		if !bobAt.IsZero() {
			levels = map[string]uint8{"ada": talk, "bob": silence}
		}
		m.play(100*time.Millisecond, levels)
		switch id, changed := m.d.Dominant(m.now); {
		case changed && id == "bob":
			bobAt = m.now
		case changed && id == "ada":
			adaAt = m.now
		}
	}
	if bobAt.IsZero() || adaAt.IsZero() {
		t.Fatalf("stage changes: bob at %v, ada at %v; want both", bobAt, adaAt)
	}
	if held := adaAt.Sub(bobAt); held < 1500*time.Millisecond {
		t.Fatalf("Ada got the stage back %v after Bob took it: the 1.5 s hold was not kept", held)
	}
}

func TestLoudestListsOnlyThoseSpeakingLoudestFirst(t *testing.T) {
	m := newMeeting()
	m.play(time.Second, map[string]uint8{"ada": 40, "bob": 20, "cy": hum, "dee": silence, "eve": 45})
	got := m.d.Loudest(2, m.now)
	if !slices.Equal(got, []string{"bob", "ada"}) {
		t.Fatalf("Loudest(2) = %v, want [bob ada]", got)
	}
	if got := m.d.Loudest(10, m.now); !slices.Equal(got, []string{"bob", "ada", "eve"}) {
		t.Fatalf("Loudest(10) = %v, want the three who speak", got)
	}
	// Half a second of silence later nobody is speaking.
	m.play(600*time.Millisecond, map[string]uint8{"ada": silence, "bob": silence, "eve": silence})
	if got := m.d.Loudest(10, m.now); len(got) != 0 {
		t.Fatalf("Loudest after silence = %v, want none", got)
	}
}

func TestRemoveForgetsTheDominantSpeaker(t *testing.T) {
	m := newMeeting()
	m.dominant(2*time.Second, map[string]uint8{"ada": talk})
	m.d.Remove("ada")
	if id, _ := m.d.Dominant(m.now); id != "" {
		t.Fatalf("dominant after Ada left = %q", id)
	}
	if got := m.d.Loudest(3, m.now); len(got) != 0 {
		t.Fatalf("Loudest after Ada left = %v", got)
	}
}

func TestLongSilenceClearsHistory(t *testing.T) {
	m := newMeeting()
	m.play(time.Second, map[string]uint8{"ada": talk})
	// No packets at all for a minute (muted): nothing of the old speech
	// may count.
	m.now = m.now.Add(time.Minute)
	m.d.Observe("ada", silence, m.now)
	h := m.d.people["ada"]
	if h.speech != 0 || slices.Max(h.loudness) != 0 {
		t.Fatalf("history after a minute of no packets: speech %b loudness %v", h.speech, h.loudness)
	}
}
