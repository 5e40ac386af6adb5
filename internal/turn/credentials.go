package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials follow the TURN REST API scheme (draft-uberti-behave-turn-rest,
// coturn's use-auth-secret): the username is "<expiry unix time>:<user>" and
// the password is base64(HMAC-SHA1(secret, username)). Nothing is stored:
// any relay that knows the secret can check them, which is what lets an
// operator swap the embedded relay for coturn.

// Errors of a username that does not follow the scheme.
var (
	ErrBadUsername = errors.New("turn: username is not <expiry>:<user>")
	ErrExpired     = errors.New("turn: credentials expired")
)

// Credential is one minted username and password.
type Credential struct {
	Username string
	Password string
	Expires  time.Time
}

// MintCredential returns credentials for user, valid until now+ttl.
func MintCredential(secret []byte, user string, ttl time.Duration, now time.Time) Credential {
	expires := now.Add(ttl).Truncate(time.Second)
	username := strconv.FormatInt(expires.Unix(), 10) + ":" + user
	return Credential{Username: username, Password: Password(secret, username), Expires: expires}
}

// Password is base64(HMAC-SHA1(secret, username)).
func Password(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseUsername splits a username of the scheme into its expiry and user.
// Like coturn, the user part may be empty.
func ParseUsername(username string) (expires time.Time, user string, err error) {
	ts, user, _ := strings.Cut(username, ":")
	if ts == "" || len(ts) > 19 {
		return time.Time{}, "", ErrBadUsername
	}
	for _, c := range ts {
		if c < '0' || c > '9' {
			return time.Time{}, "", ErrBadUsername
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", ErrBadUsername
	}
	return time.Unix(sec, 0), user, nil
}

// CheckUsername returns the password the username must come with, or an
// error when it is malformed or expired at now.
func CheckUsername(secret []byte, username string, now time.Time) (user, password string, err error) {
	expires, user, err := ParseUsername(username)
	if err != nil {
		return "", "", err
	}
	if !now.Before(expires) {
		return "", "", ErrExpired
	}
	return user, Password(secret, username), nil
}

// processSecret is the random secret used when none is configured. It is
// one per process, not per Config, so that the relay and the ICE source,
// built from the same Config at different places, agree on it.
var processSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("turn: no randomness for the relay secret: " + err.Error())
	}
	return []byte(base64.RawStdEncoding.EncodeToString(b))
})

// secret returns the configured secret, or the process's random one.
func (c Config) secret() []byte {
	if c.Secret != "" {
		return []byte(c.Secret)
	}
	return processSecret()
}
