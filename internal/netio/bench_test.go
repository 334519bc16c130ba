package netio

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"bootd/internal/testnet"
)

// BenchmarkReadWrite moves 300-byte DHCP-sized datagrams from one Conn to
// another, batch replies per SendBatch and as many ReadBatch calls as it
// takes to read them back, and reports datagrams per second; each datagram
// is both sent and received, so this is the socket work of one request and
// its reply.
//
//   - lo: over the host's loopback; needs no privileges.
//   - veth: between two network namespaces over a veth pair, by UDP
//     (neighbour entry preset) or by the link-layer path (root only).
//     Frames injected on lo from 127.0.0.1 are dropped as martians, hence
//     the veth pair for the link-layer path.
func BenchmarkReadWrite(b *testing.B) {
	for _, batch := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("lo/udp/batch=%d", batch), func(b *testing.B) {
			lo := loopbackName(b)
			ifi, err := net.InterfaceByName(lo)
			if err != nil {
				b.Fatal(err)
			}
			src := listenBench(b, nil, Config{DisableL2: true})
			dst := listenBench(b, nil, Config{Interfaces: []string{lo}, DisableL2: true, ReadBuffer: 4 << 20})
			r := Reply{IfIndex: ifi.Index, Src: loopback, Dst: netip.AddrPortFrom(loopback, uint16(dst.LocalPort()))}
			benchReadWrite(b, src, dst, r, batch)
		})
	}
	for _, l2 := range []bool{false, true} {
		for _, batch := range []int{1, 8, 64} {
			kind := "udp"
			if l2 {
				kind = "l2"
			}
			b.Run(fmt.Sprintf("veth/%s/batch=%d", kind, batch), func(b *testing.B) {
				srv, cli := testnet.New(b, "bsrv"), testnet.New(b, "bcli")
				testnet.Veth(b, srv, "s0", cli, "c0")
				srv.IP("addr", "add", "198.18.10.1/24", "dev", "s0")
				cli.IP("addr", "add", "198.18.10.2/24", "dev", "c0")
				s0, c0 := srv.Interface("s0"), cli.Interface("c0")
				srv.IP("neigh", "replace", "198.18.10.2", "lladdr", c0.HardwareAddr.String(), "dev", "s0", "nud", "permanent")
				src := listenBench(b, srv, Config{})
				dst := listenBench(b, cli, Config{Interfaces: []string{"c0"}, DisableL2: true, ReadBuffer: 4 << 20})
				r := Reply{IfIndex: s0.Index, Src: srvAddr0, Dst: netip.MustParseAddrPort(fmt.Sprintf("198.18.10.2:%d", dst.LocalPort()))}
				if l2 {
					r.HWAddr = c0.HardwareAddr
				}
				benchReadWrite(b, src, dst, r, batch)
			})
		}
	}
}

// listenBench opens a Conn on a free port, in ns unless nil.
func listenBench(b *testing.B, ns *testnet.Namespace, cfg Config) *Conn {
	b.Helper()
	var c *Conn
	listen := func() (err error) {
		c, err = Listen(b.Context(), cfg)
		return err
	}
	var err error
	if ns != nil {
		err = ns.Do(listen)
	} else {
		err = listen()
	}
	if err != nil {
		b.Fatalf("Listen: %v", err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchReadWrite(b *testing.B, src, dst *Conn, r Reply, batch int) {
	r.Payload = bootReply(1, netip.Addr{})
	rs := make([]Reply, batch)
	for i := range rs {
		rs[i] = r
	}
	pkts := make([]Packet, batch)
	for i := range pkts {
		pkts[i].Buf = make([]byte, 1500)
	}
	// A lost datagram would block ReadBatch forever: closing dst after a
	// quiet spell turns that into a failure.
	watchdog := time.AfterFunc(ioTimeout, func() { dst.Close() })
	defer watchdog.Stop()
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Payload) * batch))
	total := 0
	for b.Loop() {
		if n, err := src.SendBatch(rs); err != nil {
			b.Fatalf("SendBatch sent %d: %v", n, err)
		}
		for got := 0; got < batch; {
			n, err := dst.ReadBatch(pkts[:batch-got])
			if err != nil {
				b.Fatalf("ReadBatch after %d of %d: %v (sender %+v, receiver %+v)", got, batch, err, src.Stats(), dst.Stats())
			}
			got += n
		}
		total += batch
		watchdog.Reset(ioTimeout)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(0, "ns/op")
}
