// Package rarp is a RARP responder (RFC 903) for Ethernet: diskless
// machines that know only their MAC broadcast a reverse request, and a
// server that has an address reserved for that MAC answers with it.
//
// # Protocol
//
// RARP packets have the ARP format (RFC 826) and ethertype 0x8035. Only
// Ethernet hardware (htype 1, hlen 6) and IPv4 (ptype 0x0800, plen 4) are
// served. A request (opcode 3, "request reverse") asks for the address of
// its target hardware address (THA). If Config.Lookup has an address for the
// THA, the reply (opcode 4, "reply reverse") carries the interface's MAC and
// first IPv4 address as sender (SHA, SPA), the asked MAC as THA and the
// reserved address as TPA. It is sent by unicast to the Ethernet source of
// the request, on the interface the request came in on.
//
// A request for a MAC without a reservation gets no answer, as RFC 903 asks
// of servers that do not know the address, so that another server may
// answer; it is counted (Stats.Unknown). Packets shorter than 28 bytes,
// with another htype, ptype, hlen or plen, or with an opcode other than 3
// are dropped and counted (Stats.Malformed). A request for a known MAC while
// the interface has no IPv4 address is not answered either: it is logged
// at warn level (once until the next answer) and counted (Stats.NoAddress).
//
// # Sockets
//
// [Listen] opens an AF_PACKET SOCK_DGRAM socket bound to the interface and
// the RARP ethertype: the kernel strips and builds the Ethernet header, and
// reports each request's source MAC. The interface's MAC and IPv4 address
// are read with ioctls on that socket for every answer, so an address added
// after Listen is used at once; the interface is named in those ioctls, so
// renaming it stops the answers (they are counted in Stats.NoAddress).
//
// [Responder.Serve] reads and answers requests one at a time on one
// goroutine: RARP traffic is a few packets per booting machine. Answering a
// request allocates nothing (beyond what Lookup and debug logging do).
//
// Nothing here is wired into bootd serve or its configuration yet.
package rarp
