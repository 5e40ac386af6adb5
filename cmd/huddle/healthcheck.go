package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/huddlehq/huddle/internal/config"
)

// runHealthcheck is `huddle healthcheck`: a GET of the server's /healthz
// over loopback, exit status 0 when it answers 200 and 1 otherwise (2 for
// bad flags). It is the Docker HEALTHCHECK of a scratch image, where no
// shell, curl or wget exists. getenv nil reads the environment.
func runHealthcheck(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	usageOut := stderr
	if wantsHelp(args) {
		usageOut = stdout
	}
	req, err := config.ParseHealthcheck(args, getenv, usageOut)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "huddle healthcheck:", err)
		return 2
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy from the environment must not answer for us
	if req.TLS {
		// Our own server over loopback: its certificate names the public
		// host, never 127.0.0.1, so there is nothing to verify against.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec
	}
	client := &http.Client{Transport: tr, Timeout: req.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer tr.CloseIdleConnections()
	resp, err := client.Get(req.URL)
	if err != nil {
		fmt.Fprintln(stderr, "huddle healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "huddle healthcheck: %s answered %s\n", req.URL, resp.Status)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}
