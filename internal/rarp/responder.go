package rarp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvBufSize is the receive buffer: a RARP packet is 28 bytes, 46 with
// Ethernet padding. Anything longer is truncated by the kernel, and parse
// ignores what follows the first 28 bytes anyway.
const recvBufSize = 128

// Config configures a Responder.
type Config struct {
	// Interface is the name of the Ethernet interface to answer on.
	Interface string
	// Lookup returns the address reserved for mac, or false if there is
	// none. It is called from Serve's goroutine, once per request. mac
	// points into the responder's buffer: it is valid only during the
	// call and must not be kept or modified.
	Lookup func(mac net.HardwareAddr) (netip.Addr, bool)
	// Log receives a line per problem, and per packet at debug level. Nil
	// discards.
	Log *slog.Logger
}

// Stats are a Responder's counters since Listen.
type Stats struct {
	Requests   uint64 // well-formed reverse requests (opcode 3)
	Replies    uint64 // replies sent
	Unknown    uint64 // requests for a MAC without a reserved IPv4 address: not answered
	Malformed  uint64 // packets dropped: short, not Ethernet/IPv4, opcode not 3, odd sender address
	NoAddress  uint64 // requests for a known MAC not answered: the interface had no IPv4 address
	SendErrors uint64 // replies the kernel refused to send
}

// Responder answers RARP requests on one interface. Stats and Close are safe
// for concurrent use; Serve runs once.
type Responder struct {
	cfg     Config
	log     *slog.Logger
	f       *os.File // non-blocking, so the runtime poller serves it and deadlines work
	rc      syscall.RawConn
	ifindex int

	serving   atomic.Bool
	closed    atomic.Bool // set before the socket is closed, so Serve knows why its read failed
	closeOnce sync.Once
	closeErr  error

	requests, replies, unknown, malformed, noAddress, sendErrors atomic.Uint64

	// Serve's state. Buffers, syscall arguments and the callbacks given to
	// the RawConn live here, in the Responder, so that a request costs no
	// allocation: a local whose address is taken, or a closure, would
	// escape to the heap each time.
	buf     [recvBufSize]byte
	n       int
	from    unix.RawSockaddrLinklayer
	fromLen uint32
	recvErr error
	req     packet
	out     []byte
	to      unix.SockaddrLinklayer
	sendErr error
	ifr     ifreq
	ctlReq  uintptr
	ctlErr  error
	warned  bool // the interface's lack of an address has been logged at warn level

	recvFn, sendFn func(fd uintptr) bool
	ctlFn          func(fd uintptr)
	// local returns the interface's MAC and first IPv4 address: ifaceAddrs,
	// replaced by tests that run without a socket.
	local func() (mac [6]byte, addr netip.Addr, err error)
}

// ifreq is struct ifreq of netdevice(7) with the union read as a sockaddr:
// ifr_addr for SIOCGIFADDR, ifr_hwaddr for SIOCGIFHWADDR. 40 bytes, the
// kernel's size on 64-bit platforms (more than enough on 32-bit ones).
type ifreq struct {
	name   [unix.IFNAMSIZ]byte
	family uint16
	data   [22]byte
}

// Listen opens an AF_PACKET socket for RARP (ethertype 0x8035) on
// cfg.Interface, which must be an Ethernet interface. It needs CAP_NET_RAW.
// The socket belongs to the network namespace of the calling thread.
//
// The socket is SOCK_DGRAM: the kernel strips the Ethernet header from
// requests and builds it for replies (with the interface's MAC as source),
// and the requester's MAC and the packet type (broadcast, to us, ...) come
// in the sockaddr_ll. SOCK_RAW would only add Ethernet header parsing and
// building, and VLAN tags to care about.
func Listen(ctx context.Context, cfg Config) (*Responder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Interface == "" || len(cfg.Interface) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("rarp: interface name %q: want 1 to %d bytes", cfg.Interface, unix.IFNAMSIZ-1)
	}
	if cfg.Lookup == nil {
		return nil, errors.New("rarp: Config.Lookup is nil")
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("rarp: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("iface", cfg.Interface)

	// Opened with protocol 0, the socket receives nothing until bind gives
	// it a protocol and an interface, so no other interface's traffic is
	// queued in between.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("rarp: open AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_RARP), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("rarp: bind to %s: %w", cfg.Interface, err)
	}
	r := &Responder{
		cfg:     cfg,
		log:     log,
		f:       os.NewFile(uintptr(fd), "rarp-"+cfg.Interface),
		ifindex: ifi.Index,
		out:     make([]byte, 0, packetLen),
	}
	r.rc, err = r.f.SyscallConn()
	if err != nil {
		r.f.Close()
		return nil, fmt.Errorf("rarp: %w", err)
	}
	r.recvFn, r.sendFn, r.ctlFn = r.recv, r.send, r.ctl
	r.local = r.ifaceAddrs
	mac, addr, err := r.local()
	if err != nil && !errors.Is(err, errNoAddress) {
		r.f.Close()
		return nil, fmt.Errorf("rarp: %w", err)
	}
	if err != nil {
		log.Warn("rarp responder listening, but not answering until the interface has an IPv4 address",
			"mac", net.HardwareAddr(mac[:]).String())
	} else {
		log.Info("rarp responder listening", "mac", net.HardwareAddr(mac[:]).String(), "addr", addr)
	}
	return r, nil
}

// Stats returns a snapshot of the counters.
func (r *Responder) Stats() Stats {
	return Stats{
		Requests:   r.requests.Load(),
		Replies:    r.replies.Load(),
		Unknown:    r.unknown.Load(),
		Malformed:  r.malformed.Load(),
		NoAddress:  r.noAddress.Load(),
		SendErrors: r.sendErrors.Load(),
	}
}

// Close closes the socket. Serve closes it when it returns; Close is for a
// Responder that is never served, or to stop Serve without its context.
// Further calls return the first call's result.
func (r *Responder) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.closeErr = r.f.Close()
	})
	return r.closeErr
}

// Serve answers requests until ctx is cancelled or Close is called, then
// closes the socket and returns nil. It returns an error if the socket
// fails, and at once if called a second time.
//
// Frames the kernel marks as outgoing or as addressed to another host (seen
// in promiscuous mode) are ignored without being counted.
func (r *Responder) Serve(ctx context.Context) error {
	if !r.serving.CompareAndSwap(false, true) {
		return errors.New("rarp: Serve called twice")
	}
	defer r.Close()
	// A deadline in the past wakes the blocked read; the loop then sees
	// the cancelled context.
	stop := context.AfterFunc(ctx, func() { r.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	debug := r.log.Enabled(ctx, slog.LevelDebug)
	for ctx.Err() == nil {
		err := r.rc.Read(r.recvFn)
		if err == nil {
			err = r.recvErr
		}
		switch {
		case ctx.Err() != nil || r.closed.Load():
			return nil
		case errors.Is(err, unix.ENETDOWN):
			// Reported once each time the interface goes down; the
			// socket works again when it comes back up.
			r.log.Warn("rarp: interface went down")
			continue
		case err != nil:
			return fmt.Errorf("rarp: receive on %s: %w", r.cfg.Interface, err)
		}
		if r.from.Pkttype == unix.PACKET_OUTGOING || r.from.Pkttype == unix.PACKET_OTHERHOST {
			continue
		}
		if r.from.Halen != hlenEthernet {
			r.malformed.Add(1)
			if debug {
				r.log.Debug("rarp: dropped a frame with an odd source address", "halen", r.from.Halen)
			}
			continue
		}
		if !r.answer(ctx, r.buf[:r.n], debug) {
			continue
		}
		// Unicast to the requester: the Ethernet source of the request.
		r.to = unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_RARP), Ifindex: r.ifindex, Halen: hlenEthernet}
		copy(r.to.Addr[:], r.from.Addr[:hlenEthernet])
		err = r.rc.Write(r.sendFn)
		if err == nil {
			err = r.sendErr
		}
		if err != nil {
			r.sendErrors.Add(1)
			r.log.Warn("rarp: send reply", "to", net.HardwareAddr(r.to.Addr[:hlenEthernet]).String(), "err", err)
			continue
		}
		r.replies.Add(1)
		if debug {
			r.log.Debug("rarp: reply", "to", net.HardwareAddr(r.to.Addr[:hlenEthernet]).String(),
				"mac", net.HardwareAddr(r.req.tha[:]).String(), "addr", netip.AddrFrom4(r.req.tpa))
		}
	}
	return nil
}

// answer decides on the packet b. It returns true with the reply in r.out,
// and the request, its target protocol address replaced by the reserved
// address, in r.req; or false if there is nothing to send.
func (r *Responder) answer(ctx context.Context, b []byte, debug bool) bool {
	p, err := parse(b)
	if err == nil && p.op != opRequestReverse {
		err = fmt.Errorf("rarp opcode %d: not a reverse request", p.op)
	}
	if err != nil {
		r.malformed.Add(1)
		if debug {
			r.log.Debug("rarp: dropped", "err", err)
		}
		return false
	}
	r.requests.Add(1)
	r.req = p
	mac := net.HardwareAddr(r.req.tha[:])
	addr, ok := r.cfg.Lookup(mac)
	if !ok {
		r.unknown.Add(1)
		if debug {
			r.log.Debug("rarp: no address for", "mac", mac.String())
		}
		return false
	}
	if addr = addr.Unmap(); !addr.Is4() {
		r.unknown.Add(1)
		r.log.Warn("rarp: Lookup gave an address that is not IPv4", "mac", mac.String(), "addr", addr)
		return false
	}
	lmac, laddr, err := r.local()
	if err != nil {
		r.noAddress.Add(1)
		if !r.warned {
			// Once until an answer succeeds again: clients retry.
			r.warned = true
			r.log.Warn("rarp: not answering", "mac", mac.String(), "err", err)
		} else if debug {
			r.log.Debug("rarp: not answering", "mac", mac.String(), "err", err)
		}
		return false
	}
	r.warned = false
	r.req.tpa = addr.As4()
	reply := packet{op: opReplyReverse, sha: lmac, spa: laddr.As4(), tha: r.req.tha, tpa: r.req.tpa}
	r.out = reply.append(r.out[:0])
	return true
}

// errNoAddress: the interface has no IPv4 address to answer from.
var errNoAddress = errors.New("interface has no IPv4 address")

// ifaceAddrs asks the kernel, through ioctls on the responder's own socket
// (so in its network namespace), for the interface's MAC and its first
// IPv4 address (SIOCGIFADDR gives the primary address of the first
// subnet, as `ip -4 addr` lists first). It allocates nothing, so it runs for
// every answer: addresses added or removed later are seen at once.
func (r *Responder) ifaceAddrs() (mac [6]byte, addr netip.Addr, err error) {
	if err := r.ioctl(unix.SIOCGIFHWADDR); err != nil {
		return mac, addr, fmt.Errorf("SIOCGIFHWADDR %s: %w", r.cfg.Interface, err)
	}
	if r.ifr.family != unix.ARPHRD_ETHER {
		return mac, addr, fmt.Errorf("%s is not an Ethernet interface (hardware type %d)", r.cfg.Interface, r.ifr.family)
	}
	copy(mac[:], r.ifr.data[:6])
	err = r.ioctl(unix.SIOCGIFADDR)
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return mac, addr, fmt.Errorf("%s: %w", r.cfg.Interface, errNoAddress)
	}
	if err != nil {
		return mac, addr, fmt.Errorf("SIOCGIFADDR %s: %w", r.cfg.Interface, err)
	}
	if r.ifr.family != unix.AF_INET {
		return mac, addr, fmt.Errorf("SIOCGIFADDR %s: address family %d", r.cfg.Interface, r.ifr.family)
	}
	return mac, netip.AddrFrom4([4]byte(r.ifr.data[2:6])), nil
}

func (r *Responder) ioctl(req uintptr) error {
	r.ctlReq = req
	if err := r.rc.Control(r.ctlFn); err != nil {
		return err
	}
	return r.ctlErr
}

// ctl runs the ioctl r.ctlReq on r.ifr, named after the interface.
func (r *Responder) ctl(fd uintptr) {
	r.ifr = ifreq{}
	copy(r.ifr.name[:], r.cfg.Interface)
	_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, r.ctlReq, uintptr(unsafe.Pointer(&r.ifr)))
	r.ctlErr = errnoErr(e)
}

// recv reads one datagram into r.buf with its sockaddr_ll in r.from.
// unix.Recvfrom would return the sender as a new unix.Sockaddr each time.
func (r *Responder) recv(fd uintptr) bool {
	for {
		r.fromLen = unix.SizeofSockaddrLinklayer
		n, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)), 0,
			uintptr(unsafe.Pointer(&r.from)), uintptr(unsafe.Pointer(&r.fromLen)))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait for the poller
		}
		r.n, r.recvErr = int(n), errnoErr(e)
		return true
	}
}

// send writes r.out to r.to.
func (r *Responder) send(fd uintptr) bool {
	r.sendErr = unix.Sendto(int(fd), r.out, 0, &r.to)
	return !errors.Is(r.sendErr, unix.EAGAIN)
}

// errnoErr is e as an error, nil for 0.
func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
