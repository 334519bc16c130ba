package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"bootd/internal/api"
	"bootd/internal/api/auth"
	"bootd/internal/api/web"
	"bootd/internal/dhcpclient"
)

// demoClients is how many more clients the dashboard demo runs, and
// demoEvery how often one of them runs an exchange.
const (
	demoClients = 5
	demoEvery   = 3 * time.Second
)

// demoDashboard serves the API and dashboard of the demo's server on a
// loopback address until ctx ends, with a few clients taking leases.
func demoDashboard(ctx context.Context, out io.Writer, addr netip.AddrPort, d *demoServer, cliNS, dir string, log *slog.Logger) error {
	tokens := auth.OpenTokens(filepath.Join(dir, "api-tokens.json"))
	token, err := tokens.Create("demo", auth.Admin)
	if err != nil {
		return err
	}
	audit, err := auth.OpenAudit(filepath.Join(dir, "audit.log"))
	if err != nil {
		return err
	}
	defer audit.Close()
	a := api.New(d.srv, api.Options{
		Version: versionLine(), Log: log, Tokens: tokens, Audit: audit,
		Metrics: d.srv.Metrics().Handler(), Dashboard: web.Handler(versionLine()),
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", addr.String())
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	fmt.Fprintf(out, "\ndashboard: http://%s/\ntoken:     %s\n(an admin token for this demo only; Ctrl-C ends the demo)\n\n", ln.Addr(), token)

	var clients []*dhcpclient.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range demoClients {
		c, err := openClient(cliNS, dhcpclient.Config{
			Interface: demoClientIf,
			MAC:       net.HardwareAddr{0x02, 0xde, 0x30, 0, 0, byte(i + 1)},
			Hostname:  fmt.Sprintf("demo-node-%d", i+1),
		})
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	tick := time.NewTicker(demoEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			if err := <-served; err != nil {
				return err
			}
			return nil
		case err := <-served:
			return fmt.Errorf("dashboard stopped: %w", err)
		case <-tick.C:
		}
		c := clients[i%len(clients)]
		cctx, cancel := context.WithTimeout(ctx, demoEvery)
		_, _, err := c.DORA(cctx)
		cancel()
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Warn("demo client", "mac", c.HardwareAddr(), "err", err)
		}
	}
}
