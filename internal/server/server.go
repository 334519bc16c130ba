// Package server runs bootd's DHCP service: it reads requests from the
// socket layer (netio), gives each to the protocol handler with where it
// came from, and sends the replies where the handler says. It also owns the
// lease store and the allocator for the life of the process, and swaps in a
// new configuration on reload without losing a lease.
//
// Concurrency: a fixed number of workers each read a batch of datagrams,
// handle them with their own reused messages and buffers, and send the
// replies in one batch. When the workers cannot keep up, the kernel's
// socket queue drops the excess; nothing grows without bound here. A reload
// waits for the packets in hand, then swaps the handler.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"bootd/internal/alloc"
	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/handler"
	"bootd/internal/lease"
	"bootd/internal/netio"
)

// Options tune a server.
type Options struct {
	Port    int // 67 unless a test says otherwise
	Workers int // goroutines reading the socket; default 2
	Now     func() time.Time
	Log     *slog.Logger
	// StoreStats, if set, returns the lease store's own counters (such as
	// its commits and the leases they carried) for Stats.
	StoreStats func() any
}

// Server is a running DHCP service.
type Server struct {
	opts  Options
	log   *slog.Logger
	store lease.Store
	conn  *netio.Conn

	mu    sync.RWMutex // workers hold it read-locked per batch; Reload write-locks it
	state *state

	// Requests that write a lease: free ones, ones for the handling
	// goroutines, and ones whose reply is ready for the sender. inflight
	// counts those dispatched and not yet handled; Reload waits for them.
	free, tasks, replies chan *pending
	inflight             sync.WaitGroup

	counters Counters
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
	s := &Server{opts: opts, log: opts.Log, store: store}
	st, err := s.build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.state = st
	s.conn, err = netio.Listen(ctx, netio.Config{Port: opts.Port, Interfaces: cfg.Interfaces})
	if err != nil {
		return nil, fmt.Errorf("opening the DHCP socket: %w", err)
	}
	return s, nil
}

// build makes the state of a configuration: allocator (leases loaded from
// the store), handler and per-interface table.
func (s *Server) build(ctx context.Context, cfg *config.Config) (*state, error) {
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
	s.state = st
	return nil
}

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
		s.free <- &pending{}
	}
	s.tasks = make(chan *pending, maxPending)
	s.replies = make(chan *pending, maxPending)
	var handlers, sender sync.WaitGroup
	for range handlerGoroutines {
		handlers.Go(func() { s.handleTasks(ctx) })
	}
	sender.Go(s.sendReplies)

	var wg sync.WaitGroup
	errc := make(chan error, s.opts.Workers)
	for range s.opts.Workers {
		wg.Go(func() {
			if err := s.worker(ctx); !errors.Is(err, net.ErrClosed) {
				errc <- err
				cancel()
			}
		})
	}
	wg.Go(func() { s.reclaimLoop(ctx) })
	<-ctx.Done()
	s.conn.Close()
	wg.Wait()
	close(s.tasks)
	handlers.Wait()
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

// maxPending bounds the requests waiting for, or in, a lease store commit;
// when all are taken the workers stop reading and the kernel's socket
// queue absorbs (then drops) the excess. handlerGoroutines handle them;
// enough that the store's group commit sees every request a commit's
// fsync time brings at full load.
const (
	maxPending        = 1024
	handlerGoroutines = 256
)

// slot is one request and its reply, reused from request to request.
type slot struct {
	req, reply dhcpv4.Message
	buf        []byte
	out        netio.Reply
}

// pending is a request that writes a lease, on its way from a worker to a
// handling goroutine and then, with its reply, to the sender. It owns a
// copy of the datagram, so the worker can read on.
type pending struct {
	slot
	pkt  netio.Packet
	data []byte
	st   *state
}

// worker reads batches until the socket closes. Requests that write
// nothing to the lease store (DISCOVER, INFORM) it answers at once, a
// batch of replies per sendmmsg. Requests that write a lease (REQUEST,
// RELEASE, DECLINE, BOOTP) it hands to the handling goroutines and reads
// on: each waits for its own commit, the store's group commit joins all
// that are waiting into one fsync, and the sender sends their replies in
// batches. Commits are waited for until ctx ends (the server stops): a
// stuck disk stops only the answers that need it.
func (s *Server) worker(ctx context.Context) error {
	pkts := make([]netio.Packet, batch)
	slots := make([]slot, batch)
	for i := range pkts {
		pkts[i].Buf = make([]byte, maxDatagram)
		slots[i].buf = make([]byte, 0, 1500)
	}
	now := make([]netio.Reply, 0, batch)
	for {
		n, err := s.conn.ReadBatch(pkts)
		if err != nil {
			return err
		}
		s.counters.Received.Add(uint64(n))
		now = now[:0]
		s.mu.RLock()
		st := s.state
		for i := range n {
			sl, p := &slots[i], &pkts[i]
			if err := sl.req.UnmarshalBinary(p.Data()); err != nil {
				s.counters.Malformed.Add(1)
				s.log.Debug("malformed packet dropped", "src", p.Src, "err", err)
				continue
			}
			if writesLease(&sl.req) {
				s.dispatch(st, p)
				continue
			}
			if s.handle(ctx, st, p, sl) {
				now = append(now, sl.out)
			}
		}
		s.mu.RUnlock()
		s.send(now)
	}
}

// dispatch hands a request that writes a lease to the handling goroutines.
// The caller holds s.mu read-locked, so Reload waits for it (inflight).
func (s *Server) dispatch(st *state, p *netio.Packet) {
	t := <-s.free
	t.data = append(t.data[:0], p.Data()...)
	t.pkt = *p
	t.pkt.Buf, t.pkt.N = t.data, len(t.data)
	t.st = st
	s.inflight.Add(1)
	s.tasks <- t
}

// handleTasks handles dispatched requests until the channel closes. The
// goroutines live as long as the server, so their stacks grow once, not
// per request.
func (s *Server) handleTasks(ctx context.Context) {
	for t := range s.tasks {
		ok := t.req.UnmarshalBinary(t.data) == nil && s.handle(ctx, t.st, &t.pkt, &t.slot)
		t.st = nil
		s.inflight.Done()
		if ok {
			s.replies <- t
		} else {
			s.free <- t
		}
	}
}

// sendReplies sends the replies of dispatched requests, as many per
// sendmmsg as are ready, until the channel closes.
func (s *Server) sendReplies() {
	ts := make([]*pending, 0, batch)
	out := make([]netio.Reply, 0, batch)
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
		out = out[:0]
		for _, t := range ts {
			out = append(out, t.out)
		}
		s.send(out)
		for _, t := range ts {
			s.free <- t
		}
	}
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

// send sends replies, logging (and skipping) any the kernel refuses.
func (s *Server) send(out []netio.Reply) {
	for len(out) > 0 {
		sent, err := s.conn.SendBatch(out)
		s.counters.Replied.Add(uint64(sent))
		if err == nil {
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return // stopping
		}
		s.log.Warn("reply not sent", "dst", out[sent].Dst, "err", err)
		out = out[sent+1:]
	}
}

// handle answers one parsed request; it returns false when nothing is to
// be sent, else the reply is in sl.out.
func (s *Server) handle(ctx context.Context, st *state, p *netio.Packet, sl *slot) bool {
	req, reply := &sl.req, &sl.reply
	in, ok := st.ingress[p.IfIndex]
	if !ok {
		s.counters.Dropped.Add(1)
		return false
	}
	in.Src = p.Src
	relayed := req.GIAddr.IsValid() && !req.GIAddr.IsUnspecified()
	if p.Local.IsValid() && relayed {
		in.Addr = p.Local // a relay talks to this address of ours
	}
	res := st.handler.Handle(ctx, in, req, reply)
	logged := s.log.Enabled(ctx, slog.LevelInfo)
	if res.Verdict != handler.Reply {
		s.counters.Dropped.Add(1)
		if logged {
			log := s.requestLog(req, in, relayed)
			switch res.Type {
			case dhcpv4.Release, dhcpv4.Decline:
				log.Info(res.Reason)
			default:
				log.Info("no reply", "reason", res.Reason)
			}
		}
		return false
	}
	out, err := reply.AppendLayout(sl.buf[:0], &res.Layout)
	if err != nil {
		s.counters.Dropped.Add(1)
		s.requestLog(req, in, relayed).Warn("reply does not fit", "err", err)
		return false
	}
	sl.buf = out[:0]
	if res.Layout.Omitted > 0 {
		s.requestLog(req, in, relayed).Warn("options left out of the reply", "count", res.Layout.Omitted)
	}
	if logged {
		rmt, _ := reply.MessageType()
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
	sl.out = netio.Reply{
		Payload: out,
		IfIndex: ifIndex,
		Src:     res.Dest.Src,
		Dst:     res.Dest.Addr,
		HWAddr:  net.HardwareAddr(res.Dest.HWAddr),
	}
	return true
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
