package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"bootd/internal/config"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
)

func leasesCommand() *command {
	return &command{
		name:     "leases",
		synopsis: "[release ADDRESS] (--config FILE | --store DIR | --api URL) [--addr A] [--mac M] [--hostname TEXT] [--state S] [--json]",
		summary:  "list and search the leases of a lease store",
		doc: `Leases lists the leases of the store named by the configuration (its
lease-store path) or by --store. With a server running on that store it
asks the server through the store's control socket; with none, it reads
the store itself. With --api it asks the server at that URL instead,
with the token of --token-file or $` + TokenEnv + ` (bootd token create makes
one; the read-only role is enough). Filters combine (all must match).

bootd leases release ADDRESS releases the active lease of ADDRESS, as if
its client had sent RELEASE, and prints it. It needs a running server
(through the control socket, or --api with an admin token).
`,
		flags: func(fs *flag.FlagSet) runFunc {
			src := apiSourceFlags(fs)
			addr := fs.String("addr", "", "only the lease of this `ADDRESS`")
			mac := fs.String("mac", "", "only leases of this hardware address")
			host := fs.String("hostname", "", "only leases whose host name contains `TEXT`")
			state := fs.String("state", "", "only leases in this state: offered, bound, released, expired, declined")
			asJSON := fs.Bool("json", false, "print one JSON object per lease")
			return func(ctx context.Context, e *env, args []string) error {
				pos := args
				if len(pos) > 0 && pos[0] == "release" {
					if *addr != "" || *mac != "" || *host != "" || *state != "" {
						return usagef("--addr, --mac, --hostname and --state are for the listing, not release")
					}
					return releaseLease(ctx, e, src, pos[1:], *asJSON)
				}
				if len(pos) > 0 {
					return usagef("unexpected argument %q", pos[0])
				}
				if err := src.check(); err != nil {
					return err
				}
				var dir string
				if !src.remote() {
					var err error
					if dir, err = src.store.dir(); err != nil {
						return err
					}
				}
				match, err := leaseFilter(*addr, *mac, *host, *state)
				if err != nil {
					return usagef("%v", err)
				}
				var list []lease.Lease
				collect := func(l *lease.Lease) error {
					if match(l) {
						list = append(list, *l)
					}
					return nil
				}
				if src.remote() {
					c, cerr := src.remoteClient()
					if cerr != nil {
						return cerr
					}
					err = exportLeases(ctx, c, collect)
				} else {
					err = withLeases(ctx, dir, collect)
				}
				if err != nil {
					return err
				}
				return printLeases(e.stdout, list, *asJSON)
			}
		},
	}
}

// releaseLease is bootd leases release ADDRESS.
func releaseLease(ctx context.Context, e *env, src apiSource, args []string, asJSON bool) error {
	if len(args) != 1 {
		return usagef("release wants one ADDRESS")
	}
	a, err := netip.ParseAddr(args[0])
	if err != nil || !a.Is4() {
		return usagef("release %q: not an IPv4 address", args[0])
	}
	c, err := src.client("leases are released through a running server")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/api/v1/leases/"+a.String()+"/release", nil, &raw); err != nil {
		return err
	}
	if asJSON {
		return writeJSONLine(e.stdout, raw)
	}
	var l struct {
		Address  netip.Addr `json:"address"`
		State    string     `json:"state"`
		MAC      string     `json:"mac"`
		ClientID string     `json:"client-id"`
		Hostname string     `json:"hostname"`
		Expires  *time.Time `json:"expires"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return fmt.Errorf("%s: bad lease: %w", c.where, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tSTATE\tHWADDR\tCLIENT-ID\tHOSTNAME\tEXPIRES")
	exp := "never"
	if l.Expires != nil {
		exp = l.Expires.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Address, l.State, dash(l.MAC), dash(l.ClientID), dash(l.Hostname), exp)
	fmt.Fprintf(tw, "lease of %s released\n", l.Address)
	return tw.Flush()
}

// dash is s, or "-" for nothing.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// storeSource is the --config / --store pair naming a lease store.
type storeSource struct{ config, store *string }

func storeFlags(fs *flag.FlagSet) storeSource {
	return storeSource{
		config: fs.String("config", "", "the server's configuration `FILE` (its lease-store path is used)"),
		store:  fs.String("store", "", "the lease store `DIR`ectory"),
	}
}

func (s storeSource) dir() (string, error) {
	switch {
	case *s.config != "" && *s.store != "":
		return "", usagef("give --config or --store, not both")
	case *s.store != "":
		return *s.store, nil
	case *s.config != "":
		cfg, err := config.Load(*s.config)
		if err != nil {
			return "", fmt.Errorf("configuration refused:\n%w", err)
		}
		return cfg.LeaseStore.Path, nil
	}
	return "", usagef("--config or --store is required")
}

func leaseFilter(addr, mac, host, state string) (func(*lease.Lease) bool, error) {
	var a netip.Addr
	var hw net.HardwareAddr
	var st lease.State
	var err error
	if addr != "" {
		if a, err = netip.ParseAddr(addr); err != nil {
			return nil, fmt.Errorf("--addr: %v", err)
		}
	}
	if mac != "" {
		if hw, err = net.ParseMAC(mac); err != nil {
			return nil, fmt.Errorf("--mac: %v", err)
		}
	}
	if state != "" {
		if st, err = lease.ParseState(state); err != nil {
			return nil, fmt.Errorf("--state: %v", err)
		}
	}
	return func(l *lease.Lease) bool {
		return (!a.IsValid() || l.Addr == a) &&
			(hw == nil || string(l.HWAddr) == string(hw)) &&
			(host == "" || strings.Contains(l.Hostname, host)) &&
			(st == 0 || l.State == st)
	}, nil
}

func printLeases(w io.Writer, list []lease.Lease, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for i := range list {
			if err := enc.Encode(list[i]); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tSTATE\tHWADDR\tHOSTNAME\tEXPIRES")
	for _, l := range list {
		exp := "never"
		if !l.Expires.IsZero() {
			exp = l.Expires.UTC().Format(time.RFC3339)
		}
		host := l.Hostname
		if host == "" {
			host = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Addr, l.State, net.HardwareAddr(l.HWAddr), host, exp)
	}
	fmt.Fprintf(tw, "%d leases\n", len(list))
	return tw.Flush()
}

// openStore opens a stopped server's store.
func openStore(ctx context.Context, dir string) (*journal.Store, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no lease store at %s: %w", dir, err)
	}
	s, err := journal.Open(ctx, dir, journal.Options{})
	if errors.Is(err, lease.ErrLocked) {
		return nil, fmt.Errorf("lease store %s is held by a server whose control socket does not answer", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lease store %s: %w", dir, err)
	}
	return s, nil
}

// withLeases calls fn for every lease of the store in dir: through the
// control socket when a server runs on it, else from the store itself.
func withLeases(ctx context.Context, dir string, fn func(*lease.Lease) error) error {
	if c := controlAPI(dir); c != nil {
		return exportLeases(ctx, c, fn)
	}
	s, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Load(ctx, fn)
}

// exportLeases calls fn for every lease of a running server, read from
// GET /api/v1/leases/export.
func exportLeases(ctx context.Context, c *apiClient, fn func(*lease.Lease) error) error {
	body, err := c.get(ctx, "/api/v1/leases/export")
	if err != nil {
		return err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l lease.Lease
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s: %w", c.where, err)
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", c.where, err)
	}
	return nil
}
