package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
)

// LoadPublicKeys reads the verification keys in a file: PEM (PUBLIC KEY,
// RSA PUBLIC KEY or CERTIFICATE blocks, any number) or a JWKS document
// ({"keys": [...]}, Ed25519 "OKP" and "RSA" keys).
func LoadPublicKeys(path string) ([]PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParsePublicKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// ErrNoPublicKeys is returned for a key file with no usable key in it.
var ErrNoPublicKeys = errors.New("no Ed25519 or RSA public key found (want PEM or JWKS)")

// ParsePublicKeys is LoadPublicKeys on the file's content.
func ParsePublicKeys(b []byte) ([]PublicKey, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return parseJWKS(t)
	}
	var keys []PublicKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		k, err := pemKey(block)
		if err != nil {
			return nil, err
		}
		keys = append(keys, PublicKey{Key: k})
	}
	if len(keys) == 0 {
		return nil, ErrNoPublicKeys
	}
	return keys, nil
}

func pemKey(block *pem.Block) (any, error) {
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		return checkKey(k)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return checkKey(c.PublicKey)
	}
	// A private key here is a mistake worth stopping for: it should not
	// be on the server at all.
	return nil, fmt.Errorf("PEM block %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
}

func checkKey(k any) (any, error) {
	switch k.(type) {
	case ed25519.PublicKey, *rsa.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T (want Ed25519 or RSA)", k)
}

// jwk is the part of a JSON Web Key read here (RFC 7517, 8037).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func parseJWKS(b []byte) ([]PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var keys []PublicKey
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (%q): %w", i, k.Kid, err)
		}
		if pub != nil {
			keys = append(keys, PublicKey{ID: k.Kid, Key: pub})
		}
	}
	if len(keys) == 0 {
		return nil, ErrNoPublicKeys
	}
	return keys, nil
}

// public decodes the key; nil, nil for key types this server does not use
// (a JWKS shared with other services may hold them).
func (k jwk) public() (any, error) {
	dec := base64.RawURLEncoding.DecodeString
	switch k.Kty {
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, nil
		}
		x, err := dec(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 x")
		}
		return ed25519.PublicKey(x), nil
	case "RSA":
		n, err1 := dec(k.N)
		e, err2 := dec(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA n or e (at least 2048 bits)")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	}
	return nil, nil
}
