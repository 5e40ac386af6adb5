// Package server wires the parts of Huddle together (signaling, relay, web
// app, health and metrics) and runs them until the context ends.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/socketio"
	"github.com/huddlehq/huddle/internal/turn"
	"github.com/huddlehq/huddle/internal/web"
)

// NewLogger builds the process logger from the config.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config; info on error
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	engineCfg := cfg.Engine
	engineCfg.Logger = log
	io := socketio.NewServer(engineCfg)

	if cfg.TURN.Enabled {
		relay, err := turn.NewServer(cfg.TURN, log)
		if err != nil {
			return err
		}
		defer relay.Close()
	}
	sig := signaling.NewService(cfg.Signaling, turn.NewICE(cfg.TURN).For, log, nil)
	sig.Attach(io)

	mux := http.NewServeMux()
	webApp := web.Handler(web.Options{})
	mux.Handle("/socket.io/", io)
	mux.Handle("GET /socket.io/socket.io.js", webApp) // the client bundle, as Node's server serves it
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("/", webApp)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+displayHost(ln.Addr()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	_ = io.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func displayHost(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") || strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + s[strings.LastIndex(s, ":")+1:]
	}
	return s
}
