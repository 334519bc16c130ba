package netio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// These tests need no privileges: pure functions, and Conns on the host's
// loopback with DisableL2.

var loopback = netip.MustParseAddr("127.0.0.1")

// listenLoopback opens a Conn on a free port that accepts only loopback
// traffic and closes it when the test ends.
func listenLoopback(t testing.TB) *Conn {
	t.Helper()
	c, err := Listen(t.Context(), Config{Interfaces: []string{loopbackName(t)}, DisableL2: true})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func loopbackName(t testing.TB) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

func TestPktinfoRoundTrip(t *testing.T) {
	// What Send writes is laid out like what the kernel gives ReadBatch.
	for _, tc := range []struct {
		ifIndex int
		src     netip.Addr
	}{
		{3, netip.MustParseAddr("198.18.10.1")},
		{0, netip.MustParseAddr("198.18.0.1")},
		{7, netip.Addr{}},
		{1<<31 - 1, netip.MustParseAddr("255.255.255.255")},
	} {
		oob := appendPktinfo(nil, tc.ifIndex, tc.src)
		if len(oob) != pktinfoSpace {
			t.Errorf("appendPktinfo(%d, %v): %d bytes, want %d", tc.ifIndex, tc.src, len(oob), pktinfoSpace)
		}
		got, ok := parsePktinfo(oob)
		wantLocal := tc.src
		if !wantLocal.IsValid() {
			wantLocal = netip.IPv4Unspecified()
		}
		if want := (pktinfo{tc.ifIndex, wantLocal, netip.IPv4Unspecified()}); !ok || got != want {
			t.Errorf("parsePktinfo(appendPktinfo(%d, %v)) = %+v, %v; want %+v, true", tc.ifIndex, tc.src, got, ok, want)
		}
	}
}

func TestParsePktinfoFindsItAmongOthers(t *testing.T) {
	other := make([]byte, unix.CmsgSpace(4))
	putCmsgHdr(other, unix.CmsgLen(4), unix.SOL_SOCKET, unix.SCM_RIGHTS)
	oob := appendPktinfo(other, 9, netip.MustParseAddr("198.18.1.1"))
	got, ok := parsePktinfo(oob)
	if !ok || got.ifIndex != 9 || got.local != netip.MustParseAddr("198.18.1.1") {
		t.Errorf("parsePktinfo = %+v, %v; want ifIndex 9, local 198.18.1.1", got, ok)
	}
}

func TestParsePktinfoRejectsMalformed(t *testing.T) {
	good := appendPktinfo(nil, 4, netip.MustParseAddr("198.18.1.1"))
	lenTooBig := bytes.Clone(good)
	putCmsgHdr(lenTooBig, len(good)+1, unix.IPPROTO_IP, unix.IP_PKTINFO)
	lenTooSmall := bytes.Clone(good)
	putCmsgHdr(lenTooSmall, unix.SizeofCmsghdr-1, unix.IPPROTO_IP, unix.IP_PKTINFO)
	shortData := bytes.Clone(good)
	putCmsgHdr(shortData, unix.CmsgLen(unix.SizeofInet4Pktinfo-1), unix.IPPROTO_IP, unix.IP_PKTINFO)
	wrongType := bytes.Clone(good)
	putCmsgHdr(wrongType, unix.CmsgLen(unix.SizeofInet4Pktinfo), unix.IPPROTO_IP, unix.IP_TTL)
	for name, oob := range map[string][]byte{
		"empty":          nil,
		"header only":    good[:unix.SizeofCmsghdr],
		"truncated":      good[:unix.CmsgLen(unix.SizeofInet4Pktinfo)-1],
		"length too big": lenTooBig,
		"length < hdr":   lenTooSmall,
		"short data":     shortData,
		"other type":     wrongType,
	} {
		if got, ok := parsePktinfo(oob); ok {
			t.Errorf("%s: parsePktinfo = %+v, true; want false", name, got)
		}
	}
}

func TestDeliverFiltersAndCompacts(t *testing.T) {
	c := &Conn{accept: map[int]bool{2: true}}
	msg := func(ifIndex int, n int, flags int) ipv4.Message {
		return ipv4.Message{
			OOB:   appendPktinfo(nil, ifIndex, netip.MustParseAddr("198.18.10.1")),
			NN:    pktinfoSpace,
			N:     n,
			Flags: flags,
			Addr:  &net.UDPAddr{IP: net.IPv4zero, Port: 68},
		}
	}
	ms := []ipv4.Message{
		msg(1, 10, 0),              // other interface
		msg(2, 11, 0),              // kept
		msg(2, 12, unix.MSG_TRUNC), // truncated
		{N: 13},                    // no pktinfo
		msg(2, 14, 0),              // kept
	}
	pkts := make([]Packet, len(ms))
	for i := range pkts {
		pkts[i].Buf = []byte{byte(i)} // which buffer holds which datagram
	}
	n := c.deliver(ms, pkts)
	if n != 2 {
		t.Fatalf("deliver kept %d, want 2", n)
	}
	for i, want := range []struct {
		buf byte
		n   int
	}{{1, 11}, {4, 14}} {
		p := pkts[i]
		if p.Buf[0] != want.buf || p.N != want.n || p.IfIndex != 2 || p.Src != netip.MustParseAddrPort("0.0.0.0:68") || p.Local != netip.MustParseAddr("198.18.10.1") {
			t.Errorf("pkts[%d] = %+v, want buffer %d, N %d, IfIndex 2, Src 0.0.0.0:68, Local 198.18.10.1", i, p, want.buf, want.n)
		}
	}
	var bufs []byte
	for _, p := range pkts {
		bufs = append(bufs, p.Buf[0])
	}
	slices.Sort(bufs)
	if !bytes.Equal(bufs, []byte{0, 1, 2, 3, 4}) {
		t.Errorf("buffers after deliver = %v, want the caller's five, permuted", bufs)
	}
	want := Stats{Received: 2, DroppedInterface: 1, DroppedTruncated: 1, DroppedNoPktinfo: 1}
	if got := c.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestAppendIPv4UDPMatchesGopacket(t *testing.T) {
	src := netip.MustParseAddrPort("198.18.10.1:67")
	dst := netip.MustParseAddrPort("198.18.10.50:68")
	for _, size := range []int{1, 2, 299, 300, 548, 1472} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i*7 + size)
		}
		got := appendIPv4UDP([]byte{0xee}, src, dst, payload)[1:]

		ip := &layers.IPv4{Version: 4, IHL: 5, Flags: layers.IPv4DontFragment, TTL: frameTTL, Protocol: layers.IPProtocolUDP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		if want := buf.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("%d-byte payload:\n got %x\nwant %x", size, got[:28], want[:28])
		}
	}
}

func TestAppendIPv4UDPZeroChecksumSentAsFFFF(t *testing.T) {
	src := netip.MustParseAddrPort("198.18.10.1:67")
	dst := netip.MustParseAddrPort("198.18.10.50:68")
	payload := make([]byte, 300)
	// With the last word zero the checksum is c; making the last word c
	// brings the sum to 0xffff, whose complement 0 must go out as 0xffff.
	c := binary.BigEndian.Uint16(appendIPv4UDP(nil, src, dst, payload)[26:])
	binary.BigEndian.PutUint16(payload[298:], c)
	if got := binary.BigEndian.Uint16(appendIPv4UDP(nil, src, dst, payload)[26:]); got != 0xffff {
		t.Errorf("UDP checksum = %#04x, want 0xffff", got)
	}
}

func TestCheckReply(t *testing.T) {
	p := []byte{1}
	src := netip.MustParseAddr("198.18.10.1")
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	for _, tc := range []struct {
		name string
		r    Reply
		want error // nil: accepted
	}{
		{"broadcast", Reply{Payload: p, IfIndex: 2, Src: src, Dst: bcast68}, nil},
		{"broadcast, kernel picks source", Reply{Payload: p, IfIndex: 2, Dst: bcast68}, nil},
		{"broadcast without interface", Reply{Payload: p, Src: src, Dst: bcast68}, ErrNoInterface},
		{"routed unicast", Reply{Payload: p, Src: src, Dst: netip.MustParseAddrPort("198.18.12.1:67")}, nil},
		{"4in6 destination", Reply{Payload: p, Dst: netip.MustParseAddrPort("[::ffff:198.18.12.1]:67")}, nil},
		{"IPv6 destination", Reply{Payload: p, Dst: netip.MustParseAddrPort("[2001:db8::1]:67")}, ErrBadReply},
		{"IPv6 source", Reply{Payload: p, Src: netip.MustParseAddr("2001:db8::1"), Dst: bcast68, IfIndex: 1}, ErrBadReply},
		{"port 0", Reply{Payload: p, Dst: netip.MustParseAddrPort("198.18.12.1:0")}, ErrBadReply},
		{"no destination", Reply{Payload: p}, ErrBadReply},
		{"empty payload", Reply{IfIndex: 2, Dst: bcast68}, ErrBadReply},
		{"negative interface", Reply{Payload: p, IfIndex: -1, Dst: netip.MustParseAddrPort("198.18.12.1:67")}, ErrBadReply},
	} {
		if err := checkUDP(&tc.r); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("checkUDP(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		r    Reply
		want error
	}{
		{"good", Reply{Payload: p, IfIndex: 2, Src: src, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: mac}, nil},
		{"no interface", Reply{Payload: p, Src: src, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: mac}, ErrNoInterface},
		{"no source", Reply{Payload: p, IfIndex: 2, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: mac}, ErrNoSource},
		{"source 0.0.0.0", Reply{Payload: p, IfIndex: 2, Src: netip.IPv4Unspecified(), Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: mac}, ErrNoSource},
		{"no destination", Reply{Payload: p, IfIndex: 2, Src: src, HWAddr: mac}, ErrBadReply},
		{"empty payload", Reply{IfIndex: 2, Src: src, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: mac}, ErrBadReply},
		{"oversized payload", Reply{Payload: make([]byte, 65508), IfIndex: 2, Src: src, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: mac}, ErrBadReply},
		{"20-byte hardware address", Reply{Payload: p, IfIndex: 2, Src: src, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: make(net.HardwareAddr, 20)}, ErrBadReply},
	} {
		if err := checkL2(&tc.r); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("checkL2(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestLoopbackBatches(t *testing.T) {
	t.Parallel()
	a, b := listenLoopback(t), listenLoopback(t)
	lo := netip.AddrPortFrom(loopback, uint16(b.LocalPort()))
	const count = DefaultBatchSize*2 + 3 // several sendmmsg calls
	rs := make([]Reply, count)
	for i := range rs {
		rs[i] = Reply{Payload: bootReply(uint32(i), netip.Addr{}), Src: loopback, Dst: lo}
	}
	if n, err := a.SendBatch(rs); n != count || err != nil {
		t.Fatalf("SendBatch = %d, %v; want %d, nil", n, err, count)
	}
	pkts := make([]Packet, 16)
	for i := range pkts {
		pkts[i].Buf = make([]byte, 1500)
	}
	ch := startReader(t, b)
	for i := range count {
		p := next(t, ch, func(Packet) bool { return true })
		if got := xidOf(p.Data()); got != uint32(i) {
			t.Fatalf("datagram %d has xid %d", i, got)
		}
		if want := netip.AddrPortFrom(loopback, uint16(a.LocalPort())); p.Src != want || p.Dst != loopback || p.Local != loopback || p.N != 300 {
			t.Fatalf("datagram %d: Src %v Dst %v Local %v N %d; want %v %v %v 300", i, p.Src, p.Dst, p.Local, p.N, want, loopback, loopback)
		}
	}
	if got := a.Stats(); got.Sent != count || got.SendErrors != 0 {
		t.Errorf("sender Stats() = %+v, want Sent %d", got, count)
	}
	waitFor(t, "receiver counts", func() bool { return b.Stats().Received == count })
}

func TestSendBatchStopsAtBadReply(t *testing.T) {
	t.Parallel()
	a, b := listenLoopback(t), listenLoopback(t)
	lo := netip.AddrPortFrom(loopback, uint16(b.LocalPort()))
	rs := []Reply{
		{Payload: bootReply(1, netip.Addr{}), Dst: lo},
		{Payload: bootReply(2, netip.Addr{}), Dst: bcast68}, // no interface
		{Payload: bootReply(3, netip.Addr{}), Dst: lo, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
		{Payload: bootReply(4, netip.Addr{}), Dst: lo},
	}
	n, err := a.SendBatch(rs)
	if n != 1 || !errors.Is(err, ErrNoInterface) {
		t.Fatalf("SendBatch = %d, %v; want 1, ErrNoInterface", n, err)
	}
	n, err = a.SendBatch(rs[2:])
	if n != 0 || !errors.Is(err, ErrNoL2) {
		t.Fatalf("SendBatch(rs[2:]) = %d, %v; want 0, ErrNoL2", n, err)
	}
	if n, err = a.SendBatch(rs[3:]); n != 1 || err != nil {
		t.Fatalf("SendBatch(rs[3:]) = %d, %v; want 1, nil", n, err)
	}
	ch := startReader(t, b)
	for _, want := range []uint32{1, 4} {
		if p := next(t, ch, func(Packet) bool { return true }); xidOf(p.Data()) != want {
			t.Errorf("received xid %d, want %d", xidOf(p.Data()), want)
		}
	}
	if got := a.Stats(); got.Sent != 2 || got.SendErrors != 2 {
		t.Errorf("Stats() = %+v, want Sent 2, SendErrors 2", got)
	}
}

func TestSecondListenOnSamePortFails(t *testing.T) {
	t.Parallel()
	a := listenLoopback(t)
	b, err := Listen(t.Context(), Config{Port: a.LocalPort(), DisableL2: true})
	if err == nil {
		b.Close()
		t.Fatalf("second Listen on port %d succeeded; two servers would share the port", a.LocalPort())
	}
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("second Listen: %v, want EADDRINUSE", err)
	}
}

func TestReadBatchRejectsEmptyBuffer(t *testing.T) {
	t.Parallel()
	c := listenLoopback(t)
	if _, err := c.ReadBatch([]Packet{{Buf: make([]byte, 10)}, {}}); err == nil {
		t.Error("ReadBatch with an empty buffer succeeded")
	}
	if n, err := c.ReadBatch(nil); n != 0 || err != nil {
		t.Errorf("ReadBatch(nil) = %d, %v; want 0, nil", n, err)
	}
}

// Not parallel: it checks that no goroutine is left in this package, which
// only means something while no other test of the package is running.
func TestCloseUnblocksReadBatch(t *testing.T) {
	c, err := Listen(t.Context(), Config{DisableL2: true})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := c.ReadBatch([]Packet{{Buf: make([]byte, 1500)}})
		errc <- err
	}()
	<-started
	// Wait until the reader is really blocked in the kernel's poller, so the
	// test covers unblocking and not an early exit.
	waitFor(t, "reader blocked in ReadBatch", func() bool { return goroutinesIn("netio.(*Conn).ReadBatch") == 1 })
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadBatch after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(time.Until(deadline(t))):
		t.Fatal("ReadBatch still blocked after Close")
	}
	waitFor(t, "no goroutine left in a Conn method", func() bool { return goroutinesIn("netio.(*Conn).") == 0 })
	if _, err := c.ReadBatch([]Packet{{Buf: make([]byte, 1500)}}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadBatch on a closed Conn: %v, want net.ErrClosed", err)
	}
}

// maxAllocsPerRoundTrip pins the allocations of one Send and one ReadBatch
// of a single datagram: neither allocates.
const maxAllocsPerRoundTrip = 0

// goroutinesIn counts goroutines whose stack mentions fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

func TestSendAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	a, b := listenLoopback(t), listenLoopback(t)
	r := Reply{Payload: bootReply(1, netip.Addr{}), Src: loopback, Dst: netip.AddrPortFrom(loopback, uint16(b.LocalPort()))}
	pkts := []Packet{{Buf: make([]byte, 1500)}}
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.Send(r); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ReadBatch(pkts); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per Send+ReadBatch", allocs)
	if allocs > maxAllocsPerRoundTrip {
		t.Errorf("%.1f allocations per Send+ReadBatch, want at most %d", allocs, maxAllocsPerRoundTrip)
	}
}

// TestReadBufferHoldsABurst: the socket's receive buffer is the default
// asked for (Linux reports twice the size set), past net.core.rmem_max
// when running as root, so a burst of requests is queued, not dropped.
func TestReadBufferHoldsABurst(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_RCVBUFFORCE needs root (CAP_NET_ADMIN)")
	}
	c := listenLoopback(t)
	rc, err := c.uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var serr error
	if err := rc.Control(func(fd uintptr) { got, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if got < DefaultReadBuffer {
		t.Errorf("SO_RCVBUF = %d, want at least %d", got, DefaultReadBuffer)
	}
}
