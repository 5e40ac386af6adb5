package turn

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// ICEServer is one entry of RTCConfiguration.iceServers as the browser
// expects it.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Transport policies of RTCConfiguration.iceTransportPolicy.
const (
	PolicyAll   = "all"
	PolicyRelay = "relay"
)

// ICE hands out ICE server lists with freshly minted credentials.
type ICE struct {
	cfg    Config
	secret []byte
	now    func() time.Time
}

// NewICE returns the ICE configuration source for clients.
func NewICE(cfg Config) *ICE {
	cfg = cfg.withDefaults()
	return &ICE{cfg: cfg, secret: cfg.secret(), now: time.Now}
}

// For returns the ICE servers for one participant and the transport policy
// ("all", or "relay" with ForceRelay). r is the request that opened the
// participant's session: its Host names the relay when no public IP is set.
// It has the signature of signaling.ICEFunc.
func (i *ICE) For(participantID string, r *http.Request) ([]ICEServer, string) {
	policy := PolicyAll
	if i.cfg.ForceRelay {
		policy = PolicyRelay
	}
	cred := MintCredential(i.secret, participantID, i.cfg.CredentialTTL, i.now())
	var servers []ICEServer
	if i.cfg.Enabled {
		servers = append(servers, i.embedded(r, cred)...)
	}
	servers = append(servers, i.external(cred)...)
	return servers, policy
}

// embedded lists the URLs of the built-in relay.
func (i *ICE) embedded(r *http.Request, cred Credential) []ICEServer {
	host := i.relayHost(r)
	_, port, err := splitHostPort(i.cfg.Listen)
	if err != nil {
		return nil // Validate refuses such a config; nothing sane to hand out
	}
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	turnURLs := []string{
		"turn:" + hp + "?transport=udp",
		"turn:" + hp + "?transport=tcp",
	}
	if i.cfg.TLSEnabled() {
		if _, tlsPort, err := splitHostPort(i.cfg.TLSListen); err == nil {
			turnURLs = append(turnURLs, "turns:"+net.JoinHostPort(host, strconv.Itoa(tlsPort))+"?transport=tcp")
		}
	}
	return []ICEServer{
		{URLs: []string{"stun:" + hp}},
		{URLs: turnURLs, Username: cred.Username, Credential: cred.Password},
	}
}

// external lists the configured external URLs: STUN without credentials,
// TURN with them.
func (i *ICE) external(cred Credential) []ICEServer {
	var stuns, turns []string
	for _, u := range i.cfg.ExternalURLs {
		switch kind, _ := externalKind(u); kind {
		case "stun":
			stuns = append(stuns, u)
		case "turn":
			turns = append(turns, u)
		}
	}
	var out []ICEServer
	if len(stuns) > 0 {
		out = append(out, ICEServer{URLs: stuns})
	}
	if len(turns) > 0 {
		out = append(out, ICEServer{URLs: turns, Username: cred.Username, Credential: cred.Password})
	}
	return out
}

// relayHost is the host clients should reach the relay at: the public IP
// when configured, else the host the client reached the web app at (so a
// browser on localhost gets localhost), else the advertised relay IP.
func (i *ICE) relayHost(r *http.Request) string {
	if i.cfg.PublicIP != "" {
		return i.cfg.PublicIP
	}
	if r != nil {
		if h := requestHost(r.Host); h != "" {
			return h
		}
	}
	return advertisedIP(i.cfg).String()
}

// requestHost returns the host part of an HTTP Host header, or "" when it
// is not a plain host name or IP address: the header comes from the client
// and must not smuggle anything into the URLs.
func requestHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone("").String()
	}
	if len(host) == 0 || len(host) > 253 {
		return ""
	}
	for _, c := range host {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
		if !ok {
			return ""
		}
	}
	return host
}

// advertisedIP is the IP put in relayed addresses: PublicIP, else the
// listening IP when specific, else the first non-loopback IPv4 address of
// the host, else 127.0.0.1.
func advertisedIP(c Config) net.IP {
	if ip := net.ParseIP(c.PublicIP); ip != nil {
		return ip
	}
	if host, _, err := splitHostPort(c.Listen); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			return ip
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.To4()
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}
