package server_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bootd/internal/dhcpv4"
	"bootd/internal/testnet"
)

// relayClient plays many DHCP clients at once with bootd's own codec, the
// way a relay agent would: one UDP socket on port 67 at 198.18.0.2 in the
// client namespace, requests with giaddr 198.18.0.2, so the server answers
// by unicast UDP to that socket. Replies are matched to waiters by xid.
type relayClient struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	xid    atomic.Uint32

	mu      sync.Mutex
	waiters map[dhcpv4.XID]chan *dhcpv4.Message
	stray   atomic.Uint64 // replies nobody waited for
	done    chan struct{}
}

// newRelayClient puts 198.18.0.2/22 on c0 in ns and opens the socket there.
func newRelayClient(t testing.TB, ns *testnet.Namespace) *relayClient {
	t.Helper()
	ns.IP("addr", "add", relayAddr.String()+"/22", "dev", "c0")
	var conn *net.UDPConn
	if err := ns.Do(func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero, Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c := &relayClient{
		conn:    conn,
		server:  &net.UDPAddr{IP: serverAddr.AsSlice(), Port: 67},
		waiters: map[dhcpv4.XID]chan *dhcpv4.Message{},
		done:    make(chan struct{}),
	}
	c.xid.Store(0x10000)
	go c.readLoop()
	t.Cleanup(func() {
		conn.Close()
		<-c.done
	})
	return c
}

func (c *relayClient) readLoop() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		n, _, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		m := new(dhcpv4.Message)
		if m.UnmarshalBinary(buf[:n]) != nil || m.Op != dhcpv4.BootReply {
			c.stray.Add(1)
			continue
		}
		c.mu.Lock()
		ch, ok := c.waiters[m.XID]
		c.mu.Unlock()
		if !ok {
			c.stray.Add(1)
			continue
		}
		select {
		case ch <- m:
		default:
		}
	}
}

// mac returns the distinct hardware address of client number i.
func mac(i int) net.HardwareAddr {
	m := net.HardwareAddr{0x02, 0xb0, 0x07, 0, 0, 0}
	binary.BigEndian.PutUint32(m[2:], uint32(i))
	m[2] = 0x07
	return m
}

var errNoReply = errors.New("no reply")

// exchange sends req (its xid replaced by a fresh one) up to tries times,
// each waiting up to wait for a reply of one of the wanted types.
func (c *relayClient) exchange(req *dhcpv4.Message, tries int, wait time.Duration, want ...dhcpv4.MessageType) (*dhcpv4.Message, error) {
	req.XID = dhcpv4.XID(c.xid.Add(1))
	ch := make(chan *dhcpv4.Message, 4)
	c.mu.Lock()
	c.waiters[req.XID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, req.XID)
		c.mu.Unlock()
	}()
	b, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for range tries {
		if _, err := c.conn.WriteToUDP(b, c.server); err != nil {
			return nil, err
		}
		timer.Reset(wait)
	recv:
		for {
			select {
			case m := <-ch:
				mt, _ := m.MessageType()
				for _, w := range want {
					if mt == w {
						return m, nil
					}
				}
				if mt == dhcpv4.Nak {
					msg, _ := m.Options.String(dhcpv4.OptMessage)
					return m, fmt.Errorf("NAK: %s", msg)
				}
			case <-timer.C:
				break recv
			}
		}
	}
	return nil, errNoReply
}

// request builds a request of type mt from client number i, relayed.
func request(i int, mt dhcpv4.MessageType) *dhcpv4.Message {
	m := new(dhcpv4.Message)
	m.Reset()
	m.Op = dhcpv4.BootRequest
	m.SetHardwareAddr(dhcpv4.HTypeEthernet, mac(i))
	m.Hops = 1
	m.GIAddr = relayAddr
	m.SetMessageType(mt)
	m.Options.Set(55, []byte{1, 3, 6, 15, 51, 54})
	return m
}

// dora runs DISCOVER/OFFER/REQUEST/ACK for client i and returns the ACK.
func (c *relayClient) dora(i int) (*dhcpv4.Message, error) {
	const tries, wait = 4, time.Second
	offer, err := c.exchange(request(i, dhcpv4.Discover), tries, wait, dhcpv4.Offer)
	if err != nil {
		return nil, fmt.Errorf("client %d DISCOVER: %w", i, err)
	}
	req := request(i, dhcpv4.Request)
	req.Options.SetAddr(dhcpv4.OptRequestedIP, offer.YIAddr)
	sid, ok := offer.ServerID()
	if !ok {
		return nil, fmt.Errorf("client %d: OFFER without server identifier", i)
	}
	req.Options.SetAddr(dhcpv4.OptServerID, sid)
	ack, err := c.exchange(req, tries, wait, dhcpv4.Ack)
	if err != nil {
		return nil, fmt.Errorf("client %d REQUEST %v: %w", i, offer.YIAddr, err)
	}
	if ack.YIAddr != offer.YIAddr {
		return nil, fmt.Errorf("client %d: offered %v, acked %v", i, offer.YIAddr, ack.YIAddr)
	}
	return ack, nil
}

// initReboot sends an INIT-REBOOT REQUEST (requested address, no server
// identifier, no ciaddr) for client i and returns the reply (ACK or NAK).
func (c *relayClient) initReboot(i int, addr netip.Addr) (*dhcpv4.Message, error) {
	req := request(i, dhcpv4.Request)
	req.Options.SetAddr(dhcpv4.OptRequestedIP, addr)
	return c.exchange(req, 4, time.Second, dhcpv4.Ack, dhcpv4.Nak)
}
