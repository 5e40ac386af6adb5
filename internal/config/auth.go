package config

import (
	"time"
)

// AuthConfig is who may join (--auth), the server API's keys and the
// webhooks: Huddle inside other products.
type AuthConfig struct {
	// Mode is "open" (anyone with the link joins) or "token" (a join
	// needs a JWT signed with Secret or by one of PublicKeysFile's keys).
	Mode string
	// Secret verifies (and `huddle token` signs) HS256 join tokens; at
	// least 32 bytes.
	Secret string
	// PublicKeysFile holds Ed25519 and RSA public keys, PEM or JWKS, that
	// verify EdDSA and RS256 join tokens.
	PublicKeysFile string

	// APIKeys are the Bearer keys of the server API; none: the API is off.
	APIKeys []string
	// APIRate and APIBurst shape each key's rate limit (requests per
	// second and burst).
	APIRate  float64
	APIBurst int

	// WebhookURLs receive the meeting events, signed with WebhookSecret.
	WebhookURLs   []string
	WebhookSecret string
}

// TokenMode reports whether joins need a token.
func (a AuthConfig) TokenMode() bool { return a.Mode == "token" }

func registerAuth(fs *flagSet, c *AuthConfig) (finish func() error) {
	fs.String(&c.Mode, "auth", "open", "who may join: open (anyone with the link) or token (a signed join token, see huddle token)")
	fs.Secret(&c.Secret, "auth-secret", "secret (at least 32 bytes) that signs HS256 join tokens")
	fs.String(&c.PublicKeysFile, "auth-public-keys", "", "PEM or JWKS file of Ed25519/RSA public keys verifying EdDSA/RS256 join tokens")
	var keys string
	fs.Secret(&keys, "api-keys", "comma-separated Bearer keys of the server API under /api/v1/ (the API is off without)")
	fs.Float(&c.APIRate, "api-rate", 10, "server API requests per second per key")
	fs.Int(&c.APIBurst, "api-burst", 40, "server API request burst per key")
	fs.List(&c.WebhookURLs, "webhook-urls", nil, "URLs that receive meeting events (meeting.started, meeting.ended, participant.joined, participant.left)")
	fs.Secret(&c.WebhookSecret, "webhook-secret", "secret signing webhook bodies (Huddle-Signature)")
	return func() error {
		c.APIKeys = splitList(keys)
		return nil
	}
}

func (a AuthConfig) validate() error {
	switch a.Mode {
	case "open", "token":
	default:
		return invalid("--auth: want open or token, got %q", a.Mode)
	}
	if a.Secret != "" && len(a.Secret) < 32 {
		return invalid("--auth-secret: want at least 32 bytes") // never the value
	}
	if a.TokenMode() && a.Secret == "" && a.PublicKeysFile == "" {
		return invalid("--auth token needs --auth-secret or --auth-public-keys")
	}
	for _, k := range a.APIKeys {
		if len(k) < 16 {
			return invalid("--api-keys: every key needs at least 16 characters")
		}
	}
	if a.APIRate <= 0 || a.APIBurst <= 0 {
		return invalid("--api-rate and --api-burst must be positive")
	}
	for _, u := range a.WebhookURLs {
		if _, err := ParseOrigin(originOf(u)); err != nil {
			return invalid("--webhook-urls: %q is not an http(s) URL", u)
		}
	}
	if len(a.WebhookURLs) > 0 && a.WebhookSecret == "" {
		return invalid("--webhook-urls needs --webhook-secret to sign the events")
	}
	return nil
}

// originOf is scheme://host of an URL (the rest is not checked).
func originOf(u string) string {
	for _, scheme := range []string{"http://", "https://"} {
		if len(u) > len(scheme) && u[:len(scheme)] == scheme {
			rest := u[len(scheme):]
			for i, ch := range rest {
				if ch == '/' || ch == '?' || ch == '#' {
					rest = rest[:i]
					break
				}
			}
			return scheme + rest
		}
	}
	return u
}

// TokenRequest is what `huddle token` was asked for.
type TokenRequest struct {
	Room, Name, Role string
	TTL              time.Duration
	ID               string // jti; "": reusable
	PublicURL        string
	Secret           string
}

// ParseToken reads the flags of `huddle token` (without "token"): the
// secret from --auth-secret, --auth-secret-file or their environment
// variables, as the server reads it.
func ParseToken(args []string, getenv func(string) string, out interface{ Write([]byte) (int, error) }) (TokenRequest, error) {
	var t TokenRequest
	fs := newFlagSet("huddle token")
	fs.fs.SetOutput(out)
	fs.String(&t.Room, "room", "", "the meeting the token admits to (* for any)")
	fs.String(&t.Name, "name", "", "display name the participant gets (empty: its own)")
	fs.String(&t.Role, "role", "guest", "host, guest or viewer")
	fs.Duration(&t.TTL, "ttl", 2*time.Hour, "how long the token is good for")
	fs.String(&t.ID, "once", "", "a token id (jti): the token admits once")
	fs.String(&t.PublicURL, "public-url", "", "print a meeting link with the token too, e.g. https://meet.example.com")
	fs.Secret(&t.Secret, "auth-secret", "the server's --auth-secret")
	fs.fs.Usage = func() {
		_, _ = out.Write([]byte("Usage: huddle token --room R [--name N] [--role host|guest|viewer] [--ttl 2h] [--public-url U]\n\n" +
			"Prints a join token signed with --auth-secret (or --auth-secret-file, HUDDLE_AUTH_SECRET).\n\n"))
		fs.fs.PrintDefaults()
	}
	if err := fs.parse(args, getenv); err != nil {
		return t, err
	}
	switch {
	case t.Room == "":
		return t, invalid("--room is required")
	case t.Secret == "":
		return t, invalid("--auth-secret (or --auth-secret-file) is required")
	case len(t.Secret) < 32:
		return t, invalid("--auth-secret: want at least 32 bytes")
	case t.TTL <= 0:
		return t, invalid("--ttl must be positive")
	}
	if t.PublicURL != "" {
		if _, err := ParseOrigin(t.PublicURL); err != nil {
			return t, invalid("--public-url: %v", err)
		}
	}
	return t, nil
}
