package signaling

import "testing"

// Without a media side everyone talks peer to peer: a meeting stops at
// the mesh limit, however many the server allows on the SFU.
func TestMeshLimitWithoutTheSFU(t *testing.T) {
	ts := newTestServer(t, Config{MaxParticipants: 50, MeshLimit: 2})
	ts.dial().join("m", "Ann", "")
	ts.dial().join("m", "Ben", "")
	r := ts.dial().ask("join-room", map[string]any{"room": "m", "name": "Cy", "sfu": true})
	if r.OK || r.Error.Code != "room-full" {
		t.Fatalf("third join of a mesh with limit 2: %s, want room-full", r.raw)
	}
}
