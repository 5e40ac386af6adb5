package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tlsClient trusts only roots and connects to the server as serverName.
func tlsClient(roots *x509.CertPool, serverName string) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: serverName}}
	return &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestSelfSignedCertificate(t *testing.T) {
	r := start(t, testConfig(t, "--tls-self-signed", "--public-url", "https://meet.lan.example:8443"))
	cert, err := r.TLSConfig().GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	host, _ := os.Hostname()
	names := certNames(leaf)
	for _, want := range []string{"localhost", "127.0.0.1", "::1", host, "meet.lan.example"} {
		if !slices.Contains(names, want) {
			t.Errorf("certificate names %q lack %q", names, want)
		}
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}
	if !strings.Contains(r.logs.String(), "sha256="+fingerprint(leaf.Raw)) {
		t.Errorf("fingerprint not logged:\n%s", r.logs.String())
	}

	// A browser that trusts this one certificate reaches the server by
	// name and by address, over HTTP/1.1 (WebSocket upgrades need it).
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		res, err := tlsClient(roots, name).Get("https://" + r.Addr().String() + "/healthz")
		if err != nil {
			t.Fatalf("as %s: %v", name, err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.TLS == nil || res.TLS.NegotiatedProtocol == "h2" {
			t.Errorf("as %s: status %d, protocol %q", name, res.StatusCode, res.TLS.NegotiatedProtocol)
		}
		if res.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS over HTTPS")
		}
	}
	// A client that does not trust it is refused.
	if _, err := tlsClient(x509.NewCertPool(), "localhost").Get("https://" + r.Addr().String() + "/healthz"); err == nil {
		t.Error("an unknown certificate was accepted")
	}
}

func TestCertificateFiles(t *testing.T) {
	made, err := selfSigned([]string{"files.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(made.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: made.Leaf.Raw}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)

	r := start(t, testConfig(t, "--tls-cert", certFile, "--tls-key", keyFile))
	roots := x509.NewCertPool()
	roots.AddCert(made.Leaf)
	res, err := tlsClient(roots, "files.example").Get("https://" + r.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.TLS.PeerCertificates[0].Raw; !bytes.Equal(got, made.Leaf.Raw) {
		t.Error("served certificate is not the one in --tls-cert")
	}
	// The relay gets the same certificate, without the web's ALPN list.
	tc := r.turnTLS()
	c, err := tc.GetCertificate(&tls.ClientHelloInfo{ServerName: "files.example"})
	if err != nil || !bytes.Equal(c.Certificate[0], made.Leaf.Raw) || len(tc.NextProtos) != 0 {
		t.Errorf("TURN TLS config: %v, protos %q", err, tc.NextProtos)
	}
}

func TestCertificateFileErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	for _, args := range [][]string{
		{"--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", filepath.Join(dir, "missing-key.pem")},
		{"--tls-cert", garbage, "--tls-key", garbage},
	} {
		cfg := testConfig(t, args...)
		_, err := build(cfg, slog.New(slog.DiscardHandler), func(*Server) (parts, error) { return parts{engine: newFakeEngine()}, nil })
		if err == nil || !strings.Contains(err.Error(), "--tls-cert") {
			t.Errorf("%q: err = %v, want one naming --tls-cert", args, err)
		}
	}
	cfg := testConfig(t, "--acme-domains", "a.example", "--acme-ca-file", garbage)
	_, err := build(cfg, slog.New(slog.DiscardHandler), func(*Server) (parts, error) { return parts{engine: newFakeEngine()}, nil })
	if err == nil || !strings.Contains(err.Error(), "--acme-ca-file") {
		t.Errorf("bad --acme-ca-file: err = %v", err)
	}
}

func TestHTTPRedirectsToHTTPS(t *testing.T) {
	r := start(t, testConfig(t, "--tls-self-signed", "--http-addr", "127.0.0.1:0"))
	_, httpsPort, _ := net.SplitHostPort(r.Addr().String())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get("http://" + r.httpLn.Addr().String() + "/abc-defg-hij?x=1")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if want := "https://127.0.0.1:" + httpsPort + "/abc-defg-hij?x=1"; res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
		t.Errorf("got %d to %q, want 301 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}

func TestRedirectTargets(t *testing.T) {
	for _, tc := range []struct {
		publicURL, port, host, target, want string
	}{
		{"", "443", "meet.example.com", "/x?y=1", "https://meet.example.com/x?y=1"},
		{"", "8443", "meet.example.com:80", "/", "https://meet.example.com:8443/"},
		{"", "8443", "[::1]:80", "/", "https://[::1]:8443/"},
		{"https://meet.example.com", "8443", "10.0.0.5", "/r", "https://meet.example.com/r"},
		{"", "443", "bad host\"<", "/", ""},
	} {
		req := httptest.NewRequest("GET", tc.target, nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		redirectToHTTPS(tc.publicURL, tc.port).ServeHTTP(rec, req)
		if tc.want == "" {
			if rec.Code != http.StatusBadRequest {
				t.Errorf("host %q: %d, want 400", tc.host, rec.Code)
			}
			continue
		}
		if got := rec.Header().Get("Location"); rec.Code != http.StatusMovedPermanently || got != tc.want {
			t.Errorf("host %q: %d %q, want %q", tc.host, rec.Code, got, tc.want)
		}
	}
}

func TestFingerprintFormat(t *testing.T) {
	fp := fingerprint([]byte("x"))
	if len(fp) != 32*3-1 || strings.Count(fp, ":") != 31 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q is not 32 colon-separated upper-case hex bytes", fp)
	}
}
