package turn

import "time"

// Config of the embedded TURN/STUN relay and of the ICE servers handed to
// clients. The zero value of every field means the default in its comment.
type Config struct {
	// Enabled runs the embedded relay. Default (from flags) true.
	Enabled bool
	// Listen is the UDP and TCP address of the relay. Default "0.0.0.0:3478".
	Listen string
	// TLSListen, when set together with a certificate, serves TURN over TLS.
	TLSListen string
	// PublicIP is the address advertised in relay candidates. Default: the
	// first non-loopback address of the host, or 127.0.0.1.
	PublicIP string
	// RelayMinPort and RelayMaxPort bound the relayed ports. Default 49152-65535.
	RelayMinPort, RelayMaxPort int
	// Realm of the long-term credentials. Default "huddle".
	Realm string
	// Secret is the shared secret of the TURN REST API scheme (coturn's
	// static-auth-secret). Empty means a random secret per process.
	Secret string
	// CredentialTTL is how long minted credentials are valid. Default 1h.
	CredentialTTL time.Duration
	// ExternalURLs are stun:/turn:/turns: URLs of an external relay that
	// shares Secret, handed to clients instead of (or beside) the embedded one.
	ExternalURLs []string
	// ForceRelay makes clients use iceTransportPolicy "relay".
	ForceRelay bool
	// AllowPrivatePeers lets the relay reach loopback and private addresses
	// (tests and LANs). Default false: no open relay into the host's network.
	AllowPrivatePeers bool
	// MaxAllocationsPerUser and MaxAllocations cap relay allocations.
	// Defaults 10 and 1,000.
	MaxAllocationsPerUser, MaxAllocations int
	// MaxLifetime caps the lifetime an allocation may ask for. Default 10m.
	MaxLifetime time.Duration
}
