// Command huddle serves the Huddle meeting web app, its Socket.IO signaling
// and an embedded STUN/TURN relay from one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/server"
)

func main() {
	cfg, err := config.Parse(os.Args[1:], nil, os.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "huddle:", err)
		os.Exit(2)
	}
	log := server.NewLogger(cfg, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg, log); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
