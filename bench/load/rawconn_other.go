//go:build !linux

package main

import (
	"context"
	"net"
)

// dialRaw is a plain dial where raw socket calls are not written.
func dialRaw(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
