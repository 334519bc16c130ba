package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"bootd/internal/dhcpv4"
)

// DHCP ports (RFC 2131 section 4.1).
const (
	serverPort = 67
	clientPort = 68
)

// Sizes of the generator's batches.
const (
	// recvBatch is the most datagrams one recvmmsg returns.
	recvBatch = 64
	// sendBatch is the most requests queued before a sendmmsg; one loop
	// turn queues the REQUESTs answering the OFFERs read and the exchanges
	// started, so a window-sized burst at start goes out in a few calls.
	sendBatch = 256
	// recvBufLen fits any reply a server sends to a client asking for
	// 1500 bytes (option 57).
	recvBufLen = 2048
	// maxIdle bounds a sleep in ReadBatch, so cancellation is seen quickly
	// even with nothing outstanding.
	maxIdle = 100 * time.Millisecond
	// pacing is the shortest sleep at a fixed rate: exchanges due within
	// it start together, in one sendmmsg.
	pacing = time.Millisecond
	// drainSlack is added to the timeout as the last bound on the wait for
	// outstanding exchanges after the run stops starting new ones.
	drainSlack = time.Second
)

// phase is where a client is in its exchange.
type phase uint8

const (
	idle       phase = iota
	discovered       // DISCOVER queued or sent, waiting for an OFFER
	requested        // REQUEST (selecting) queued or sent, waiting for ACK or NAK
	renewing         // REQUEST (renewing) sent, waiting for ACK or NAK
	informing        // INFORM sent, waiting for ACK
	releasing        // RELEASE queued; done once sent
)

// client is the state of one simulated client, 40 bytes.
type client struct {
	xid      uint32 // of the current or last exchange
	phase    phase
	leased   bool    // holds a lease (last DORA or renew ended in ACK)
	released bool    // gave its lease back and has not had one since
	addr     [4]byte // the lease, when leased
	sid      [4]byte // the server of the lease
	t0       int64   // exchange start (first request sent), ns since the run's start
	t1       int64   // REQUEST sent (DORA), ns
	deadline int64   // of the request in flight, ns
}

// timeout is an entry of the timeout queue.
type timeout struct {
	client   uint32
	deadline int64
}

// Generator is a DHCP load generator; see the package documentation.
// Open it, Run it once, Close it.
type Generator struct {
	cfg    Config
	uc     *net.UDPConn
	pc     *ipv4.PacketConn
	dst    *net.UDPAddr
	local  netip.AddrPort
	giaddr netip.Addr
	xc     xidCodec
	tmpl   [numRequestKinds]template
	rng    *rand.Rand

	clients []client
	free    ring[uint32] // idle clients, least recently used first
	tq      ring[timeout]
	busy    int // clients not idle

	// send queue: requests built, not yet sent
	sq     [][]byte // buffers, sendBatch of them
	sqc    []uint32 // client of each queued request
	nq     int
	wms    []ipv4.Message
	rms    []ipv4.Message
	msg    dhcpv4.Message
	base   time.Time
	nextRd int64 // read deadline set on the socket, ns; 0 when none

	st stats
}

// stats are the raw counters of a run.
type stats struct {
	started, completed [numKinds]uint64
	drops, naks, stray uint64
	unstarted          uint64
	sent, recv         uint64
	sendErrors         uint64
	scheduled          uint64 // fixed rate: exchanges due so far, started or not
	last               int64  // last completion, ns

	offer, request, dora, renew, inform histogram
}

// Open checks cfg and opens the generator's socket in the calling
// thread's network namespace. ctx bounds the setup only.
func Open(ctx context.Context, cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, xc: newXIDCodec(cfg.Clients)}
	var laddr string
	switch cfg.Mode {
	case Relay:
		g.giaddr = cfg.GIAddr
		if !g.giaddr.IsValid() {
			a, err := localAddrToward(cfg.Server)
			if err != nil {
				return nil, err
			}
			g.giaddr = a
		}
		laddr = netip.AddrPortFrom(g.giaddr, serverPort).String()
		g.dst = &net.UDPAddr{IP: cfg.Server.AsSlice(), Port: serverPort}
	case OnLink:
		laddr = fmt.Sprintf("0.0.0.0:%d", clientPort)
		g.dst = &net.UDPAddr{IP: net.IPv4bcast.To4(), Port: serverPort}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if cfg.Mode != OnLink {
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
				serr = fmt.Errorf("SO_BROADCAST: %w", serr)
				return
			}
			if serr = unix.BindToDevice(int(fd), cfg.Interface); serr != nil {
				serr = fmt.Errorf("SO_BINDTODEVICE %s: %w", cfg.Interface, serr)
			}
		})
		return errors.Join(err, serr)
	}}
	pconn, err := lc.ListenPacket(ctx, "udp4", laddr)
	if err != nil {
		return nil, fmt.Errorf("bench: listen on %s: %w", laddr, err)
	}
	g.uc = pconn.(*net.UDPConn)
	g.local = g.uc.LocalAddr().(*net.UDPAddr).AddrPort()
	setBuffers(g.uc)
	g.pc = ipv4.NewPacketConn(g.uc)
	if err := g.init(); err != nil {
		g.uc.Close()
		return nil, err
	}
	return g, nil
}

// init builds the templates and the per-client state; the socket is
// opened by Open (tests drive the state machine without one).
func (g *Generator) init() error {
	for rk := range numRequestKinds {
		var err error
		if g.tmpl[rk], err = buildTemplate(rk, g.cfg.Mode, g.giaddr, g.cfg.Hostname); err != nil {
			return err
		}
	}
	seed := uint64(time.Now().UnixNano())
	g.rng = rand.New(rand.NewPCG(seed, seed>>32|0x9e3779b97f4a7c15))
	g.clients = make([]client, g.cfg.Clients)
	g.free = newRing[uint32](g.cfg.Clients)
	gen := g.rng.Uint32() // first exchange counter: unlike the last run's
	for i := range g.clients {
		g.clients[i].xid = g.xc.encode(i, gen)
		g.free.push(uint32(i))
	}
	g.tq = newRing[timeout](1024)
	g.sq = make([][]byte, sendBatch)
	g.sqc = make([]uint32, sendBatch)
	g.wms = make([]ipv4.Message, sendBatch)
	for i := range g.sq {
		g.sq[i] = make([]byte, 0, 512)
		g.wms[i].Buffers = make([][]byte, 1)
		g.wms[i].Addr = g.dst
	}
	g.rms = make([]ipv4.Message, recvBatch)
	for i := range g.rms {
		g.rms[i].Buffers = [][]byte{make([]byte, recvBufLen)}
	}
	g.base = time.Now()
	return nil
}

// socketBuffer is the size of the generator's socket buffers: replies to a
// whole window, or to a second of a fixed rate, may arrive while the loop
// is sending, and a drop here would be blamed on the server.
const socketBuffer = 4 << 20

// setBuffers sets the socket buffers to socketBuffer, past the limits of
// net.core.rmem_max and wmem_max (often 208 KiB) when the process may
// (CAP_NET_ADMIN), else up to them.
func setBuffers(uc *net.UDPConn) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return
	}
	var rerr, werr error
	_ = rc.Control(func(fd uintptr) {
		rerr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer)
		werr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer)
	})
	// Without the capability, as much as the limits allow.
	if rerr != nil {
		_ = uc.SetReadBuffer(socketBuffer)
	}
	if werr != nil {
		_ = uc.SetWriteBuffer(socketBuffer)
	}
}

// localAddrToward returns the source address the kernel picks toward dst.
func localAddrToward(dst netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, serverPort)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("bench: no route to %v: %w", dst, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// LocalAddr is the address the generator's socket is bound to.
func (g *Generator) LocalAddr() netip.AddrPort { return g.local }

// Close closes the socket.
func (g *Generator) Close() error { return g.uc.Close() }

// now is the time since the run started, in ns (monotonic).
func (g *Generator) now() int64 { return int64(time.Since(g.base)) }

// Run runs the load as configured and returns the report. Cancelling ctx
// stops the run early, like reaching the duration: no new exchanges, a wait
// for the outstanding ones, then the report. Run may be called once.
func (g *Generator) Run(ctx context.Context) (*Report, error) {
	var ru0 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		return nil, fmt.Errorf("bench: getrusage: %w", err)
	}
	g.base = time.Now()
	g.nextRd = 0
	dur := int64(g.cfg.Duration)
	timeoutNS := int64(g.cfg.Timeout)
	stopping, stopAt := false, int64(0)
	for {
		now := g.now()
		g.expire(now)
		if !stopping && (now >= dur || g.limitReached() || ctx.Err() != nil) {
			stopping, stopAt = true, now
		}
		if !stopping {
			g.startDue(now)
		}
		if err := g.flush(); err != nil {
			return nil, err
		}
		if stopping && (g.busy == 0 || now >= stopAt+timeoutNS+int64(drainSlack)) {
			break
		}
		if err := g.sleepUntil(g.nextWake(now, stopping), now); err != nil {
			return nil, err
		}
		n, err := g.pc.ReadBatch(g.rms, 0)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				g.nextRd = 0
				continue
			}
			return nil, fmt.Errorf("bench: read: %w", err)
		}
		now = g.now()
		for i := range n {
			g.handle(g.rms[i].Buffers[0][:g.rms[i].N], now)
		}
	}
	end := g.now()
	var ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		return nil, fmt.Errorf("bench: getrusage: %w", err)
	}
	// The run lasted until the last exchange completed, or until starts
	// stopped if that was later: waiting out the timeouts of the last
	// drops is not part of it.
	measured := max(g.st.last, stopAt)
	return g.report(measured, end, &ru0, &ru1), nil
}

func (g *Generator) limitReached() bool {
	return g.cfg.Count > 0 && g.totalStarted() >= uint64(g.cfg.Count)
}

func (g *Generator) totalStarted() uint64 {
	var t uint64
	for _, n := range g.st.started {
		t += n
	}
	return t
}

// startDue starts the exchanges due now: up to the window closed loop, or
// as many as the rate calls for since the last time.
func (g *Generator) startDue(now int64) {
	n := 0
	if g.cfg.Rate == 0 {
		n = max(min(g.cfg.Window, g.cfg.Clients)-g.busy, 0)
	} else {
		due := uint64(now) * uint64(g.cfg.Rate) / uint64(time.Second)
		if due > g.st.scheduled {
			n = int(due - g.st.scheduled)
		}
	}
	if g.cfg.Count > 0 {
		n = min(n, g.cfg.Count-int(g.totalStarted()))
	}
	for range n {
		if g.cfg.Rate > 0 {
			g.st.scheduled++
		}
		if !g.start() {
			g.st.unstarted++
		}
	}
}

// nextWake returns when the loop must run again if no reply arrives.
func (g *Generator) nextWake(now int64, stopping bool) int64 {
	wake := now + int64(maxIdle)
	if t, ok := g.tq.peek(); ok {
		wake = min(wake, t.deadline)
	}
	if !stopping {
		wake = min(wake, int64(g.cfg.Duration))
		if g.cfg.Rate > 0 {
			next := int64((g.st.scheduled + 1) * uint64(time.Second) / uint64(g.cfg.Rate))
			wake = min(wake, max(next, now+int64(pacing)))
		}
	}
	return wake
}

// sleepUntil sets the socket's read deadline to wake, unless one at least
// as early is already set and still ahead: waking early costs a loop turn,
// setting a deadline costs a timer update.
func (g *Generator) sleepUntil(wake, now int64) error {
	if g.nextRd != 0 && g.nextRd <= wake && g.nextRd > now {
		return nil
	}
	if err := g.uc.SetReadDeadline(g.base.Add(time.Duration(wake))); err != nil {
		return fmt.Errorf("bench: set read deadline: %w", err)
	}
	g.nextRd = wake
	return nil
}

// pick returns the kind of the next exchange, by the mix.
func (g *Generator) pick() Kind {
	m := &g.cfg.Mix
	if m[Renew] == 0 && m[Release] == 0 && m[Inform] == 0 {
		return DORA
	}
	r := g.rng.IntN(m.total())
	for k, w := range m {
		if r < w {
			return Kind(k)
		}
		r -= w
	}
	return DORA
}

// start starts an exchange with the least recently used idle client, and
// reports false when every client is busy.
func (g *Generator) start() bool {
	idx, ok := g.free.pop()
	if !ok {
		return false
	}
	c := &g.clients[idx]
	k := g.pick()
	if k != DORA && !c.leased {
		k = DORA
	}
	c.xid += g.xc.step()
	g.st.started[k]++
	g.busy++
	var none [4]byte
	switch k {
	case DORA:
		c.phase = discovered
		g.enqueue(idx, reqDiscover, none, none, none)
	case Renew:
		c.phase = renewing
		g.enqueue(idx, reqRenew, c.addr, none, none)
	case Release:
		c.phase = releasing
		g.enqueue(idx, reqRelease, c.addr, none, c.sid)
	case Inform:
		c.phase = informing
		g.enqueue(idx, reqInform, c.addr, none, none)
	}
	return true
}

// enqueue builds a request of client idx into the send queue, flushing it
// first when full.
func (g *Generator) enqueue(idx uint32, rk requestKind, ciaddr, reqIP, sid [4]byte) {
	if g.nq == len(g.sq) {
		// Errors are counted per request by flush; a failing socket
		// shows as drops.
		_ = g.flush()
	}
	c := &g.clients[idx]
	g.sq[g.nq] = g.tmpl[rk].encode(g.sq[g.nq], clientMAC(g.cfg.MACSeed, int(idx)), c.xid, ciaddr, reqIP, sid)
	g.sqc[g.nq] = idx
	g.nq++
}

// flush sends the queued requests.
func (g *Generator) flush() error {
	return g.send(g.stamp(g.now()))
}

// stamp stamps the queued requests with the time now, arms their timeouts,
// completes the releases among them (a release is complete once handed to
// the socket), empties the queue and returns the messages to send.
func (g *Generator) stamp(now int64) []ipv4.Message {
	deadline := now + int64(g.cfg.Timeout)
	for i := range g.nq {
		idx := g.sqc[i]
		c := &g.clients[idx]
		g.wms[i].Buffers[0] = g.sq[i]
		switch c.phase {
		case requested:
			c.t1 = now
		case releasing:
			c.t0 = now
			c.leased, c.released = false, true
			g.st.completed[Release]++
			g.finish(idx, now)
			continue
		default:
			c.t0 = now
		}
		c.deadline = deadline
		g.tq.push(timeout{client: idx, deadline: deadline})
	}
	ms := g.wms[:g.nq]
	g.nq = 0
	return ms
}

// send sends ms with sendmmsg, skipping and counting the ones the kernel
// refuses.
func (g *Generator) send(ms []ipv4.Message) error {
	for len(ms) > 0 {
		n, err := g.pc.WriteBatch(ms, 0)
		g.st.sent += uint64(n)
		ms = ms[n:]
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("bench: send: %w", err)
			}
			// Skip the request that failed; its exchange will time out.
			g.st.sendErrors++
			if len(ms) > 0 {
				ms = ms[1:]
			}
		} else if n == 0 {
			g.st.sendErrors += uint64(len(ms))
			break
		}
	}
	return nil
}

// finish makes a client idle again.
func (g *Generator) finish(idx uint32, now int64) {
	g.clients[idx].phase = idle
	g.free.push(idx)
	g.busy--
	g.st.last = max(g.st.last, now)
}

// expire drops the exchanges whose request has waited past its deadline.
func (g *Generator) expire(now int64) {
	for {
		t, ok := g.tq.peek()
		if !ok || t.deadline > now {
			return
		}
		g.tq.pop()
		c := &g.clients[t.client]
		if c.phase == idle || c.phase == releasing || c.deadline != t.deadline {
			continue // answered in time; this client has moved on
		}
		g.st.drops++
		c.phase = idle
		g.free.push(t.client)
		g.busy--
	}
}

// handle matches one received datagram to its client's exchange and moves
// the exchange on.
func (g *Generator) handle(b []byte, now int64) {
	g.st.recv++
	r, ok := parseReply(&g.msg, b)
	if !ok {
		g.st.stray++
		return
	}
	idx := g.xc.client(r.xid)
	if idx >= len(g.clients) {
		g.st.stray++
		return
	}
	c := &g.clients[idx]
	if c.xid != r.xid || r.mac != clientMAC(g.cfg.MACSeed, idx) {
		g.st.stray++
		return
	}
	switch {
	case c.phase == discovered && r.mt == dhcpv4.Offer && r.hasSID:
		g.st.offer.record(now - c.t0)
		c.phase = requested
		c.deadline = 0 // the DISCOVER's timeout no longer applies
		g.enqueue(uint32(idx), reqSelect, [4]byte{}, r.yiaddr, r.sid)
	case c.phase == requested && r.mt == dhcpv4.Ack:
		g.st.request.record(now - c.t1)
		g.st.dora.record(now - c.t0)
		c.leased, c.released = true, false
		c.addr, c.sid = r.yiaddr, r.sid
		if !r.hasSID {
			c.sid = [4]byte{}
		}
		g.st.completed[DORA]++
		g.finish(uint32(idx), now)
	case c.phase == renewing && r.mt == dhcpv4.Ack:
		g.st.renew.record(now - c.t0)
		if r.hasSID {
			c.sid = r.sid
		}
		g.st.completed[Renew]++
		g.finish(uint32(idx), now)
	case c.phase == informing && r.mt == dhcpv4.Ack:
		g.st.inform.record(now - c.t0)
		g.st.completed[Inform]++
		g.finish(uint32(idx), now)
	case (c.phase == requested || c.phase == renewing) && r.mt == dhcpv4.Nak:
		g.st.naks++
		c.leased = false
		g.finish(uint32(idx), now)
	default:
		g.st.stray++
	}
}

// ClientLease is the state a client ended a run in.
type ClientLease struct {
	MAC      net.HardwareAddr
	Addr     netip.Addr // the lease, when Leased
	Leased   bool       // holds a lease: its last DORA or renew ended in an ACK
	Released bool       // gave its lease back and has had none since
}

// Clients returns the state of every client that ever held a lease, in
// client order (call after Run).
func (g *Generator) Clients() []ClientLease {
	var out []ClientLease
	for i := range g.clients {
		c := &g.clients[i]
		if !c.leased && !c.released {
			continue
		}
		mac := clientMAC(g.cfg.MACSeed, i)
		cl := ClientLease{MAC: net.HardwareAddr(mac[:]), Leased: c.leased, Released: c.released}
		if c.leased {
			cl.Addr = netip.AddrFrom4(c.addr)
		}
		out = append(out, cl)
	}
	return out
}

// ring is a FIFO queue that grows by doubling.
type ring[T any] struct {
	buf        []T
	head, size int
}

func newRing[T any](n int) ring[T] { return ring[T]{buf: make([]T, max(n, 1))} }

func (r *ring[T]) push(v T) {
	if r.size == len(r.buf) {
		nb := make([]T, 2*len(r.buf))
		n := copy(nb, r.buf[r.head:])
		copy(nb[n:], r.buf[:r.head])
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
}

func (r *ring[T]) pop() (T, bool) {
	var zero T
	if r.size == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return v, true
}

func (r *ring[T]) peek() (T, bool) {
	if r.size == 0 {
		var zero T
		return zero, false
	}
	return r.buf[r.head], true
}
