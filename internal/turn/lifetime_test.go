package turn

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"
)

const (
	testAttrRequestedTransport stun.AttrType = 0x0019
	testAttrLifetime           stun.AttrType = 0x000D
)

func lifetimeAttr(sec uint32) stun.RawAttribute {
	return stun.RawAttribute{Type: testAttrLifetime, Value: binary.BigEndian.AppendUint32(nil, sec)}
}

func udpTransport() stun.RawAttribute {
	return stun.RawAttribute{Type: testAttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
}

func readLifetime(t *testing.T, m *stun.Message) uint32 {
	t.Helper()
	v, err := m.Get(testAttrLifetime)
	if err != nil {
		t.Fatalf("no LIFETIME: %v", err)
	}
	return binary.BigEndian.Uint32(v)
}

func TestScreenRequestCapsAndResigns(t *testing.T) {
	user, realm := "1:u", "huddle"
	key := pionturn.GenerateAuthKey(user, realm, "pw")
	keyFor := func(u, r string) ([]byte, bool) {
		return key, u == user && r == realm
	}
	build := func(typ stun.MessageType, extra ...stun.Setter) []byte {
		setters := append([]stun.Setter{stun.TransactionID, typ}, extra...)
		setters = append(setters, stun.NewUsername(user), stun.NewRealm(realm), stun.NewNonce("n"),
			stun.MessageIntegrity(key), stun.Fingerprint)
		return stun.MustBuild(setters...).Raw
	}
	allocate := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	refresh := stun.NewType(stun.MethodRefresh, stun.ClassRequest)
	cases := []struct {
		name    string
		msg     []byte
		max     uint32
		want    uint32
		changed bool
	}{
		{"allocate over the cap", build(allocate, udpTransport(), lifetimeAttr(3000)), 600, 600, true},
		{"refresh over the cap", build(refresh, lifetimeAttr(3599)), 120, 120, true},
		{"allocate under the cap", build(allocate, udpTransport(), lifetimeAttr(300)), 600, 300, false},
		{"refresh deleting", build(refresh, lifetimeAttr(0)), 60, 0, false},
		{"allocate without lifetime, cap below default", build(allocate, udpTransport()), 60, 60, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := append([]byte(nil), c.msg...)
			out, ok := screenRequest(c.msg, c.max, keyFor)
			if !ok {
				t.Fatal("refused")
			}
			if changed := string(out) != string(orig); changed != c.changed {
				t.Fatalf("changed = %v, want %v", changed, c.changed)
			}
			m := &stun.Message{Raw: append([]byte(nil), out...)}
			if err := m.Decode(); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := stun.MessageIntegrity(key).Check(m); err != nil {
				t.Fatalf("integrity no longer valid: %v", err)
			}
			if err := stun.Fingerprint.Check(m); err != nil {
				t.Fatalf("fingerprint no longer valid: %v", err)
			}
			if got := readLifetime(t, m); got != c.want {
				t.Fatalf("LIFETIME %d, want %d", got, c.want)
			}
		})
	}
	// An unknown user cannot be re-signed: the message stays as it came and
	// pion refuses it on its own.
	msg := build(allocate, udpTransport(), lifetimeAttr(3000))
	out, ok := screenRequest(msg, 60, func(string, string) ([]byte, bool) { return nil, false })
	if !ok || string(out) != string(msg) {
		t.Fatal("message of an unknown user was changed")
	}
	// Garbage passes through untouched (pion drops it) or is refused; it
	// does not panic.
	for _, junk := range [][]byte{nil, {0, 3}, {0, 3, 0, 200, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}} {
		if out, ok := screenRequest(junk, 60, keyFor); ok && string(out) != string(junk) {
			t.Fatalf("junk %v changed to %v", junk, out)
		}
	}
}

// The client's own signature is checked before anything is re-signed: a
// request signed with the wrong password must reach pion as it came, so
// that pion refuses it. Re-signing it made the relay usable with any
// password.
func TestScreenRequestDoesNotSignForForgers(t *testing.T) {
	user, realm := "1:u", "huddle"
	right := pionturn.GenerateAuthKey(user, realm, "pw")
	wrong := pionturn.GenerateAuthKey(user, realm, "guess")
	keyFor := func(u, r string) ([]byte, bool) { return right, u == user && r == realm }
	allocate := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	for _, c := range []struct {
		name  string
		extra []stun.Setter
		max   uint32
	}{
		{"lifetime over the cap", []stun.Setter{lifetimeAttr(3000)}, 600},
		{"no lifetime, cap below the default", nil, 120},
	} {
		for _, fp := range []bool{true, false} {
			setters := append([]stun.Setter{stun.TransactionID, allocate, udpTransport()}, c.extra...)
			setters = append(setters, stun.NewUsername(user), stun.NewRealm(realm), stun.NewNonce("n"), stun.MessageIntegrity(wrong))
			if fp {
				setters = append(setters, stun.Fingerprint)
			}
			msg := stun.MustBuild(setters...).Raw
			out, ok := screenRequest(append([]byte(nil), msg...), c.max, keyFor)
			if !ok {
				continue // refused outright is as good
			}
			m := &stun.Message{Raw: out}
			if err := m.Decode(); err != nil {
				t.Fatal(err)
			}
			if stun.MessageIntegrity(right).Check(m) == nil {
				t.Fatalf("%s (fingerprint %v): a request signed with the wrong password came out signed with the right key", c.name, fp)
			}
		}
	}
}

func TestScreenRequestRefusesWhatPionWouldMisread(t *testing.T) {
	user, realm := "1:u", "huddle"
	key := pionturn.GenerateAuthKey(user, realm, "pw")
	keyFor := func(u, r string) ([]byte, bool) { return key, u == user && r == realm }
	allocate := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	permission := stun.NewType(stun.MethodCreatePermission, stun.ClassRequest)
	head := func(typ stun.MessageType) []stun.Setter {
		return []stun.Setter{stun.TransactionID, typ, udpTransport(), stun.NewUsername(user), stun.NewRealm(realm), stun.NewNonce("n")}
	}
	badFP := stun.MustBuild(append(head(allocate), lifetimeAttr(3000), stun.MessageIntegrity(key), stun.Fingerprint)...).Raw
	badFP[len(badFP)-1] ^= 1
	wrongSize := stun.MustBuild(append(head(allocate), stun.RawAttribute{Type: testAttrLifetime, Value: make([]byte, 8)},
		stun.MessageIntegrity(key))...).Raw
	refused := map[string][]byte{
		"lifetime after integrity":                   stun.MustBuild(append(head(allocate), stun.MessageIntegrity(key), lifetimeAttr(3000))...).Raw,
		"lifetime between integrity and fingerprint": stun.MustBuild(append(head(allocate), stun.MessageIntegrity(key), lifetimeAttr(3000), stun.Fingerprint)...).Raw,
		"attribute after fingerprint":                stun.MustBuild(append(head(allocate), stun.MessageIntegrity(key), stun.Fingerprint, lifetimeAttr(3000))...).Raw,
		"second integrity":                           stun.MustBuild(append(head(allocate), stun.MessageIntegrity(key), stun.MessageIntegrity(key))...).Raw,
		"other request with trailing attribute":      stun.MustBuild(append(head(permission), stun.MessageIntegrity(key), stun.NewSoftware("x"))...).Raw,
		"lifetime of 8 bytes":                        wrongSize,
		"wrong fingerprint on a capped request":      badFP,
	}
	for name, msg := range refused {
		if _, ok := screenRequest(msg, 60, keyFor); ok {
			t.Errorf("%s: not refused", name)
		}
	}
	// A response built from the request names it and says 400.
	res := &stun.Message{Raw: badRequest(refused["lifetime after integrity"])}
	if err := res.Decode(); err != nil {
		t.Fatal(err)
	}
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(res); err != nil || code.Code != stun.CodeBadRequest ||
		res.Type != stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse) {
		t.Fatalf("refusal %v %v (%v), want Allocate error 400", res.Type, code, err)
	}
}

// rawAllocate runs the long-term-credential Allocate dance with raw STUN
// messages and returns the granted lifetime in seconds.
func rawAllocate(t *testing.T, conn net.Conn, cred Credential, extra ...stun.Setter) uint32 {
	t.Helper()
	roundTrip := func(m *stun.Message) *stun.Message {
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Write(m.Raw); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		res := &stun.Message{Raw: buf[:n]}
		if err := res.Decode(); err != nil {
			t.Fatal(err)
		}
		return res
	}
	typ := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	first := roundTrip(stun.MustBuild(stun.TransactionID, typ, udpTransport()))
	var nonce stun.Nonce
	if err := nonce.GetFrom(first); err != nil {
		t.Fatalf("no nonce in %v", first)
	}
	key := pionturn.GenerateAuthKey(cred.Username, "huddle", cred.Password)
	setters := append([]stun.Setter{stun.TransactionID, typ, udpTransport()}, extra...)
	setters = append(setters, stun.NewUsername(cred.Username), stun.NewRealm("huddle"), nonce,
		stun.MessageIntegrity(key), stun.Fingerprint)
	res := roundTrip(stun.MustBuild(setters...))
	if res.Type.Class != stun.ClassSuccessResponse {
		var code stun.ErrorCodeAttribute
		code.GetFrom(res)
		t.Fatalf("allocate failed: %v", code)
	}
	return readLifetime(t, res)
}

func TestRelayCapsAllocationLifetime(t *testing.T) {
	_, cfg := startRelay(t, Config{MaxLifetime: time.Minute})
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range []struct {
			name  string
			extra []stun.Setter
		}{
			{"asks 50 minutes", []stun.Setter{lifetimeAttr(3000)}},
			{"asks nothing", nil},
		} {
			t.Run(network+"/"+c.name, func(t *testing.T) {
				conn, err := net.Dial(network, cfg.Listen)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				got := rawAllocate(t, conn, mint("henry-"+network+c.name, time.Hour), c.extra...)
				if got != 60 {
					t.Fatalf("granted lifetime %ds, want the 60s cap", got)
				}
			})
		}
	}
}

func TestRelayGrantsShortLifetime(t *testing.T) {
	_, cfg := startRelay(t, Config{})
	conn, err := net.Dial("udp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := rawAllocate(t, conn, mint("ivy", time.Hour), lifetimeAttr(120)); got != 120 {
		t.Fatalf("granted lifetime %ds, want the 120s asked for", got)
	}
}
