package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
)

func reservationsCommand() *command {
	return &command{
		name:     "reservations",
		synopsis: "list|add|change|delete (--config FILE | --store DIR | --api URL) [--mac M | --client-id ID | --circuit-id ID | --remote-id ID] [--address A] [--hostname H] [--boot-file F] [--subnet P] [--json]",
		summary:  "list, add, change and delete a running server's reservations",
		doc: `Reservations shows and changes the reservations of the server running on
the store named by the configuration (its lease-store path) or by --store,
through the store's control socket, or of the server at --api URL with the
token of --token-file or $` + TokenEnv + ` (changes need the admin role).

  list    every reservation: of the configuration file (source config
          FILE:LINE) and those made through the API (source api)
  add     a reservation for the client named by one of --mac, --client-id,
          --circuit-id or --remote-id, with --address, --hostname,
          --boot-file and --subnet (--subnet may be left out when
          --address is given)
  change  replaces the reservation of the client named as for add with
          the one the other flags describe (what is left out is dropped);
          --subnet also picks the reservation when the client has one in
          several subnets
  delete  deletes the reservation of the client named as for add;
          --subnet picks one when the client has one in several subnets

A change takes effect at once and is kept in the reservations file
(reservations-file in the configuration, else reservations.yaml in the
lease store directory). The server checks the new set as a configuration
and refuses it with the problems found, as FILE:LINE:COLUMN: MESSAGE;
it refuses an address leased now to another client (bootd leases release
frees it). Reservations of the configuration file are changed there, then
reloaded.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			src := apiSourceFlags(fs)
			var id resvIdentifier
			fs.StringVar(&id.mac, "mac", "", "the client's hardware address `M`")
			fs.StringVar(&id.clientID, "client-id", "", "the client identifier `ID` (option 61), in hex, type byte first")
			fs.StringVar(&id.circuitID, "circuit-id", "", "the relay agent circuit `ID` (text, or hex like 01:02)")
			fs.StringVar(&id.remoteID, "remote-id", "", "the relay agent remote `ID` (text, or hex like 01:02)")
			address := fs.String("address", "", "the fixed `ADDRESS` to give")
			hostname := fs.String("hostname", "", "the host `NAME` to send (option 12)")
			bootFile := fs.String("boot-file", "", "the boot `FILE` to send")
			subnet := fs.String("subnet", "", "the subnet `PREFIX` of the reservation")
			asJSON := fs.Bool("json", false, "print JSON: the API's answer")
			return func(ctx context.Context, e *env, args []string) error {
				pos := args
				if len(pos) == 0 {
					return usagef("want an action: list, add, change or delete")
				}
				action := pos[0]
				if len(pos) > 1 {
					return usagef("unexpected argument %q", pos[1])
				}
				set := *address != "" || *hostname != "" || *bootFile != ""
				switch action {
				case "list":
					if id.given() > 0 || set || *subnet != "" {
						return usagef("list takes no reservation flags")
					}
				case "add", "change":
					if id.given() != 1 {
						return usagef("%s wants one of --mac, --client-id, --circuit-id or --remote-id", action)
					}
				case "delete":
					if id.given() != 1 {
						return usagef("delete wants one of --mac, --client-id, --circuit-id or --remote-id")
					}
					if set {
						return usagef("delete takes the client and --subnet only")
					}
				default:
					return usagef("unknown action %q: want list, add, change or delete", action)
				}
				c, err := src.client("reservations are changed through a running server")
				if err != nil {
					return err
				}
				kind, value := id.get()
				body := resvBody{Kind: kind, ID: value, Subnet: *subnet, Address: *address, Hostname: *hostname, BootFile: *bootFile}
				path := "/api/v1/reservations/" + url.PathEscape(kind) + "/" + url.PathEscape(value)
				if *subnet != "" {
					path += "?subnet=" + url.QueryEscape(*subnet)
				}
				switch action {
				case "list":
					var out struct {
						Reservations []resvView `json:"reservations"`
						File         string     `json:"file"`
					}
					var raw json.RawMessage
					if err := c.do(ctx, http.MethodGet, "/api/v1/reservations", nil, &raw); err != nil {
						return err
					}
					if err := json.Unmarshal(raw, &out); err != nil {
						return fmt.Errorf("%s: bad reservations: %w", c.where, err)
					}
					if *asJSON {
						return writeJSONLine(e.stdout, raw)
					}
					return printReservations(e.stdout, out.Reservations, true)
				case "add", "change":
					method, target := http.MethodPost, "/api/v1/reservations"
					if action == "change" {
						method, target = http.MethodPut, path
					}
					var raw json.RawMessage
					if err := c.do(ctx, method, target, body, &raw); err != nil {
						return err
					}
					if *asJSON {
						return writeJSONLine(e.stdout, raw)
					}
					var v resvView
					if err := json.Unmarshal(raw, &v); err != nil {
						return fmt.Errorf("%s: bad reservation: %w", c.where, err)
					}
					return printReservations(e.stdout, []resvView{v}, false)
				default: // delete
					if err := c.do(ctx, http.MethodDelete, path, nil, nil); err != nil {
						return err
					}
					if *asJSON {
						return nil
					}
					_, err := fmt.Fprintf(e.stdout, "reservation of %s %s deleted\n", kind, value)
					return err
				}
			}
		},
	}
}

// resvIdentifier is the client a reservation is for: one of four flags.
type resvIdentifier struct{ mac, clientID, circuitID, remoteID string }

func (r *resvIdentifier) given() int {
	n := 0
	for _, s := range []string{r.mac, r.clientID, r.circuitID, r.remoteID} {
		if s != "" {
			n++
		}
	}
	return n
}

// get returns the kind and the identifier as the API names them.
func (r *resvIdentifier) get() (kind, id string) {
	switch {
	case r.mac != "":
		return "mac", r.mac
	case r.clientID != "":
		return "client-id", r.clientID
	case r.circuitID != "":
		return "circuit-id", r.circuitID
	case r.remoteID != "":
		return "remote-id", r.remoteID
	}
	return "", ""
}

// resvBody is the body of POST and PUT /api/v1/reservations.
type resvBody struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Subnet   string `json:"subnet,omitempty"`
	Address  string `json:"address,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	BootFile string `json:"boot-file,omitempty"`
}

// resvView is a reservation as the API shows it.
type resvView struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Subnet   string `json:"subnet"`
	Address  string `json:"address"`
	Hostname string `json:"hostname"`
	BootFile string `json:"boot-file"`
	Source   string `json:"source"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// printReservations prints a table of reservations, with their count
// below it when count is set.
func printReservations(w io.Writer, list []resvView, count bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tID\tSUBNET\tADDRESS\tHOSTNAME\tBOOT-FILE\tSOURCE")
	for _, r := range list {
		source := r.Source
		if source == "config" {
			source = fmt.Sprintf("config %s:%d", r.File, r.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Kind, r.ID, dash(r.Subnet), dash(r.Address), dash(r.Hostname), dash(r.BootFile), source)
	}
	if count {
		fmt.Fprintf(tw, "%d reservations\n", len(list))
	}
	return tw.Flush()
}

// writeJSONLine writes a JSON answer of the API, indented as the API
// sends it, with one final newline.
func writeJSONLine(w io.Writer, raw json.RawMessage) error {
	_, err := fmt.Fprintf(w, "%s\n", raw)
	return err
}
