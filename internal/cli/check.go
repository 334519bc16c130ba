package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"bootd/internal/config"
	"bootd/internal/dhcpv4"
)

func checkCommand() *command {
	return &command{
		name:     "check",
		synopsis: "--config FILE",
		summary:  "check a configuration file and show what it would serve",
		doc: `Check loads the configuration FILE as "bootd serve" would and reports
every problem in it at once, one a line on standard error, as
	FILE:LINE:COLUMN: problem
and exits 1. When there is none, it prints a summary of what bootd would
serve: the interfaces, the global times, each subnet with its server
address, pools and their sizes, reservations, and the options its clients
get, then the classes; and exits 0.

The format of the file is described in the documentation of the
bootd/internal/config package, with commented examples in examples/.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			file := fs.String("config", "", "the configuration `FILE` to check")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("no arguments expected")
				}
				if *file == "" {
					return usagef("--config is required")
				}
				return runCheck(e, *file)
			}
		},
	}
}

func runCheck(e *env, file string) error {
	c, err := config.Load(file)
	if err != nil {
		problems := config.Errors(err)
		if len(problems) == 0 {
			return err // the file could not be read; the error names it
		}
		for _, p := range problems {
			fmt.Fprintln(e.stderr, p)
		}
		if len(problems) == 1 {
			return errors.New("1 problem")
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	out := bufio.NewWriter(e.stdout)
	writeSummary(out, c)
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// writeSummary prints what a configuration serves.
func writeSummary(w io.Writer, c *config.Config) {
	fmt.Fprintf(w, "%s: ok\n", c.File)
	fmt.Fprintf(w, "interfaces: %s\n", strings.Join(c.Interfaces, ", "))
	fmt.Fprintf(w, "lease store: %s\n", c.LeaseStore.Path)
	fmt.Fprintf(w, "offer hold: %s, decline quarantine: %s\n", dur(c.OfferHold), dur(c.DeclineQuarantine))
	if t := c.TFTP; t != nil {
		addr := "all addresses"
		if t.Address.IsValid() {
			addr = t.Address.String()
		}
		fmt.Fprintf(w, "tftp: %s, on %s port %d, %d transfers at once\n", t.Root, addr, t.Port, t.MaxTransfers)
	}
	if h := c.HTTPBoot; h != nil {
		fmt.Fprintf(w, "http boot: %s, on %s\n", h.Root, h.Listen)
	}
	if r := c.RARP; r != nil {
		fmt.Fprintf(w, "rarp: on %s\n", strings.Join(r.Interfaces, ", "))
	}
	if b := c.Backups; b != nil {
		fmt.Fprintf(w, "backups: every %s to %s, the newest %d kept\n", dur(b.Interval), b.Dir, b.Keep)
	}
	if a := c.API; a != nil {
		scheme := "http"
		if a.TLSCert != "" {
			scheme = "https"
		}
		fmt.Fprintf(w, "api and dashboard: %s://%s/, tokens in %s, audit log %s\n", scheme, a.Listen, a.Tokens, a.AuditLog)
	}
	n := 0
	for _, s := range c.Subnets {
		for _, r := range s.Reservations {
			if r.File != "" {
				n++
			}
		}
	}
	fmt.Fprintf(w, "reservations file: %s (%d reservations)\n", c.ReservationsFile, n)
	for _, s := range c.Subnets {
		fmt.Fprintln(w)
		writeSubnet(w, s)
	}
	if len(c.Classes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "classes, in order of precedence:")
		for _, cl := range c.Classes {
			fmt.Fprintf(w, "  %s%s\n", cl.Name, ownSettings(&cl.Own))
			writeOptions(w, "    ", cl.Own.Options)
		}
	}
}

func writeSubnet(w io.Writer, s *config.Subnet) {
	fmt.Fprintf(w, "subnet %s\n", s.Prefix)
	if s.Shared != nil {
		fmt.Fprintf(w, "  shared network: %s\n", s.Shared.Name)
	}
	switch {
	case s.Interface != "":
		fmt.Fprintf(w, "  interface: %s\n", s.Interface)
	default:
		fmt.Fprintln(w, "  interface: the one with an address in the subnet, else relayed")
	}
	if s.ServerAddress.IsValid() {
		fmt.Fprintf(w, "  server address: %s\n", s.ServerAddress)
	} else {
		fmt.Fprintln(w, "  server address: the interface's address in the subnet")
	}
	eff := &s.Effective
	if s.ProxyDHCP {
		fmt.Fprintln(w, "  proxy-dhcp: no addresses; boot settings for PXE clients, on ports 67 and 4011")
	} else {
		fmt.Fprintf(w, "  lease time: %s (min %s, max %s)%s\n", dur(eff.LeaseTime), dur(eff.MinLeaseTime), dur(eff.MaxLeaseTime), times(eff))
		fmt.Fprintf(w, "  authoritative: %t, bootp: %s\n", eff.Authoritative, eff.BOOTP)
	}
	if eff.BootFile != "" || eff.NextServer.IsValid() {
		fmt.Fprintf(w, "  boot:%s\n", ownSettings(&config.Settings{BootFile: eff.BootFile, NextServer: eff.NextServer}))
	}
	var total uint64
	for _, p := range s.Pools {
		total += p.Size()
		line := fmt.Sprintf("  pool %s: %d addresses", p.Range, p.Size())
		if strings.Contains(p.Range, "/") {
			line = fmt.Sprintf("  pool %s (%s-%s): %d addresses", p.Range, p.First, p.Last, p.Size())
		}
		if n := len(p.Excluded); n > 0 {
			line += fmt.Sprintf(" (%d reserved left out)", n)
		}
		if len(p.Classes) > 0 {
			var names []string
			for _, cl := range p.Classes {
				names = append(names, cl.Name)
			}
			line += ", classes " + strings.Join(names, ", ")
		}
		fmt.Fprintln(w, line+ownSettings(&p.Own))
	}
	if len(s.Pools) == 0 {
		fmt.Fprintln(w, "  no pools")
	} else if len(s.Pools) > 1 {
		fmt.Fprintf(w, "  %d addresses in pools\n", total)
	}
	fixed := 0
	for _, r := range s.Reservations {
		if r.Address.IsValid() {
			fixed++
		}
	}
	fmt.Fprintf(w, "  reservations: %d (%d with a fixed address)\n", len(s.Reservations), fixed)
	fmt.Fprintln(w, "  options:")
	writeOptions(w, "    ", eff.Options)
}

func writeOptions(w io.Writer, indent string, opts []config.Option) {
	for _, o := range opts {
		fmt.Fprintf(w, "%s%d %s: %s\n", indent, o.Code, dhcpv4.OptionName(o.Code), dhcpv4.FormatValue(o.Code, o.Value))
	}
}

// ownSettings renders the settings a pool or class sets itself.
func ownSettings(s *config.Settings) string {
	var parts []string
	if s.LeaseTime != 0 {
		parts = append(parts, "lease time "+dur(s.LeaseTime))
	}
	if s.BootFile != "" {
		parts = append(parts, "boot file "+s.BootFile)
	}
	if s.NextServer.IsValid() {
		parts = append(parts, "next server "+s.NextServer.String())
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func times(s *config.Settings) string {
	var parts []string
	if s.RenewTime != 0 {
		parts = append(parts, "renew "+dur(s.RenewTime))
	}
	if s.RebindTime != 0 {
		parts = append(parts, "rebind "+dur(s.RebindTime))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func dur(d time.Duration) string { return config.FormatDuration(d) }
