package tftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testServer is a Server on a loopback port, serving a temporary directory.
type testServer struct {
	*Server
	addr netip.AddrPort
	root string
	stop func() time.Duration // cancels Serve, waits for it and returns how long it took
}

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	before := runtime.NumGoroutine()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	ts := &testServer{Server: s, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), root: cfg.Root}
	stopped := false
	ts.stop = func() (took time.Duration) {
		if stopped {
			return 0
		}
		stopped = true
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return 5 s after cancel")
		}
		took = time.Since(start)
		conn.Close()
		if a := s.Stats().Active; a != 0 {
			t.Errorf("after Serve returned, Stats().Active = %d", a)
		}
		waitFor(t, "goroutines of the server to exit", func() bool { return runtime.NumGoroutine() <= before })
		return took
	}
	t.Cleanup(func() { ts.stop() })
	return ts
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (ts *testServer) file(t testing.TB, name string, content []byte) {
	t.Helper()
	p := filepath.Join(ts.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// client is a TFTP client for tests, with hooks to lose packets.
type client struct {
	req Request
	// drop, if set, is asked for every DATA block received (by sequence
	// number from 1, not rolled over) and makes the client act as if the
	// block was lost when it returns true.
	drop func(seq uint64) bool
	// dupACKs sends every ACK twice.
	dupACKs bool
	// dropACK, if set, is asked before each ACK is sent (by block sequence
	// number) and makes it lost when it returns true.
	dropACK func(seq uint64) bool
	// onData is called with the transfer's socket and the server's TID
	// after each block received; returning true ends the transfer there.
	onData func(conn *net.UDPConn, server netip.AddrPort, seq uint64) (stop bool)
	// into, if set, is where the data goes (from into[:0]), so that a
	// benchmark measures the server rather than the client's allocations.
	into []byte
}

type result struct {
	data   []byte
	oack   *Options
	errPkt *clientError // an ERROR from the server
}

// get runs the transfer and returns what arrived.
func (c client) get(t testing.TB, server netip.AddrPort) result {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if c.req.Op == 0 {
		c.req.Op = OpRRQ
	}
	if c.req.Mode == "" {
		c.req.Mode = "octet"
	}
	if _, err := conn.WriteToUDPAddrPort(AppendRequest(nil, c.req), server); err != nil {
		t.Fatal(err)
	}
	res := result{data: c.into[:0]}
	var (
		peer    netip.AddrPort
		blksize = DefaultBlockSize
		window  = 1
		expect  = uint64(1) // next block wanted
		inWin   = 0         // blocks received since the last ACK
		nakSent = false
		lastACK = []byte(nil)
		buf     = make([]byte, 70000)
	)
	sendACK := func(seq uint64) {
		lastACK = []byte{0, OpACK, byte(seq >> 8), byte(seq)}
		if c.dropACK != nil && c.dropACK(seq) {
			return
		}
		conn.WriteToUDPAddrPort(lastACK, peer)
		if c.dupACKs {
			conn.WriteToUDPAddrPort(lastACK, peer)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("transfer of %s did not end in 20 s (at block %d)", c.req.Filename, expect)
		}
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if lastACK != nil {
				conn.WriteToUDPAddrPort(lastACK, peer)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !peer.IsValid() {
			peer = from
		} else if from != peer {
			t.Errorf("packet from %v, want only %v", from, peer)
			continue
		}
		p := buf[:n]
		switch opcode(p) {
		case OpERROR:
			code, msg, _ := ParseError(p)
			res.errPkt = &clientError{code: code, msg: msg}
			return res
		case OpOACK:
			if res.oack != nil {
				if expect == 1 {
					sendACK(0) // our ACK 0 was lost
				}
				continue
			}
			o, err := ParseOACK(p)
			if err != nil {
				t.Fatal(err)
			}
			res.oack = &o
			if o.BlockSize != 0 {
				blksize = o.BlockSize
			}
			if o.WindowSize != 0 {
				window = o.WindowSize
			}
			sendACK(0)
		case OpDATA:
			if n < 4 {
				t.Fatalf("short DATA %x", p)
			}
			blk := uint16(p[2])<<8 | uint16(p[3])
			if blk != uint16(expect) || (c.drop != nil && c.drop(expect)) {
				// Lost or out of order: acknowledge the last block in order, once.
				if !nakSent && expect > 1 {
					sendACK(expect - 1)
					nakSent = true
				}
				inWin = 0
				continue
			}
			nakSent = false
			res.data = append(res.data, p[4:]...)
			inWin++
			if c.onData != nil && c.onData(conn, peer, expect) {
				return res
			}
			if n-4 < blksize {
				sendACK(expect)
				return res
			}
			if inWin == window {
				sendACK(expect)
				inWin = 0
			}
			expect++
		default:
			t.Fatalf("unexpected packet %x", p)
		}
	}
}

func TestTransfers(t *testing.T) {
	ts := startServer(t, Config{})
	files := map[string][]byte{
		"small":          []byte("hello, PXE\n"),
		"empty":          nil,
		"multiple-512":   randomBytes(3 * 512),
		"multiple-1428":  randomBytes(5 * 1428),
		"boot/ipxe.efi":  randomBytes(300_000),
		"pxelinux.cfg/x": []byte("default linux\n"),
	}
	for name, content := range files {
		ts.file(t, name, content)
	}
	tests := []struct {
		name, file string
		opts       Options
		dup        bool
	}{
		{"small", "small", Options{}, false},
		{"empty", "empty", Options{}, false},
		{"empty with options", "empty", Options{BlockSize: 1428, HasTsize: true}, false},
		{"exact multiple", "multiple-512", Options{}, false},
		{"exact multiple of blksize", "multiple-1428", Options{BlockSize: 1428, WindowSize: 4}, false},
		{"leading slash", "/boot/ipxe.efi", Options{}, false},
		{"window", "boot/ipxe.efi", Options{BlockSize: 1428, WindowSize: 16, HasTsize: true}, false},
		{"duplicate ACKs", "boot/ipxe.efi", Options{}, true},
		{"duplicate ACKs, window", "boot/ipxe.efi", Options{WindowSize: 8}, true},
		{"subdirectory", "pxelinux.cfg/x", Options{Timeout: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.Stats()
			res := client{req: Request{Filename: tt.file, Options: tt.opts}, dupACKs: tt.dup}.get(t, ts.addr)
			if res.errPkt != nil {
				t.Fatalf("server error: %v", res.errPkt)
			}
			want := files[strings.TrimPrefix(tt.file, "/")]
			if !bytes.Equal(res.data, want) {
				t.Fatalf("got %d bytes, want %d (content differs)", len(res.data), len(want))
			}
			if tt.opts.Any() != (res.oack != nil) {
				t.Errorf("OACK %+v for options %+v", res.oack, tt.opts)
			}
			waitFor(t, "the transfer to be counted", func() bool { return ts.Stats().Transfers == before.Transfers+1 })
			if r := ts.Stats().Retransmits - before.Retransmits; r != 0 {
				t.Errorf("%d retransmissions on a lossless link", r)
			}
		})
	}
}

func TestOACK(t *testing.T) {
	ts := startServer(t, Config{})
	content := []byte("line one\nline two\r\nend\r")
	ts.file(t, "f", content)
	ts.file(t, "big", randomBytes(200_000))
	tests := []struct {
		name string
		mode string
		file string
		opts Options
		raw  [][2]string // extra options sent as they are
		want *Options
	}{
		{name: "none", want: nil},
		{name: "all", opts: Options{BlockSize: 1428, Timeout: 3, WindowSize: 16, HasTsize: true},
			want: &Options{BlockSize: 1428, Timeout: 3, WindowSize: 16, Tsize: int64(len(content)), HasTsize: true}},
		{name: "tsize netascii", mode: "netascii", opts: Options{HasTsize: true},
			want: &Options{Tsize: int64(len(content)) + 2 + 1 + 1, HasTsize: true}},
		{name: "window capped", file: "big", opts: Options{BlockSize: 65464, WindowSize: 65535},
			want: &Options{BlockSize: 65464, WindowSize: 16}},
		{name: "bad values and unknown options ignored", raw: [][2]string{{"blksize", "7"}, {"timeout", "256"}, {"windowsize", "0"}, {"multicast", ""}, {"tsize", "-1"}},
			want: nil},
		{name: "unknown option beside a known one", raw: [][2]string{{"rollover", "0"}, {"BlkSize", "1024"}},
			want: &Options{BlockSize: 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file == "" {
				tt.file = "f"
			}
			if tt.mode == "" {
				tt.mode = "octet"
			}
			b := AppendRequest(nil, Request{Op: OpRRQ, Filename: tt.file, Mode: tt.mode, Options: tt.opts})
			for _, kv := range tt.raw {
				b = append(append(append(append(b, kv[0]...), 0), kv[1]...), 0)
			}
			conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.WriteToUDPAddrPort(b, ts.addr)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 70000)
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatal(err)
			}
			if from == ts.addr {
				t.Errorf("answer came from the listening port %v, not a new TID", from)
			}
			p := buf[:n]
			if tt.want == nil {
				if opcode(p) != OpDATA || p[3] != 1 {
					t.Fatalf("got %q, want DATA 1", p)
				}
			} else {
				got, err := ParseOACK(p)
				if err != nil {
					t.Fatalf("got %q: %v", p, err)
				}
				if got != *tt.want {
					t.Errorf("OACK %+v, want %+v", got, *tt.want)
				}
			}
			// Abandon the transfer politely.
			conn.WriteToUDPAddrPort(AppendError(nil, ErrCodeOptionRefused, "test done"), from)
		})
	}
}

func TestNetascii(t *testing.T) {
	ts := startServer(t, Config{})
	ts.file(t, "f", []byte("a\nb\r\nc\r"))
	res := client{req: Request{Filename: "f", Mode: "netascii"}}.get(t, ts.addr)
	if want := "a\r\nb\r\x00\r\nc\r\x00"; string(res.data) != want {
		t.Errorf("got %q, want %q", res.data, want)
	}
}

func TestWindowLoss(t *testing.T) {
	ts := startServer(t, Config{})
	content := randomBytes(400 * 1000)
	ts.file(t, "f", content)
	lost := map[uint64]bool{5: true, 13: true, 14: true, 100: true, 280: true}
	res := client{
		req: Request{Filename: "f", Options: Options{BlockSize: 1000, WindowSize: 8}},
		drop: func(seq uint64) bool {
			if lost[seq] {
				delete(lost, seq)
				return true
			}
			return false
		},
	}.get(t, ts.addr)
	if !bytes.Equal(res.data, content) {
		t.Fatalf("got %d bytes, want %d (content differs)", len(res.data), len(content))
	}
	waitFor(t, "the transfer to be counted", func() bool { return ts.Stats().Transfers == 1 })
	if st := ts.Stats(); st.Retransmits == 0 || st.Failed != 0 {
		t.Errorf("stats %+v: want retransmissions and no failure", st)
	}
}

func TestLostACKs(t *testing.T) {
	ts := startServer(t, Config{Timeout: 20 * time.Millisecond})
	content := randomBytes(100 * 1000)
	ts.file(t, "f", content)
	lost := map[uint64]bool{0: true, 8: true, 24: true, 64: true} // ACK 0 answers the OACK; the others end windows
	res := client{
		req: Request{Filename: "f", Options: Options{BlockSize: 1000, WindowSize: 8}},
		dropACK: func(seq uint64) bool {
			if lost[seq] {
				delete(lost, seq)
				return true
			}
			return false
		},
	}.get(t, ts.addr)
	if !bytes.Equal(res.data, content) {
		t.Fatalf("got %d bytes, want %d (content differs)", len(res.data), len(content))
	}
	waitFor(t, "the transfer to be counted", func() bool { return ts.Stats().Transfers == 1 })
	if st := ts.Stats(); st.Retransmits < 4 {
		t.Errorf("stats %+v: want retransmissions after each lost ACK", st)
	}
}

func TestClientError(t *testing.T) {
	// A long timeout: the transfer must end on the client's ERROR, not on
	// retransmissions running out.
	ts := startServer(t, Config{Timeout: 5 * time.Second})
	ts.file(t, "f", randomBytes(10*512))
	for _, opts := range []Options{{BlockSize: 512}, {}} {
		res := client{
			req: Request{Filename: "f", Options: opts},
			onData: func(conn *net.UDPConn, server netip.AddrPort, seq uint64) bool {
				if seq == 2 {
					conn.WriteToUDPAddrPort(AppendError(nil, ErrCodeNotDefined, "cancelled"), server)
					return true
				}
				return false
			},
		}.get(t, ts.addr)
		if res.errPkt != nil {
			t.Fatalf("server error: %v", res.errPkt)
		}
	}
	// Refusing an OACK.
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteToUDPAddrPort(AppendRequest(nil, Request{Op: OpRRQ, Filename: "f", Mode: "octet", Options: Options{HasTsize: true}}), ts.addr)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	n, from, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil || opcode(buf[:n]) != OpOACK {
		t.Fatalf("got %q, %v; want an OACK", buf[:n], err)
	}
	conn.WriteToUDPAddrPort(AppendError(nil, ErrCodeOptionRefused, "no options"), from)
	waitFor(t, "the transfers to end", func() bool { st := ts.Stats(); return st.Active == 0 && st.Failed == 3 })
}

func TestRollover(t *testing.T) {
	ts := startServer(t, Config{})
	// 70000 blocks of 8 bytes: block numbers wrap past 65535.
	content := randomBytes(70000*8 + 3)
	ts.file(t, "f", content)
	res := client{req: Request{Filename: "f", Options: Options{BlockSize: 8, WindowSize: 64}}}.get(t, ts.addr)
	if !bytes.Equal(res.data, content) {
		t.Fatalf("got %d bytes, want %d (content differs)", len(res.data), len(content))
	}
}

func TestWrongTID(t *testing.T) {
	ts := startServer(t, Config{})
	content := randomBytes(20 * 512)
	ts.file(t, "f", content)
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	res := client{
		req: Request{Filename: "f"},
		onData: func(_ *net.UDPConn, server netip.AddrPort, seq uint64) bool {
			if seq != 3 {
				return false
			}
			// An ACK for the next block from another port must not move the transfer.
			stranger.WriteToUDPAddrPort([]byte{0, OpACK, 0, 3}, server)
			stranger.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 600)
			n, from, err := stranger.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Errorf("stranger: %v", err)
				return false
			}
			if code, _, ok := ParseError(buf[:n]); !ok || code != ErrCodeUnknownTID || from != server {
				t.Errorf("stranger got %q from %v, want error 5 from %v", buf[:n], from, server)
			}
			return false
		},
	}.get(t, ts.addr)
	if !bytes.Equal(res.data, content) {
		t.Fatalf("got %d bytes, want %d (content differs)", len(res.data), len(content))
	}
	waitFor(t, "the transfer to be counted", func() bool { return ts.Stats().Transfers == 1 })
}

// stall sends a read request and never acknowledges; it returns the number
// of DATA packets received before the server gave up (an ERROR or silence).
func stall(t *testing.T, server netip.AddrPort, name string, quiet time.Duration) (datas int, firstErr *clientError) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Error(err) // stall runs in its own goroutine
		return 0, nil
	}
	defer conn.Close()
	conn.WriteToUDPAddrPort(AppendRequest(nil, Request{Op: OpRRQ, Filename: name, Mode: "octet"}), server)
	buf := make([]byte, 1000)
	for {
		conn.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return datas, nil
		}
		if code, msg, ok := ParseError(buf[:n]); ok {
			return datas, &clientError{code, msg}
		}
		datas++
	}
}

func TestStalledClient(t *testing.T) {
	ts := startServer(t, Config{Timeout: 20 * time.Millisecond, Retries: 3})
	ts.file(t, "f", randomBytes(5000))
	start := time.Now()
	go stall(t, ts.addr, "f", 2*time.Second)
	waitFor(t, "the stalled transfer to start", func() bool { return ts.Stats().Requests == 1 })
	waitFor(t, "the stalled transfer to fail", func() bool { st := ts.Stats(); return st.Failed == 1 && st.Active == 0 })
	// 20+40+80+160 ms of waiting, then abandon.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stalled transfer took %v to end", d)
	}
	if st := ts.Stats(); st.Retransmits != 3 {
		t.Errorf("%d retransmissions, want 3", st.Retransmits)
	}
}

func TestMaxTransfers(t *testing.T) {
	ts := startServer(t, Config{MaxTransfers: 1, Timeout: 50 * time.Millisecond, Retries: 2})
	ts.file(t, "f", []byte("x"))
	done := make(chan struct{})
	go func() { defer close(done); stall(t, ts.addr, "f", time.Second) }()
	waitFor(t, "the stalled transfer to start", func() bool { return ts.Stats().Active == 1 })
	res := client{req: Request{Filename: "f"}}.get(t, ts.addr)
	if res.errPkt == nil || res.errPkt.code != ErrCodeNotDefined || !strings.Contains(res.errPkt.msg, "busy") {
		t.Fatalf("second transfer: got %+v, want error 0 busy", res)
	}
	waitFor(t, "the slot to be freed", func() bool { return ts.Stats().Active == 0 })
	if res := (client{req: Request{Filename: "f"}}).get(t, ts.addr); string(res.data) != "x" {
		t.Fatalf("after the slot was freed: %+v", res)
	}
	<-done
	if st := ts.Stats(); st.Busy != 1 || st.Failed != 1 || st.Transfers != 1 {
		t.Errorf("stats %+v: want 1 busy, 1 failed, 1 transfer", st)
	}
}

func TestRefused(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{})
	ts.file(t, "ok", []byte("ok"))
	ts.file(t, "dir/inside", []byte("inside"))
	for name, target := range map[string]string{
		"escape":     filepath.Join(outside, "secret"),
		"escape-rel": "../" + filepath.Base(outside) + "/secret",
		"inner":      "dir/inside",
	} {
		if err := os.Symlink(target, filepath.Join(ts.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		req  Request
		code uint16
	}{
		{"missing", Request{Filename: "nope"}, ErrCodeNotFound},
		{"directory", Request{Filename: "dir"}, ErrCodeNotFound},
		{"dotdot", Request{Filename: "../etc/passwd"}, ErrCodeAccess},
		{"slash dotdot", Request{Filename: "/../x"}, ErrCodeAccess},
		{"inner dotdot", Request{Filename: "dir/../ok"}, ErrCodeAccess},
		{"backslash", Request{Filename: "dir\\inside"}, ErrCodeAccess},
		{"symlink out, absolute", Request{Filename: "escape"}, ErrCodeAccess},
		{"symlink out, relative", Request{Filename: "escape-rel"}, ErrCodeAccess},
		{"control character", Request{Filename: "o\x01k"}, ErrCodeAccess},
		{"write", Request{Op: OpWRQ, Filename: "ok"}, ErrCodeAccess},
		{"mail", Request{Filename: "ok", Mode: "mail"}, ErrCodeIllegalOp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := client{req: tt.req}.get(t, ts.addr)
			if res.errPkt == nil || res.errPkt.code != tt.code {
				t.Fatalf("got %+v, want error %d", res, tt.code)
			}
			if len(res.data) != 0 {
				t.Errorf("data served: %q", res.data)
			}
		})
	}
	if res := (client{req: Request{Filename: "inner"}}).get(t, ts.addr); string(res.data) != "inside" {
		t.Errorf("symlink inside the root: got %+v", res)
	}
	if st := ts.Stats(); st.Refused != uint64(len(tests)) {
		t.Errorf("Refused = %d, want %d", st.Refused, len(tests))
	}
}

func TestMalformed(t *testing.T) {
	ts := startServer(t, Config{})
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, p := range [][]byte{{0}, {0, OpACK, 0, 1}, {0, OpDATA}, {0, 9, 1, 2}} {
		conn.WriteToUDPAddrPort(p, ts.addr) // dropped
	}
	conn.WriteToUDPAddrPort([]byte("\x00\x01file\x00octet"), ts.addr)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	n, _, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, ok := ParseError(buf[:n]); !ok || code != ErrCodeIllegalOp {
		t.Errorf("got %q, want error 4", buf[:n])
	}
	if st := ts.Stats(); st.Malformed != 5 {
		t.Errorf("Malformed = %d, want 5", st.Malformed)
	}
}

func TestFilesHook(t *testing.T) {
	ts := startServer(t, Config{Files: func(name string, client netip.AddrPort) (io.ReaderAt, int64, bool) {
		if name != "boot.ipxe" {
			return nil, 0, false
		}
		s := fmt.Sprintf("#!ipxe\necho hello %v\n", client.Addr())
		return strings.NewReader(s), int64(len(s)), true
	}})
	ts.file(t, "ondisk", []byte("disk"))
	res := client{req: Request{Filename: "/boot.ipxe", Options: Options{HasTsize: true}}}.get(t, ts.addr)
	if want := "#!ipxe\necho hello 127.0.0.1\n"; string(res.data) != want || res.oack == nil || res.oack.Tsize != int64(len(want)) {
		t.Errorf("templated file: got %q, OACK %+v; want %q", res.data, res.oack, want)
	}
	if res := (client{req: Request{Filename: "ondisk"}}).get(t, ts.addr); string(res.data) != "disk" {
		t.Errorf("fall-through to root: got %+v", res)
	}
}

func TestShutdown(t *testing.T) {
	ts := startServer(t, Config{Timeout: 10 * time.Second})
	ts.file(t, "f", randomBytes(5000))
	go stall(t, ts.addr, "f", 500*time.Millisecond)
	waitFor(t, "the stalled transfer to start", func() bool { return ts.Stats().Active == 1 })
	// stop fails the test if Serve or its goroutines outlive the cancel.
	if d := ts.stop(); d > time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if st := ts.Stats(); st.Failed != 1 {
		t.Errorf("Failed = %d, want 1", st.Failed)
	}
}

func TestUnspecifiedListenAddress(t *testing.T) {
	// Listening on 0.0.0.0, the transfer's socket is bound to the address
	// the request came to, learnt from IP_PKTINFO.
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), []byte("pktinfo"), 0o644)
	s, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, conn) }()
	defer func() { cancel(); <-done }()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	res := client{req: Request{Filename: "f"}}.get(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
	if string(res.data) != "pktinfo" {
		t.Errorf("got %+v", res)
	}
}

func TestNewChecksRoot(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a config with neither Root nor Files")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := New(Config{Root: f}); err == nil {
		t.Error("New accepted a root that is a file")
	}
}

func TestListenAndServe(t *testing.T) {
	s, err := New(Config{Root: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.ListenAndServe(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return 5 s after cancel")
	}
	s, _ = New(Config{Root: t.TempDir(), Addr: "127.0.0.1:99999"})
	if err := s.ListenAndServe(context.Background()); err == nil {
		t.Error("ListenAndServe on port 99999 returned nil")
	}
}
