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
	svc.watchAccess(ctx, pool, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	_, stopMetrics, err := serveMetrics(ctx, cfg, svc, log, false)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopMetrics()
	return withJobs(ctx, cfg, svc, log, func() error { return listenAndServe(ctx, cfg, ln, svc.handler, log, ready) })
}

// serveMetrics serves GET /metrics on COPROD_METRICS_ADDR, a listener of its
// own: the public API never exposes it, and Prometheus can reach workers
// that have no API. It returns the bound address ("" when off) and a stop
// function. soft (dev) only warns when the address is busy: a developer's
// own Prometheus may well hold 9090.
func serveMetrics(ctx context.Context, cfg Config, svc *services, log *slog.Logger, soft bool) (string, func(), error) {
	if cfg.MetricsAddr == "" {
		log.Info("metrics disabled (COPROD_METRICS_ADDR=off)")
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		if soft {
			log.Warn("metrics not served: address busy; set COPROD_METRICS_ADDR", "addr", cfg.MetricsAddr, "err", err)
			return "", func() {}, nil
		}
		return "", nil, fmt.Errorf("listen for metrics on %s (COPROD_METRICS_ADDR): %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", svc.metrics.Handler())
	// Liveness of a process with no API of its own (the worker): it answers,
	// so its goroutines are scheduled and its listener is up.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "err", err)
		}
	}()
	addr := ln.Addr().String()
	log.Info("serving metrics", "addr", addr, "path", "/metrics", "liveness", "/healthz")
	return addr, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// withJobs runs fn with the job workers started (when this process works
// jobs) and drains them afterwards: running jobs get the shutdown timeout
// to finish, then they are cancelled and left for another worker.
func withJobs(ctx context.Context, cfg Config, svc *services, log *slog.Logger, fn func() error) error {
	if err := svc.runner.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	err := fn()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if serr := svc.runner.Stop(sctx); serr != nil {
		log.Warn("job workers stopped with an error", "err", serr)
	}
	return err
}

// worker is `coprod worker`: job workers only, no API, so each scales on its own.
func worker(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.DatabaseURL == "" {
		return &usageError{"worker needs COPROD_DATABASE_URL (the service role's URL)"}
	}
	pool, err := newPool(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.CheckServiceRole(ctx, pool); err != nil {
		return err
	}
	if err := postgres.CheckMigrated(ctx, pool); err != nil {
		return err
	}
	cfg.Workers = true
	svc, err := wire(cfg, pool, log, false)
	if err != nil {
		return err
	}
	_, stopMetrics, err := serveMetrics(ctx, cfg, svc, log, false)
	if err != nil {
		return err
	}
	defer stopMetrics()
	log.Info("working jobs", "version", version)
	return withJobs(ctx, cfg, svc, log, func() error {
		<-ctx.Done()
		log.Info("shutting down: draining jobs in flight", "timeout", cfg.ShutdownTimeout.String())
		return nil
	})
}

func listenAndServe(ctx context.Context, cfg Config, ln net.Listener, handler http.Handler, log *slog.Logger, ready chan<- string) error {
	readHeader := cfg.ReadHeaderTimeout
	if readHeader == 0 {
		readHeader = 5 * time.Second
	}
	srv := &http.Server{
		Handler: handler,
		// Slow clients are cut: the headers must arrive within
		// COPROD_READ_HEADER_TIMEOUT (5s), a whole request within 30s; idle
		// keep-alive connections close after 2 min.
		ReadHeaderTimeout: readHeader,
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
