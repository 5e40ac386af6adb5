package turn

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
)

// pion/turn grants any lifetime below an hour that a client asks for and
// has no hook to lower it. The relay therefore rewrites the LIFETIME of
// Allocate and Refresh requests before pion reads them, and signs the
// message again with the same long-term key the client used: pion then
// sees (and answers) a request for at most MaxLifetime. Only these two
// requests are touched; everything else passes as it came.

const (
	stunHeaderLen   = 20
	stunMagicCookie = 0x2112A442

	typeAllocateRequest = 0x0003
	typeRefreshRequest  = 0x0004

	attrUsername         = 0x0006
	attrMessageIntegrity = 0x0008
	attrLifetime         = 0x000D
	attrRealm            = 0x0014
	attrFingerprint      = 0x8028

	fingerprintXOR = 0x5354554e

	// pionDefaultLifetime is what pion grants when LIFETIME is absent.
	pionDefaultLifetime = 600
)

// keyFunc returns the long-term key (MD5 of username:realm:password) of a
// username, or false when the username is not valid.
type keyFunc func(username, realm string) ([]byte, bool)

// stunAttrs are the offsets (of the attribute header) that capLifetime
// needs; -1 when absent.
type stunAttrs struct {
	lifetime, username, realm, integrity, fingerprint int
}

// capLifetime returns msg with LIFETIME at most maxSeconds when msg is an
// Allocate or Refresh request, signed again with key. It returns msg
// unchanged when nothing needs to change or the message cannot be
// re-signed (pion then refuses it on its own). The result may be 8 bytes
// longer than msg when LIFETIME had to be added; it may share msg's array.
func capLifetime(msg []byte, maxSeconds uint32, key keyFunc) []byte {
	if len(msg) < stunHeaderLen || msg[0]&0xC0 != 0 ||
		binary.BigEndian.Uint32(msg[4:8]) != stunMagicCookie {
		return msg
	}
	typ := binary.BigEndian.Uint16(msg[0:2])
	if typ != typeAllocateRequest && typ != typeRefreshRequest {
		return msg
	}
	size := stunHeaderLen + int(binary.BigEndian.Uint16(msg[2:4]))
	if size > len(msg) || size%4 != 0 {
		return msg
	}
	msg = msg[:size]
	at, ok := scanAttrs(msg)
	if !ok {
		return msg
	}
	switch {
	case at.lifetime >= 0:
		if binary.BigEndian.Uint32(msg[at.lifetime+4:]) <= maxSeconds {
			return msg
		}
		if at.integrity >= 0 && at.integrity < at.lifetime {
			return msg // after the integrity: ignored by a correct server, and unsigned
		}
		out := append([]byte(nil), msg...)
		binary.BigEndian.PutUint32(out[at.lifetime+4:], maxSeconds)
		return resign(out, at, key, msg)
	case typ == typeAllocateRequest && maxSeconds < pionDefaultLifetime:
		// No LIFETIME means pion's default, which is longer than allowed:
		// add one, before the integrity (or at the end).
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
		at.username, at.realm = shift(at.username), shift(at.realm)
		if at.integrity >= 0 {
			at.integrity += 8
		}
		if at.fingerprint >= 0 {
			at.fingerprint += 8
		}
		return resign(out, at, key, msg)
	}
	return msg
}

// scanAttrs walks the attributes of a whole STUN message.
func scanAttrs(msg []byte) (stunAttrs, bool) {
	at := stunAttrs{-1, -1, -1, -1, -1}
	for off := stunHeaderLen; off < len(msg); {
		if off+4 > len(msg) {
			return at, false
		}
		t := binary.BigEndian.Uint16(msg[off:])
		n := int(binary.BigEndian.Uint16(msg[off+2:]))
		if off+4+n > len(msg) {
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

// resign recomputes MESSAGE-INTEGRITY and FINGERPRINT of out after its
// LIFETIME changed; it returns orig when the key is unknown.
func resign(out []byte, at stunAttrs, key keyFunc, orig []byte) []byte {
	if at.integrity >= 0 {
		if at.username < 0 || at.realm < 0 {
			return orig
		}
		k, ok := key(attrString(out, at.username), attrString(out, at.realm))
		if !ok {
			return orig
		}
		// RFC 5389 15.4: the HMAC covers the message up to the integrity
		// attribute, with a length that ends just after it.
		total := binary.BigEndian.Uint16(out[2:4])
		binary.BigEndian.PutUint16(out[2:4], uint16(at.integrity+4+sha1.Size-stunHeaderLen))
		mac := hmac.New(sha1.New, k)
		mac.Write(out[:at.integrity])
		copy(out[at.integrity+4:], mac.Sum(nil))
		binary.BigEndian.PutUint16(out[2:4], total)
	}
	if at.fingerprint >= 0 {
		crc := crc32.ChecksumIEEE(out[:at.fingerprint]) ^ fingerprintXOR
		binary.BigEndian.PutUint32(out[at.fingerprint+4:], crc)
	}
	return out
}

func attrString(msg []byte, off int) string {
	n := int(binary.BigEndian.Uint16(msg[off+2:]))
	return string(msg[off+4 : off+4+n])
}
