package turn

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
)

// pion/turn grants any lifetime below an hour that a client asks for and
// has no hook to lower it: the lifetime goes straight from the request
// into the allocation's timer and the response. The relay therefore
// screens every STUN request before pion reads it (screenRequest) and
// lowers the LIFETIME of Allocate and Refresh requests.
//
// Lowering LIFETIME changes the signed part of the message, so the relay
// signs it again. It does so only after checking the client's own
// MESSAGE-INTEGRITY with the same key (RFC 5389 15.4): re-signing then
// turns a request the client signed into one signed with the key it
// already proved to hold, and grants nothing. A request whose integrity
// does not check out is passed on untouched, and pion refuses it: pion
// accepts only the key of the username's password, the one checked here.
//
// The screen also refuses what would let pion read a different message
// than the one checked: attributes after MESSAGE-INTEGRITY (RFC 5389 says
// to ignore them; pion reads them, so a LIFETIME placed there slipped past
// the cap), attributes that do not parse, and message types with the two
// top bits set (pion drops those bits and would take 0x8003 for an
// Allocate).

const (
	stunHeaderLen   = 20
	stunMagicCookie = 0x2112A442

	typeAllocateRequest = 0x0003
	typeRefreshRequest  = 0x0004

	attrUsername         = 0x0006
	attrMessageIntegrity = 0x0008
	attrErrorCode        = 0x0009
	attrLifetime         = 0x000D
	attrRealm            = 0x0014
	attrFingerprint      = 0x8028

	fingerprintXOR = 0x5354554e

	// pionDefaultLifetime is what pion grants when LIFETIME is absent.
	pionDefaultLifetime = 600
)

// keyFunc returns the long-term key (MD5 of username:realm:password) of a
// username, or false when the username is not one of the relay's. It
// must return a key for every username pion's AuthHandler accepts (it may
// return keys for more, such as expired ones: it only checks signatures).
type keyFunc func(username, realm string) ([]byte, bool)

// stunAttrs are the offsets (of the attribute header) that screenRequest
// needs; -1 when absent.
type stunAttrs struct {
	lifetime, username, realm, integrity, fingerprint int
}

// isRequest reports whether the STUN message type in b (at least two
// bytes, top bits zero) is of the request class (C1 and C0 both zero).
func isRequest(b []byte) bool { return b[0]&0x01 == 0 && b[1]&0x10 == 0 }

// screenRequest checks a STUN request (a message whose first two bits are
// zero) before pion reads it. It returns the message to hand to pion,
// with LIFETIME at most maxSeconds for Allocate and Refresh, or false
// when the request must be refused with 400 Bad Request instead. The
// result may be 8 bytes longer than msg (a LIFETIME added) and may share
// msg's array.
func screenRequest(msg []byte, maxSeconds uint32, key keyFunc) ([]byte, bool) {
	if len(msg) < stunHeaderLen || binary.BigEndian.Uint32(msg[4:8]) != stunMagicCookie {
		return msg, true // not STUN: pion drops it (it decodes nothing without the cookie)
	}
	if !isRequest(msg) {
		return msg, true // indications carry no integrity; responses are not for a server
	}
	size := stunHeaderLen + int(binary.BigEndian.Uint16(msg[2:4]))
	if size != len(msg) || size%4 != 0 {
		return nil, false
	}
	at, ok := scanAttrs(msg)
	if !ok {
		return nil, false
	}
	typ := binary.BigEndian.Uint16(msg[0:2])
	if typ != typeAllocateRequest && typ != typeRefreshRequest {
		return msg, true
	}
	switch {
	case at.lifetime >= 0:
		if binary.BigEndian.Uint32(msg[at.lifetime+4:]) <= maxSeconds {
			return msg, true
		}
		out := append([]byte(nil), msg...)
		binary.BigEndian.PutUint32(out[at.lifetime+4:], maxSeconds)
		return resign(out, at, msg, at, key)
	case typ == typeAllocateRequest && maxSeconds < pionDefaultLifetime:
		// No LIFETIME means pion's default, which is longer than allowed:
		// add one, before the integrity (or the fingerprint, or at the end).
		pos := size
		if at.integrity >= 0 {
			pos = at.integrity
		} else if at.fingerprint >= 0 {
			pos = at.fingerprint
		}
		out := make([]byte, 0, size+8)
		out = append(out, msg[:pos]...)
		out = binary.BigEndian.AppendUint16(out, attrLifetime)
		out = binary.BigEndian.AppendUint16(out, 4)
		out = binary.BigEndian.AppendUint32(out, maxSeconds)
		out = append(out, msg[pos:]...)
		binary.BigEndian.PutUint16(out[2:4], uint16(len(out)-stunHeaderLen))
		shift := func(off int) int {
			if off >= pos {
				return off + 8
			}
			return off
		}
		moved := stunAttrs{lifetime: pos, username: shift(at.username), realm: shift(at.realm),
			integrity: -1, fingerprint: -1}
		if at.integrity >= 0 {
			moved.integrity = at.integrity + 8
		}
		if at.fingerprint >= 0 {
			moved.fingerprint = at.fingerprint + 8
		}
		return resign(out, moved, msg, at, key)
	}
	return msg, true
}

// scanAttrs walks the attributes of a whole STUN message. It fails when
// an attribute runs past the end, when LIFETIME, MESSAGE-INTEGRITY or
// FINGERPRINT has the wrong size, or when anything but one FINGERPRINT
// follows the first MESSAGE-INTEGRITY, or anything follows FINGERPRINT.
func scanAttrs(msg []byte) (stunAttrs, bool) {
	at := stunAttrs{-1, -1, -1, -1, -1}
	for off := stunHeaderLen; off < len(msg); {
		if off+4 > len(msg) || at.fingerprint >= 0 {
			return at, false
		}
		t := binary.BigEndian.Uint16(msg[off:])
		n := int(binary.BigEndian.Uint16(msg[off+2:]))
		if off+4+n > len(msg) {
			return at, false
		}
		if at.integrity >= 0 && t != attrFingerprint {
			return at, false
		}
		var p *int
		switch t {
		case attrLifetime:
			p = &at.lifetime
			if n != 4 {
				return at, false
			}
		case attrUsername:
			p = &at.username
		case attrRealm:
			p = &at.realm
		case attrMessageIntegrity:
			p = &at.integrity
			if n != sha1.Size {
				return at, false
			}
		case attrFingerprint:
			p = &at.fingerprint
			if n != 4 {
				return at, false
			}
		}
		if p != nil && *p < 0 {
			*p = off
		}
		off += 4 + (n+3)&^3
	}
	return at, true
}

// resign recomputes MESSAGE-INTEGRITY and FINGERPRINT of out (whose
// attributes are at) after its LIFETIME changed, once orig (the message
// as it came, attributes at origAt) proved to be signed with the key of
// its username. When it is not, orig goes to pion untouched: pion then
// refuses it. A FINGERPRINT that does not match orig refuses the request:
// pion does not check fingerprints, and a correct client never sends a
// wrong one.
func resign(out []byte, at stunAttrs, orig []byte, origAt stunAttrs, key keyFunc) ([]byte, bool) {
	if origAt.fingerprint >= 0 && !fingerprintOK(orig, origAt.fingerprint) {
		return nil, false
	}
	if at.integrity >= 0 {
		if origAt.username < 0 || origAt.realm < 0 {
			return orig, true
		}
		k, ok := key(attrString(orig, origAt.username), attrString(orig, origAt.realm))
		if !ok || !hmac.Equal(integrity(orig, origAt.integrity, k), orig[origAt.integrity+4:origAt.integrity+4+sha1.Size]) {
			return orig, true
		}
		copy(out[at.integrity+4:], integrity(out, at.integrity, k))
	}
	if at.fingerprint >= 0 {
		binary.BigEndian.PutUint32(out[at.fingerprint+4:], fingerprint(out, at.fingerprint))
	}
	return out, true
}

// integrity is the MESSAGE-INTEGRITY value of msg with the attribute at
// off and key k. RFC 5389 15.4: the HMAC covers the message up to the
// attribute, with a length field that ends just after it. msg's length
// field is changed while computing and put back.
func integrity(msg []byte, off int, k []byte) []byte {
	total := binary.BigEndian.Uint16(msg[2:4])
	binary.BigEndian.PutUint16(msg[2:4], uint16(off+4+sha1.Size-stunHeaderLen))
	mac := hmac.New(sha1.New, k)
	mac.Write(msg[:off])
	binary.BigEndian.PutUint16(msg[2:4], total)
	return mac.Sum(nil)
}

func fingerprint(msg []byte, off int) uint32 {
	return crc32.ChecksumIEEE(msg[:off]) ^ fingerprintXOR
}

func fingerprintOK(msg []byte, off int) bool {
	return binary.BigEndian.Uint32(msg[off+4:]) == fingerprint(msg, off)
}

func attrString(msg []byte, off int) string {
	n := int(binary.BigEndian.Uint16(msg[off+2:]))
	return string(msg[off+4 : off+4+n])
}

// badRequest is the 400 answer to a refused request: same method and
// transaction, error class, ERROR-CODE 400.
func badRequest(req []byte) []byte {
	const reason = "Bad Request" // 11 bytes, padded to 12
	typ := binary.BigEndian.Uint16(req[0:2])&^0x0110 | 0x0110
	out := make([]byte, stunHeaderLen, stunHeaderLen+4+16)
	binary.BigEndian.PutUint16(out[0:2], typ)
	binary.BigEndian.PutUint16(out[2:4], 4+16)
	copy(out[4:20], req[4:20]) // cookie and transaction ID
	out = binary.BigEndian.AppendUint16(out, attrErrorCode)
	out = binary.BigEndian.AppendUint16(out, 4+uint16(len(reason)))
	out = append(out, 0, 0, 4, 0) // class 4, number 00
	out = append(out, reason...)
	return append(out, 0)
}
