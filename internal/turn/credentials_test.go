package turn

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"
	"time"
)

// referencePassword computes the scheme's password the long way, as coturn
// documents it, so the test does not trust Password.
func referencePassword(secret, username string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestMintCredentialFollowsRESTScheme(t *testing.T) {
	now := time.Unix(1_763_712_000, 500_000_000)
	c := MintCredential([]byte("s3cret"), "abc123", time.Hour, now)
	wantUser := strconv.FormatInt(1_763_712_000+3600, 10) + ":abc123"
	if c.Username != wantUser {
		t.Fatalf("username %q, want %q", c.Username, wantUser)
	}
	if want := referencePassword("s3cret", wantUser); c.Password != want {
		t.Fatalf("password %q, want %q", c.Password, want)
	}
	// A known vector: HMAC-SHA1("secret", "1:u").
	if got, want := Password([]byte("secret"), "1:u"), referencePassword("secret", "1:u"); got != want {
		t.Fatalf("Password = %q, want %q", got, want)
	}
	if got := Password([]byte("other"), wantUser); got == c.Password {
		t.Fatal("a different secret gave the same password")
	}
}

func TestParseUsername(t *testing.T) {
	cases := []struct {
		in      string
		exp     int64
		user    string
		wantErr error
	}{
		{"1763715600:abc", 1763715600, "abc", nil},
		{"1763715600:a:b", 1763715600, "a:b", nil},
		{"1763715600", 1763715600, "", nil},
		{"", 0, "", ErrBadUsername},
		{":abc", 0, "", ErrBadUsername},
		{"abc:1763715600", 0, "", ErrBadUsername},
		{"-5:abc", 0, "", ErrBadUsername},
		{"+5:abc", 0, "", ErrBadUsername},
		{"99999999999999999999:x", 0, "", ErrBadUsername},
	}
	for _, c := range cases {
		exp, user, err := ParseUsername(c.in)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("%q: err %v, want %v", c.in, err, c.wantErr)
			continue
		}
		if err == nil && (exp.Unix() != c.exp || user != c.user) {
			t.Errorf("%q: got (%d, %q), want (%d, %q)", c.in, exp.Unix(), user, c.exp, c.user)
		}
	}
}

func TestCheckUsernameRefusesExpired(t *testing.T) {
	secret := []byte("k")
	now := time.Unix(1000, 0)
	c := MintCredential(secret, "p", time.Minute, now)
	if _, pw, err := CheckUsername(secret, c.Username, now.Add(59*time.Second)); err != nil || pw != c.Password {
		t.Fatalf("valid credential: pw %q err %v", pw, err)
	}
	if _, _, err := CheckUsername(secret, c.Username, now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: err %v, want ErrExpired", err)
	}
}

func TestEmptySecretIsRandomAndSharedInProcess(t *testing.T) {
	a, b := Config{}.secret(), Config{Realm: "x"}.secret()
	if len(a) < 32 {
		t.Fatalf("random secret too short: %d bytes", len(a))
	}
	if string(a) != string(b) {
		t.Fatal("relay and ICE source would disagree on the random secret")
	}
	if string(Config{Secret: "given"}.secret()) != "given" {
		t.Fatal("configured secret not used")
	}
}
