package config

import (
	"time"

	"github.com/huddlehq/huddle/internal/turn"
)

func registerTURN(fs *flagSet, c *turn.Config) {
	fs.Bool(&c.Enabled, "turn", true, "run the embedded STUN/TURN relay")
	fs.String(&c.Listen, "turn-listen", "0.0.0.0:3478", "UDP and TCP address of the embedded relay")
	fs.String(&c.TLSListen, "turn-tls-listen", "", "TURN over TLS address (needs a TLS certificate), e.g. :5349")
	fs.String(&c.TLSCertFile, "turn-tls-cert", "", "certificate (PEM) of TURN over TLS")
	fs.String(&c.TLSKeyFile, "turn-tls-key", "", "private key (PEM) of TURN over TLS")
	fs.String(&c.PublicIP, "turn-public-ip", "", "IP address advertised in relay candidates (default: detected)")
	fs.Int(&c.RelayMinPort, "turn-min-port", 49152, "lowest relayed port")
	fs.Int(&c.RelayMaxPort, "turn-max-port", 65535, "highest relayed port")
	fs.String(&c.Realm, "turn-realm", "huddle", "TURN realm")
	fs.Secret(&c.Secret, "turn-secret", "shared secret of TURN REST credentials (coturn static-auth-secret); random when empty")
	fs.Duration(&c.CredentialTTL, "turn-credential-ttl", 10*time.Minute, "how long minted TURN credentials can create allocations (clients fetch fresh ones)")
	fs.List(&c.ExternalURLs, "ice-urls", nil, "external stun:/turn:/turns: URLs handed to clients")
	fs.Bool(&c.ForceRelay, "force-relay", false, "clients relay all media through TURN (hides their IP addresses)")
	fs.Bool(&c.AllowPrivatePeers, "turn-allow-private", false, "let the relay reach loopback and private addresses (tests, LANs)")
	fs.Int(&c.MaxAllocationsPerUser, "turn-max-allocations-per-user", 10, "relay allocations per credential")
	fs.Int(&c.MaxAllocationsPerIP, "turn-max-allocations-per-ip", 20, "relay allocations per client IP (IPv6: per /64)")
	fs.Int(&c.MaxAllocations, "turn-max-allocations", 1000, "relay allocations in total")
	fs.Int(&c.UDPSockets, "turn-udp-sockets", 1, "UDP sockets sharing the relay port, to use more cores under heavy load (Linux)")
	fs.Duration(&c.MaxLifetime, "turn-max-lifetime", 10*time.Minute, "longest allocation lifetime a client may ask for")
}
