package rarp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"bootd/internal/testnet"

	"golang.org/x/sys/unix"
)

// Addresses of the tests' links, all in 198.18.0.0/15.
var (
	srvAddr  = netip.MustParseAddr("198.18.0.1")
	cliMAC   = net.HardwareAddr{2, 0, 0, 0, 0x0c, 1}    // set on the client's veth
	otherMAC = net.HardwareAddr{2, 0, 0, 0, 0x0c, 2}    // known, asked for by the client
	unknMAC  = net.HardwareAddr{2, 0, 0, 0, 0x0c, 0x99} // never reserved
	reserved = map[[6]byte]netip.Addr{
		[6]byte(cliMAC):   netip.MustParseAddr("198.18.1.7"),
		[6]byte(otherMAC): netip.MustParseAddr("198.18.1.8"),
	}
)

func lookup(mac net.HardwareAddr) (netip.Addr, bool) {
	if len(mac) != 6 {
		return netip.Addr{}, false
	}
	a, ok := reserved[[6]byte(mac)]
	return a, ok
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func request(tha net.HardwareAddr) []byte {
	p := packet{op: opRequestReverse, sha: [6]byte(cliMAC), tha: [6]byte(tha)}
	return p.append(nil)
}

// offline is a Responder with no socket, for answer alone.
func offline(t testing.TB, log *slog.Logger, local func() ([6]byte, netip.Addr, error)) *Responder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Responder{cfg: Config{Interface: "s0", Lookup: lookup}, log: log, local: local, out: make([]byte, 0, packetLen)}
}

var srvMAC = [6]byte{2, 0, 0, 0, 0, 0x51}

func localOK() ([6]byte, netip.Addr, error) { return srvMAC, srvAddr, nil }

func TestAnswer(t *testing.T) {
	noAddr := func() ([6]byte, netip.Addr, error) { return srvMAC, netip.Addr{}, errNoAddress }
	tests := []struct {
		name  string
		b     []byte
		local func() ([6]byte, netip.Addr, error)
		want  []byte // nil: no answer
		stats Stats
	}{
		{
			name: "known MAC", b: request(cliMAC), local: localOK,
			want:  hexPacket(t, "0001 0800 06 04 0004 020000000051 c6120001 020000000c01 c6120107"),
			stats: Stats{Requests: 1},
		},
		{
			name: "known MAC asked by another host", b: request(otherMAC), local: localOK,
			want:  hexPacket(t, "0001 0800 06 04 0004 020000000051 c6120001 020000000c02 c6120108"),
			stats: Stats{Requests: 1},
		},
		{name: "unknown MAC", b: request(unknMAC), local: localOK, stats: Stats{Requests: 1, Unknown: 1}},
		{name: "no address on the interface", b: request(cliMAC), local: noAddr, stats: Stats{Requests: 1, NoAddress: 1}},
		{name: "short", b: request(cliMAC)[:20], local: localOK, stats: Stats{Malformed: 1}},
		{name: "reply", b: hexPacket(t, "0001 0800 06 04 0004 020000000051 c6120001 020000000c01 c6120107"), local: localOK, stats: Stats{Malformed: 1}},
		{name: "ARP request", b: hexPacket(t, "0001 0800 06 04 0001 020000000c01 c6120107 000000000000 c6120001"), local: localOK, stats: Stats{Malformed: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := offline(t, testLog(t), tc.local)
			ok := r.answer(context.Background(), tc.b, true)
			if ok != (tc.want != nil) {
				t.Fatalf("answer = %v, want %v", ok, tc.want != nil)
			}
			if ok && !bytes.Equal(r.out, tc.want) {
				t.Errorf("reply = % x\nwant    % x", r.out, tc.want)
			}
			if got := r.Stats(); got != tc.stats {
				t.Errorf("Stats = %+v, want %+v", got, tc.stats)
			}
		})
	}
}

func TestAnswerLookupNotIPv4(t *testing.T) {
	r := offline(t, testLog(t), localOK)
	r.cfg.Lookup = func(net.HardwareAddr) (netip.Addr, bool) { return netip.MustParseAddr("2001:db8::1"), true }
	if r.answer(context.Background(), request(cliMAC), true) {
		t.Errorf("answered with an IPv6 reservation: % x", r.out)
	}
	if got, want := r.Stats(), (Stats{Requests: 1, Unknown: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestAnswerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	r := offline(t, nil, localOK)
	req := request(cliMAC)
	if n := testing.AllocsPerRun(100, func() {
		if !r.answer(context.Background(), req, false) {
			t.Fatal("no answer")
		}
	}); n != 0 {
		t.Errorf("answer allocates %v times per request, want 0", n)
	}
}

// rawClient is the tests' RARP client: an AF_PACKET SOCK_RAW socket, so
// that it builds and reads whole Ethernet frames and checks the headers the
// responder's kernel built.
type rawClient struct {
	f       *os.File
	rc      syscall.RawConn
	ifindex int
	mac     net.HardwareAddr
}

func newClient(t *testing.T, ns *testnet.Namespace, ifname string) *rawClient {
	t.Helper()
	ifi := ns.Interface(ifname)
	var fd int
	err := ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_RARP), Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatalf("client socket on %s: %v", ifname, err)
	}
	c := &rawClient{f: os.NewFile(uintptr(fd), "rarp-client"), ifindex: ifi.Index, mac: ifi.HardwareAddr}
	t.Cleanup(func() { c.f.Close() })
	if c.rc, err = c.f.SyscallConn(); err != nil {
		t.Fatal(err)
	}
	return c
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// send broadcasts payload in an Ethernet frame from the client's MAC.
func (c *rawClient) send(t *testing.T, payload []byte) {
	t.Helper()
	c.sendTo(t, broadcast, payload)
}

// sendTo sends payload in an Ethernet frame from the client's MAC to dst.
func (c *rawClient) sendTo(t *testing.T, dst net.HardwareAddr, payload []byte) {
	t.Helper()
	frame := append(append(append([]byte{}, dst...), c.mac...), 0x80, 0x35)
	frame = append(frame, payload...)
	sa := &unix.SockaddrLinklayer{Ifindex: c.ifindex, Halen: 6}
	copy(sa.Addr[:], dst)
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), frame, 0, sa)
		return !errors.Is(serr, unix.EAGAIN)
	})
	if err = errors.Join(err, serr); err != nil {
		t.Fatalf("client send: %v", err)
	}
}

// recv returns the next frame the client did not send itself, or false if
// none comes within d.
func (c *rawClient) recv(t *testing.T, d time.Duration) ([]byte, bool) {
	t.Helper()
	if err := c.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1600)
	for {
		var n int
		var rerr error
		err := c.rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, false
		}
		if err = errors.Join(err, rerr); err != nil {
			t.Fatalf("client receive: %v", err)
		}
		if n >= 14 && bytes.Equal(buf[6:12], c.mac) {
			continue // our own request
		}
		return buf[:n], true
	}
}

// reply waits for the next frame and checks it is a RARP reply sent by
// unicast from the server to the client, with the given THA and TPA.
func (c *rawClient) reply(t *testing.T, tp *topo, tha net.HardwareAddr, tpa netip.Addr) {
	t.Helper()
	fr, ok := c.recv(t, 5*time.Second)
	if !ok {
		t.Fatalf("no reply within 5 s to a request for %v (stats %+v)", tha, tp.r.Stats())
	}
	if len(fr) < 14+packetLen {
		t.Fatalf("reply frame of %d bytes: % x", len(fr), fr)
	}
	if dst, src := net.HardwareAddr(fr[0:6]), net.HardwareAddr(fr[6:12]); !bytes.Equal(dst, c.mac) || !bytes.Equal(src, tp.srvMAC) {
		t.Errorf("reply frame from %v to %v, want from %v (server) to %v (client), by unicast", src, dst, tp.srvMAC, c.mac)
	}
	if et := uint16(fr[12])<<8 | uint16(fr[13]); et != unix.ETH_P_RARP {
		t.Errorf("reply ethertype %#04x, want 0x8035", et)
	}
	p, err := parse(fr[14:])
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	want := packet{op: opReplyReverse, sha: [6]byte(tp.srvMAC), spa: srvAddr.As4(), tha: [6]byte(tha), tpa: tpa.As4()}
	if p != want {
		t.Errorf("reply = %+v\nwant    %+v", p, want)
	}
}

// topo is a responder on s0 in a server namespace, linked by a veth pair to
// c0 (MAC cliMAC) in a client namespace.
type topo struct {
	srv, cli *testnet.Namespace
	srvMAC   net.HardwareAddr
	r        *Responder
	c        *rawClient
	stop     func(t testing.TB) // cancels Serve and checks it returned, closed the socket and left no goroutine
}

func newTopo(t *testing.T, withAddr bool, log *slog.Logger) *topo {
	t.Helper()
	tp := &topo{srv: testnet.New(t, "rarps"), cli: testnet.New(t, "rarpc")}
	testnet.Veth(t, tp.srv, "s0", tp.cli, "c0")
	tp.cli.IP("link", "set", "dev", "c0", "down")
	tp.cli.IP("link", "set", "dev", "c0", "address", cliMAC.String())
	tp.cli.IP("link", "set", "dev", "c0", "up")
	if withAddr {
		tp.srv.IP("addr", "add", srvAddr.String()+"/15", "dev", "s0")
	}
	tp.srvMAC = tp.srv.Interface("s0").HardwareAddr
	tp.c = newClient(t, tp.cli, "c0")

	before := runtime.NumGoroutine()
	err := tp.srv.Do(func() (err error) {
		tp.r, err = Listen(context.Background(), Config{Interface: "s0", Lookup: lookup, Log: log})
		return err
	})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tp.r.Serve(ctx) }()
	stopped := false
	tp.stop = func(t testing.TB) {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return 5 s after cancel")
		}
		if err := tp.r.f.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("after Serve returned, the socket was still open (Close: %v)", err)
		}
		waitFor(t, "the responder's goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	}
	t.Cleanup(func() { tp.stop(t) })
	return tp
}

func TestServe(t *testing.T) {
	tp := newTopo(t, true, testLog(t))

	t.Run("known MAC", func(t *testing.T) {
		tp.c.send(t, request(cliMAC))
		tp.c.reply(t, tp, cliMAC, reserved[[6]byte(cliMAC)])
		waitFor(t, "the reply to be counted", func() bool { return tp.r.Stats().Replies == 1 })
	})

	t.Run("another host's MAC", func(t *testing.T) {
		// Answered to the requester (the frame's source), about the MAC asked.
		tp.c.send(t, request(otherMAC))
		tp.c.reply(t, tp, otherMAC, reserved[[6]byte(otherMAC)])
	})

	t.Run("unknown MAC", func(t *testing.T) {
		before := tp.r.Stats()
		tp.c.send(t, request(unknMAC))
		waitFor(t, "the unknown MAC to be counted", func() bool { return tp.r.Stats().Unknown == before.Unknown+1 })
		// The responder handles packets in order: had it answered the
		// unknown MAC, that reply would come before this one.
		tp.c.send(t, request(cliMAC))
		tp.c.reply(t, tp, cliMAC, reserved[[6]byte(cliMAC)])
		if fr, ok := tp.c.recv(t, 50*time.Millisecond); ok {
			t.Errorf("unexpected frame after the replies: % x", fr)
		}
		st := tp.r.Stats()
		if st.Replies != before.Replies+1 || st.Requests != before.Requests+2 {
			t.Errorf("Stats went from %+v to %+v, want 2 more requests, 1 more reply", before, st)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		before := tp.r.Stats()
		bad := [][]byte{
			request(cliMAC)[:20], // short
			hexPacket(t, "0006 0800 06 04 0003 020000000c01 00000000 020000000c01 00000000"),          // htype 6
			hexPacket(t, "0001 0800 06 04 0001 020000000c01 c6120107 000000000000 c6120001"),          // ARP request
			hexPacket(t, "0001 0800 06 04 0004 020000000051 c6120001 020000000c01 c6120107"),          // a reply
			hexPacket(t, "0001 0800 06 04 0003 020000000c01 00000000 020000000c01 00000000 ffffffff"), // long: answered
		}
		for _, b := range bad {
			tp.c.send(t, b)
		}
		waitFor(t, "4 malformed packets to be counted", func() bool { return tp.r.Stats().Malformed == before.Malformed+4 })
		tp.c.reply(t, tp, cliMAC, reserved[[6]byte(cliMAC)])
		tp.c.send(t, request(otherMAC))
		tp.c.reply(t, tp, otherMAC, reserved[[6]byte(otherMAC)])
	})

	t.Run("unicast", func(t *testing.T) {
		// To another host's MAC: the kernel marks the frame as for another
		// host, and the responder ignores it without counting it.
		before := tp.r.Stats()
		tp.c.sendTo(t, net.HardwareAddr{2, 0, 0, 0, 0, 0xee}, request(cliMAC))
		// To the server's MAC: answered like a broadcast.
		tp.c.sendTo(t, tp.srvMAC, request(otherMAC))
		tp.c.reply(t, tp, otherMAC, reserved[[6]byte(otherMAC)])
		waitFor(t, "the reply to be counted", func() bool { return tp.r.Stats().Replies == before.Replies+1 })
		if st := tp.r.Stats(); st.Requests != before.Requests+1 || st.Malformed != before.Malformed {
			t.Errorf("Stats went from %+v to %+v, want only the request to the server counted", before, st)
		}
	})

	t.Run("link down and up", func(t *testing.T) {
		// The kernel reports ENETDOWN on the socket; Serve carries on.
		tp.srv.IP("link", "set", "dev", "s0", "down")
		tp.srv.IP("link", "set", "dev", "s0", "up")
		tp.c.send(t, request(cliMAC))
		tp.c.reply(t, tp, cliMAC, reserved[[6]byte(cliMAC)])
	})

	// Not a subtest: stop counts goroutines against those of this one.
	tp.stop(t)
	want := Stats{Requests: 8, Replies: 7, Unknown: 1, Malformed: 4}
	if st := tp.r.Stats(); st != want {
		t.Errorf("after the subtests, Stats = %+v, want %+v", st, want)
	}
}

func TestServeNoAddress(t *testing.T) {
	tp := newTopo(t, false, testLog(t))
	tp.c.send(t, request(cliMAC))
	waitFor(t, "the request to be counted as unanswered", func() bool { return tp.r.Stats().NoAddress == 1 })
	if st := tp.r.Stats(); st.Replies != 0 {
		t.Errorf("Stats = %+v: replied without an address", st)
	}

	// An address added later is used at once.
	tp.srv.IP("addr", "add", srvAddr.String()+"/15", "dev", "s0")
	tp.c.send(t, request(cliMAC))
	tp.c.reply(t, tp, cliMAC, reserved[[6]byte(cliMAC)])
}

func TestServeTwiceAndClose(t *testing.T) {
	tp := newTopo(t, true, testLog(t))
	waitFor(t, "Serve to start", func() bool { return tp.r.serving.Load() })
	if err := tp.r.Serve(context.Background()); err == nil {
		t.Error("a second Serve returned nil, want an error")
	}
	// Close without cancelling: Serve returns nil (checked by stop).
	if err := tp.r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	tp.stop(t)
	if err := tp.r.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
}

func TestListenErrors(t *testing.T) {
	ns := testnet.New(t, "rarpl")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no interface", Config{Lookup: lookup}, "interface name"},
		{"no lookup", Config{Interface: "lo"}, "Lookup is nil"},
		{"missing interface", Config{Interface: "nosuch0", Lookup: lookup}, "no such network interface"},
		{"not Ethernet", Config{Interface: "lo", Lookup: lookup}, "not an Ethernet interface"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *Responder
			err := ns.Do(func() (err error) {
				r, err = Listen(context.Background(), tc.cfg)
				return err
			})
			if err == nil {
				r.Close()
				t.Fatalf("Listen succeeded, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Listen: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// pinger does request/reply round trips for TestServeAllocs without
// allocating: its buffers, sockaddr and RawConn callbacks are made once.
type pinger struct {
	c              *rawClient
	frame, buf     []byte
	sa             unix.SockaddrLinklayer
	n              int
	err            error
	sendFn, recvFn func(fd uintptr) bool
}

func (p *pinger) send(fd uintptr) bool {
	p.err = unix.Sendto(int(fd), p.frame, 0, &p.sa)
	return !errors.Is(p.err, unix.EAGAIN)
}

func (p *pinger) recv(fd uintptr) bool {
	p.n, p.err = unix.Read(int(fd), p.buf)
	return !errors.Is(p.err, unix.EAGAIN)
}

func (p *pinger) roundTrip(t *testing.T) {
	if err := p.c.rc.Write(p.sendFn); err != nil || p.err != nil {
		t.Fatalf("send: %v, %v", err, p.err)
	}
	if err := p.c.f.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := p.c.rc.Read(p.recvFn); err != nil || p.err != nil {
		t.Fatalf("no reply: %v, %v", err, p.err)
	}
	if p.n < 14+packetLen || p.buf[14+7] != opReplyReverse {
		t.Fatalf("not a reply: % x", p.buf[:p.n])
	}
}

// TestServeAllocs pins the allocations of the whole answer path, socket
// calls included: the count covers the process, so it includes the
// responder's goroutine, and the client here allocates nothing itself.
func TestServeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	tp := newTopo(t, true, nil)
	p := &pinger{c: tp.c, buf: make([]byte, 1600), sa: unix.SockaddrLinklayer{Ifindex: tp.c.ifindex, Halen: 6}}
	copy(p.sa.Addr[:], broadcast)
	p.frame = append(append(append(append([]byte{}, broadcast...), cliMAC...), 0x80, 0x35), request(cliMAC)...)
	p.sendFn, p.recvFn = p.send, p.recv
	const runs = 200
	if n := testing.AllocsPerRun(runs, func() { p.roundTrip(t) }); n != 0 {
		t.Errorf("a request and its reply allocate %v times, want 0", n)
	}
	if st := tp.r.Stats(); st.Replies != runs+1 {
		t.Errorf("Stats = %+v, want %d replies", st, runs+1)
	}
}
