package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/huddlehq/huddle/internal/config"
)

// ErrNoRoots is returned when --acme-ca-file holds no PEM certificate.
var ErrNoRoots = errors.New("no PEM certificate found")

// certificates is how the server gets its TLS certificate.
type certificates struct {
	// tls is nil when the server speaks plain HTTP.
	tls *tls.Config
	// acme is set with --acme-domains; its HTTPHandler answers HTTP-01.
	acme *autocert.Manager
	// names are the host names and addresses the certificate is for: the
	// origin check trusts a Host header of these.
	names []string
}

// loadCertificates sets up one of the three TLS modes of cfg.
func loadCertificates(cfg config.Config, log *slog.Logger) (certificates, error) {
	t := cfg.TLS
	switch {
	case t.CertFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return certificates{}, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		var names []string
		if cert.Leaf != nil {
			names = certNames(cert.Leaf)
		}
		return certificates{tls: baseTLS(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }), names: names}, nil
	case t.SelfSigned:
		cert, err := selfSigned(extraNames(cfg.PublicURL), time.Now())
		if err != nil {
			return certificates{}, fmt.Errorf("self-signed certificate: %w", err)
		}
		leaf := cert.Leaf
		log.Info("self-signed certificate made; check this fingerprint when the browser warns",
			"sha256", fingerprint(leaf.Raw), "names", strings.Join(certNames(leaf), ","),
			"expires", leaf.NotAfter.Format(time.DateOnly))
		return certificates{tls: baseTLS(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }), names: certNames(leaf)}, nil
	case len(t.ACMEDomains) > 0:
		return acmeCertificates(t, log)
	}
	return certificates{}, nil
}

// baseTLS is the TLS setup every mode shares. It offers HTTP/1.1 only:
// Socket.IO's WebSocket upgrade takes over the connection, which HTTP/2
// cannot do.
func baseTLS(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
		GetCertificate: get,
	}
}

func acmeCertificates(t config.TLSConfig, log *slog.Logger) (certificates, error) {
	client := &acme.Client{DirectoryURL: t.ACMEDir}
	if t.ACMECAFile != "" {
		pem, err := os.ReadFile(t.ACMECAFile)
		if err != nil {
			return certificates{}, fmt.Errorf("--acme-ca-file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return certificates{}, fmt.Errorf("--acme-ca-file %s: %w", t.ACMECAFile, ErrNoRoots)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: tr, Timeout: time.Minute}
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: ignorePort(autocert.HostWhitelist(t.ACMEDomains...)),
		Cache:      autocert.DirCache(t.ACMECache),
		Email:      t.ACMEEmail,
		Client:     client,
	}
	dir := t.ACMEDir
	if dir == "" {
		dir = autocert.DefaultACMEDirectory
	}
	log.Info("certificates from ACME", "domains", strings.Join(t.ACMEDomains, ","), "directory", dir, "cache", t.ACMECache)
	c := baseTLS(m.GetCertificate)
	c.NextProtos = append(c.NextProtos, acme.ALPNProto) // TLS-ALPN-01 challenges
	return certificates{tls: c, acme: m, names: t.ACMEDomains}, nil
}

// ignorePort lets the HTTP-01 handler's host check accept a Host header
// with a port, as it has when --http-addr is not port 80 (behind a port
// mapping, or in tests).
func ignorePort(policy autocert.HostPolicy) autocert.HostPolicy {
	return func(ctx context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return policy(ctx, host)
	}
}

// selfSigned makes an ECDSA certificate for the names a LAN user may type:
// localhost, the loopback addresses, the host name and every non-loopback
// address of the host, plus extra.
func selfSigned(extra []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Huddle self-signed"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(397 * 24 * time.Hour), // the longest browsers accept
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	addName(tmpl, "localhost")
	addName(tmpl, "127.0.0.1")
	addName(tmpl, "::1")
	if h, err := os.Hostname(); err == nil && h != "" {
		addName(tmpl, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				addName(tmpl, n.IP.String())
			}
		}
	}
	for _, n := range extra {
		addName(tmpl, n)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// addName adds a DNS name or IP address SAN once.
func addName(c *x509.Certificate, name string) {
	if ip := net.ParseIP(name); ip != nil {
		for _, have := range c.IPAddresses {
			if have.Equal(ip) {
				return
			}
		}
		c.IPAddresses = append(c.IPAddresses, ip)
		return
	}
	for _, have := range c.DNSNames {
		if strings.EqualFold(have, name) {
			return
		}
	}
	c.DNSNames = append(c.DNSNames, name)
}

// extraNames is the host of --public-url, if any.
func extraNames(publicURL string) []string {
	o, err := config.ParseOrigin(publicURL)
	if err != nil {
		return nil
	}
	host := o[strings.Index(o, "://")+3:]
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return []string{strings.Trim(host, "[]")}
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// fingerprint is the SHA-256 of a certificate as browsers show it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// redirectToHTTPS sends plain-HTTP visitors to the HTTPS address, keeping
// path and query. httpsPort is left out of the URL when it is 443.
func redirectToHTTPS(publicURL, httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use HTTPS", http.StatusBadRequest)
			return
		}
		target := ""
		if o, err := config.ParseOrigin(publicURL); err == nil && strings.HasPrefix(o, "https://") {
			target = o
		} else {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !safeHost.MatchString(host) && !safeHost.MatchString("["+host+"]") {
				http.Error(w, "bad Host header", http.StatusBadRequest)
				return
			}
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			if httpsPort != "443" {
				host = net.JoinHostPort(strings.Trim(host, "[]"), httpsPort)
			}
			target = "https://" + host
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
