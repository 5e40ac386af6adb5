package rooms

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// A resume token proves a participant id. It reads
//
//	<id>.<issued>.<expires>.<host>.<nonce>.<mac>
//
// issued is in Unix nanoseconds (it tells the tokens of an earlier process
// from those of this one, see Room.reclaims), expires in Unix
// milliseconds, host is 1 when the participant was the room's host when
// the token was issued (else 0), nonce is 64 random bits (two tokens never
// look alike), and mac is the
// unpadded base64url HMAC-SHA256, under the registry's TokenKey, of a
// domain label, the room id and everything before the last dot. The room
// is in the MAC but not in the token: a token is good for its own room
// only. Ids and room ids never contain a dot.
//
// Nothing in a token is secret but the MAC; what it protects is that only
// the client the server gave it to can name that id, so a token must not be
// logged.
type tokenClaim struct {
	id      string
	issued  int64 // Unix ns
	expires int64 // Unix ms
	host    bool
}

// tokenLabel separates these MACs from any other use of the same key.
const tokenLabel = "huddle resume token v1\x00"

// signer makes and checks resume tokens with one key.
type signer struct{ key []byte }

// newSigner uses key, or a random one when key is empty (tokens then prove
// nothing to another process).
func newSigner(key []byte) signer {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails on Linux
	}
	return signer{key: append([]byte(nil), key...)}
}

func (s signer) sign(room string, c tokenClaim) string {
	host := "0"
	if c.host {
		host = "1"
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	body := c.id + "." + strconv.FormatInt(c.issued, 10) + "." + strconv.FormatInt(c.expires, 10) + "." + host +
		"." + base64.RawURLEncoding.EncodeToString(nonce[:])
	return body + "." + base64.RawURLEncoding.EncodeToString(s.mac(room, body))
}

func (s signer) mac(room, body string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(tokenLabel))
	m.Write([]byte(room))
	m.Write([]byte{0})
	m.Write([]byte(body))
	return m.Sum(nil)
}

// verify returns the claim of a token that this key signed for room; ok is
// false for anything else. Whether it has expired is the caller's
// question (see tokenClaim.expired).
func (s signer) verify(room, token string) (c tokenClaim, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i <= 0 {
		return tokenClaim{}, false
	}
	body := token[:i]
	got, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || !hmac.Equal(got, s.mac(room, body)) {
		return tokenClaim{}, false
	}
	// The MAC is good, so the body is ours; parse it all the same, as
	// defence against a key shared with something else.
	f := strings.Split(body, ".")
	if len(f) != 5 || !validID(f[0]) || (f[3] != "0" && f[3] != "1") {
		return tokenClaim{}, false
	}
	c.id, c.host = f[0], f[3] == "1"
	if c.issued, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return tokenClaim{}, false
	}
	if c.expires, err = strconv.ParseInt(f[2], 10, 64); err != nil {
		return tokenClaim{}, false
	}
	return c, true
}

// expired reports whether the claim is past its expiry at now.
func (c tokenClaim) expired(now time.Time) bool { return now.UnixMilli() >= c.expires }

// validID reports whether id is 1-64 of A-Z a-z 0-9 - _ (socket ids are).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
