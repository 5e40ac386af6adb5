// Command huddle serves the Huddle meeting web app, its Socket.IO signaling
// and an embedded STUN/TURN relay from one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its exit code: 0 after a clean shutdown or --help, 2 for
// bad flags, 1 when the server fails.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch {
		case args[0] == "token":
			return runToken(args[1:], nil, stdout, stderr)
		case args[0] == "healthcheck":
			return runHealthcheck(args[1:], nil, stdout, stderr)
		case isVersionFlag(args[0]) && len(args) == 1:
			fmt.Fprintln(stdout, "huddle", versionString())
			return 0
		}
	}
	usageOut := stderr
	if wantsHelp(args) {
		usageOut = stdout // asked for: it is the output, not an error
	}
	cfg, err := config.Parse(args, nil, usageOut)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "huddle:", err)
		return 2
	}
	log := server.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg, log); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-h" || a == "-help" || a == "--help" || a == "--h"
	})
}
