package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"bootd/internal/lease"
)

// ControlSocket is the name of the control socket in the lease store
// directory: a Unix socket, mode 0600, through which `bootd leases` and
// `bootd backup` reach a running server (the store itself is locked by it).
const ControlSocket = "control.sock"

// controlHandler serves the control socket:
//
//	GET /v0/leases   every lease, one JSON object a line
//	GET /v0/backup   a consistent copy of the store (Store.Backup)
//	GET /v0/stats    the server's counters, the socket's and the store's (JSON)
//	GET /metrics     Prometheus metrics (Options.Metrics; docs/metrics.md)
//	GET /debug/pprof/...  Go's profiler (CPU, heap, goroutines, ...), for
//	                      finding where a loaded server spends its time
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v0/leases", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jsonl")
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		err := s.store.Load(r.Context(), func(l *lease.Lease) error { return enc.Encode(l) })
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			s.log.Warn("control: listing leases", "err", err)
		}
	})
	mux.HandleFunc("GET /v0/backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := s.store.Backup(r.Context(), w); err != nil {
			s.log.Warn("control: backup", "err", err)
		}
	})
	mux.HandleFunc("GET /v0/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats())
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// ServeControl serves the control socket at path until ctx ends. A stale
// socket file left by a killed server is replaced; a live one (another
// server on the same store) is an error.
func (s *Server) ServeControl(ctx context.Context, path string) error {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another server is answering on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control socket: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	srv := &http.Server{
		Handler:           s.controlHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	err = srv.Serve(ln)
	os.Remove(path)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
