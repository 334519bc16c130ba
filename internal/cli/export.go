package cli

import (
	"bootd/internal/fsutil"
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"bootd/internal/lease"
)

// export and import are commands of their own rather than subcommands of
// leases: the command table is flat (one command, one flag set), and leases
// takes filter flags, not a verb.

const exportFormats = `Formats:
  json  one lease per line, the JSON form of bootd leases --json (JSON text is
        UTF-8: a host name's bytes that are not valid UTF-8 become U+FFFD;
        csv keeps them as they are)
  csv   a header row, then one lease per row, columns:
          address     IPv4 address (the key)
          state       offered, bound, released, expired or declined
          mac         hardware address, colon-separated hex
          client_id   option 61, colon-separated hex, empty if none
          hostname
          start       RFC 3339, UTC
          expires     RFC 3339, UTC; empty for a lease that never expires
          subnet      prefix, like 198.18.0.0/24; may be empty
          uuid        PXE client UUID (option 97), 16 bytes of colon-separated hex, empty if none
          circuit_id  relay agent circuit id, colon-separated hex, empty if none
          remote_id   relay agent remote id, colon-separated hex, empty if none
          htype       BOOTP hardware type (1 for Ethernet); last so the columns above
                      keep their places
`

// csvHeader is the header row of the CSV form.
var csvHeader = []string{"address", "state", "mac", "client_id", "hostname", "start", "expires", "subnet", "uuid", "circuit_id", "remote_id", "htype"}

func exportCommand() *command {
	return &command{
		name:     "export",
		synopsis: "[--format json|csv] (--config FILE | --store DIR) [OUT]",
		summary:  "write the leases of a lease store as JSON lines or CSV",
		doc: `Export writes every lease of the store, sorted by address, to OUT (written
to a temporary file, synced and renamed) or to standard output. With a
server running on the store it asks the server through the control socket;
with none, it reads the store itself. bootd import reads what it writes.

` + exportFormats,
		flags: func(fs *flag.FlagSet) runFunc {
			src := storeFlags(fs)
			format := fs.String("format", "json", "json or csv")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 1 {
					return usagef("want at most one output file")
				}
				if *format != "json" && *format != "csv" {
					return usagef("--format %q: json or csv", *format)
				}
				dir, err := src.dir()
				if err != nil {
					return err
				}
				var list []lease.Lease
				err = withLeases(ctx, dir, func(l *lease.Lease) error {
					list = append(list, *l)
					return nil
				})
				if err != nil {
					return err
				}
				slices.SortFunc(list, func(a, b lease.Lease) int { return a.Addr.Compare(b.Addr) })
				write := func(w io.Writer) error { return writeLeases(w, *format, list) }
				if len(args) == 0 {
					return write(e.stdout)
				}
				if _, err := fsutil.WriteFile(args[0], 0o600, write); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "%d leases of %s written to %s\n", len(list), dir, args[0])
				return nil
			}
		},
	}
}

func importCommand() *command {
	return &command{
		name:     "import",
		synopsis: "[--format json|csv] (--config FILE | --store DIR) FILE",
		summary:  "add leases from JSON lines or CSV to a stopped server's lease store",
		doc: `Import reads leases from FILE, in the form bootd export writes, and puts
them into the store (created if missing), replacing the leases of the same
addresses; other leases stay. The server must be stopped: import refuses
while the store's control socket answers or another process holds the
store.

Every row is checked first (address, state, hex fields, times, sizes, the
same address twice): if any is bad, import reports each one as FILE:LINE
and the problem, and imports nothing.

` + exportFormats,
		flags: func(fs *flag.FlagSet) runFunc {
			src := storeFlags(fs)
			format := fs.String("format", "json", "json or csv")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want one input file")
				}
				if *format != "json" && *format != "csv" {
					return usagef("--format %q: json or csv", *format)
				}
				dir, err := src.dir()
				if err != nil {
					return err
				}
				list, err := readLeaseFile(args[0], *format)
				if err != nil {
					return err
				}
				if err := importLeases(ctx, dir, list); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%d leases imported into %s\n", len(list), dir)
				return nil
			}
		},
	}
}

func writeLeases(w io.Writer, format string, list []lease.Lease) error {
	bw := bufio.NewWriter(w)
	if format == "json" {
		enc := json.NewEncoder(bw)
		for i := range list {
			if err := enc.Encode(list[i]); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	cw := csv.NewWriter(bw)
	cw.Write(csvHeader)
	for i := range list {
		cw.Write(csvRow(&list[i]))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func csvRow(l *lease.Lease) []string {
	var exp, subnet, uuid string
	if !l.Expires.IsZero() {
		exp = l.Expires.UTC().Format(time.RFC3339Nano)
	}
	if l.Subnet.IsValid() {
		subnet = l.Subnet.String()
	}
	if l.UUID != ([16]byte{}) {
		uuid = lease.HexColon(l.UUID[:])
	}
	return []string{l.Addr.String(), l.State.String(), lease.HexColon(l.HWAddr), lease.HexColon(l.ClientID), l.Hostname,
		l.Start.UTC().Format(time.RFC3339Nano), exp, subnet, uuid, lease.HexColon(l.CircuitID), lease.HexColon(l.RemoteID),
		strconv.Itoa(int(l.HWType))}
}

func parseCSVRow(rec []string) (lease.Lease, error) {
	var l lease.Lease
	var errs []error
	bad := func(col int, err error) { errs = append(errs, fmt.Errorf("%s: %v", csvHeader[col], err)) }
	var err error
	if l.Addr, err = netip.ParseAddr(rec[0]); err != nil {
		bad(0, err)
	}
	if l.State, err = lease.ParseState(rec[1]); err != nil {
		bad(1, err)
	}
	for _, f := range []struct {
		col int
		dst *[]byte
	}{{2, &l.HWAddr}, {3, &l.ClientID}, {9, &l.CircuitID}, {10, &l.RemoteID}} {
		if *f.dst, err = lease.ParseHexColon(rec[f.col]); err != nil {
			bad(f.col, err)
		}
	}
	l.Hostname = rec[4]
	if l.Start, err = time.Parse(time.RFC3339Nano, rec[5]); err != nil {
		bad(5, err)
	}
	if rec[6] != "" {
		if l.Expires, err = time.Parse(time.RFC3339Nano, rec[6]); err != nil {
			bad(6, err)
		}
	}
	if rec[7] != "" {
		if l.Subnet, err = netip.ParsePrefix(rec[7]); err != nil {
			bad(7, err)
		}
	}
	if u, err := lease.ParseHexColon(rec[8]); err != nil {
		bad(8, err)
	} else if len(u) != 0 && len(u) != 16 {
		bad(8, fmt.Errorf("%q: want 16 bytes", rec[8]))
	} else if len(u) == 16 {
		l.UUID = [16]byte(u)
	}
	if h, err := strconv.ParseUint(rec[11], 10, 8); err != nil {
		bad(11, fmt.Errorf("%q: want a number from 0 to 255", rec[11]))
	} else {
		l.HWType = uint8(h)
	}
	return l, errors.Join(errs...)
}

// maxReported bounds the bad rows an import lists.
const maxReported = 50

func readLeaseFile(file, format string) ([]lease.Lease, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLeases(f, file, format)
}

// readLeases reads and checks every lease of f, named file in errors. It
// fails, naming each bad row (up to maxReported) as file:line, if any row
// is bad.
func readLeases(f io.Reader, file, format string) ([]lease.Lease, error) {
	var (
		list  []lease.Lease
		bad   []string
		nBad  int
		lines = map[netip.Addr]int{}
	)
	add := func(line int, l lease.Lease, err error) {
		switch {
		case err != nil:
		case !l.Addr.IsValid():
			err = errors.New("no address")
		case !l.Addr.Is4():
			err = fmt.Errorf("address %v: want an IPv4 address", l.Addr)
		}
		if err == nil {
			_, err = lease.AppendBinary(nil, &l)
		}
		if err == nil {
			if first, dup := lines[l.Addr]; dup {
				err = fmt.Errorf("address %v is already on line %d", l.Addr, first)
			}
		}
		if err != nil {
			if nBad++; nBad <= maxReported {
				bad = append(bad, fmt.Sprintf("%s:%d: %s", file, line, strings.ReplaceAll(err.Error(), "\n", "; ")))
			}
			return
		}
		lines[l.Addr] = line
		list = append(list, l)
	}
	switch format {
	case "json":
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var l lease.Lease
			err := json.Unmarshal(sc.Bytes(), &l)
			add(line, l, err)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	case "csv":
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		for i := 0; ; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d:%d: %v; nothing imported", file, pe.Line, pe.Column, pe.Err)
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			line, _ := r.FieldPos(0)
			switch {
			case i == 0:
				if !slices.Equal(rec, csvHeader) {
					return nil, fmt.Errorf("%s:%d: header %q, want %q; nothing imported", file, line, strings.Join(rec, ","), strings.Join(csvHeader, ","))
				}
			case len(rec) != len(csvHeader):
				add(line, lease.Lease{}, fmt.Errorf("%d columns, want %d", len(rec), len(csvHeader)))
			default:
				l, err := parseCSVRow(rec)
				add(line, l, err)
			}
		}
	}
	if nBad > 0 {
		if nBad > maxReported {
			bad = append(bad, fmt.Sprintf("... and %d more", nBad-maxReported))
		}
		return nil, fmt.Errorf("%d bad rows, nothing imported:\n%s", nBad, strings.Join(bad, "\n"))
	}
	return list, nil
}

// importLeases puts list into the stopped store in dir. The Puts run
// concurrently so that they share commits.
func importLeases(ctx context.Context, dir string, list []lease.Lease) error {
	unlock, err := lockStopped(dir)
	if err != nil {
		return err
	}
	unlock() // the store takes the lock itself; Open below fails if anyone took it since
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("lease store: %w", err)
	}
	s, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 256)
	)
	for i := range list {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.Put(ctx, &list[i]); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("lease %v: %w", list[i].Addr, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := s.Close(); first == nil {
		first = err
	}
	if first != nil {
		return fmt.Errorf("import into %s stopped, part of the file may be in the store: %w", dir, first)
	}
	return nil
}
