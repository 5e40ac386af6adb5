package turn

import (
	"net"
	"net/netip"
)

// Relaying to these networks would turn the relay into a way into the
// host's own network (or the provider's), so it is refused unless
// AllowPrivatePeers. Loopback, private, link-local, multicast and
// unspecified addresses are found with netip's predicates; these are the
// special ranges it has no predicate for.
var refusedPeerNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 embeds IPv4 peers
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2002::/16"),       // 6to4 embeds IPv4 peers
	netip.MustParsePrefix("2001::/32"),       // Teredo embeds IPv4 peers
	netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT, IPv4-translated
}

// globalUnicast6 is the only IPv6 space IANA allocates for global unicast.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// PublicPeer reports whether ip is an address the relay may send to when
// private peers are not allowed: a global unicast address outside every
// special-purpose range.
func PublicPeer(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return false
	}
	for _, p := range refusedPeerNets {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
