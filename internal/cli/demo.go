package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"bootd/internal/config"
	"bootd/internal/dhcpclient"
	"bootd/internal/lease/journal"
	"bootd/internal/server"
)

func demoCommand() *command {
	return &command{
		name:    "demo",
		summary: "serve a lease to a client in throwaway network namespaces (needs root)",
		doc: `Demo shows bootd at work without touching any real interface. It creates
two network namespaces, bootd-demo-PID-srv and bootd-demo-PID-cli, joined
by a veth pair (srv0 with 198.18.0.1/24, and cli0), writes the
configuration of examples/demo.yaml to a temporary directory, runs the
server in the first namespace and the probe client in the second, and
prints the server's log, the OFFER and the ACK, a summary of the lease and
the lease as the store keeps it. Then it deletes the namespaces and the
temporary directory, also on Ctrl-C or error.

With --dashboard ADDRESS:PORT (a loopback address, like 127.0.0.1:8067)
the demo then keeps serving: it starts the API and the web dashboard on
that address, prints the URL and an admin token made for the demo, and
has a few more clients take leases, one exchange every few seconds, so the
dashboard has something to show. Ctrl-C ends it and cleans up.

Only 198.18.0.0/24 (from 198.18.0.0/15, reserved for benchmarking) is
used, and only inside the namespaces. Demo needs root and the ip command
(iproute2).
`,
		flags: func(fs *flag.FlagSet) runFunc {
			timeout := fs.Duration("timeout", 20*time.Second, "give up on the client after `DURATION`")
			dashboard := fs.String("dashboard", "", "then serve the dashboard on this loopback `ADDRESS:PORT` until Ctrl-C")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *timeout <= 0 {
					return usagef("--timeout must be positive")
				}
				var dash netip.AddrPort
				if *dashboard != "" {
					var err error
					dash, err = netip.ParseAddrPort(*dashboard)
					if err != nil || !dash.Addr().IsLoopback() || !dash.Addr().Is4() {
						return usagef("--dashboard %q: want a loopback IPv4 address and port, like 127.0.0.1:8067", *dashboard)
					}
				}
				return runDemo(ctx, e.stdout, *timeout, dash)
			}
		},
	}
}

// demoConfig is examples/demo.yaml (a test checks they are the same).
// The demo replaces demoStoreLine to keep leases in its temporary directory.
const demoConfig = `# bootd: the configuration ` + "`bootd demo`" + ` serves.
#
# The demo builds two throwaway network namespaces joined by a veth pair
# and runs bootd on the server end, srv0, which has 198.18.0.1/24
# (198.18.0.0/15 is reserved for benchmarking, RFC 2544, so it clashes
# with no real network). It writes this file to a temporary directory with
# the lease-store path pointing there, so nothing outside is touched.
#
# Check it with:  bootd check --config examples/demo.yaml

interfaces: [srv0]

lease-store:
  path: /var/lib/bootd-demo

lease-time: {default: 1h, min: 10m, max: 1d}

options:
  dns-servers: [198.18.0.1]
  domain-name: demo.example.test

subnets:
  - subnet: 198.18.0.0/24
    interface: srv0
    server-address: 198.18.0.1
    options:
      router: 198.18.0.1
    pools:
      - range: 198.18.0.100-198.18.0.150
`

const (
	demoStoreLine = "  path: /var/lib/bootd-demo\n"
	demoServerIf  = "srv0"
	demoClientIf  = "cli0"
	demoServerNet = "198.18.0.1/24"
	ipTimeout     = 30 * time.Second
)

// demoPrefix starts the names of the namespaces of the demo of this process.
func demoPrefix() string { return fmt.Sprintf("bootd-demo-%d-", os.Getpid()) }

func runDemo(ctx context.Context, stdout io.Writer, timeout time.Duration, dashboard netip.AddrPort) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("demo needs root: it creates network namespaces and a veth pair (try: sudo go run ./cmd/bootd demo)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("demo needs the ip command (iproute2): %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	out := &lockedWriter{w: stdout}
	var cleanups []func()
	defer func() {
		if err != nil {
			fmt.Fprintf(out, "\ndemo failed: %v\n", err)
		}
		fmt.Fprintln(out, "\ncleaning up:")
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	srvNS, cliNS := demoPrefix()+"srv", demoPrefix()+"cli"
	fmt.Fprintf(out, "bootd demo: a DHCP server and a client in two throwaway network namespaces\n"+
		"(%s, %s) joined by a veth pair; no real interface is touched.\n\n", srvNS, cliNS)
	for _, ns := range []string{srvNS, cliNS} {
		if err := ipCommand("netns", "add", ns); err != nil {
			return err
		}
		cleanups = append(cleanups, func() {
			if err := ipCommand("netns", "delete", ns); err != nil {
				fmt.Fprintf(out, "  %v\n", err)
				return
			}
			fmt.Fprintf(out, "  deleted namespace %s\n", ns)
		})
	}
	for _, args := range [][]string{
		{"-n", srvNS, "link", "set", "lo", "up"},
		{"-n", cliNS, "link", "set", "lo", "up"},
		{"-n", srvNS, "link", "add", demoServerIf, "type", "veth", "peer", "name", demoClientIf, "netns", cliNS},
		{"-n", srvNS, "addr", "add", demoServerNet, "dev", demoServerIf},
		{"-n", srvNS, "link", "set", demoServerIf, "up"},
		{"-n", cliNS, "link", "set", demoClientIf, "up"},
	} {
		if err := ipCommand(args...); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "network: %s %s in %s <-> %s (no address) in %s\n", demoServerIf, demoServerNet, srvNS, demoClientIf, cliNS)

	dir, err := os.MkdirTemp("", "bootd-demo-")
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(out, "  %v\n", err)
			return
		}
		fmt.Fprintf(out, "  removed %s\n", dir)
	})
	storeDir := filepath.Join(dir, "leases")
	file := filepath.Join(dir, "demo.yaml")
	text := strings.Replace(demoConfig, demoStoreLine, "  path: "+storeDir+"\n", 1)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(file)
	if err != nil {
		return fmt.Errorf("demo configuration refused:\n%w", err)
	}
	fmt.Fprintf(out, "configuration: %s (examples/demo.yaml, leases in %s)\n", file, storeDir)

	log := slog.New(slog.NewTextHandler(&prefixWriter{w: out, prefix: "server: "}, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	srv, err := startServer(ctx, dhcpclient.NamespacePath(srvNS), cfg, log)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func() {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(out, "  server: %v\n", err)
			return
		}
		fmt.Fprintln(out, "  stopped the server")
	})

	p := &printer{w: out}
	client, err := openClient(cliNS, dhcpclient.Config{
		Interface: demoClientIf, Hostname: "demo-client",
		Sent: p.sent, Received: p.received,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Fprintf(out, "client: %s %s, DISCOVER to 255.255.255.255:67\n", demoClientIf, client.HardwareAddr())

	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, ack, err := client.DORA(cctx)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return err
	}
	fmt.Fprintf(out, "\n%s\n", dhcpclient.Summary(client.HardwareAddr(), ack))

	l, err := srv.store.Get(ctx, ack.YIAddr)
	if err != nil {
		return fmt.Errorf("lease store: %w", err)
	}
	fmt.Fprintf(out, "\nthe lease in the store (%s):\n", storeDir)
	fmt.Fprintf(out, "  address:  %s\n  state:    %s\n  client:   %s\n  hostname: %s\n  subnet:   %s\n  start:    %s\n  expires:  %s (%s later)\n",
		l.Addr, l.State, net.HardwareAddr(l.HWAddr), l.Hostname, l.Subnet,
		l.Start.Format(time.RFC3339), l.Expires.Format(time.RFC3339), dhcpclient.FormatDuration(l.Expires.Sub(l.Start)))
	if !dashboard.IsValid() {
		return nil
	}
	return demoDashboard(ctx, out, dashboard, srv, cliNS, dir, log)
}

// demoServer is a server running in-process in a network namespace.
type demoServer struct {
	srv    *server.Server
	store  *journal.Store
	cancel context.CancelFunc
	done   chan error
}

// startServer opens the lease store of cfg and serves cfg on port 67 in the
// network namespace at nsPath, until stop.
func startServer(ctx context.Context, nsPath string, cfg *config.Config, log *slog.Logger) (*demoServer, error) {
	if err := os.MkdirAll(cfg.LeaseStore.Path, 0o750); err != nil {
		return nil, fmt.Errorf("lease store: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	store, err := journal.Open(ctx, cfg.LeaseStore.Path, journal.Options{})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("lease store %s: %w", cfg.LeaseStore.Path, err)
	}
	var srv *server.Server
	err = dhcpclient.InNamespace(nsPath, func() (err error) {
		srv, err = server.New(ctx, cfg, store, server.Options{Log: log, Namespace: nsPath})
		return err
	})
	if err != nil {
		cancel()
		store.Close()
		return nil, err
	}
	d := &demoServer{srv: srv, store: store, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Serve(ctx) }()
	return d, nil
}

// stop stops the server, waiting at most 10s, and closes the store.
func (d *demoServer) stop() error {
	d.cancel()
	var err error
	select {
	case err = <-d.done:
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	case <-time.After(10 * time.Second):
		err = errors.New("did not stop within 10s")
	}
	if cerr := d.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// ipCommand runs ip with args, bounded by ipTimeout. It does not use the
// command's context: cleanups must run after Ctrl-C too.
func ipCommand(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group: Ctrl-C on the terminal must not kill a cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// lockedWriter serialises writes from the server's goroutines and the client.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes each line with a prefix; slog writes whole lines.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for line := range strings.Lines(string(b)) {
		buf.WriteString(p.prefix)
		buf.WriteString(line)
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}
