// Package server runs bootd's DHCP service: it reads requests from the
// socket layer (netio), gives each to the protocol handler with where it
// came from, and sends the replies where the handler says. It also owns the
// lease store and the allocator for the life of the process, and swaps in a
// new configuration on reload without losing a lease.
//
// Concurrency: a fixed number of workers each read a batch of datagrams
// and decide every request in it with their own reused messages and
// buffers. Replies that write nothing go out at once, one sendmmsg per
// batch. A request that writes a lease starts the write (the lease store
// joins the writes in flight into one fsync) and leaves its reply in one
// of a fixed number of pending slots; when the store calls back, a sender
// goroutine sends the replies whose leases are on disk. When the slots
// are all taken or the workers cannot keep up, the kernel's socket queue
// holds, then drops, the excess; nothing grows without bound here. A
// reload waits for the batches in hand and the writes in flight, then
// swaps the handler.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"bootd/internal/alloc"
	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/handler"
	"bootd/internal/lease"
	"bootd/internal/metrics"
	"bootd/internal/netio"
	"bootd/internal/netns"
)

// Options tune a server.
type Options struct {
	Port int // 67 unless a test says otherwise
	// BootServerPort is the PXE boot server port, opened when a subnet is
	// proxy-dhcp: 4011 unless set; -1 never opens it.
	BootServerPort int
	Workers        int // goroutines reading the socket; default 2
	Now            func() time.Time
	Log            *slog.Logger
	// StoreStats, if set, returns the lease store's own counters (such as
	// its commits and the leases they carried) for Stats.
	StoreStats func() any
	// Namespace, when set, is the path of the network namespace the
	// server's interfaces are in (netns.Path), for a server run from a
	// process in another one (the demo, tests): New and Reload look the
	// interfaces up there. Empty: the calling thread's.
	Namespace string
	// Metrics receives the server's Prometheus metrics (packets, drops,
	// latencies, pool usage); New registers its collectors there. Nil:
	// the server makes its own. Either way the control socket serves them.
	Metrics *metrics.Metrics
}

// Server is a running DHCP service.
type Server struct {
	opts     Options
	log      *slog.Logger
	store    lease.Store
	conn     *netio.Conn
	bootConn *netio.Conn // the PXE boot server port, or nil

	mu    sync.RWMutex // workers hold it read-locked per batch; Reload write-locks it
	state *state

	// Replies waiting for their lease to be written: free ones, and ones
	// whose write completed, for the sender. inflight counts the writes
	// started and not completed; Reload and Serve's end wait for them.
	free, replies chan *pending
	inflight      sync.WaitGroup
	// direct: the store has a commit hook, and replies made ready by its
	// callbacks wait in committed (touched only on the store's goroutine)
	// until the hook sends them.
	direct        bool
	committed     []*pending
	committedOut  []netio.Reply
	committedMeta []replyMeta

	counters  Counters
	metrics   *metrics.Metrics
	exchanges exchanges
	// offersExpired counts the offers that expired in the allocators
	// replaced by reloads (under mu).
	offersExpired uint64
}

// state is everything built from one configuration.
type state struct {
	cfg     *config.Config
	alloc   *alloc.Allocator
	handler *handler.Handler
	ingress map[int]handler.Ingress // by interface index
}

// Counters are the server's totals since start.
type Counters struct {
	Received, Replied, Dropped, Malformed atomic.Uint64
}

// New builds a server for cfg over store and opens its socket. It does not
// serve until Serve is called.
func New(ctx context.Context, cfg *config.Config, store lease.Store, opts Options) (*Server, error) {
	if opts.Port == 0 {
		opts.Port = handler.ServerPort
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	s := &Server{opts: opts, log: opts.Log, store: store, metrics: opts.Metrics}
	st, err := s.build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.state = st
	if err := s.metrics.Register(metrics.NewAllocCollector(s.allocStats)); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s.conn, err = netio.Listen(ctx, netio.Config{Port: opts.Port, Interfaces: cfg.Interfaces})
	if err != nil {
		return nil, fmt.Errorf("opening the DHCP socket: %w", err)
	}
	if opts.BootServerPort >= 0 && slices.ContainsFunc(cfg.Subnets, func(sn *config.Subnet) bool { return sn.ProxyDHCP }) {
		port := opts.BootServerPort
		if port == 0 {
			port = handler.BootServerPort
		}
		s.bootConn, err = netio.Listen(ctx, netio.Config{Port: port, Interfaces: cfg.Interfaces, DisableL2: true})
		if err != nil {
			s.conn.Close()
			return nil, fmt.Errorf("opening the PXE boot server socket (proxy-dhcp): %w", err)
		}
	}
	if h, ok := store.(commitHook); ok {
		s.direct = true
		h.OnCommit(s.sendCommitted)
	}
	return s, nil
}

// build makes the state of a configuration: allocator (leases loaded from
// the store), handler and per-interface table.
func (s *Server) build(ctx context.Context, cfg *config.Config) (st *state, err error) {
	if s.opts.Namespace != "" {
		err = netns.Do(s.opts.Namespace, func() error {
			st, err = s.buildHere(ctx, cfg)
			return err
		})
		return st, err
	}
	return s.buildHere(ctx, cfg)
}

func (s *Server) buildHere(ctx context.Context, cfg *config.Config) (*state, error) {
	ranges, ids := handler.Ranges(cfg)
	a, err := alloc.New(ctx, s.store, s.opts.Now, ranges)
	if err != nil {
		return nil, err
	}
	st := &state{cfg: cfg, alloc: a, ingress: map[int]handler.Ingress{}}
	st.handler = handler.New(cfg, a, ids, s.opts.Now, s.log)
	for _, name := range cfg.Interfaces {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", name, err)
		}
		addrs := interfaceAddrs(ifi)
		in := handler.Ingress{IfName: name, Subnets: cfg.SubnetsOn(name, addrs)}
		for _, a := range addrs {
			if !in.Addr.IsValid() {
				in.Addr = a
			}
			if len(in.Subnets) > 0 && in.Subnets[0].Contains(a) {
				in.Addr = a
				break
			}
		}
		st.ingress[ifi.Index] = in
	}
	return st, nil
}

func interfaceAddrs(ifi *net.Interface) []netip.Addr {
	var out []netip.Addr
	as, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			out = append(out, p.Addr())
		}
	}
	return out
}

// Reload swaps in a new configuration. The leases stay; offers in progress
// are forgotten (clients ask again). On error the old configuration keeps
// serving.
func (s *Server) Reload(ctx context.Context, cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight.Wait() // no commit of the old allocator may land after the new one loads the store
	st, err := s.build(ctx, cfg)
	if err != nil {
		return err
	}
	s.offersExpired += s.state.alloc.OffersExpired()
	s.state = st
	return nil
}

// allocStats is the pools' usage and the expired offers, for a scrape.
// It walks the allocator's leases once, under the allocator's lock (about
// 40-60ms with a million leases, on a 2-core VM).
func (s *Server) allocStats() metrics.AllocStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.state
	out := metrics.AllocStats{OffersExpired: s.offersExpired + st.alloc.OffersExpired()}
	stats := st.alloc.AllPoolStats()
	id := 0 // pools in the order of handler.Ranges
	for _, sn := range st.cfg.Subnets {
		for _, p := range sn.Pools {
			ps := stats[id]
			out.Pools = append(out.Pools, metrics.Pool{
				Subnet: sn.Prefix.String(),
				Range:  p.First.String() + "-" + p.Last.String(),
				Size:   ps.Size,
				Active: ps.Active,
			})
			id++
		}
	}
	return out
}

// Metrics returns the metrics the server updates; serve them with
// Metrics().Handler().
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Config returns the configuration being served.
func (s *Server) Config() *config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.cfg
}

// LocalPort is the UDP port the server listens on.
func (s *Server) LocalPort() int { return s.conn.LocalPort() }

// Serve answers requests until ctx ends, then closes the socket. A socket
// error stops it too, and is returned.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.free = make(chan *pending, maxPending)
	for range maxPending {
		s.free <- s.newPending()
	}
	s.replies = make(chan *pending, maxPending)
	var sender sync.WaitGroup
	sender.Go(s.sendReplies)

	var wg sync.WaitGroup
	errc := make(chan error, s.opts.Workers+1)
	work := func(conn *netio.Conn, bootServer bool) {
		if err := s.worker(ctx, conn, bootServer); !errors.Is(err, net.ErrClosed) {
			errc <- err
			cancel()
		}
	}
	for range s.opts.Workers {
		wg.Go(func() { work(s.conn, false) })
	}
	if s.bootConn != nil {
		wg.Go(func() { work(s.bootConn, true) })
	}
	wg.Go(func() { s.reclaimLoop(ctx) })
	<-ctx.Done()
	s.conn.Close()
	if s.bootConn != nil {
		s.bootConn.Close()
	}
	wg.Wait()
	s.inflight.Wait() // the last leases' writes complete; their replies cannot go out
	close(s.replies)
	sender.Wait()
	close(errc)
	return <-errc
}

func (s *Server) reclaimLoop(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.mu.RLock()
			s.state.alloc.Reclaim()
			s.mu.RUnlock()
		}
	}
}

// batch is how many datagrams a worker reads (and answers) at a time.
const batch = 32

// maxDatagram bounds a request: larger datagrams are counted as malformed.
// DHCP messages are at most a few hundred bytes in practice; 9216 leaves
// room for jumbo frames.
const maxDatagram = 9216

// maxPending bounds the requests whose lease is being written; when all
// are taken the workers stop reading and the kernel's socket queue absorbs
// (then drops) the excess.
const maxPending = 1024

// slot is one request and its reply, reused from request to request.
type slot struct {
	req, reply dhcpv4.Message
	buf        []byte
	out        netio.Reply
	meta       replyMeta // out's
	ex         Exchange  // the decision, for the live view; zero Time: none
}

// replyMeta is what the metrics need of a reply when it is sent: its
// request's kind and read time, and its own kind.
type replyMeta struct {
	req, reply metrics.Kind
	read       time.Time
}

// pending is the reply to a request whose lease is being written, held
// until the write completes. done, made once per pending, is what the
// lease store calls (through the allocator) when it does.
type pending struct {
	buf  []byte
	out  netio.Reply // Payload nil: nothing to send (RELEASE, DECLINE)
	meta replyMeta   // out's
	put  time.Time   // when the lease write started
	addr netip.Addr  // the lease's address, for the log
	hw   [16]byte    // out.HWAddr's bytes
	err  error
	done func(error)
	refs atomic.Int32
	s    *Server
}

func (s *Server) newPending() *pending {
	t := &pending{buf: make([]byte, 0, 1500), s: s}
	t.done = func(err error) {
		t.err = err
		s.metrics.ObserveCommit(time.Since(t.put))
		if t.refs.Add(-1) == 0 {
			if s.direct {
				s.committed = append(s.committed, t) // sent by sendCommitted, after this commit's callbacks
			} else {
				s.replies <- t
			}
		}
		s.inflight.Done() // after the handoff: Serve closes replies once inflight is zero
	}
	return t
}

// commitHook is a lease store that calls a function after each commit, on
// the goroutine that runs the commit's PutAsync callbacks (journal.Store).
// With one, the replies a commit makes ready are sent from there, a commit
// at a time, without waking the sender goroutine.
type commitHook interface{ OnCommit(func()) }

// sendCommitted sends the replies whose leases the last commit wrote. It
// runs on the store's goroutine, like the callbacks that fill s.committed.
func (s *Server) sendCommitted() {
	if len(s.committed) == 0 {
		return
	}
	s.committedOut, s.committedMeta = s.deliver(s.committed, s.committedOut[:0], s.committedMeta[:0])
	clear(s.committed)
	s.committed = s.committed[:0]
}

// ready is the worker's half of a pending reply's hand-off: the reply is
// laid out. The store's callback (done) is the other half, once the lease
// is written; whichever comes second hands the reply on to be sent. The
// callback nearly always comes second.
func (t *pending) ready() {
	if t.refs.Add(-1) == 0 {
		t.s.replies <- t // never blocks: it has room for every pending
	}
}

// worker reads batches until the socket closes, and decides each request
// at once. Replies that write nothing to the lease store (OFFER, INFORM's
// ACK, NAK) go out in one sendmmsg per batch. A request that writes a
// lease (REQUEST, RELEASE, DECLINE, BOOTP) starts the write and leaves its
// reply pending; the lease store's group commit joins the writes of many
// batches into one fsync, and once it is synced the sender sends the
// replies that were waiting for it. So no goroutine waits for the disk
// per request, and the workers never do.
func (s *Server) worker(ctx context.Context, conn *netio.Conn, bootServer bool) error {
	pkts := make([]netio.Packet, batch)
	slots := make([]slot, batch)
	for i := range pkts {
		pkts[i].Buf = make([]byte, maxDatagram)
		slots[i].buf = make([]byte, 0, 1500)
	}
	now := make([]netio.Reply, 0, batch)
	meta := make([]replyMeta, 0, batch)
	unused := make([]*pending, 0, batch)
	for {
		n, err := conn.ReadBatch(pkts)
		if err != nil {
			return err
		}
		read := time.Now()
		s.counters.Received.Add(uint64(n))
		now, meta, unused = now[:0], meta[:0], unused[:0]
		s.mu.RLock()
		st := s.state
		for i := range n {
			sl, p := &slots[i], &pkts[i]
			if err := sl.req.UnmarshalBinary(p.Data()); err != nil {
				s.counters.Malformed.Add(1)
				s.metrics.Received(metrics.KindMalformed)
				s.metrics.Dropped(metrics.ReasonMalformed)
				s.log.Debug("malformed packet dropped", "src", p.Src, "err", err)
				continue
			}
			sl.meta = replyMeta{req: metrics.KindOf(&sl.req), read: read}
			s.metrics.Received(sl.meta.req)
			if !writesLease(&sl.req) {
				if send, _ := s.handle(ctx, st, p, bootServer, sl, nil); send {
					now, meta = append(now, sl.out), append(meta, sl.meta)
				}
				continue
			}
			t := <-s.free
			t.refs.Store(2)
			t.put = time.Now()
			s.inflight.Add(1)
			send, pending := s.handle(ctx, st, p, bootServer, sl, t)
			if pending {
				t.ready() // the store's callback sends it, or did
				continue
			}
			s.inflight.Done()
			unused = append(unused, t)
			if send {
				now, meta = append(now, sl.out), append(meta, sl.meta) // a NAK: nothing was written
			}
		}
		s.mu.RUnlock()
		s.exchanges.add(slots[:n])
		s.sendOn(conn, now, meta)
		for _, t := range unused {
			s.free <- t
		}
	}
}

// sendReplies sends the replies whose leases are written, as many per
// sendmmsg as are ready, until the channel closes.
func (s *Server) sendReplies() {
	ts := make([]*pending, 0, batch)
	out := make([]netio.Reply, 0, batch)
	meta := make([]replyMeta, 0, batch)
	for t := range s.replies {
		ts = append(ts[:0], t)
	more:
		for len(ts) < batch {
			select {
			case t, ok := <-s.replies:
				if !ok {
					break more
				}
				ts = append(ts, t)
			default:
				break more
			}
		}
		out, meta = s.deliver(ts, out[:0], meta[:0])
	}
}

// deliver sends the replies of ts whose leases were written, then gives
// the slots back. out and meta are scratch space, returned for reuse.
func (s *Server) deliver(ts []*pending, out []netio.Reply, meta []replyMeta) ([]netio.Reply, []replyMeta) {
	for _, t := range ts {
		switch {
		case t.err != nil:
			s.counters.Dropped.Add(1)
			s.metrics.Dropped(metrics.ReasonStoreError)
			s.log.Warn("lease not recorded; no reply sent", "addr", t.addr, "err", t.err)
		case t.out.Payload != nil:
			out, meta = append(out, t.out), append(meta, t.meta)
		}
	}
	s.sendOn(s.conn, out, meta)
	for _, t := range ts {
		t.err, t.out = nil, netio.Reply{}
		s.free <- t
	}
	clear(out) // do not keep payloads alive
	return out[:0], meta[:0]
}

// writesLease reports whether answering m writes to the lease store.
func writesLease(m *dhcpv4.Message) bool {
	mt, isDHCP := m.MessageType()
	if !isDHCP {
		return true // BOOTP
	}
	switch mt {
	case dhcpv4.Request, dhcpv4.Release, dhcpv4.Decline:
		return true
	}
	return false
}

// sendOn sends replies, logging (and skipping) any the kernel refuses,
// and counts those it takes in the metrics; meta[i] describes out[i].
func (s *Server) sendOn(conn *netio.Conn, out []netio.Reply, meta []replyMeta) {
	for len(out) > 0 {
		sent, err := conn.SendBatch(out)
		s.counters.Replied.Add(uint64(sent))
		if sent > 0 {
			now := time.Now()
			for _, m := range meta[:sent] {
				s.metrics.Sent(m.reply)
				s.metrics.ObserveRequest(m.req, now.Sub(m.read))
			}
		}
		if err == nil {
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return // stopping
		}
		s.log.Warn("reply not sent", "dst", out[sent].Dst, "err", err)
		out, meta = out[sent+1:], meta[sent+1:]
	}
}

// handle decides one parsed request. With t nil, a lease is written
// before handle returns; send reports a reply in sl.out. With t, a lease
// write is only started: pending reports that one was, and the reply, if
// any, is laid out in t, to be sent once the write completes; send then
// is false. A request that is not pending but answered (a NAK) has its
// reply in sl.out.
func (s *Server) handle(ctx context.Context, st *state, p *netio.Packet, bootServer bool, sl *slot, t *pending) (send, pending bool) {
	req, reply := &sl.req, &sl.reply
	in, ok := st.ingress[p.IfIndex]
	if !ok {
		s.counters.Dropped.Add(1)
		s.metrics.Dropped(metrics.ReasonNoSubnet) // an interface not configured
		return false, false
	}
	in.Src, in.BootServer = p.Src, bootServer
	relayed := req.GIAddr.IsValid() && !req.GIAddr.IsUnspecified()
	if p.Local.IsValid() && relayed {
		in.Addr = p.Local // a relay talks to this address of ours
	}
	var res handler.Result
	if t == nil {
		res = st.handler.Handle(ctx, in, req, reply)
	} else {
		res = st.handler.HandleAsync(ctx, in, req, reply, t.done)
	}
	logged := s.log.Enabled(ctx, slog.LevelInfo)
	if res.Verdict != handler.Reply {
		s.counters.Dropped.Add(1)
		if res.Type != dhcpv4.Release && res.Type != dhcpv4.Decline {
			s.metrics.Dropped(metrics.ReasonOf(res.Reason)) // RELEASE and DECLINE have no reply by design
		}
		if logged {
			log := s.requestLog(req, in, relayed)
			switch res.Type {
			case dhcpv4.Release, dhcpv4.Decline:
				log.Info(res.Reason)
			default:
				log.Info("no reply", "reason", res.Reason)
			}
		}
		if res.Pending {
			t.out, t.addr = netio.Reply{}, netip.Addr{}
		}
		record(sl, in.IfName, false, 0, req.CIAddr, res.Reason)
		return false, res.Pending
	}
	buf, out := &sl.buf, &sl.out
	sl.meta.reply = metrics.KindOf(reply)
	rmt, _ := reply.MessageType()
	record(sl, in.IfName, true, rmt, reply.YIAddr, res.Reason)
	if res.Pending {
		buf, out = &t.buf, &t.out
		t.addr, t.meta = reply.YIAddr, sl.meta
	}
	b, err := reply.AppendLayout((*buf)[:0], &res.Layout)
	if err != nil {
		s.counters.Dropped.Add(1)
		s.metrics.Dropped(metrics.ReasonOther)
		s.requestLog(req, in, relayed).Warn("reply does not fit", "err", err)
		*out = netio.Reply{}
		return false, res.Pending
	}
	*buf = b[:0]
	if res.Layout.Omitted > 0 {
		s.requestLog(req, in, relayed).Warn("options left out of the reply", "count", res.Layout.Omitted)
	}
	if logged {
		attrs := []any{"reply", msgType(reply, rmt), "addr", reply.YIAddr, "to", res.Dest.Addr}
		if res.Reason != "" {
			attrs = append(attrs, "reason", res.Reason)
		}
		s.requestLog(req, in, relayed).Info("answered", attrs...)
	}
	ifIndex := p.IfIndex
	if res.Dest.HWAddr == nil && res.Dest.Addr.Addr() != broadcast {
		ifIndex = 0 // unicast to ciaddr or a relay: the routing table knows the way
	}
	hw := res.Dest.HWAddr // the request's chaddr
	if res.Pending && hw != nil {
		hw = t.hw[:copy(t.hw[:], hw)] // the worker reuses the request before the reply goes
	}
	*out = netio.Reply{
		Payload: b,
		IfIndex: ifIndex,
		Src:     res.Dest.Src,
		Dst:     res.Dest.Addr,
		HWAddr:  net.HardwareAddr(hw),
	}
	return !res.Pending, res.Pending
}

// requestLog is the logger for lines about req.
func (s *Server) requestLog(req *dhcpv4.Message, in handler.Ingress, relayed bool) *slog.Logger {
	mt, _ := req.MessageType()
	log := s.log.With("xid", req.XID, "chaddr", req.HardwareAddr(), "type", msgType(req, mt), "if", in.IfName)
	if relayed {
		log = log.With("giaddr", req.GIAddr)
	}
	return log
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

func msgType(m *dhcpv4.Message, mt dhcpv4.MessageType) string {
	if m.IsBOOTP() {
		return "BOOTP"
	}
	return mt.String()
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Received  uint64      `json:"received"`  // datagrams read
	Replied   uint64      `json:"replied"`   // replies sent
	Dropped   uint64      `json:"dropped"`   // requests answered with nothing
	Malformed uint64      `json:"malformed"` // datagrams that are not BOOTP/DHCP
	Socket    netio.Stats `json:"socket"`
	Store     any         `json:"store,omitempty"`
}

// Stats returns the server's counters, its socket's and its store's.
func (s *Server) Stats() Stats {
	st := Stats{
		Received:  s.counters.Received.Load(),
		Replied:   s.counters.Replied.Load(),
		Dropped:   s.counters.Dropped.Load(),
		Malformed: s.counters.Malformed.Load(),
		Socket:    s.conn.Stats(),
	}
	if s.opts.StoreStats != nil {
		st.Store = s.opts.StoreStats()
	}
	return st
}

// Counters returns the server's own counters.
func (s *Server) Counters() *Counters { return &s.counters }
