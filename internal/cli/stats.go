package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"bootd/internal/server"
)

func statsCommand() *command {
	return &command{
		name:     "stats",
		synopsis: "(--config FILE | --store DIR) [--json]",
		summary:  "show a running server's counters",
		doc: `Stats asks the server running on the store named by the configuration
(or by --store) for its counters, through the store's control socket:
requests received and answered, what was dropped, the socket's counters,
and the lease store's commits with the leases they carried (leases per
commit is how many leases share one fsync).
`,
		flags: func(fs *flag.FlagSet) runFunc {
			src := storeFlags(fs)
			asJSON := fs.Bool("json", false, "print the counters as one JSON object")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				dir, err := src.dir()
				if err != nil {
					return err
				}
				c := controlClient(dir)
				if c == nil {
					return fmt.Errorf("no server is running on the lease store %s", dir)
				}
				body, err := controlGet(ctx, c, "/api/v1/stats")
				if err != nil {
					return err
				}
				defer body.Close()
				raw, err := io.ReadAll(body)
				if err != nil {
					return fmt.Errorf("control socket: %w", err)
				}
				if *asJSON {
					_, err := e.stdout.Write(raw)
					return err
				}
				var st struct {
					server.Stats
					Store struct{ Commits, Records uint64 } `json:"store"`
				}
				if err := json.Unmarshal(raw, &st); err != nil {
					return fmt.Errorf("control socket: bad stats: %w", err)
				}
				return printStats(e.stdout, st.Stats, st.Store.Commits, st.Store.Records)
			}
		},
	}
}

func printStats(w io.Writer, st server.Stats, commits, records uint64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "requests received\t%d\n", st.Received)
	fmt.Fprintf(tw, "replies sent\t%d\n", st.Replied)
	fmt.Fprintf(tw, "requests not answered\t%d\n", st.Dropped)
	fmt.Fprintf(tw, "malformed datagrams\t%d\n", st.Malformed)
	fmt.Fprintf(tw, "socket: dropped (wrong interface, truncated)\t%d, %d\n", st.Socket.DroppedInterface, st.Socket.DroppedTruncated)
	fmt.Fprintf(tw, "socket: send errors\t%d\n", st.Socket.SendErrors)
	fmt.Fprintf(tw, "lease store commits (fsyncs)\t%d\n", commits)
	fmt.Fprintf(tw, "leases written\t%d\n", records)
	if commits > 0 {
		fmt.Fprintf(tw, "leases per commit\t%.1f\n", float64(records)/float64(commits))
	}
	return tw.Flush()
}
