package tftp

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tidConn is a transfer's socket: a blocking IPv4 UDP socket read and written
// with direct system calls, its read deadline a receive timeout
// (SO_RCVTIMEO). A transfer waits for one ACK at a time, and a thread
// blocked in recvfrom wakes as soon as it arrives, without a trip through
// the runtime's network poller; in lock-step transfers that is most of the
// time per block. The cost is a thread per waiting transfer, bounded by
// MaxTransfers.
type tidConn struct {
	fd       int
	closed   atomic.Bool
	mu       sync.Mutex // orders interrupt and close, so shutdown never meets a closed (or reused) fd
	released bool       // fd closed; under mu
	deadline time.Time
	timeo    time.Duration // SO_RCVTIMEO as last set; reads may end up to 1 ms past the deadline

	// sendmmsg scratch, grown to the largest batch once.
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
	name unix.RawSockaddrInet4
}

func listenTID(local netip.Addr) (*tidConn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	sa := &unix.SockaddrInet4{}
	if local.Is4() {
		sa.Addr = local.As4()
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return &tidConn{fd: fd}, nil
}

// interrupt wakes a blocked read, which then fails with net.ErrClosed, as
// does every later call. It is safe to call from another goroutine.
func (c *tidConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed.Store(true)
	if !c.released {
		// On an unconnected UDP socket shutdown reports ENOTCONN but still
		// wakes readers, whose recvfrom returns 0.
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

// close releases the socket once its reads and writes are over; interrupt
// may still be called.
func (c *tidConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed.Store(true)
	if !c.released {
		c.released = true
		unix.Close(c.fd)
	}
}

func (c *tidConn) localAddr() netip.AddrPort {
	sa, err := unix.Getsockname(c.fd)
	if s4, ok := sa.(*unix.SockaddrInet4); ok && err == nil {
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(s4.Port))
	}
	return netip.AddrPort{}
}

func (c *tidConn) SetReadDeadline(t time.Time) error {
	c.deadline = t
	return nil
}

func (c *tidConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	sa := rawSockaddr(to)
	for {
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(c.fd), uintptr(p), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, os.NewSyscallError("sendto", errno)
		}
		return int(n), nil
	}
}

func (c *tidConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		if c.closed.Load() {
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		left := time.Until(c.deadline)
		if left <= 0 {
			return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
		}
		// Deadlines come a fixed wait after each send, so the timeout
		// barely moves between reads: set it again only when it has moved
		// by more than a millisecond, sparing a system call per block.
		if d := left - c.timeo; d > time.Millisecond || d < -time.Millisecond {
			tv := unix.NsecToTimeval(left.Nanoseconds())
			if tv.Sec == 0 && tv.Usec == 0 {
				tv.Usec = 1 // zero would mean no timeout
			}
			if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return 0, netip.AddrPort{}, os.NewSyscallError("setsockopt", err)
			}
			c.timeo = left
		}
		var sa unix.RawSockaddrInet4
		salen := uint32(unix.SizeofSockaddrInet4)
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(c.fd), uintptr(p), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			continue // the timeout passed: the next round returns ErrDeadlineExceeded
		case errno != 0:
			return 0, netip.AddrPort{}, os.NewSyscallError("recvfrom", errno)
		case c.closed.Load():
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		port := uint16(sa.Port>>8) | uint16(sa.Port<<8) // network byte order
		return int(n), netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port), nil
	}
}

// rawSockaddr is to in the kernel's form, port in network byte order.
func rawSockaddr(to netip.AddrPort) unix.RawSockaddrInet4 {
	p := to.Port()
	return unix.RawSockaddrInet4{
		Family: unix.AF_INET,
		Port:   p>>8 | p<<8,
		Addr:   to.Addr().Unmap().As4(),
	}
}

// writeBatch sends pkts to one address with sendmmsg, in as few calls as the
// kernel takes them.
func (c *tidConn) writeBatch(pkts [][]byte, to netip.AddrPort) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	if len(c.hdrs) < len(pkts) {
		c.hdrs = make([]unix.Mmsghdr, len(pkts))
		c.iovs = make([]unix.Iovec, len(pkts))
	}
	c.name = rawSockaddr(to)
	for i, p := range pkts {
		c.iovs[i].Base = &p[0]
		c.iovs[i].SetLen(len(p))
		h := &c.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&c.name))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov = &c.iovs[i]
		h.SetIovlen(1)
	}
	for sent := 0; sent < len(pkts); {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&c.hdrs[sent])),
			uintptr(len(pkts)-sent), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return os.NewSyscallError("sendmmsg", errno)
		}
		if n == 0 {
			return io.ErrShortWrite // a blocking socket sends at least one
		}
		sent += int(n)
	}
	return nil
}
