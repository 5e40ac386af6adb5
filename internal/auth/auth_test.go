package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func hsVerifier(t *testing.T, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(Config{Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func issue(t *testing.T, c Claims) string {
	t.Helper()
	tok, err := Issue(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyCases(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := hsVerifier(t, now)
	good := NewClaims("standup", "Ada", RoleHost, time.Hour, now)
	otherKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString([]byte("another secret, 32 bytes long!!!"))
	noExp := good
	noExp.ExpiresAt = nil
	badRole := good
	badRole.Role = "admin"
	badRoleTok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, badRole).SignedString(secret)
	future := NewClaims("standup", "Ada", RoleGuest, time.Hour, now.Add(time.Hour))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, tc := range []struct {
		name, token, room string
		want              error
		role              Role
	}{
		{"valid", issue(t, good), "standup", nil, RoleHost},
		{"any room", issue(t, NewClaims("*", "", "", time.Hour, now)), "other", nil, RoleGuest},
		{"empty", "", "standup", ErrRequired, ""},
		{"garbage", "not.a.jwt", "standup", ErrInvalid, ""},
		{"wrong signature", otherKey, "standup", ErrInvalid, ""},
		{"alg none", none, "standup", ErrInvalid, ""},
		{"expired", issue(t, NewClaims("standup", "Ada", RoleHost, time.Hour, now.Add(-2*time.Hour))), "standup", ErrExpired, ""},
		{"within leeway", issue(t, NewClaims("standup", "Ada", RoleHost, time.Hour, now.Add(-time.Hour-10*time.Second))), "standup", nil, RoleHost},
		{"not yet", issue(t, future), "standup", ErrInvalid, ""},
		{"no exp", issue(t, noExp), "standup", ErrInvalid, ""},
		{"bad role", badRoleTok, "standup", ErrInvalid, ""},
		{"wrong room", issue(t, good), "retro", ErrWrongRoom, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := v.Verify(tc.token, tc.room)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && g.Role != tc.role {
				t.Fatalf("role %q, want %q", g.Role, tc.role)
			}
		})
	}
}

func TestExpiredWithWrongSignatureIsInvalid(t *testing.T) {
	// The signature is checked first: a forged token learns nothing more.
	now := time.Now()
	c := NewClaims("r", "", "", time.Hour, now.Add(-3*time.Hour))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("not the server's secret at all!!"))
	if _, err := hsVerifier(t, now).Verify(tok, "r"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want auth-invalid", err)
	}
}

func TestOneTimeToken(t *testing.T) {
	now := time.Now()
	v := hsVerifier(t, now)
	c := NewClaims("r", "", "", time.Hour, now)
	c.ID = "once-1"
	g, err := v.Verify(issue(t, c), "r")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Consume(g) {
		t.Fatal("first use refused")
	}
	if v.Consume(g) {
		t.Fatal("second use of a one-time token allowed")
	}
	reusable, _ := v.Verify(issue(t, NewClaims("r", "", "", time.Hour, now)), "r")
	if !v.Consume(reusable) || !v.Consume(reusable) {
		t.Fatal("a token without jti must be reusable")
	}
}

func TestOneTimeTokensFailClosedWhenFull(t *testing.T) {
	now := time.Now()
	v, _ := NewVerifier(Config{Secret: secret, MaxUsed: 2, Now: func() time.Time { return now }})
	for i, id := range []string{"a", "b"} {
		if !v.Consume(Grant{ID: id, Expires: now.Add(time.Hour)}) {
			t.Fatalf("%d refused", i)
		}
	}
	if v.Consume(Grant{ID: "c", Expires: now.Add(time.Hour)}) {
		t.Fatal("over MaxUsed with nothing expired: must refuse")
	}
	now = now.Add(2 * time.Hour) // a and b expired: their room is free again
	if !v.Consume(Grant{ID: "c", Expires: now.Add(time.Hour)}) {
		t.Fatal("expired ids were not swept")
	}
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEdDSAFromPEMAndRS256FromJWKS(t *testing.T) {
	now := time.Now()
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(edPub)
	pemPath := writeFile(t, "keys.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	enc := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "EC", "kid": "ignored", "crv": "P-256", "x": "AA", "y": "AA"},
		{"kty": "RSA", "kid": "portal-1", "use": "sig", "n": enc(rsaKey.N.Bytes()), "e": enc(big.NewInt(int64(rsaKey.E)).Bytes())},
	}})
	jwksPath := writeFile(t, "keys.json", jwks)

	var keys []PublicKey
	for _, p := range []string{pemPath, jwksPath} {
		k, err := LoadPublicKeys(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		keys = append(keys, k...)
	}
	v, err := NewVerifier(Config{PublicKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClaims("r", "Vic", RoleViewer, time.Hour, now)
	edTok, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(edPriv)
	rsTok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	rsTok.Header["kid"] = "portal-1"
	rsSigned, _ := rsTok.SignedString(rsaKey)
	for name, tok := range map[string]string{"EdDSA": edTok, "RS256": rsSigned} {
		if g, err := v.Verify(tok, "r"); err != nil || g.Role != RoleViewer || g.Name != "Vic" {
			t.Errorf("%s: %+v %v", name, g, err)
		}
	}
	// Without a secret, HS256 is not an accepted algorithm: an attacker
	// cannot sign with the public key's bytes as an HMAC secret.
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(der)
	if _, err := v.Verify(hs, "r"); !errors.Is(err, ErrInvalid) {
		t.Errorf("HS256 with public keys only: %v", err)
	}
	// A kid that names no key is refused, not tried against the others.
	rsTok.Header["kid"] = "someone-else"
	wrongKid, _ := rsTok.SignedString(rsaKey)
	if _, err := v.Verify(wrongKid, "r"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown kid: %v", err)
	}
}

func TestBadKeyFiles(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	for name, content := range map[string]string{
		"empty":       "",
		"private key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"bad json":    "{not json",
		"no keys":     `{"keys":[]}`,
		"short rsa":   `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`,
	} {
		if _, err := ParsePublicKeys([]byte(content)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewVerifier(Config{}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("no keys: %v", err)
	}
}
