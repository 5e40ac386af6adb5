package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestClusterOffByDefault(t *testing.T) {
	c, err := Parse(nil, env(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Enabled() || c.Cluster != (ClusterConfig{MoveCookie: DefaultMoveCookie}) {
		t.Fatalf("cluster config without flags: %+v, want off", c.Cluster)
	}
}

func TestClusterFlags(t *testing.T) {
	c, err := Parse([]string{"--node-id", "n1", "--node-url", "http://10.0.0.5:8080"},
		env("HUDDLE_REDIS_URL", "redis://:pw@127.0.0.1:6379/2"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := ClusterConfig{RedisURL: "redis://:pw@127.0.0.1:6379/2", NodeID: "n1", NodeURL: "http://10.0.0.5:8080", MoveCookie: "HUDDLE_NODE"}
	if c.Cluster != want || !c.Cluster.Enabled() {
		t.Fatalf("got %+v, want %+v", c.Cluster, want)
	}
	cc := c.Cluster.Cluster()
	if cc.RedisURL != want.RedisURL || cc.NodeID != "n1" || cc.NodeURL != want.NodeURL {
		t.Fatalf("cluster.Config %+v", cc)
	}
	// Sentinel URLs are accepted.
	if _, err := Parse([]string{"--redis-url", "redis://s1:26379/0?master_name=mymaster"}, env(), &bytes.Buffer{}); err != nil {
		t.Fatalf("sentinel URL: %v", err)
	}
}

func TestClusterInvalid(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis-url", "http://:secretpw@h:6379"}, "--redis-url"},
		{[]string{"--redis-url", "redis://:secretpw@h:6379/notadb"}, "--redis-url"},
		{[]string{"--redis-url", "redis://:secretpw@h:6379/0\x7f"}, "--redis-url"},
		{[]string{"--redis-url", "redis://h:6379", "--node-id", "a:b"}, "--node-id"},
		{[]string{"--redis-url", "redis://h:6379", "--node-url", "10.0.0.5:8080"}, "--node-url"},
		{[]string{"--node-id", "n1"}, "need --redis-url"},
		{[]string{"--redis-url", "redis://h:6379", "--cluster-cookie", "a b"}, "--cluster-cookie"},
		{[]string{"--redis-url", "redis://h:6379", "--cluster-cookie", "a;b"}, "--cluster-cookie"},
	} {
		_, err := Parse(tc.args, env(), &bytes.Buffer{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an ErrInvalid naming %s", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%q: error repeats the password: %v", tc.args, err)
		}
	}
}

func TestClusterCookie(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, nil, "HUDDLE_NODE"},
		{[]string{"--cluster-cookie", "SRV"}, nil, "SRV"},
		{[]string{"--cluster-cookie", ""}, nil, ""}, // moving off: always relay
		{nil, []string{"HUDDLE_CLUSTER_COOKIE", "route"}, "route"},
	} {
		c, err := Parse(append([]string{"--redis-url", "redis://127.0.0.1:6379/0"}, tc.args...), env(tc.env...), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%q %q: %v", tc.args, tc.env, err)
		}
		if c.Cluster.MoveCookie != tc.want {
			t.Errorf("%q %q: cookie %q, want %q", tc.args, tc.env, c.Cluster.MoveCookie, tc.want)
		}
	}
}
