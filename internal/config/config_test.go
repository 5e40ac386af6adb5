package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env builds a getenv func from pairs.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) string
		want func(c Config) any
		val  any
	}{
		{"default", nil, env(), func(c Config) any { return c.Addr }, ":8080"},
		{"env over default", nil, env("HUDDLE_ADDR", ":9000"), func(c Config) any { return c.Addr }, ":9000"},
		{"flag over env", []string{"--addr", ":7000"}, env("HUDDLE_ADDR", ":9000"), func(c Config) any { return c.Addr }, ":7000"},
		{"flag over default", []string{"-addr=:7001"}, env(), func(c Config) any { return c.Addr }, ":7001"},
		{"int default", nil, env(), func(c Config) any { return c.MaxConnsPerIP }, 50},
		{"int env", nil, env("HUDDLE_MAX_CONNS_PER_IP", "3"), func(c Config) any { return c.MaxConnsPerIP }, 3},
		{"int flag over env", []string{"--max-conns-per-ip", "0"}, env("HUDDLE_MAX_CONNS_PER_IP", "3"), func(c Config) any { return c.MaxConnsPerIP }, 0},
		{"bool env", nil, env("HUDDLE_TRUST_PROXY", "true"), func(c Config) any { return c.TrustProxy }, true},
		{"bool flag over env", []string{"--trust-proxy=false"}, env("HUDDLE_TRUST_PROXY", "true"), func(c Config) any { return c.TrustProxy }, false},
		{"duration env", nil, env("HUDDLE_SHUTDOWN_TIMEOUT", "3s"), func(c Config) any { return c.ShutdownTimeout }, 3 * time.Second},
		{"nested engine flag", []string{"--ping-interval", "5s"}, env(), func(c Config) any { return c.Engine.PingInterval }, 5 * time.Second},
		{"nested turn env", nil, env("HUDDLE_TURN", "false"), func(c Config) any { return c.TURN.Enabled }, false},
		{"empty env is unset", nil, env("HUDDLE_ADDR", ""), func(c Config) any { return c.Addr }, ":8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, tc.env, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.want(c); !reflect.DeepEqual(got, tc.val) {
				t.Errorf("got %v, want %v", got, tc.val)
			}
		})
	}
}

func TestListFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) string
		want []string
	}{
		{"default is empty", nil, env(), nil},
		{"flag", []string{"--allowed-origins", "https://a.example,https://b.example"}, env(), []string{"https://a.example", "https://b.example"}},
		{"spaces and empty items dropped", []string{"--allowed-origins", " https://a.example , ,https://b.example "}, env(), []string{"https://a.example", "https://b.example"}},
		{"env", nil, env("HUDDLE_ALLOWED_ORIGINS", "https://c.example"), []string{"https://c.example"}},
		{"flag replaces env", []string{"--allowed-origins=https://a.example"}, env("HUDDLE_ALLOWED_ORIGINS", "https://c.example"), []string{"https://a.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, tc.env, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.AllowedOrigins, tc.want) {
				t.Errorf("got %q, want %q", c.AllowedOrigins, tc.want)
			}
		})
	}
}

func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) string
		want string // part of the message
	}{
		{"log format", []string{"--log-format", "xml"}, env(), "--log-format"},
		{"log level", []string{"--log-level", "loud"}, env(), "--log-level"},
		{"empty addr", []string{"--addr", ""}, env(), "--addr"},
		{"shutdown timeout", []string{"--shutdown-timeout", "0s"}, env(), "--shutdown-timeout"},
		{"delay above timeout", []string{"--shutdown-timeout", "2s", "--shutdown-delay", "2s"}, env(), "--shutdown-delay"},
		{"negative delay", []string{"--shutdown-delay", "-1s"}, env(), "--shutdown-delay"},
		{"negative conns", []string{"--max-conns-per-ip", "-1"}, env(), "--max-conns-per-ip"},
		{"cert without key", []string{"--tls-cert", "c.pem"}, env(), "--tls-key"},
		{"two TLS modes", []string{"--tls-self-signed", "--acme-domains", "a.example"}, env(), "choose one"},
		{"http-addr without TLS", []string{"--http-addr", ":80"}, env(), "--http-addr"},
		{"public url path", []string{"--public-url", "https://a.example/meet"}, env(), "--public-url"},
		{"public url scheme", []string{"--public-url", "ftp://a.example"}, env(), "--public-url"},
		{"bad origin", []string{"--allowed-origins", "a.example"}, env(), "--allowed-origins"},
		{"bad origin from env", nil, env("HUDDLE_ALLOWED_ORIGINS", "javascript:alert(1)"), "--allowed-origins"},
		{"turn checked too", []string{"--turn-min-port", "70000"}, env(), "port range"},
		{"turn tls without any certificate", []string{"--turn-tls-listen", ":5349"}, env(), "no certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, tc.env, &bytes.Buffer{})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"unknown flag", []string{"--no-such-flag"}, env(), "no-such-flag"},
		{"bad int", []string{"--max-conns-per-ip", "many"}, env(), "max-conns-per-ip"},
		{"bad int in env names the variable", nil, env("HUDDLE_MAX_CONNS_PER_IP", "many"), "HUDDLE_MAX_CONNS_PER_IP"},
		{"bad duration in env", nil, env("HUDDLE_SHUTDOWN_TIMEOUT", "soon"), "HUDDLE_SHUTDOWN_TIMEOUT"},
		{"positional argument", []string{"serve"}, env(), "serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, tc.env, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestValidConfigs(t *testing.T) {
	for _, args := range [][]string{
		{"--tls-self-signed", "--http-addr", ":8081"},
		{"--tls-cert", "c.pem", "--tls-key", "k.pem"},
		{"--acme-domains", "meet.example.com", "--acme-email", "ops@example.com"},
		{"--public-url", "https://Meet.Example.com/", "--allowed-origins", "*"},
		{"--log-level", "debug", "--log-format", "json"},
		{"--turn-tls-listen", ":5349", "--tls-self-signed"}, // the relay shares the web certificate
	} {
		if _, err := Parse(args, env(), &bytes.Buffer{}); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestHelpListsEveryFlagWithItsEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, env(), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	help := out.String()
	// Every flag registered anywhere must be documented with its variable.
	fs := newFlagSet("huddle")
	var c Config
	c.register(fs)
	registerEngine(fs, &c.Engine)
	registerSignaling(fs, &c.Signaling)
	registerTURN(fs, &c.TURN)
	n := 0
	fs.fs.VisitAll(func(fl *flag.Flag) {
		n++
		line := "--" + fl.Name + "  (env " + EnvName(fl.Name) + ","
		if !strings.Contains(help, line) {
			t.Errorf("help lacks %q", line)
		}
	})
	if n < 40 {
		t.Errorf("only %d flags registered; the test is not looking at the real set", n)
	}
	for _, must := range []string{"--max-conns-per-ip", "--trust-proxy", "--acme-ca-file", "HUDDLE_TURN_SECRET"} {
		if !strings.Contains(help, must) {
			t.Errorf("help lacks %s", must)
		}
	}
}

func TestParseOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://meet.example.com", "https://meet.example.com"},
		{"https://Meet.Example.com:8443/", "https://meet.example.com:8443"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"https://meet.example.com/path", ""},
		{"https://meet.example.com?x=1", ""},
		{"https://user@meet.example.com", ""},
		{"meet.example.com", ""},
		{"ws://meet.example.com", ""},
		{"", ""},
	} {
		got, err := ParseOrigin(tc.in)
		if (err == nil) != (tc.want != "") || got != tc.want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func writeSecret(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A secret given on the command line is visible to every user through ps;
// each secret flag also takes a file.
func TestSecretFromFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    string
	}{
		{"trailing newline trimmed", "s3cret\n", "s3cret"},
		{"CRLF trimmed", "s3cret\r\n", "s3cret"},
		{"no newline", "s3cret", "s3cret"},
		{"inner newline and spaces kept", " a b\nc\n", " a b\nc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeSecret(t, tc.content)
			for _, way := range []struct {
				args []string
				env  func(string) string
			}{
				{[]string{"--turn-secret-file", path}, env()},
				{nil, env("HUDDLE_TURN_SECRET_FILE", path)},
			} {
				c, err := Parse(way.args, way.env, &bytes.Buffer{})
				if err != nil {
					t.Fatal(err)
				}
				if c.TURN.Secret != tc.want {
					t.Errorf("%v: secret %q, want %q", way.args, c.TURN.Secret, tc.want)
				}
			}
		})
	}
}

func TestSecretFileErrors(t *testing.T) {
	path := writeSecret(t, "from-file\n")
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) string
		want error
	}{
		{"both flags", []string{"--turn-secret", "x", "--turn-secret-file", path}, env(), ErrSecretTwice},
		{"flag and file env", []string{"--turn-secret", "x"}, env("HUDDLE_TURN_SECRET_FILE", path), ErrSecretTwice},
		{"env and file flag", []string{"--turn-secret-file", path}, env("HUDDLE_TURN_SECRET", "x"), ErrSecretTwice},
		{"missing file", []string{"--turn-secret-file", filepath.Join(t.TempDir(), "nope")}, env(), os.ErrNotExist},
		{"empty file", []string{"--turn-secret-file", writeSecret(t, "\n")}, env(), ErrEmptySecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, tc.env, &bytes.Buffer{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "from-file") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// Secret registers both forms in one line, with their environment
// variables, so that the next secret flag gets the file form for free.
func TestSecretRegistersFileForm(t *testing.T) {
	fs := newFlagSet("test")
	var v string
	fs.Secret(&v, "resume-key", "key of resume tokens")
	path := writeSecret(t, "k\n")
	if err := fs.parse(nil, env("HUDDLE_RESUME_KEY_FILE", path)); err != nil {
		t.Fatal(err)
	}
	if v != "k" {
		t.Errorf("value %q, want k", v)
	}
	var out bytes.Buffer
	fs.usage(&out)
	for _, want := range []string{"--resume-key  (env HUDDLE_RESUME_KEY,", "--resume-key-file  (env HUDDLE_RESUME_KEY_FILE,"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

func TestConnectionLimitFlags(t *testing.T) {
	c, err := Parse(nil, env(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxTCPPerIP != 128 || c.RequestTimeout != 20*time.Second || c.AllowLoopbackOrigins {
		t.Errorf("defaults: max-tcp-per-ip %d, request-timeout %v, allow-loopback-origins %v", c.MaxTCPPerIP, c.RequestTimeout, c.AllowLoopbackOrigins)
	}
	c, err = Parse(nil, env("HUDDLE_MAX_TCP_PER_IP", "7", "HUDDLE_REQUEST_TIMEOUT", "3s", "HUDDLE_ALLOW_LOOPBACK_ORIGINS", "true"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxTCPPerIP != 7 || c.RequestTimeout != 3*time.Second || !c.AllowLoopbackOrigins {
		t.Errorf("from the environment: %d %v %v", c.MaxTCPPerIP, c.RequestTimeout, c.AllowLoopbackOrigins)
	}
	for _, args := range [][]string{{"--max-tcp-per-ip", "-1"}, {"--request-timeout", "-1s"}} {
		if _, err := Parse(args, env(), &bytes.Buffer{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: err = %v, want ErrInvalid", args, err)
		}
	}
}
