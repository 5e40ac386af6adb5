package media

import (
	"errors"
	"testing"
	"time"
)

// A recording moves a two-person mesh to the SFU and keeps it there; when
// it ends, the policy takes the room back to the mesh.
func TestRequireMovesToSFUAndBack(t *testing.T) {
	m := newManager(t, Config{MeshAfter: 100 * time.Millisecond})
	a, b := &conn{}, &conn{}
	m.Joined("r", "a", a, true)
	m.Joined("r", "b", b, true)
	if m.Mode("r") != Mesh {
		t.Fatal("two people start in a mesh")
	}
	if err := m.Require("r", true); err != nil {
		t.Fatal(err)
	}
	if m.Mode("r") != SFU {
		t.Fatalf("required room is %s", m.Mode("r"))
	}
	eventually(t, "media-mode sfu to both", func() bool { return a.lastMode() == SFU && b.lastMode() == SFU })
	time.Sleep(300 * time.Millisecond)
	if m.Mode("r") != SFU {
		t.Fatal("a required room went back to the mesh")
	}
	if err := m.Require("r", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "back to the mesh after the recording", func() bool { return m.Mode("r") == Mesh })
}

// A room with a client that cannot use the SFU cannot be recorded; an
// unknown room neither.
func TestRequireRefusals(t *testing.T) {
	m := newManager(t, Config{})
	m.Joined("r", "seed", &conn{}, false)
	m.Joined("r", "b", &conn{}, true)
	if err := m.Require("r", true); !errors.Is(err, ErrNotCapable) {
		t.Errorf("room with a seed client: %v", err)
	}
	if m.Mode("r") != Mesh {
		t.Error("refused require moved the room")
	}
	if err := m.Require("nowhere", true); !errors.Is(err, ErrNotInSFU) {
		t.Errorf("unknown room: %v", err)
	}
	if err := m.Require("nowhere", false); err != nil {
		t.Errorf("release of an ended room: %v", err)
	}
}
