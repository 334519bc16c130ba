package cli

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"bootd/internal/dhcpv4"
)

func TestDecodeFrameOther(t *testing.T) {
	t.Parallel()
	msg := dhcpMessage(t, dhcpv4.Discover, nil)
	ip := udpIPv4(clientPort, bcastPort, msg)
	notUDP := append([]byte(nil), ip...)
	notUDP[9] = 6 // TCP
	badIHL := append([]byte(nil), ip...)
	badIHL[0] = 0x44
	dns := udpIPv4(addrPort("192.0.2.1:5353"), addrPort("192.0.2.2:53"), msg)
	ipv6 := ethernet(ip)
	binary.BigEndian.PutUint16(ipv6[12:], 0x86dd)
	tags := make([]uint16, maxVLANTags+1)
	tests := []struct {
		name  string
		link  layers.LinkType
		frame []byte
	}{
		{"empty ethernet", layers.LinkTypeEthernet, nil},
		{"short ethernet", layers.LinkTypeEthernet, ethernet(ip)[:20]},
		{"short sll", layers.LinkTypeLinuxSLL, sll(ip)[:15]},
		{"short sll2", layers.LinkTypeLinuxSLL2, sll2(ip)[:19]},
		{"short null", layers.LinkTypeNull, []byte{2, 0}},
		{"null IPv6", layers.LinkTypeNull, append([]byte{30, 0, 0, 0}, ip...)},
		{"raw empty", layers.LinkTypeRaw, nil},
		{"raw IPv6", layers.LinkTypeRaw, append([]byte{0x60}, ip[1:]...)},
		{"IPv6 ethertype", layers.LinkTypeEthernet, ipv6},
		{"TCP", layers.LinkTypeIPv4, notUDP},
		{"bad IHL", layers.LinkTypeIPv4, badIHL},
		{"other ports", layers.LinkTypeIPv4, dns},
		{"too many VLAN tags", layers.LinkTypeEthernet, ethernet(ip, tags...)},
		{"truncated VLAN tag", layers.LinkTypeEthernet, ethernet(ip, 5)[:16]},
		{"ports cut off", layers.LinkTypeIPv4, ip[:22]},
		{"unsupported link", layers.LinkTypeIEEE802_11, ip},
	}
	for _, tt := range tests {
		if d := decodeFrame(tt.link, tt.frame, false); d.kind != kindOther {
			t.Errorf("%s: kind %d (%s), want other", tt.name, d.kind, d.reason)
		}
	}
}

func TestDecodeFrameUDPHeader(t *testing.T) {
	t.Parallel()
	ip := udpIPv4(clientPort, bcastPort, dhcpMessage(t, dhcpv4.Discover, nil))
	short := append([]byte(nil), ip...)
	binary.BigEndian.PutUint16(short[24:], 7)
	padded := append(append([]byte(nil), ip...), 0, 0, 0, 0) // link-layer padding after the IPv4 packet
	tests := []struct {
		name      string
		frame     []byte
		truncated bool
		kind      frameKind
		reason    string
	}{
		{"UDP length below 8", short, false, kindMalformed, "UDP length 7 is shorter than the 8-byte UDP header"},
		{"UDP header cut", ip[:26], false, kindMalformed, "UDP header truncated"},
		{"UDP header cut by snap length", ip[:26], true, kindUndecodable, "frame cut short by the capture's snap length, inside the UDP header"},
		{"padding ignored", padded, false, kindMessage, ""},
	}
	for _, tt := range tests {
		d := decodeFrame(layers.LinkTypeIPv4, tt.frame, tt.truncated)
		if d.kind != tt.kind || d.reason != tt.reason {
			t.Errorf("%s: kind %d reason %q, want %d %q", tt.name, d.kind, d.reason, tt.kind, tt.reason)
		}
		if d.kind == kindMessage && len(d.payload) != 300 {
			t.Errorf("%s: payload of %d bytes, want 300", tt.name, len(d.payload))
		}
	}
}

func TestGuessLink(t *testing.T) {
	t.Parallel()
	// A BOOTREPLY whose first bytes could start an Ethernet frame to a
	// locally administered MAC: still read as the message itself.
	reply := dhcpMessage(t, dhcpv4.Offer, func(m *dhcpv4.Message) { m.Op = dhcpv4.BootReply })
	ip := udpIPv4(serverPort, bcastPort, reply)
	badSum := append([]byte(nil), ip...)
	badSum[10] ^= 0xff
	tests := []struct {
		name    string
		data    []byte
		link    layers.LinkType
		payload bool
	}{
		{"message", reply, 0, true},
		{"ipv4", ip, linkIPv4, false},
		{"ipv4 with bad header checksum", badSum, 0, true},
		{"ethernet", ethernet(ip), linkEthernet, false},
		{"ethernet with VLAN", ethernet(ip, 3, 4), linkEthernet, false},
		{"sll", sll(ip), linkSLL, false},
		{"sll2", sll2(ip), linkSLL2, false},
		{"short", []byte{0x45}, 0, true},
	}
	for _, tt := range tests {
		link, payload := guessLink(tt.data)
		if link != tt.link || payload != tt.payload {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, link, payload, tt.link, tt.payload)
		}
	}
}

// FuzzDecodeFrame checks that decodeFrame never panics and that a message
// payload lies inside the frame.
func FuzzDecodeFrame(f *testing.F) {
	ip := udpIPv4(clientPort, bcastPort, make([]byte, 300))
	for _, seed := range [][]byte{ethernet(ip), ethernet(ip, 1, 2), sll(ip), sll2(ip), ip} {
		for _, link := range []layers.LinkType{linkEthernet, linkSLL, linkSLL2, linkIPv4, linkNull} {
			f.Add(uint16(link), seed, false)
		}
	}
	f.Fuzz(func(t *testing.T, link uint16, frame []byte, truncated bool) {
		d := decodeFrame(layers.LinkType(link), frame, truncated)
		if d.kind == kindMessage && len(d.payload) > len(frame) {
			t.Fatalf("payload of %d bytes from a %d-byte frame", len(d.payload), len(frame))
		}
		if d.kind != kindOther && !d.src.IsValid() {
			t.Fatalf("kind %d without addresses", d.kind)
		}
		guessLink(frame)
	})
}
