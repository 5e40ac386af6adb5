package turn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "huddle test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestAllocateOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	s, cfg := startRelay(t, Config{TLSListen: "127.0.0.1:0",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if s.TLSAddr() == nil {
		t.Fatal("no TLS listener")
	}
	cfg.TLSListen = s.TLSAddr().String()
	servers, _ := NewICE(cfg).For("tina", nil)
	turns := onlyURLs(servers, "turns:")
	if len(turns) != 1 {
		t.Fatalf("no turns: URL in %+v", servers)
	}

	conn, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: s.TLSAddr().String(), TURNServerAddr: s.TLSAddr().String(),
		Conn: pionturn.NewSTUNConn(conn), Username: turns[0].Username, Password: turns[0].Credential, Realm: "huddle",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("Allocate over TLS: %v", err)
	}
	relay.Close()

	// A client that never completes the handshake is not served plain TURN.
	raw, err := net.Dial("tcp", s.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	plain := turnClient(t, "udp", s.UDPAddr().String(), "", "") // control: the relay answers STUN
	if _, err := plain.SendBindingRequest(); err != nil {
		t.Fatal(err)
	}
	rawClient, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: s.TLSAddr().String(),
		TURNServerAddr: s.TLSAddr().String(), Conn: pionturn.NewSTUNConn(raw), RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rawClient.Close()
	rawClient.Listen()
	if _, err := rawClient.SendBindingRequest(); err == nil {
		t.Fatal("the TLS port answered a plain STUN request")
	}
}
