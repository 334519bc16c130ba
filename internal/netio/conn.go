package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// DefaultBatchSize is the number of datagrams one recvmmsg or sendmmsg call
// moves when [Config.BatchSize] is zero.
const DefaultBatchSize = 64

// DefaultReadBuffer is the receive buffer asked for when
// [Config.ReadBuffer] is zero: room for about two thousand requests, so a
// burst (a building powering up, a relay flushing its queue) waits in the
// socket instead of being dropped. Linux's default, 208 KiB, holds about a
// hundred.
const DefaultReadBuffer = 4 << 20

// Errors returned by [Conn.Send] and [Conn.SendBatch] for replies they refuse
// before any system call. They are wrapped; test with errors.Is.
var (
	// ErrNoInterface: a broadcast or link-layer reply has no IfIndex, so the
	// routing table would choose the interface.
	ErrNoInterface = errors.New("reply needs an outgoing interface")
	// ErrNoSource: a link-layer reply has no IPv4 source address to put in
	// the IP header it builds.
	ErrNoSource = errors.New("reply needs an IPv4 source address")
	// ErrBadReply: a reply's destination, payload or hardware address is not
	// usable (not IPv4, port 0, empty payload, address longer than 8 bytes).
	ErrBadReply = errors.New("malformed reply")
	// ErrNoL2: a link-layer reply was asked of a Conn opened with
	// [Config.DisableL2].
	ErrNoL2 = errors.New("link-layer replies are disabled")
)

// Config says what [Listen] opens.
type Config struct {
	// Port is the UDP port to bind on 0.0.0.0: 67 for a DHCP server, 0 for
	// any free port (tests).
	Port int
	// Interfaces names the interfaces whose datagrams are accepted; datagrams
	// arriving on any other interface are dropped and counted. Empty accepts
	// every interface.
	Interfaces []string
	// BatchSize is the most datagrams moved per recvmmsg or sendmmsg call;
	// zero means [DefaultBatchSize].
	BatchSize int
	// ReadBuffer is the socket's receive buffer in bytes; zero means
	// [DefaultReadBuffer]. With CAP_NET_ADMIN it is set with SO_RCVBUFFORCE,
	// else with SO_RCVBUF, which the kernel caps at net.core.rmem_max.
	ReadBuffer int
	// DisableL2 skips opening the AF_PACKET socket, so Listen needs no
	// CAP_NET_RAW; replies with HWAddr then fail with [ErrNoL2].
	DisableL2 bool
}

// Packet is one received datagram. Buf is owned by the caller, who sets it
// before [Conn.ReadBatch]; the other fields are filled in by ReadBatch.
type Packet struct {
	Buf     []byte         // caller's buffer; the datagram is Buf[:N]
	N       int            // length of the datagram
	IfIndex int            // ingress interface (IP_PKTINFO ipi_ifindex)
	Src     netip.AddrPort // sender, 0.0.0.0:68 for a client with no address
	Dst     netip.Addr     // IP header destination, e.g. 255.255.255.255 or a local unicast address
	// Local is the address the kernel would answer from on the ingress
	// interface (ipi_spec_dst): Dst when Dst is a local unicast address,
	// else the interface's primary address. A good default for Reply.Src.
	Local netip.Addr
}

// Data returns the received datagram, Buf[:N].
func (p *Packet) Data() []byte { return p.Buf[:p.N] }

// Reply is one datagram to send, addressed by the caller.
type Reply struct {
	Payload []byte
	// IfIndex is the interface to send on. Required for broadcast and for
	// link-layer replies; for unicast, zero lets the routing table choose
	// (right for a giaddr behind a gateway).
	IfIndex int
	// Src is the source address; the zero Addr lets the kernel choose
	// (not allowed for link-layer replies).
	Src netip.Addr
	// Dst is 255.255.255.255:68, ciaddr:68, giaddr:67 or yiaddr:68.
	Dst netip.AddrPort
	// HWAddr, when set, asks for link-layer unicast: the datagram is framed
	// here and sent to this hardware address on IfIndex, so a client that
	// has no address yet receives it without ARP (RFC 2131 section 4.1,
	// broadcast bit clear). Leave nil for every other reply.
	HWAddr net.HardwareAddr
}

// Stats are cumulative counters of a [Conn]. Every datagram read is counted
// exactly once, in Received or in one Dropped field.
type Stats struct {
	Received         uint64 `json:"received"`           // datagrams returned by ReadBatch
	DroppedInterface uint64 `json:"dropped_interface"`  // arrived on an interface not in Config.Interfaces
	DroppedTruncated uint64 `json:"dropped_truncated"`  // larger than the buffer it was read into
	DroppedNoPktinfo uint64 `json:"dropped_no_pktinfo"` // no IP_PKTINFO control message (should not happen)
	Sent             uint64 `json:"sent"`               // replies handed to the kernel
	SendErrors       uint64 `json:"send_errors"`        // replies refused here or by the kernel
}

// Conn is bootd's DHCP socket. See the package documentation.
type Conn struct {
	uc     *net.UDPConn
	pc     *ipv4.PacketConn
	port   uint16
	batch  int
	accept map[int]bool // nil accepts every interface
	l2     *l2Sock      // nil when Config.DisableL2

	rc       syscall.RawConn
	rmu      sync.Mutex // serialises ReadBatch; guards rmsg and rscratch
	rmsg     []ipv4.Message
	rscratch *recvScratch

	spool sync.Pool // *sendScratch

	received, droppedIface, droppedTrunc, droppedNoPktinfo atomic.Uint64
	sent, sendErrors                                       atomic.Uint64
}

// Listen opens the sockets described by cfg in the calling thread's network
// namespace. ctx bounds the setup only.
//
// The UDP socket does not set SO_REUSEADDR: on Linux that would let a second
// server bind the same port without error, after which both receive every
// broadcast and only one receives unicast (relayed and renewing clients).
// Without it, a second Listen on the port fails with EADDRINUSE.
func Listen(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("netio: port %d out of range", cfg.Port)
	}
	if cfg.BatchSize < 0 {
		return nil, fmt.Errorf("netio: negative batch size %d", cfg.BatchSize)
	}
	c := &Conn{batch: cfg.BatchSize}
	if c.batch == 0 {
		c.batch = DefaultBatchSize
	}
	if len(cfg.Interfaces) > 0 {
		c.accept = make(map[int]bool, len(cfg.Interfaces))
		for _, name := range cfg.Interfaces {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return nil, fmt.Errorf("netio: interface %q: %w", name, err)
			}
			c.accept[ifi.Index] = true
		}
	}

	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
				serr = fmt.Errorf("SO_BROADCAST: %w", serr)
			}
		})
		return errors.Join(err, serr)
	}}
	laddr := fmt.Sprintf("0.0.0.0:%d", cfg.Port)
	pconn, err := lc.ListenPacket(ctx, "udp4", laddr)
	if err != nil {
		return nil, fmt.Errorf("netio: listen on %s: %w", laddr, err)
	}
	c.uc = pconn.(*net.UDPConn)
	c.port = uint16(c.uc.LocalAddr().(*net.UDPAddr).Port)
	if cfg.ReadBuffer == 0 {
		cfg.ReadBuffer = DefaultReadBuffer
	}
	if cfg.ReadBuffer > 0 {
		if err := setReadBuffer(c.uc, cfg.ReadBuffer); err != nil {
			c.uc.Close()
			return nil, fmt.Errorf("netio: receive buffer of %d bytes: %w", cfg.ReadBuffer, err)
		}
	}
	c.pc = ipv4.NewPacketConn(c.uc)
	if err := c.pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		c.uc.Close()
		return nil, fmt.Errorf("netio: enable IP_PKTINFO: %w", err)
	}
	if !cfg.DisableL2 {
		if c.l2, err = openL2(); err != nil {
			c.uc.Close()
			return nil, fmt.Errorf("netio: %w", err)
		}
	}

	if c.rc, err = c.uc.SyscallConn(); err != nil {
		c.uc.Close()
		return nil, fmt.Errorf("netio: %w", err)
	}
	c.rscratch = newRecvScratch(c.batch)
	c.rmsg = make([]ipv4.Message, c.batch)
	for i := range c.rmsg {
		c.rmsg[i].Buffers = make([][]byte, 1)
		c.rmsg[i].OOB = make([]byte, pktinfoSpace)
	}
	c.spool.New = func() any { return newSendScratch(c.batch) }
	return c, nil
}

// setReadBuffer sets the receive buffer, past net.core.rmem_max when the
// process may (SO_RCVBUFFORCE needs CAP_NET_ADMIN).
func setReadBuffer(uc *net.UDPConn, n int) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) == nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	})
	return errors.Join(err, serr)
}

// LocalPort returns the UDP port the Conn is bound to.
func (c *Conn) LocalPort() int { return int(c.port) }

// Close closes the sockets. A ReadBatch blocked in another goroutine returns
// an error matching net.ErrClosed.
func (c *Conn) Close() error {
	err := c.uc.Close()
	if c.l2 != nil {
		err = errors.Join(err, c.l2.close())
	}
	if err != nil {
		return fmt.Errorf("netio: close: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Received:         c.received.Load(),
		DroppedInterface: c.droppedIface.Load(),
		DroppedTruncated: c.droppedTrunc.Load(),
		DroppedNoPktinfo: c.droppedNoPktinfo.Load(),
		Sent:             c.sent.Load(),
		SendErrors:       c.sendErrors.Load(),
	}
}

// ReadBatch blocks until at least one acceptable datagram arrives and fills
// pkts[:n] with up to len(pkts) of them (at most the batch size per call).
// Every pkts[i].Buf must be non-empty; ReadBatch may exchange Buf values
// between elements of pkts, so the caller's buffers stay the caller's but not
// necessarily in the same slots. After Close it returns an error matching
// net.ErrClosed. Calls are serialised.
func (c *Conn) ReadBatch(pkts []Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	for i := range pkts {
		if len(pkts[i].Buf) == 0 {
			return 0, fmt.Errorf("netio: read batch: packet %d has no buffer", i)
		}
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	ms := c.rmsg[:min(len(pkts), len(c.rmsg))]
	for {
		for i := range ms {
			ms[i].Buffers[0] = pkts[i].Buf
			ms[i].OOB = ms[i].OOB[:cap(ms[i].OOB)]
			ms[i].Addr = nil
		}
		k, err := c.recvmmsg(ms)
		if err != nil {
			return 0, fmt.Errorf("netio: read batch: %w", err)
		}
		if n := c.deliver(ms[:k], pkts); n > 0 {
			return n, nil
		}
	}
}

// deliver fills pkts from the first len(ms) messages read into pkts' buffers,
// dropping and counting unacceptable ones, and returns how many it kept, moved
// to the front of pkts.
func (c *Conn) deliver(ms []ipv4.Message, pkts []Packet) int {
	n := 0
	for i := range ms {
		m := &ms[i]
		if m.Flags&unix.MSG_TRUNC != 0 {
			c.droppedTrunc.Add(1)
			continue
		}
		info, ok := parsePktinfo(m.OOB[:m.NN])
		if !ok {
			c.droppedNoPktinfo.Add(1)
			continue
		}
		if c.accept != nil && !c.accept[info.ifIndex] {
			c.droppedIface.Add(1)
			continue
		}
		if n != i {
			pkts[n].Buf, pkts[i].Buf = pkts[i].Buf, pkts[n].Buf
		}
		p := &pkts[n]
		p.N = m.N
		p.IfIndex = info.ifIndex
		p.Dst = info.dst
		p.Local = info.local
		p.Src = netip.AddrPort{}
		if ua, ok := m.Addr.(*net.UDPAddr); ok {
			ap := ua.AddrPort()
			p.Src = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
		n++
	}
	c.received.Add(uint64(n))
	return n
}

// Send sends one reply. See [Conn.SendBatch].
func (c *Conn) Send(r Reply) error {
	_, err := c.SendBatch([]Reply{r})
	return err
}

// SendBatch sends rs in order, consecutive UDP replies in sendmmsg batches,
// and returns how many were sent. When n < len(rs), err says why rs[n] was not
// sent; the caller may skip it and call again with rs[n+1:].
func (c *Conn) SendBatch(rs []Reply) (int, error) {
	sent := 0
	for sent < len(rs) {
		r := &rs[sent]
		if len(r.HWAddr) > 0 {
			if err := c.sendL2(r); err != nil {
				c.sendErrors.Add(1)
				return sent, fmt.Errorf("netio: send to %v via %v on interface %d: %w", r.Dst, r.HWAddr, r.IfIndex, err)
			}
			c.sent.Add(1)
			sent++
			continue
		}
		end := sent + 1
		for end < len(rs) && end-sent < c.batch && len(rs[end].HWAddr) == 0 {
			end++
		}
		k, err := c.sendUDP(rs[sent:end])
		c.sent.Add(uint64(k))
		sent += k
		if err != nil {
			c.sendErrors.Add(1)
			r := &rs[sent]
			return sent, fmt.Errorf("netio: send to %v from %v on interface %d: %w", r.Dst, r.Src, r.IfIndex, err)
		}
	}
	return sent, nil
}

// sendScratch holds what one sendmmsg call needs, reused through a pool so
// sending allocates nothing per reply.
type sendScratch struct {
	ms    []ipv4.Message
	addrs []net.UDPAddr
	ips   [][4]byte
}

func newSendScratch(n int) *sendScratch {
	s := &sendScratch{ms: make([]ipv4.Message, n), addrs: make([]net.UDPAddr, n), ips: make([][4]byte, n)}
	for i := range s.ms {
		s.ms[i].Buffers = make([][]byte, 1)
		s.ms[i].OOB = make([]byte, pktinfoSpace)
		s.addrs[i].IP = s.ips[i][:]
		s.ms[i].Addr = &s.addrs[i]
	}
	return s
}

// sendUDP sends up to c.batch UDP replies and returns how many were sent;
// when fewer than len(rs), err says why rs[n] failed.
func (c *Conn) sendUDP(rs []Reply) (int, error) {
	var bad error
	for i := range rs {
		if err := checkUDP(&rs[i]); err != nil {
			rs, bad = rs[:i], err
			break
		}
	}
	s := c.spool.Get().(*sendScratch)
	defer c.spool.Put(s)
	for i := range rs {
		r, m := &rs[i], &s.ms[i]
		m.Buffers[0] = r.Payload
		s.ips[i] = r.Dst.Addr().Unmap().As4()
		s.addrs[i].Port = int(r.Dst.Port())
		m.OOB = m.OOB[:0]
		if r.IfIndex != 0 || r.Src.IsValid() {
			m.OOB = appendPktinfo(m.OOB, r.IfIndex, r.Src)
		}
	}
	n, err := c.writeBatch(s, rs)
	for i := range rs {
		s.ms[i].Buffers[0] = nil // do not keep the caller's payload alive in the pool
	}
	if err == nil {
		err = bad
	}
	return n, err
}

// writeBatch sends the first len(rs) messages of s, looping over partial
// sendmmsg results.
func (c *Conn) writeBatch(s *sendScratch, rs []Reply) (int, error) {
	done := 0
	for done < len(rs) {
		k, err := c.pc.WriteBatch(s.ms[done:len(rs)], 0)
		done += k
		if err != nil {
			return done, err
		}
		if k == 0 {
			return done, errors.New("sendmmsg sent nothing")
		}
	}
	return done, nil
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// checkUDP refuses replies the kernel would send somewhere other than asked.
func checkUDP(r *Reply) error {
	dst := r.Dst.Addr().Unmap()
	switch {
	case !dst.Is4() || r.Dst.Port() == 0:
		return fmt.Errorf("destination %v: %w", r.Dst, ErrBadReply)
	case len(r.Payload) == 0:
		return fmt.Errorf("empty payload: %w", ErrBadReply)
	case r.Src.IsValid() && !r.Src.Unmap().Is4():
		return fmt.Errorf("source %v: %w", r.Src, ErrBadReply)
	case dst == limitedBroadcast && r.IfIndex == 0:
		return ErrNoInterface
	case r.IfIndex < 0:
		return fmt.Errorf("interface index %d: %w", r.IfIndex, ErrBadReply)
	}
	return nil
}
