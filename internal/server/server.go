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
	Workers int // default 2
	Now     func() time.Time
	Log     *slog.Logger
}

// Server is a running DHCP service.
type Server struct {
	opts  Options
	log   *slog.Logger
	store lease.Store
	conn  *netio.Conn

	mu    sync.RWMutex // workers hold it read-locked per batch; Reload write-locks it
	state *state

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
	var wg sync.WaitGroup
	errc := make(chan error, s.opts.Workers)
	for range s.opts.Workers {
		wg.Go(func() {
			if err := s.worker(); !errors.Is(err, net.ErrClosed) {
				errc <- err
				cancel()
			}
		})
	}
	wg.Go(func() { s.reclaimLoop(ctx) })
	<-ctx.Done()
	s.conn.Close()
	wg.Wait()
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

const batch = 32

// worker reads batches and answers them until the socket closes.
func (s *Server) worker() error {
	pkts := make([]netio.Packet, batch)
	for i := range pkts {
		pkts[i].Buf = make([]byte, 1<<16)
	}
	var req dhcpv4.Message
	replies := make([]dhcpv4.Message, batch)
	out := make([]netio.Reply, 0, batch)
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 0, 1500)
	}
	for {
		n, err := s.conn.ReadBatch(pkts)
		if err != nil {
			return err
		}
		out = out[:0]
		s.mu.RLock()
		st := s.state
		for i := range n {
			p := &pkts[i]
			s.counters.Received.Add(1)
			if r, ok := s.handle(st, p, &req, &replies[i], bufs[i][:0]); ok {
				bufs[i] = r.Payload[:0]
				out = append(out, r)
			}
		}
		s.mu.RUnlock()
		for len(out) > 0 {
			sent, err := s.conn.SendBatch(out)
			s.counters.Replied.Add(uint64(sent))
			if err == nil {
				break
			}
			s.log.Warn("reply not sent", "dst", out[sent].Dst, "err", err)
			out = out[sent+1:]
		}
	}
}

// handle answers one datagram; ok is false when nothing is to be sent.
func (s *Server) handle(st *state, p *netio.Packet, req, reply *dhcpv4.Message, buf []byte) (netio.Reply, bool) {
	if err := req.UnmarshalBinary(p.Data()); err != nil {
		s.counters.Malformed.Add(1)
		s.log.Debug("malformed packet dropped", "src", p.Src, "err", err)
		return netio.Reply{}, false
	}
	in, ok := st.ingress[p.IfIndex]
	if !ok {
		s.counters.Dropped.Add(1)
		return netio.Reply{}, false
	}
	in.Src = p.Src
	if p.Local.IsValid() && req.GIAddr.IsValid() && !req.GIAddr.IsUnspecified() {
		in.Addr = p.Local // a relay talks to this address of ours
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	res := st.handler.Handle(ctx, in, req, reply)
	cancel()
	mt, _ := req.MessageType()
	log := s.log.With("xid", req.XID, "chaddr", req.HardwareAddr(), "type", msgType(req, mt), "if", in.IfName)
	if req.GIAddr.IsValid() && !req.GIAddr.IsUnspecified() {
		log = log.With("giaddr", req.GIAddr)
	}
	if res.Verdict != handler.Reply {
		s.counters.Dropped.Add(1)
		switch res.Type {
		case dhcpv4.Release, dhcpv4.Decline:
			log.Info(res.Reason)
		default:
			log.Info("no reply", "reason", res.Reason)
		}
		return netio.Reply{}, false
	}
	out, err := reply.AppendLayout(buf, &res.Layout)
	if err != nil {
		s.counters.Dropped.Add(1)
		log.Warn("reply does not fit", "err", err)
		return netio.Reply{}, false
	}
	if res.Layout.Omitted > 0 {
		log.Warn("options left out of the reply", "count", res.Layout.Omitted)
	}
	rmt, _ := reply.MessageType()
	attrs := []any{"reply", msgType(reply, rmt), "addr", reply.YIAddr, "to", res.Dest.Addr}
	if res.Reason != "" {
		attrs = append(attrs, "reason", res.Reason)
	}
	log.Info("answered", attrs...)
	ifIndex := p.IfIndex
	if res.Dest.HWAddr == nil && res.Dest.Addr.Addr() != broadcast {
		ifIndex = 0 // unicast to ciaddr or a relay: the routing table knows the way
	}
	return netio.Reply{
		Payload: out,
		IfIndex: ifIndex,
		Src:     res.Dest.Src,
		Dst:     res.Dest.Addr,
		HWAddr:  net.HardwareAddr(res.Dest.HWAddr),
	}, true
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

func msgType(m *dhcpv4.Message, mt dhcpv4.MessageType) string {
	if m.IsBOOTP() {
		return "BOOTP"
	}
	return mt.String()
}

// Stats returns the socket layer's counters.
func (s *Server) Stats() netio.Stats { return s.conn.Stats() }

// Counters returns the server's own counters.
func (s *Server) Counters() *Counters { return &s.counters }
