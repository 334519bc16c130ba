// Package netio is bootd's DHCP socket layer on Linux: it reads request
// datagrams in batches together with the interface they arrived on, and sends
// replies to the exact destination the server chose, from the source address
// and interface it chose. It knows nothing of leases or DHCP options; the
// caller decides every address (RFC 2131 section 4.1) and passes it in.
//
// # Sockets
//
// A [Conn] owns one UDP socket bound to 0.0.0.0:port (never to an interface
// address: that would stop broadcast DISCOVERs from arriving) with
// SO_BROADCAST and IP_PKTINFO, and, unless disabled, one send-only AF_PACKET
// socket for link-layer unicast. It does not set SO_REUSEADDR, so a second
// server on the same port fails to start instead of silently sharing the
// port (see [Listen]).
//
//   - Reads use recvmmsg (golang.org/x/net/ipv4 ReadBatch). IP_PKTINFO gives
//     each datagram's ingress interface, its header destination address, and
//     the local address the kernel would answer from on that interface.
//     Datagrams from interfaces outside [Config.Interfaces] are dropped and
//     counted before the caller sees them.
//   - UDP replies (broadcast, relay, ciaddr unicast) use sendmmsg with an
//     IP_PKTINFO control message per datagram: ipi_ifindex pins the outgoing
//     interface (a limited broadcast leaves on that interface only, whatever
//     the routing table says) and ipi_spec_dst sets the source address.
//   - Replies to a client that has no address yet ([Reply.HWAddr] set) are
//     built as IPv4+UDP datagrams here and sent on the AF_PACKET socket
//     (SOCK_DGRAM, so the kernel adds the Ethernet header with the
//     interface's own MAC as source) to chaddr on the given interface. No
//     ARP is needed and no neighbour entry is created. That socket is opened
//     with protocol 0, so it receives nothing and needs no BPF filter.
//
// # Invariants
//
//   - A broadcast reply without an interface is refused ([ErrNoInterface]);
//     a link-layer reply without interface or source address is refused. No
//     reply is ever silently turned into a broadcast.
//   - Sockets live in the network namespace of the thread that called
//     [Listen]; interface indexes in [Packet] and [Reply] are that
//     namespace's.
//   - [Conn.ReadBatch] is called by one goroutine at a time (it serialises
//     callers); [Conn.Send] and [Conn.SendBatch] may be called concurrently.
//
// # Sharp edges
//
//   - Listening on port 67 needs CAP_NET_BIND_SERVICE; link-layer replies
//     need CAP_NET_RAW (set [Config.DisableL2] to run without it).
//   - Link-layer replies bypass the routing table and netfilter's OUTPUT and
//     POSTROUTING chains (like Kea and ISC dhcpd), are never fragmented, and
//     only make sense on Ethernet-like links, where chaddr is the link
//     address.
//   - Interface names in [Config.Interfaces] are resolved to indexes once, by
//     [Listen]; an interface deleted and recreated later gets a new index and
//     needs a new Conn.
//   - For a reply routed through a gateway (giaddr of a relay that is not
//     on-link), leave [Reply.IfIndex] zero: a non-zero index makes the kernel
//     treat the destination as reachable on that interface.
package netio
