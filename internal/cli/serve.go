package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"bootd/internal/config"
	"bootd/internal/httpboot"
	"bootd/internal/lease/journal"
	"bootd/internal/metrics"
	"bootd/internal/rarp"
	"bootd/internal/server"
	"bootd/internal/tftp"
)

func serveCommand() *command {
	return &command{
		name:     "serve",
		synopsis: "--config FILE [--log-format text|json] [--log-level LEVEL]",
		summary:  "answer DHCP and BOOTP on UDP port 67",
		doc: `Serve answers DHCP and BOOTP requests on the interfaces the configuration
names, keeping leases in the configuration's lease-store directory (created
if missing). Every lease is on disk before the client is told it has it.

The configuration may also start the built-in TFTP and HTTP boot servers,
the RARP responder and scheduled lease store snapshots; their settings are
read at start. The control socket (control.sock in the lease store
directory, mode 0600) serves the API (docs/api.md) to local callers, so
that bootd leases, reservations, backup and stats reach the server, and
Go's profiler at /debug/pprof/. With an api section in the configuration
the API, the dashboard and /metrics are also served over HTTP(S), every
request authenticated by a token (bootd token create).

SIGHUP (or POST /api/v1/config/reload) reloads the configuration and the
reservations file: a configuration with errors is refused,
with the errors logged, and the old one keeps serving; leases survive.
SIGINT or SIGTERM stops the server.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			file := fs.String("config", "", "the configuration `FILE` (YAML)")
			format := fs.String("log-format", "text", "log format: text or json")
			level := fs.String("log-level", "info", "least level logged: debug, info, warn or error")
			port := fs.Int("port", 67, "UDP `PORT` to listen on (tests and unusual setups)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *file == "" {
					return usagef("--config is required")
				}
				log, err := newLogger(e.stderr, *format, *level)
				if err != nil {
					return usagef("%v", err)
				}
				return runServe(ctx, log, *file, *port)
			}
		},
	}
}

// startBootServers starts the boot file servers and the RARP responder the
// configuration asks for; they stop when ctx ends. Their settings are read
// at start (a reload does not change them), but boot templates and RARP's
// reservations come from the configuration being served (current). The
// TFTP server's counters are registered on m.
func startBootServers(ctx context.Context, log *slog.Logger, cfg *config.Config, current func() *config.Config, store *journal.Store, m *metrics.Metrics) error {
	tmpl := &bootTemplates{current: current, leases: store, log: log}
	if r := cfg.RARP; r != nil {
		for _, name := range r.Interfaces {
			rs, err := rarp.Listen(ctx, rarp.Config{
				Interface: name,
				Lookup:    func(mac net.HardwareAddr) (netip.Addr, bool) { return current().ReservedAddress(mac) },
				Log:       log,
			})
			if err != nil {
				return fmt.Errorf("rarp: %w", err)
			}
			go func() {
				if err := rs.Serve(ctx); err != nil {
					log.Error("rarp responder stopped", "interface", name, "err", err)
				}
			}()
			log.Info("answering RARP", "interface", name)
		}
	}
	if t := cfg.TFTP; t != nil {
		ts, err := tftp.New(tftp.Config{Root: t.Root, Files: tmpl.tftpFile, MaxTransfers: t.MaxTransfers, Log: log})
		if err != nil {
			return fmt.Errorf("tftp: %w", err)
		}
		if err := m.Register(metrics.NewTFTPCollector(ts.Stats)); err != nil {
			return fmt.Errorf("tftp: metrics: %w", err)
		}
		addr := netip.IPv4Unspecified()
		if t.Address.IsValid() {
			addr = t.Address
		}
		conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(t.Port))))
		if err != nil {
			return fmt.Errorf("tftp: %w", err)
		}
		go func() {
			if err := ts.Serve(ctx, conn); err != nil && ctx.Err() == nil {
				log.Error("tftp server stopped", "err", err)
			}
		}()
		log.Info("serving boot files over TFTP", "root", t.Root, "listen", conn.LocalAddr())
	}
	if h := cfg.HTTPBoot; h != nil {
		hs, err := httpboot.New(httpboot.Config{Root: h.Root, Files: tmpl.render, Log: log})
		if err != nil {
			return err
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp4", h.Listen.String())
		if err != nil {
			hs.Close()
			return fmt.Errorf("http boot: %w", err)
		}
		go func() {
			defer hs.Close()
			if err := hs.Serve(ctx, ln); err != nil {
				log.Error("http boot server stopped", "err", err)
			}
		}()
		log.Info("serving boot files over HTTP", "root", h.Root, "listen", h.Listen)
	}
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q: text or json", format)
}

func runServe(ctx context.Context, log *slog.Logger, file string, port int) error {
	cfg, err := config.Load(file)
	if err != nil {
		return fmt.Errorf("configuration refused:\n%w", err)
	}
	if err := os.MkdirAll(cfg.LeaseStore.Path, 0o750); err != nil {
		return fmt.Errorf("lease store: %w", err)
	}
	store, err := journal.Open(ctx, cfg.LeaseStore.Path, journal.Options{})
	if err != nil {
		return fmt.Errorf("lease store %s: %w", cfg.LeaseStore.Path, err)
	}
	defer store.Close()
	defer startBackups(ctx, log, cfg.Backups, store)()
	m := metrics.New()
	if err := m.Register(metrics.NewStoreCollector(store.Stats)); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	srv, err := server.New(ctx, cfg, store, server.Options{Port: port, Log: log,
		StoreStats: func() any { return store.Stats() }, Metrics: m})
	if err != nil {
		return err
	}
	a, closeAPI, err := startAPI(ctx, log, cfg, srv, m)
	if err != nil {
		return err
	}
	defer closeAPI()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := a.Reload(ctx); err != nil {
					log.Error("reload refused; the old configuration keeps serving", "file", file, "err", err)
					continue
				}
				log.Info("configuration reloaded", "file", file)
			}
		}
	}()
	if err := startBootServers(ctx, log, cfg, srv.Config, store, m); err != nil {
		return err
	}
	log.Info("serving", "config", file, "interfaces", cfg.Interfaces, "port", srv.LocalPort(), "leases", cfg.LeaseStore.Path)
	if err := srv.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	st := store.Stats()
	log.Info("stopped", "lease_commits", st.Commits, "leases_written", st.Records)
	return nil
}
