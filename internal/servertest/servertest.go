// Package servertest runs an in-process bootd DHCP server in a network
// namespace for tests: configuration from YAML, a journal lease store in a
// temporary directory, and a clean stop when the test ends.
package servertest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"bootd/internal/config"
	"bootd/internal/lease/journal"
	"bootd/internal/server"
	"bootd/internal/testnet"
)

// Running is a server started by Start.
type Running struct {
	Server *server.Server
	Store  *journal.Store
}

// Start parses yaml, with STORE replaced by a temporary lease store
// directory, opens a journal store there and serves on port 67 inside ns
// until the test ends. The server logs to log from level up.
func Start(t testing.TB, ns *testnet.Namespace, yaml string, log io.Writer, level slog.Level) *Running {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse("test.yaml", []byte(strings.ReplaceAll(yaml, "STORE", dir)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := journal.Open(ctx, dir, journal.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: level}))
	var srv *server.Server
	if err := ns.Do(func() (err error) {
		srv, err = server.New(ctx, cfg, store, server.Options{Log: logger, Namespace: ns.Path()})
		return err
	}); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return within 10s of cancel")
		}
	})
	return &Running{Server: srv, Store: store}
}
