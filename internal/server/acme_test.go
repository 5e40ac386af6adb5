package server

import (
	"crypto/x509"
	"encoding/pem"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// The ACME test runs Let's Encrypt's test CA, pebble, in this process. Its
// validation authority resolves names through a DNS server of our own that
// answers 127.0.0.1 for everything, so the HTTP-01 challenge reaches Huddle
// on loopback. Nothing leaves the machine.

const acmeTestDomain = "meet.huddle.test"

// loopbackDNS answers every A query with 127.0.0.1 and AAAA with nothing.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{
		PacketConn:        pc,
		NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			for _, qq := range q.Question {
				if qq.Qtype == dns.TypeA {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET},
						A:   net.IPv4(127, 0, 0, 1),
					})
				}
			}
			w.WriteMsg(m)
		}),
	}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// freeTCPPort returns a loopback port that was free a moment ago; pebble
// must know the HTTP-01 port before Huddle listens on it.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pebble starts the test CA and returns its directory URL, the file of the
// root its HTTPS listener uses, and the root of the certificates it issues.
func pebble(t *testing.T, httpPort int, logs *syncBuffer) (dir, listenerRoot string, issuerRoot *x509.Certificate) {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no deliberate bad nonces
	t.Setenv("PEBBLE_AUTHZREUSE", "0")      // every order is validated
	t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0") // really fetch the challenge
	logger := log.New(logs, "pebble ", 0)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", 0, 1, map[string]ca.Profile{"default": {Description: "test"}})
	// TLS-ALPN-01 goes to port 1, where nothing listens, so the only
	// challenge that can succeed is HTTP-01 on Huddle's --http-addr.
	validator := va.New(logger, httpPort, 1, false, loopbackDNS(t), store)
	front := wfe.New(logger, store, validator, authority, false, false, 0, 0)
	ts := httptest.NewTLSServer(front.Handler())
	t.Cleanup(ts.Close)

	listenerRoot = filepath.Join(t.TempDir(), "pebble-listener.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(listenerRoot, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return ts.URL + wfe.DirectoryPath, listenerRoot, authority.GetRootCert(0).Cert
}

func TestACMECertificateFromPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CA")
	}
	pebbleLogs := &syncBuffer{}
	httpPort := freeTCPPort(t)
	dir, listenerRoot, issuerRoot := pebble(t, httpPort, pebbleLogs)

	r := start(t, testConfig(t,
		"--acme-domains", acmeTestDomain,
		"--acme-email", "ops@huddle.test",
		"--acme-directory", dir,
		"--acme-ca-file", listenerRoot,
		"--acme-cache", t.TempDir(),
		"--http-addr", "127.0.0.1:"+strconv.Itoa(httpPort),
	))
	defer func() {
		if t.Failed() {
			t.Logf("pebble:\n%s\nhuddle:\n%s", pebbleLogs.String(), r.logs.String())
		}
	}()

	// The first handshake for the name makes Huddle get a certificate.
	roots := x509.NewCertPool()
	roots.AddCert(issuerRoot)
	res, err := tlsClient(roots, acmeTestDomain).Get("https://" + r.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with a certificate from pebble: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	leaf := res.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname(acmeTestDomain); err != nil {
		t.Error(err)
	}
	chains := res.TLS.VerifiedChains
	if len(chains) == 0 || !chains[0][len(chains[0])-1].Equal(issuerRoot) {
		t.Error("the served certificate does not chain to pebble's root")
	}
	if !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("issuer %q is not pebble", leaf.Issuer.CommonName)
	}

	// Pebble fetched the HTTP-01 token from Huddle's plain HTTP listener.
	served := false
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "path=/.well-known/acme-challenge/") && strings.Contains(line, "status=200") {
			served = true
		}
	}
	if !served {
		t.Error("no HTTP-01 challenge was answered on --http-addr")
	}
	if !strings.Contains(pebbleLogs.String(), "http://"+acmeTestDomain+":"+strconv.Itoa(httpPort)+"/.well-known/acme-challenge/") {
		t.Error("pebble did not validate over HTTP-01")
	}
}
