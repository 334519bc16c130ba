package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"path/filepath"

	"bootd/internal/api"
	"bootd/internal/api/auth"
	"bootd/internal/api/web"
	"bootd/internal/config"
	"bootd/internal/metrics"
	"bootd/internal/server"
)

// startAPI serves the API on the control socket, and with an api section
// also on its TCP listener with the dashboard and /metrics. The returned
// function closes the audit log; the listeners stop with ctx.
func startAPI(ctx context.Context, log *slog.Logger, cfg *config.Config, srv *server.Server, m *metrics.Metrics) (*api.API, func(), error) {
	debug := http.NewServeMux()
	debug.HandleFunc("GET /debug/pprof/", pprof.Index)
	debug.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	debug.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	debug.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	debug.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	opts := api.Options{
		Version: versionLine(),
		Log:     log,
		Metrics: m.Handler(),
		Debug:   debug,
	}
	closeAll := func() {}
	if c := cfg.API; c != nil {
		opts.Tokens = auth.OpenTokens(c.Tokens)
		audit, err := auth.OpenAudit(c.AuditLog)
		if err != nil {
			return nil, nil, fmt.Errorf("api audit log: %w", err)
		}
		opts.Audit = audit
		closeAll = func() { audit.Close() }
		opts.Dashboard = web.Handler(opts.Version)
	}
	a := api.New(srv, opts)
	go func() {
		if err := a.ServeControl(ctx, filepath.Join(cfg.LeaseStore.Path, server.ControlSocket)); err != nil {
			log.Error("control socket not served: bootd leases, backup and reservations cannot reach this server", "err", err)
		}
	}()
	if c := cfg.API; c != nil {
		ln, err := api.Listen(ctx, c)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		go func() {
			if err := a.Serve(ctx, ln); err != nil {
				log.Error("api stopped", "err", err)
			}
		}()
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		log.Info("serving the API and dashboard", "url", scheme+"://"+ln.Addr().String()+"/", "tokens", c.Tokens, "audit_log", c.AuditLog)
		if err := opts.Tokens.Err(); err != nil {
			log.Warn("api tokens file unusable: no token is accepted", "file", c.Tokens, "err", err)
		}
	}
	return a, closeAll, nil
}
