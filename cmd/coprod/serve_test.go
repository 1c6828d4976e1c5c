package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// On SIGTERM (ctx cancelled) a request in flight completes before the
// server returns; new connections are refused meanwhile.
func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	cfg := Config{Listen: "127.0.0.1:0", ShutdownTimeout: 30 * time.Second}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	go func() { errc <- listenAndServe(ctx, cfg, ln, h, slog.New(slog.DiscardHandler), ready) }()
	addr := <-ready

	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- string(b)
	}()
	<-entered
	cancel() // SIGTERM
	select {
	case err := <-errc:
		t.Fatalf("server returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("request in flight got %q, want it completed", body)
	}
	if err := <-errc; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}
