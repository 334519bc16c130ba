package netio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"bootd/internal/testnet"

	"golang.org/x/sys/unix"
)

// ioTimeout bounds every wait for a datagram in these tests.
const ioTimeout = 10 * time.Second

// deadline is when a wait that starts now must give up: ioTimeout from now,
// or earlier if the test itself ends earlier.
func deadline(t *testing.T) time.Time {
	d := time.Now().Add(ioTimeout)
	if td, ok := t.Deadline(); ok && td.Before(d) {
		d = td
	}
	return d
}

// Addresses of the test topology, all in 198.18.0.0/15.
var (
	srvAddr0  = netip.MustParseAddr("198.18.10.1")   // server on s0, the client c0's link
	srvAddr1  = netip.MustParseAddr("198.18.20.1")   // server on s1, the client c1's link
	srvAddr2  = netip.MustParseAddr("198.18.11.254") // server on s2, the relay's link
	srvVIP    = netip.MustParseAddr("198.18.0.1")    // server service address on its loopback
	relayAddr = netip.MustParseAddr("198.18.11.1")   // relay on r0, facing the server
	giaddr    = netip.MustParseAddr("198.18.12.1")   // relay, on its loopback, standing for its client-facing link
	yiaddr    = netip.MustParseAddr("198.18.10.50")  // address offered to c0
	bcast68   = netip.AddrPortFrom(limitedBroadcast, 68)
)

// topo is a server namespace with three links:
//
//	srv s0 198.18.10.1/24  --- c0 (no address)   cli
//	srv s1 198.18.20.1/24  --- c1 (no address)   cli2
//	srv s2 198.18.11.254/24 --- r0 198.18.11.1/24 relay, lo 198.18.12.1/32 (giaddr)
//	srv lo 198.18.0.1/32, route 198.18.12.0/24 via 198.18.11.1, default dev s1
//
// and a Conn on port 67 in srv whose reads are forwarded to pkts.
type topo struct {
	srv, cli, cli2, relay *testnet.Namespace
	s0, s1, s2, c0, c1    *net.Interface
	conn                  *Conn
	pkts                  chan Packet // copies of what conn reads
}

// newTopo builds the topology and listens in srv with cfg (Port defaults to 67).
func newTopo(t *testing.T, cfg Config) *topo {
	t.Helper()
	tp := &topo{
		srv:   testnet.New(t, "srv"),
		cli:   testnet.New(t, "cli"),
		cli2:  testnet.New(t, "cli2"),
		relay: testnet.New(t, "relay"),
	}
	testnet.Veth(t, tp.srv, "s0", tp.cli, "c0")
	testnet.Veth(t, tp.srv, "s1", tp.cli2, "c1")
	testnet.Veth(t, tp.srv, "s2", tp.relay, "r0")
	tp.srv.IP("addr", "add", "198.18.10.1/24", "dev", "s0")
	tp.srv.IP("addr", "add", "198.18.20.1/24", "dev", "s1")
	tp.srv.IP("addr", "add", "198.18.11.254/24", "dev", "s2")
	tp.srv.IP("addr", "add", "198.18.0.1/32", "dev", "lo")
	tp.srv.IP("route", "add", "198.18.12.0/24", "via", "198.18.11.1")
	// A default route out of s1, so a broadcast sent by the routing table
	// would leave on s1: the trap the tests check Send avoids.
	tp.srv.IP("route", "add", "default", "dev", "s1")
	tp.relay.IP("addr", "add", "198.18.11.1/24", "dev", "r0")
	tp.relay.IP("addr", "add", "198.18.12.1/32", "dev", "lo") // stands for its client-facing link
	tp.relay.IP("route", "add", "198.18.0.1/32", "via", "198.18.11.254")
	// The clients have no address, like DHCP clients; accepting the
	// server's broadcast on a UDP socket then needs reverse-path filtering
	// off (real clients use packet sockets and do not care).
	for _, ns := range []*testnet.Namespace{tp.cli, tp.cli2} {
		ns.Sysctl("net.ipv4.conf.all.rp_filter", "0")
		ns.Sysctl("net.ipv4.conf.default.rp_filter", "0")
	}
	tp.cli.Sysctl("net.ipv4.conf.c0.rp_filter", "0")
	tp.cli2.Sysctl("net.ipv4.conf.c1.rp_filter", "0")
	tp.s0, tp.s1, tp.s2 = tp.srv.Interface("s0"), tp.srv.Interface("s1"), tp.srv.Interface("s2")
	tp.c0, tp.c1 = tp.cli.Interface("c0"), tp.cli2.Interface("c1")

	if cfg.Port == 0 {
		cfg.Port = 67
	}
	err := tp.srv.Do(func() (err error) {
		tp.conn, err = Listen(t.Context(), cfg)
		return err
	})
	if err != nil {
		t.Fatalf("Listen in %s: %v", tp.srv.Name, err)
	}
	tp.pkts = startReader(t, tp.conn)
	return tp
}

// startReader reads c in a goroutine until it is closed and forwards a copy
// of every packet. Cleanup closes c and waits for the goroutine to end.
func startReader(t *testing.T, c *Conn) chan Packet {
	out := make(chan Packet, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		pkts := make([]Packet, 8)
		for i := range pkts {
			pkts[i].Buf = make([]byte, 2048)
		}
		for {
			n, err := c.ReadBatch(pkts)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("ReadBatch: %v", err)
				}
				return
			}
			for _, p := range pkts[:n] {
				p.Buf = bytes.Clone(p.Data())
				select {
				case out <- p:
				default:
					t.Errorf("reader: channel full, dropping %v", p.Src)
				}
			}
		}
	})
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
	return out
}

// next waits for the next packet the server reads that satisfies match.
func next(t *testing.T, pkts <-chan Packet, match func(Packet) bool) Packet {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline(t)))
	defer timer.Stop()
	for {
		select {
		case p := <-pkts:
			if match(p) {
				return p
			}
		case <-timer.C:
			t.Fatalf("no matching packet read by the server within %v", ioTimeout)
		case <-t.Context().Done():
			t.Fatal("test context ended while waiting for a packet")
		}
	}
}

// udpSocket opens a UDP socket on 0.0.0.0:port in ns, bound to device dev
// (unless empty), with SO_BROADCAST, like a DHCP client or relay would.
func udpSocket(t *testing.T, ns *testnet.Namespace, dev string, port int) *net.UDPConn {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = errors.Join(
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1),
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1))
			if dev != "" {
				serr = errors.Join(serr, unix.BindToDevice(int(fd), dev))
			}
		})
		return errors.Join(err, serr)
	}}
	var uc *net.UDPConn
	err := ns.Do(func() error {
		pc, err := lc.ListenPacket(context.Background(), "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String())
		if err != nil {
			return err
		}
		uc = pc.(*net.UDPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("UDP socket on %s:%d in %s: %v", dev, port, ns.Name, err)
	}
	t.Cleanup(func() { uc.Close() })
	return uc
}

// recvUDP waits for a datagram on uc satisfying match and returns it with
// its source.
func recvUDP(t *testing.T, uc *net.UDPConn, match func(netip.AddrPort, []byte) bool) (netip.AddrPort, []byte) {
	t.Helper()
	if err := uc.SetReadDeadline(deadline(t)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for a datagram on %v: %v", uc.LocalAddr(), err)
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if match(from, buf[:n]) {
			return from, bytes.Clone(buf[:n])
		}
	}
}

// packetSocket opens an AF_PACKET SOCK_RAW socket in ns receiving every IPv4
// frame on the interface with index ifIndex, Ethernet header included. A
// test can watch a link this way even where no UDP socket would accept the
// datagram (no address on the interface).
func packetSocket(t *testing.T, ns *testnet.Namespace, ifIndex int) *os.File {
	t.Helper()
	var f *os.File
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifIndex}); err != nil {
			unix.Close(fd)
			return err
		}
		f = os.NewFile(uintptr(fd), "test-packet")
		return nil
	})
	if err != nil {
		t.Fatalf("packet socket on interface %d in %s: %v", ifIndex, ns.Name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// frame is a received Ethernet/IPv4/UDP frame, taken apart.
type frame struct {
	ethDst, ethSrc    net.HardwareAddr
	ipSrc, ipDst      netip.Addr
	sport, dport      uint16
	payload           []byte
	ipSumOK, udpSumOK bool
}

// parseFrame takes apart an Ethernet frame carrying IPv4/UDP, or returns false.
func parseFrame(b []byte) (frame, bool) {
	const eth = 14
	if len(b) < eth+ipv4HeaderLen+udpHeaderLen || binary.BigEndian.Uint16(b[12:]) != unix.ETH_P_IP {
		return frame{}, false
	}
	ip := b[eth:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < ipv4HeaderLen || total > len(ip) || total < ihl+udpHeaderLen || ip[9] != unix.IPPROTO_UDP {
		return frame{}, false
	}
	udp := ip[ihl:total]
	f := frame{
		ethDst:  net.HardwareAddr(bytes.Clone(b[0:6])),
		ethSrc:  net.HardwareAddr(bytes.Clone(b[6:12])),
		ipSrc:   netip.AddrFrom4([4]byte(ip[12:16])),
		ipDst:   netip.AddrFrom4([4]byte(ip[16:20])),
		sport:   binary.BigEndian.Uint16(udp[0:]),
		dport:   binary.BigEndian.Uint16(udp[2:]),
		payload: bytes.Clone(udp[udpHeaderLen:]),
		ipSumOK: fold(sum(0, ip[:ihl])) == 0xffff,
	}
	acc := sum(sum(0, ip[12:16]), ip[16:20]) + unix.IPPROTO_UDP + uint32(len(udp))
	f.udpSumOK = fold(sum(acc, udp)) == 0xffff
	return f, true
}

// recvFrame waits for a frame on the packet socket satisfying match.
func recvFrame(t *testing.T, f *os.File, match func(frame) bool) frame {
	t.Helper()
	if err := f.SetReadDeadline(deadline(t)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("waiting for a frame: %v", err)
		}
		if fr, ok := parseFrame(buf[:n]); ok && match(fr) {
			return fr
		}
	}
}

// bootRequest returns a 300-byte BOOTREQUEST shaped like a DHCPDISCOVER (or,
// with a giaddr, like one relayed), from the client with hardware address
// mac, with xid and the broadcast flag as given.
func bootRequest(xid uint32, mac net.HardwareAddr, broadcast bool, gi netip.Addr) []byte {
	b := make([]byte, 300)
	b[0], b[1], b[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, hlen 6
	binary.BigEndian.PutUint32(b[4:], xid)
	if broadcast {
		b[10] = 0x80
	}
	if gi.IsValid() {
		b[3] = 1 // hops
		a := gi.As4()
		copy(b[24:28], a[:])
	}
	copy(b[28:], mac)
	copy(b[236:], []byte{99, 130, 83, 99, 53, 1, 1, 255}) // magic cookie, DHCPDISCOVER, end
	return b
}

// bootReply returns a payload tagged with xid, enough to tell replies apart.
func bootReply(xid uint32, yi netip.Addr) []byte {
	b := make([]byte, 300)
	b[0], b[1], b[2] = 2, 1, 6 // BOOTREPLY
	binary.BigEndian.PutUint32(b[4:], xid)
	if yi.IsValid() {
		a := yi.As4()
		copy(b[16:20], a[:])
	}
	copy(b[236:], []byte{99, 130, 83, 99, 53, 1, 2, 255}) // DHCPOFFER
	return b
}

func xidOf(b []byte) uint32 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint32(b[4:])
}
