// Package rarp implements RARP (RFC 903) for Ethernet: diskless machines
// that know only their MAC broadcast a reverse request, and a server that
// has an address reserved for that MAC answers with it.
//
// RARP packets have the ARP format (RFC 826) and ethertype 0x8035. Only
// Ethernet hardware (htype 1, hlen 6) and IPv4 (ptype 0x0800, plen 4) are
// handled; opcode 3 is a request ("request reverse"), 4 a reply ("reply
// reverse"). Packets of any other shape are rejected by the parser.
package rarp
