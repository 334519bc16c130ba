package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"bootd/internal/bench"
)

func benchCommand() *command {
	return &command{
		name:     "bench",
		synopsis: "[--mode relay|onlink] [--server ADDR] [--iface IF] [--clients N] [--rate N] [--window N] [--duration D] [--count N] [--mix ...] [--json]",
		summary:  "load a DHCP server with many simulated clients and report rates and latencies",
		doc: `Bench is a DHCP load generator. It plays --clients clients, each with its
own MAC (02:bb:SS:xx:xx:xx, SS the --mac-seed, xx the client number),
over one UDP socket, batching sends and receives (sendmmsg, recvmmsg).

--mode relay (the default) acts as a relay agent: it binds UDP port 67 on
--giaddr (default: the local address toward --server), sends every request
to --server port 67 with giaddr set and hops 1, and the server answers to
giaddr:67. It cannot run in the same network namespace as a DHCP server.
--mode onlink binds port 68 on --iface and broadcasts requests with the
broadcast flag set, so the server broadcasts its replies; --server is
ignored. On the link, ACKs to renew and inform go to the client's address
(ciaddr) and arrive only if this host accepts the leased addresses (e.g.
"ip route add local POOL dev IF"); without that they count as drops.

Exchanges, picked by the weights of --mix: dora (DISCOVER, OFFER, REQUEST,
ACK), and, for a client holding a lease, renew (REQUEST with ciaddr, ACK),
release (RELEASE, done when sent) and inform (INFORM, ACK); a client
without a lease picked for those runs a dora. With --rate 0 (the default)
the run is closed loop: --window exchanges outstanding, a new one started
as soon as one ends. With --rate N, N exchanges are started per second
whatever the replies, as long as a client is free. A request unanswered
within --timeout drops its exchange (no retries).

The run stops starting exchanges after --duration (at most 10m) or
--count exchanges, waits up to --timeout for the outstanding ones, and
prints the report: exchanges started and completed by kind, leases per
second, drops, NAKs, stray replies, packets, latency percentiles in
microseconds, and the CPU the generator used. --json prints it as one JSON
object. Bench needs root (port 67 or 68, SO_BINDTODEVICE); use it only
against servers and networks meant for it.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			d := bench.DefaultConfig()
			mode := fs.String("mode", "relay", "`MODE`: relay (the default) or onlink")
			server := fs.String("server", "", "the server `ADDR` to relay to (required in relay mode)")
			giaddr := fs.String("giaddr", "", "relay `ADDR` to bind and send as giaddr (default: the local address toward --server)")
			iface := fs.String("iface", "", "the interface `IF` to broadcast on (required in onlink mode)")
			clients := fs.Int("clients", d.Clients, "`N` simulated clients, each its own MAC (default 10000)")
			seed := fs.Uint("mac-seed", 0, "third byte `S` (0-255) of every MAC, to keep two runs' clients apart")
			rate := fs.Int("rate", 0, "start `N` exchanges per second; 0 runs closed loop with --window outstanding")
			window := fs.Int("window", d.Window, "`N` exchanges outstanding (closed loop; default 256)")
			duration := fs.Duration("duration", d.Duration, "stop starting exchanges after `D` (default 10s, at most 10m)")
			count := fs.Int("count", 0, "stop starting exchanges after `N` (0: no limit)")
			timeout := fs.Duration("timeout", d.Timeout, "drop an exchange whose request is unanswered after `D` (default 1s)")
			mix := fs.String("mix", "dora=100,renew=0,release=0,inform=0", "relative `WEIGHTS` of the kinds of exchange (default dora=100,renew=0,release=0,inform=0)")
			hostname := fs.Bool("hostname", false, "send a host name (option 12, bench-SSxxxxxx)")
			jsonOut := fs.Bool("json", false, "print the report as one JSON object")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				cfg := d
				var err error
				if cfg.Mode, err = bench.ParseMode(*mode); err != nil {
					return usagef("--mode: %v", err)
				}
				if cfg.Mix, err = bench.ParseMix(*mix); err != nil {
					return usagef("--mix: %v", err)
				}
				if *server != "" {
					if cfg.Server, err = netip.ParseAddr(*server); err != nil {
						return usagef("--server: %v", err)
					}
				}
				if *giaddr != "" {
					if cfg.GIAddr, err = netip.ParseAddr(*giaddr); err != nil {
						return usagef("--giaddr: %v", err)
					}
				}
				if *seed > 255 {
					return usagef("--mac-seed %d: must be 0 to 255", *seed)
				}
				cfg.Interface, cfg.Clients, cfg.MACSeed = *iface, *clients, uint8(*seed)
				cfg.Rate, cfg.Window, cfg.Duration, cfg.Count = *rate, *window, *duration, *count
				cfg.Timeout, cfg.Hostname = *timeout, *hostname
				if err := cfg.Validate(); err != nil {
					return usagef("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
				}
				return runBench(ctx, e, cfg, *jsonOut)
			}
		},
	}
}

func runBench(ctx context.Context, e *env, cfg bench.Config, jsonOut bool) error {
	g, err := bench.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	r, err := g.Run(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return r.WriteJSON(e.stdout)
	}
	return r.WriteText(e.stdout)
}

// stringList is a flag that may be given several times.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*s = append(*s, v)
	return nil
}

func nullResponderCommand() *command {
	return &command{
		name:     "null-responder",
		synopsis: "[--port 67] [--iface IF]... [--workers N] [--read-buffer BYTES]",
		summary:  "answer every DHCP request with a canned reply, to measure the packet path",
		doc: `Null-responder answers DHCP requests without deciding anything: DISCOVER
gets an OFFER, REQUEST and INFORM an ACK, built from a fixed template
(server identifier and router: the address the request came in on; lease
time 1h; mask /15; yiaddr 198.18.128.0 plus the low 15 bits of the
client's MAC). RELEASE, DECLINE and malformed requests get nothing. A
relayed request is answered to giaddr:67, any other by broadcast to
255.255.255.255:68 on the interface it came in on. It keeps no state.

It reads and sends with the same socket code, batch size and number of
workers as "bootd serve", so the rate it sustains under "bootd bench" is
the ceiling of the packet path, and a server's rate divided by it is
what the server's own work leaves of that ceiling.

Its socket's receive buffer is the server's unless --read-buffer says
otherwise; a buffer smaller than the generator's window overflows under
bursts, and the generator sees drops.

It runs until SIGINT or SIGTERM, then prints the packets it received and
answered. It needs root to bind port 67.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			port := fs.Int("port", 67, "UDP `PORT` to listen on (default 67)")
			var ifaces stringList
			fs.Var(&ifaces, "iface", "answer requests from interface `IF` only (repeatable; default: all)")
			workers := fs.Int("workers", 0, "`N` goroutines reading and answering (default: the server's, 2)")
			readBuf := fs.Int("read-buffer", 0, "socket receive buffer of `BYTES` (default: the server's, netio's default)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *port < 0 || *port > 65535 {
					return usagef("--port %d out of range", *port)
				}
				if *workers < 0 || *readBuf < 0 {
					return usagef("--workers and --read-buffer must not be negative")
				}
				return runNullResponder(ctx, e, bench.NullConfig{Port: *port, Interfaces: ifaces, Workers: *workers, ReadBuffer: *readBuf})
			}
		},
	}
}

func runNullResponder(ctx context.Context, e *env, cfg bench.NullConfig) error {
	n, err := bench.ListenNull(ctx, cfg)
	if err != nil {
		return err
	}
	where := "all interfaces"
	if len(cfg.Interfaces) > 0 {
		where = strings.Join(cfg.Interfaces, ", ")
	}
	fmt.Fprintf(e.stdout, "null-responder: answering on UDP port %d, %s\n", n.LocalPort(), where)
	start := time.Now()
	err = n.Serve(ctx)
	st := n.Stats()
	fmt.Fprintf(e.stdout, "null-responder: %d received, %d replied, %d ignored, %d send errors in %.1f s\n",
		st.Received, st.Replied, st.Ignored, st.SendErrors, time.Since(start).Seconds())
	if d := st.Socket.DroppedInterface + st.Socket.DroppedTruncated + st.Socket.DroppedNoPktinfo; d > 0 {
		fmt.Fprintf(e.stdout, "null-responder: %d datagrams dropped by the socket layer (other interfaces, truncated)\n", d)
	}
	return err
}
