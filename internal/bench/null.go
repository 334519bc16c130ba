package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"bootd/internal/dhcpv4"
	"bootd/internal/netio"
)

// NullConfig says what a [NullResponder] listens on.
type NullConfig struct {
	Port       int      // 67; 0 for any free port
	Interfaces []string // accept requests from these only; empty: all
	// Workers is the number of goroutines reading and answering batches;
	// 0 means 2, the server's default, so the two share a socket setup.
	Workers int
	// ReadBuffer is the socket's receive buffer in bytes; 0 means netio's
	// default, which the server uses too (see netio.Config.ReadBuffer).
	ReadBuffer int
}

// Batch size and buffers of a null responder worker: the server's.
const (
	nullBatch  = 32
	nullBufLen = 1 << 16
)

// NullResponder answers DHCP requests with canned replies, keeping no
// state; see the package documentation.
type NullResponder struct {
	conn    *netio.Conn
	workers int
	leaseT  nullTemplate // OFFER and ACK
	informT nullTemplate // ACK to INFORM: no lease time

	received, replied, ignored, sendErrors atomic.Uint64
}

// NullStats are a null responder's counters.
type NullStats struct {
	Received   uint64 // datagrams read
	Replied    uint64 // replies handed to the kernel
	Ignored    uint64 // RELEASE, DECLINE, other types, malformed
	SendErrors uint64
	Socket     netio.Stats
}

// ListenNull opens a null responder's socket in the calling thread's
// network namespace. ctx bounds the setup only.
func ListenNull(ctx context.Context, cfg NullConfig) (*NullResponder, error) {
	if cfg.Workers < 0 || cfg.ReadBuffer < 0 {
		return nil, fmt.Errorf("bench: %d workers, read buffer %d", cfg.Workers, cfg.ReadBuffer)
	}
	n := &NullResponder{workers: cfg.Workers}
	if n.workers == 0 {
		n.workers = 2
	}
	var err error
	if n.leaseT, err = buildNullTemplate(true); err != nil {
		return nil, err
	}
	if n.informT, err = buildNullTemplate(false); err != nil {
		return nil, err
	}
	n.conn, err = netio.Listen(ctx, netio.Config{Port: cfg.Port, Interfaces: cfg.Interfaces, BatchSize: nullBatch,
		ReadBuffer: cfg.ReadBuffer, DisableL2: true})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// LocalPort is the UDP port the responder listens on.
func (n *NullResponder) LocalPort() int { return n.conn.LocalPort() }

// Stats returns a snapshot of the counters.
func (n *NullResponder) Stats() NullStats {
	return NullStats{
		Received:   n.received.Load(),
		Replied:    n.replied.Load(),
		Ignored:    n.ignored.Load(),
		SendErrors: n.sendErrors.Load(),
		Socket:     n.conn.Stats(),
	}
}

// Serve answers requests until ctx ends, then closes the socket. It
// returns nil when stopped by ctx, or the socket error that stopped it.
func (n *NullResponder) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, n.workers)
	for range n.workers {
		wg.Go(func() {
			if err := n.worker(); !errors.Is(err, net.ErrClosed) {
				errc <- err
				cancel()
			}
		})
	}
	<-ctx.Done()
	n.conn.Close()
	wg.Wait()
	close(errc)
	return <-errc
}

func (n *NullResponder) worker() error {
	pkts := make([]netio.Packet, nullBatch)
	for i := range pkts {
		pkts[i].Buf = make([]byte, nullBufLen)
	}
	bufs := make([][]byte, nullBatch)
	for i := range bufs {
		bufs[i] = make([]byte, 0, dhcpv4.MinLen)
	}
	out := make([]netio.Reply, 0, nullBatch)
	for {
		k, err := n.conn.ReadBatch(pkts)
		if err != nil {
			return err
		}
		n.received.Add(uint64(k))
		out = out[:0]
		for i := range k {
			if r, ok := n.answer(bufs[i], &pkts[i]); ok {
				out = append(out, r)
			}
		}
		n.ignored.Add(uint64(k - len(out)))
		for len(out) > 0 {
			sent, err := n.conn.SendBatch(out)
			n.replied.Add(uint64(sent))
			if err == nil {
				break
			}
			n.sendErrors.Add(1)
			out = out[sent+1:]
		}
	}
}

// answer builds the reply to p in buf, addressed the simple way of RFC 2131
// section 4.1: to giaddr:67 when relayed, else broadcast on the interface
// the request came in on.
func (n *NullResponder) answer(buf []byte, p *netio.Packet) (netio.Reply, bool) {
	req := p.Data()
	mt, ok := requestType(req)
	if !ok {
		return netio.Reply{}, false
	}
	t := &n.leaseT
	var rt dhcpv4.MessageType
	switch mt {
	case dhcpv4.Discover:
		rt = dhcpv4.Offer
	case dhcpv4.Request:
		rt = dhcpv4.Ack
	case dhcpv4.Inform:
		rt, t = dhcpv4.Ack, &n.informT
	default:
		return netio.Reply{}, false
	}
	local := p.Local
	if !local.Is4() {
		local = netip.AddrFrom4([4]byte{})
	}
	b := t.encode(buf, req, rt, local.As4(), mt != dhcpv4.Inform)
	r := netio.Reply{Payload: b, Src: p.Local}
	if gi := [4]byte(req[offGIAddr : offGIAddr+4]); gi != [4]byte{} {
		r.Dst = netip.AddrPortFrom(netip.AddrFrom4(gi), serverPort)
	} else {
		r.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), clientPort)
		r.IfIndex = p.IfIndex
	}
	return r, true
}

// requestType returns the message type of a DHCP request, checking only
// what answering needs: a BOOTREQUEST of at least 240 bytes with hlen <= 16,
// the magic cookie and a well-formed option 53 in the options field
// (overloaded options are not read).
func requestType(b []byte) (dhcpv4.MessageType, bool) {
	if len(b) < offOptions || b[0] != byte(dhcpv4.BootRequest) || b[2] > 16 ||
		[4]byte(b[offOptions-4:offOptions]) != [4]byte{99, 130, 83, 99} {
		return 0, false
	}
	for off := offOptions; off < len(b); {
		code := b[off]
		switch code {
		case dhcpv4.OptPad:
			off++
			continue
		case dhcpv4.OptEnd:
			return 0, false
		}
		if off+1 >= len(b) {
			return 0, false
		}
		l := int(b[off+1])
		if off+2+l > len(b) {
			return 0, false
		}
		if code == dhcpv4.OptMessageType {
			if l != 1 {
				return 0, false
			}
			return dhcpv4.MessageType(b[off+2]), true
		}
		off += 2 + l
	}
	return 0, false
}

// nullTemplate is a canned BOOTREPLY.
type nullTemplate struct {
	b                          []byte
	offType, offSID, offRouter int // option values
}

// nullMask is the subnet mask of the canned replies: 198.18.0.0/15.
var nullMask = netip.AddrFrom4([4]byte{255, 254, 0, 0})

// buildNullTemplate builds the reply template: options 53, 54, 51 (when
// lease), 1 and 3, padded to 300 bytes.
func buildNullTemplate(lease bool) (nullTemplate, error) {
	var m dhcpv4.Message
	m.Reset()
	m.Op = dhcpv4.BootReply
	zero := netip.AddrFrom4([4]byte{})
	m.SetMessageType(dhcpv4.Ack)
	m.Options.SetAddr(dhcpv4.OptServerID, zero)
	if lease {
		m.Options.SetUint32(dhcpv4.OptLeaseTime, 3600)
	}
	m.Options.SetAddr(dhcpv4.OptSubnetMask, nullMask)
	m.Options.SetAddr(dhcpv4.OptRouter, zero)
	b, err := m.AppendBinary(nil)
	if err != nil {
		return nullTemplate{}, fmt.Errorf("building the reply template: %w", err)
	}
	return nullTemplate{
		b:         b,
		offType:   optionOffset(b, dhcpv4.OptMessageType),
		offSID:    optionOffset(b, dhcpv4.OptServerID),
		offRouter: optionOffset(b, dhcpv4.OptRouter),
	}, nil
}

// encode writes the reply of type mt to req into buf (reusing its storage)
// with server identifier and router local. When lease, yiaddr is derived
// from the client's hardware address: 198.18.128.0 plus its low 15 bits.
// An ACK keeps the request's ciaddr.
func (t *nullTemplate) encode(buf, req []byte, mt dhcpv4.MessageType, local [4]byte, lease bool) []byte {
	b := append(buf[:0], t.b...)
	copy(b[1:3], req[1:3]) // htype, hlen
	copy(b[offXID:offXID+4], req[offXID:offXID+4])
	copy(b[offFlags:offFlags+2], req[offFlags:offFlags+2])
	copy(b[offGIAddr:offGIAddr+4], req[offGIAddr:offGIAddr+4])
	copy(b[offCHAddr:offCHAddr+16], req[offCHAddr:offCHAddr+16])
	if lease {
		hlen := int(req[2])
		var low uint16
		if hlen >= 2 {
			low = binary.BigEndian.Uint16(req[offCHAddr+hlen-2:])
		}
		b[offYIAddr], b[offYIAddr+1] = 198, 18
		binary.BigEndian.PutUint16(b[offYIAddr+2:], 0x8000|low&0x7fff)
	}
	if mt == dhcpv4.Ack {
		copy(b[offCIAddr:offCIAddr+4], req[offCIAddr:offCIAddr+4])
	}
	b[t.offType] = byte(mt)
	copy(b[t.offSID:t.offSID+4], local[:])
	copy(b[t.offRouter:t.offRouter+4], local[:])
	return b
}
