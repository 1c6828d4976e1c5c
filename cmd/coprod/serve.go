package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coprod/coprod/adapters/postgres"
)

// serve runs the API until ctx is done, then drains requests in flight for
// up to cfg.ShutdownTimeout. ready, if not nil, receives the bound address.
func serve(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	if cfg.DatabaseURL == "" {
		return &usageError{"serve needs COPROD_DATABASE_URL (the service role's URL); for a local setup run `coprod dev`"}
	}
	pool, err := newPool(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Refuse to serve with a role that would see across tenants.
	if err := postgres.CheckServiceRole(ctx, pool); err != nil {
		return err
	}
	if err := postgres.CheckMigrated(ctx, pool); err != nil {
		return err
	}
	svc, err := wire(cfg, pool, log, false)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return listenAndServe(ctx, cfg, ln, svc.handler, log, ready)
}

func listenAndServe(ctx context.Context, cfg Config, ln net.Listener, handler http.Handler, log *slog.Logger, ready chan<- string) error {
	srv := &http.Server{
		Handler: handler,
		// Slow clients are cut: a header must arrive within 5s, a whole
		// request within 30s; idle keep-alive connections close after 2 min.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", version)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
