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
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"bootd/internal/config"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/server"
)

func leasesCommand() *command {
	return &command{
		name:     "leases",
		synopsis: "(--config FILE | --store DIR) [--addr A] [--mac M] [--hostname TEXT] [--state S] [--json]",
		summary:  "list and search the leases of a lease store",
		doc: `Leases lists the leases of the store named by the configuration (its
lease-store path) or by --store. With a server running on that store it
asks the server through the store's control socket; with none, it reads
the store itself. Filters combine (all must match).
`,
		flags: func(fs *flag.FlagSet) runFunc {
			src := storeFlags(fs)
			addr := fs.String("addr", "", "only the lease of this `ADDRESS`")
			mac := fs.String("mac", "", "only leases of this hardware address")
			host := fs.String("hostname", "", "only leases whose host name contains `TEXT`")
			state := fs.String("state", "", "only leases in this state: offered, bound, released, expired, declined")
			asJSON := fs.Bool("json", false, "print one JSON object per lease")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				dir, err := src.dir()
				if err != nil {
					return err
				}
				match, err := leaseFilter(*addr, *mac, *host, *state)
				if err != nil {
					return usagef("%v", err)
				}
				var list []lease.Lease
				err = withLeases(ctx, dir, func(l *lease.Lease) error {
					if match(l) {
						list = append(list, *l)
					}
					return nil
				})
				if err != nil {
					return err
				}
				return printLeases(e.stdout, list, *asJSON)
			}
		},
	}
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

// controlClient returns an HTTP client for the control socket of a store,
// or nil when no server answers on it.
func controlClient(dir string) *http.Client {
	path := filepath.Join(dir, server.ControlSocket)
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil
	}
	c.Close()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

func controlGet(ctx context.Context, c *http.Client, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://bootd"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("control socket: %s", resp.Status)
	}
	return resp.Body, nil
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

// withLeases calls fn for every lease of the store in dir.
func withLeases(ctx context.Context, dir string, fn func(*lease.Lease) error) error {
	if c := controlClient(dir); c != nil {
		body, err := controlGet(ctx, c, "/api/v1/leases/export")
		if err != nil {
			return err
		}
		defer body.Close()
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var l lease.Lease
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				return fmt.Errorf("control socket: %w", err)
			}
			if err := fn(&l); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	s, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Load(ctx, fn)
}
