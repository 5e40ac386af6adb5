package turn

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"
)

// roundTrip writes a raw message on conn and returns the answer, or nil
// when none comes (the relay dropped the request or closed the stream).
func roundTrip(t *testing.T, conn net.Conn, raw []byte) *stun.Message {
	t.Helper()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write(raw); err != nil {
		return nil
	}
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		return nil // timeout, or the stream closed
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		t.Fatalf("answer is not STUN: %v", err)
	}
	return res
}

// nonceFrom asks for a nonce with an unauthenticated Allocate.
func nonceFrom(t *testing.T, conn net.Conn) stun.Nonce {
	t.Helper()
	typ := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	res := roundTrip(t, conn, stun.MustBuild(stun.TransactionID, typ, udpTransport()).Raw)
	var nonce stun.Nonce
	if res == nil || nonce.GetFrom(res) != nil {
		t.Fatalf("no nonce in %v", res)
	}
	return nonce
}

// allocateWith sends a signed Allocate: before are the attributes before
// the credentials, after those between MESSAGE-INTEGRITY and (when fp)
// FINGERPRINT. It returns the answer or nil.
func allocateWith(t *testing.T, conn net.Conn, typ uint16, username, password string, before, after []stun.Setter, fp bool) *stun.Message {
	t.Helper()
	nonce := nonceFrom(t, conn)
	key := pionturn.GenerateAuthKey(username, "huddle", password)
	setters := append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport()}, before...)
	setters = append(setters, stun.NewUsername(username), stun.NewRealm("huddle"), nonce)
	m := stun.MustBuild(setters...)
	if typ != 0 {
		// A type pion reads as Allocate though it is not STUN, signed as
		// it is sent.
		binary.BigEndian.PutUint16(m.Raw[0:2], typ)
	}
	tail := append([]stun.Setter{stun.MessageIntegrity(key)}, after...)
	if fp {
		tail = append(tail, stun.Fingerprint)
	}
	for _, a := range tail {
		if err := a.AddTo(m); err != nil {
			t.Fatal(err)
		}
	}
	if typ != 0 && binary.BigEndian.Uint16(m.Raw[0:2]) != typ {
		t.Fatal("type not kept")
	}
	return roundTrip(t, conn, m.Raw)
}

func dialRelay(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// A made-up username with a future expiry and a wrong password must never
// get an allocation, whatever the attributes: the LIFETIME rewrite once
// re-signed such requests with the right key. With the right password,
// the granted lifetime never exceeds the cap.
func TestAllocateAttributeMatrix(t *testing.T) {
	n := 0
	for _, maxLifetime := range []time.Duration{0, 2 * time.Minute} {
		s, cfg := startRelay(t, Config{MaxLifetime: maxLifetime})
		capSec := uint32(s.cfg.MaxLifetime / time.Second)
		lifetimes := map[string][]stun.Setter{
			"no lifetime":          nil,
			"lifetime above cap":   {lifetimeAttr(3000)},
			"lifetime below cap":   {lifetimeAttr(60)},
			"lifetime of an hour+": {lifetimeAttr(7200)},
		}
		for _, network := range []string{"udp", "tcp"} {
			for lname, lt := range lifetimes {
				for _, fp := range []bool{true, false} {
					for _, right := range []bool{false, true} {
						name := fmt.Sprintf("max %v/%s/%s/fingerprint %v/right password %v", maxLifetime, network, lname, fp, right)
						t.Run(name, func(t *testing.T) {
							n++ // a participant each: the per-participant quota is not under test
							user := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + ":anything-" + strconv.Itoa(n)
							password := "wrong password"
							if right {
								password = Password([]byte(testSecret), user)
							}
							res := allocateWith(t, dialRelay(t, network, cfg.Listen), 0, user, password, lt, nil, fp)
							if res == nil {
								t.Fatal("no answer")
							}
							if !right {
								if res.Type.Class == stun.ClassSuccessResponse {
									t.Fatal("allocation granted with a wrong password")
								}
								return
							}
							if res.Type.Class != stun.ClassSuccessResponse {
								t.Fatalf("right password refused: %v", res)
							}
							if got := readLifetime(t, res); got > capSec {
								t.Fatalf("granted %ds, cap %ds", got, capSec)
							}
						})
					}
				}
			}
		}
		if st := s.Stats(); st.AuthFailures == 0 {
			t.Errorf("no auth failure counted: %+v", st)
		}
	}
}

// A LIFETIME after MESSAGE-INTEGRITY is not signed, so RFC 5389 says to
// ignore it; pion read it, and the cap skipped it. Such requests are
// refused, as are types pion would misread as an Allocate.
func TestRelayRefusesWhatPionWouldMisread(t *testing.T) {
	s, cfg := startRelay(t, Config{MaxLifetime: 2 * time.Minute})
	c := mint("mallory", time.Hour)
	for _, network := range []string{"udp", "tcp"} {
		for _, fp := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/lifetime after integrity/fingerprint %v", network, fp), func(t *testing.T) {
				res := allocateWith(t, dialRelay(t, network, cfg.Listen), 0, c.Username, c.Password,
					nil, []stun.Setter{lifetimeAttr(3000)}, fp)
				if res == nil {
					t.Fatal("no answer")
				}
				var code stun.ErrorCodeAttribute
				if res.Type.Class != stun.ClassErrorResponse || code.GetFrom(res) != nil || code.Code != stun.CodeBadRequest {
					t.Fatalf("answer %v %v, want 400 Bad Request", res.Type, code)
				}
			})
		}
		for _, typ := range []uint16{0x8003, 0xC003, 0x4003} {
			t.Run(fmt.Sprintf("%s/type %#04x", network, typ), func(t *testing.T) {
				res := allocateWith(t, dialRelay(t, network, cfg.Listen), typ, c.Username, c.Password,
					[]stun.Setter{lifetimeAttr(3000)}, nil, true)
				if res != nil && res.Type.Class == stun.ClassSuccessResponse {
					t.Fatalf("type %#04x allocated for %ds", typ, readLifetime(t, res))
				}
			})
		}
	}
	if s.Stats().AllocationsTotal != 0 {
		t.Fatalf("%d allocations made from refused requests", s.Stats().AllocationsTotal)
	}
	if s.Stats().RefusedRequests == 0 {
		t.Fatal("refused requests not counted")
	}
}

// frameSize must cut a TCP stream where pion's STUNConn cuts it: pion
// takes the magic cookie at bytes 4-8 for STUN whatever the first byte,
// so frames where the two views could differ end the connection.
func TestFrameSizeAgreesWithPion(t *testing.T) {
	cookie := []byte{0x21, 0x12, 0xA4, 0x42}
	stunHead := append([]byte{0x00, 0x03, 0x00, 0x08}, cookie...)
	cases := []struct {
		name string
		b    []byte
		size int
		ok   bool
	}{
		{"empty", nil, -1, true},
		{"short STUN", stunHead[:6], -1, true},
		{"STUN", stunHead, 28, true},
		{"ChannelData padded", []byte{0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4}, 12, true},
		{"STUN without cookie", []byte{0x00, 0x03, 0x00, 0x08, 1, 2, 3, 4}, 0, false},
		{"ChannelData with a cookie", append([]byte{0x40, 0x03, 0x00, 0x08}, cookie...), 0, false},
		{"top bit set", []byte{0x80}, 0, false},
		{"top bits set with a cookie", append([]byte{0xC0, 0x03, 0x00, 0x08}, cookie...), 0, false},
	}
	for _, c := range cases {
		size, ok := frameSize(c.b)
		if ok != c.ok || ok && size != c.size {
			t.Errorf("%s: frameSize = %d, %v; want %d, %v", c.name, size, ok, c.size, c.ok)
		}
	}
}
