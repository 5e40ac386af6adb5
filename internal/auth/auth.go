// Package auth checks join tokens: JSON Web Tokens that say who may join
// which meeting, under what name and in what role. A portal that embeds
// Huddle signs them with a shared secret (HS256) or with its own private
// key (EdDSA or RS256, the public half given to Huddle as PEM or JWKS).
//
// The package knows nothing of signaling: it turns a token and a room into
// a Grant or into one of the errors below, whose codes clients show.
package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"github.com/huddlehq/huddle/internal/refusal"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a participant may do in a meeting.
type Role string

const (
	// RoleHost controls the meeting: settings, the waiting room, removing
	// and muting others. A host token takes the host role on joining.
	RoleHost Role = "host"
	// RoleGuest sends and receives media and chat; the default.
	RoleGuest Role = "guest"
	// RoleViewer receives media and chat but never sends either.
	RoleViewer Role = "viewer"
)

// ParseRole reads a role; "" is RoleGuest.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case "":
		return RoleGuest, nil
	case RoleHost, RoleGuest, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want host, guest or viewer", s)
}

// AnyRoom is the room claim of a token good for every meeting.
const AnyRoom = "*"

// Claims are a join token's claims: the registered ones (exp is required,
// nbf and jti are honoured) and Huddle's own.
type Claims struct {
	// Room is the meeting the token admits to, or AnyRoom.
	Room string `json:"room"`
	// Name is the display name the participant gets; empty: its own.
	Name string `json:"name,omitempty"`
	// Role is host, guest or viewer; empty: guest.
	Role Role `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// Grant is what a valid token allows.
type Grant struct {
	Room string // the room claim (AnyRoom or the room joined)
	Name string // "" when the token names nobody
	Role Role
	// ID is the token's jti: a token with one admits once (see
	// Verifier.Consume). "": reusable until it expires.
	ID      string
	Expires time.Time
}

// Error is a refusal with a stable code (see internal/refusal).
type Error = refusal.Error

// The refusals of Verify and Consume.
var (
	ErrRequired  = &Error{Code: "auth-required", Message: "this server admits only participants with a join token"}
	ErrInvalid   = &Error{Code: "auth-invalid", Message: "the join token is not valid (wrong signature, malformed or not valid yet)"}
	ErrExpired   = &Error{Code: "auth-expired", Message: "the join token has expired; ask for a new link"}
	ErrWrongRoom = &Error{Code: "auth-wrong-room", Message: "the join token is for another meeting"}
	ErrUsed      = &Error{Code: "auth-used", Message: "the join token admits once and has been used"}
)

// Config sets up a Verifier. At least one key is needed.
type Config struct {
	// Secret verifies HS256 tokens; empty: none are accepted.
	Secret []byte
	// PublicKeys verify EdDSA (Ed25519) and RS256 tokens (LoadPublicKeys).
	PublicKeys []PublicKey
	// Leeway forgives clocks this far apart on exp and nbf. Default 30s.
	Leeway time.Duration
	// MaxUsed bounds the one-time token ids remembered until they expire;
	// past it one-time tokens are refused (ErrUsed) rather than risk
	// admitting one twice. Default 100,000.
	MaxUsed int
	// Now is the clock; nil: time.Now. Tests move it.
	Now func() time.Time
}

// PublicKey is one verification key with its JWKS key id ("" in PEM).
type PublicKey struct {
	ID  string
	Key crypto.PublicKey // ed25519.PublicKey or *rsa.PublicKey
}

// ErrNoKeys is returned by NewVerifier without a secret or a public key.
var ErrNoKeys = errors.New("auth: no secret and no public key to verify tokens with")

// Verifier checks join tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	methods []string

	mu   sync.Mutex
	used map[string]time.Time // jti -> expiry
}

// NewVerifier returns a verifier for cfg's keys.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Secret) == 0 && len(cfg.PublicKeys) == 0 {
		return nil, ErrNoKeys
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.MaxUsed <= 0 {
		cfg.MaxUsed = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, used: map[string]time.Time{}}
	// Only the algorithms a key was given for: a token cannot pick HS256
	// and have an RSA public key used as its HMAC secret.
	if len(cfg.Secret) > 0 {
		v.methods = append(v.methods, "HS256")
	}
	for _, k := range cfg.PublicKeys {
		switch k.Key.(type) {
		case ed25519.PublicKey:
			v.methods = appendNew(v.methods, "EdDSA")
		case *rsa.PublicKey:
			v.methods = appendNew(v.methods, "RS256")
		default:
			return nil, fmt.Errorf("auth: key %q: unsupported type %T (want Ed25519 or RSA)", k.ID, k.Key)
		}
	}
	return v, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Verify checks token for a join to room and returns what it grants.
func (v *Verifier) Verify(token, room string) (Grant, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Grant{}, ErrRequired
	}
	if len(token) > 8192 {
		return Grant{}, ErrInvalid
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, v.key,
		jwt.WithValidMethods(v.methods), jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.cfg.Leeway), jwt.WithTimeFunc(v.cfg.Now))
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		// Only a token whose signature held gets here: the signature is
		// checked before the claims.
		return Grant{}, ErrExpired
	default:
		return Grant{}, ErrInvalid
	}
	role, err := ParseRole(string(c.Role))
	if err != nil || c.Room == "" {
		return Grant{}, ErrInvalid
	}
	if c.Room != AnyRoom && c.Room != room {
		return Grant{}, ErrWrongRoom
	}
	g := Grant{Room: c.Room, Name: c.Name, Role: role, ID: c.ID}
	if c.ExpiresAt != nil {
		g.Expires = c.ExpiresAt.Time
	}
	return g, nil
}

// key is the jwt.Keyfunc: the keys of the token's algorithm, narrowed to
// the one its kid names when it names one.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if t.Method.Alg() == "HS256" {
		return v.cfg.Secret, nil
	}
	kid, _ := t.Header["kid"].(string)
	var set jwt.VerificationKeySet
	for _, k := range v.cfg.PublicKeys {
		if kid != "" && k.ID != "" && k.ID != kid {
			continue
		}
		switch k.Key.(type) {
		case ed25519.PublicKey:
			if t.Method.Alg() == "EdDSA" {
				set.Keys = append(set.Keys, k.Key)
			}
		case *rsa.PublicKey:
			if t.Method.Alg() == "RS256" {
				set.Keys = append(set.Keys, k.Key)
			}
		}
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("no key for this token")
	}
	return set, nil
}

// Consume marks a one-time token used and reports whether it was unused.
// A grant without an ID is reusable: Consume always reports true.
func (v *Verifier) Consume(g Grant) bool {
	if g.ID == "" {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	if _, seen := v.used[g.ID]; seen {
		return false
	}
	if len(v.used) >= v.cfg.MaxUsed {
		for id, exp := range v.used {
			if now.After(exp.Add(v.cfg.Leeway)) {
				delete(v.used, id)
			}
		}
		if len(v.used) >= v.cfg.MaxUsed {
			return false // fail closed: never admit a one-time token twice
		}
	}
	v.used[g.ID] = g.Expires
	return true
}

// Issue signs claims with secret (HS256): what `huddle token` prints.
func Issue(secret []byte, c Claims) (string, error) {
	if len(secret) == 0 {
		return "", ErrNoKeys
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		return "", err
	}
	if c.Room == "" {
		return "", errors.New("auth: a token needs a room (or *)")
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// NewClaims makes the claims of a token for room, name and role good for
// ttl from now, with nbf now.
func NewClaims(room, name string, role Role, ttl time.Duration, now time.Time) Claims {
	return Claims{Room: room, Name: name, Role: role, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
}
