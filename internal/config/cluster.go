package config

import (
	"net/url"
	"strings"

	"github.com/huddlehq/huddle/internal/cluster"
)

// ClusterConfig is cluster mode (internal/cluster), as flags. Its zero
// value is a single node without Redis, which is what Huddle is unless
// --redis-url is given.
type ClusterConfig struct {
	// RedisURL turns cluster mode on: redis://[user:password@]host:port/db,
	// rediss:// for TLS, ?master_name=NAME for a Sentinel. A secret (it may
	// hold a password): --redis-url-file keeps it out of ps.
	RedisURL string
	// NodeID names this node; empty: host name plus a random suffix.
	NodeID string
	// NodeURL is how other nodes reach this one; empty: unknown.
	NodeURL string
	// MoveCookie is the name of the load balancer's cookie that routes a
	// client to a node, the node's id being its value (deploy/haproxy.cfg:
	// each server's cookie is its node's --node-id). Clients that can
	// follow it (the web app) are sent to their meeting's home rather
	// than relayed. Empty: every client is relayed. The flag's default
	// is DefaultMoveCookie.
	MoveCookie string
}

// DefaultMoveCookie is --cluster-cookie's default, the cookie
// deploy/haproxy.cfg inserts.
const DefaultMoveCookie = "HUDDLE_NODE"

// Enabled reports whether the node runs in a cluster.
func (c ClusterConfig) Enabled() bool { return c.RedisURL != "" }

func registerCluster(fs *flagSet, c *ClusterConfig) {
	fs.Secret(&c.RedisURL, "redis-url", "Redis URL (redis://host:6379/0, rediss:// for TLS, ?master_name=NAME for Sentinel) turning on cluster mode; off when empty")
	fs.String(&c.NodeID, "node-id", "", "this node's name in the cluster (default: host name plus a random suffix)")
	fs.String(&c.NodeURL, "node-url", "", "URL other cluster nodes reach this node at, e.g. http://10.0.0.5:8080")
	fs.String(&c.MoveCookie, "cluster-cookie", DefaultMoveCookie, "name of the load balancer's cookie routing a client to a node (its value: the node's --node-id); clients joining on a node that is not their meeting's home move there with it instead of being relayed; empty: always relay")
}

func (c ClusterConfig) validate() error {
	if !c.Enabled() {
		if c.NodeID != "" || c.NodeURL != "" {
			return invalid("--node-id and --node-url need --redis-url")
		}
		return nil
	}
	if err := cluster.CheckURL(c.RedisURL); err != nil {
		return invalid("--redis-url: %v", err) // never the URL: it may hold a password
	}
	if c.NodeID != "" {
		if err := cluster.CheckNodeID(c.NodeID); err != nil {
			return invalid("--node-id: %v", err)
		}
	}
	if !validCookieName(c.MoveCookie) {
		return invalid("--cluster-cookie: %q is not a cookie name (letters, digits and !#$%%&'*+-.^_`|~)", c.MoveCookie)
	}
	if c.NodeURL != "" {
		u, err := url.Parse(c.NodeURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("--node-url: want an http:// or https:// URL, got %q", c.NodeURL)
		}
	}
	return nil
}

// validCookieName reports whether name is empty or an RFC 6265 token.
func validCookieName(name string) bool {
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)
		if !ok {
			return false
		}
	}
	return len(name) <= 64
}

// Cluster returns the cluster package's configuration (timings at their
// defaults). Call only when Enabled.
func (c ClusterConfig) Cluster() cluster.Config {
	return cluster.Config{RedisURL: c.RedisURL, NodeID: c.NodeID, NodeURL: c.NodeURL}
}
