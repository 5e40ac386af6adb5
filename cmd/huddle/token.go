package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/huddlehq/huddle/internal/auth"
	"github.com/huddlehq/huddle/internal/config"
)

// runToken is `huddle token`: it prints a join token signed with the
// server's --auth-secret, and a meeting link with it when --public-url is
// given. getenv nil reads the environment.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	usageOut := stderr
	if wantsHelp(args) {
		usageOut = stdout
	}
	req, err := config.ParseToken(args, getenv, usageOut)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "huddle token:", err)
		return 2
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		fmt.Fprintln(stderr, "huddle token: --role:", err)
		return 2
	}
	claims := auth.NewClaims(req.Room, req.Name, role, req.TTL, time.Now())
	claims.ID = req.ID
	tok, err := auth.Issue([]byte(req.Secret), claims)
	if err != nil {
		fmt.Fprintln(stderr, "huddle token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	if req.PublicURL != "" && req.Room != auth.AnyRoom {
		fmt.Fprintf(stdout, "%s/%s?token=%s\n", trimSlash(req.PublicURL), url.PathEscape(req.Room), url.QueryEscape(tok))
	}
	return 0
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
