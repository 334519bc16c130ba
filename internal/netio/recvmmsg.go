package netio

import (
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// recvScratch is what one recvmmsg call needs, allocated once per Conn.
//
// bootd calls recvmmsg itself rather than through x/net's
// ipv4.PacketConn.ReadBatch because that allocates a *net.UDPAddr for
// every datagram, which was a third of the server's allocations under
// load. The sender addresses here live in addrs, reused from call to call.
type recvScratch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	addrs []net.UDPAddr
	ips   [][4]byte

	// The call itself, made once so that passing it to RawConn.Read does
	// not allocate a closure per read: want is the input, n and errno the
	// results.
	read    func(fd uintptr) bool
	want, n int
	errno   syscall.Errno
}

func newRecvScratch(n int) *recvScratch {
	r := &recvScratch{
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet4, n),
		addrs: make([]net.UDPAddr, n),
		ips:   make([][4]byte, n),
	}
	for i := range r.addrs {
		r.addrs[i].IP = r.ips[i][:]
	}
	r.read = func(fd uintptr) bool {
		for {
			r1, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.want),
				unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable
			}
			r.n, r.errno = int(r1), e
			return true
		}
	}
	return r
}

// recvmmsg reads up to len(ms) datagrams into ms[i].Buffers[0] (one buffer
// per message) and ms[i].OOB, filling N, NN, Flags and Addr as x/net's
// ReadBatch does. It blocks until at least one datagram is read. ms must
// not be longer than the scratch.
func (c *Conn) recvmmsg(ms []ipv4.Message) (int, error) {
	r := c.rscratch
	for i := range ms {
		buf, oob := ms[i].Buffers[0], ms[i].OOB
		r.iovs[i].Base = &buf[0]
		r.iovs[i].SetLen(len(buf))
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = nil
		h.SetControllen(0)
		if len(oob) > 0 {
			h.Control = &oob[0]
			h.SetControllen(len(oob))
		}
		h.Flags = 0
		r.hdrs[i].Len = 0
	}
	r.want, r.n, r.errno = len(ms), 0, 0
	if err := c.rc.Read(r.read); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, fmt.Errorf("recvmmsg: %w", r.errno)
	}
	n := r.n
	for i := range n {
		m, h, name := &ms[i], &r.hdrs[i], &r.names[i]
		m.N = int(h.Len)
		m.NN = int(h.Hdr.Controllen)
		m.Flags = int(h.Hdr.Flags)
		m.Addr = nil
		if h.Hdr.Namelen >= unix.SizeofSockaddrInet4 && name.Family == unix.AF_INET {
			r.ips[i] = name.Addr
			p := (*[2]byte)(unsafe.Pointer(&name.Port))
			r.addrs[i].Port = int(p[0])<<8 | int(p[1])
			m.Addr = &r.addrs[i]
		}
	}
	return n, nil
}
