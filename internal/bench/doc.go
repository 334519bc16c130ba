// Package bench measures DHCP servers: a load generator that plays many
// DHCP clients at once ([Generator], "bootd bench"), and a null responder
// that answers every request with a canned reply and keeps no state
// ([NullResponder], "bootd null-responder").
//
// # Generator
//
// The generator plays Config.Clients clients, each with its own hardware
// address (02:bb:SS:xx:xx:xx: SS the MAC seed, xx the client number), over
// one UDP socket, either as a relay agent (requests unicast to the server
// with giaddr set, replies to giaddr:67) or on the link (requests broadcast
// with giaddr 0 and the broadcast flag, replies broadcast to port 68). It
// runs exchanges (DORA, renew, release, inform) closed loop, keeping a window
// of them outstanding, or open loop at a fixed rate, and reports counts,
// rates, latency percentiles and its own CPU time.
//
// Everything happens in one goroutine: it sends with sendmmsg and receives
// with recvmmsg (golang.org/x/net/ipv4 WriteBatch and ReadBatch), and sleeps
// in ReadBatch with a read deadline set to its next timer (the next
// exchange due at a fixed rate, the oldest request's timeout). One loop
// needs no locks and no wake-ups between goroutines, and the REQUEST that
// answers an OFFER goes out in the same sendmmsg as the new exchanges.
//
// Per-packet work allocates nothing: client state lives in a slice indexed
// by client number; the xid carries the client number in its low bits and
// an exchange counter in the high bits, so a reply finds its client without
// a map; requests are copies of prebuilt templates with the xid, chaddr and
// addresses patched in; replies are parsed into one reused dhcpv4.Message.
// (golang.org/x/net's ReadBatch itself allocates the sender's *net.UDPAddr
// of every datagram it returns.)
//
// A reply counts only if its xid is that of the client's current exchange,
// its chaddr is the client's, and its type is the one the exchange waits
// for; anything else is counted as stray. Timeouts are kept in a FIFO queue
// (every request has the same timeout, so deadlines arrive in order); a
// queued deadline is stale when the client has since moved on.
//
// # Null responder
//
// The null responder reads with bootd's own socket layer (internal/netio),
// in the same batches and with the same number of workers as the server,
// and answers DISCOVER with an OFFER, REQUEST and INFORM with an ACK, from
// templates patched per request. It measures the packet path alone, so that
// a server's rate divided by the null responder's rate is the share of the
// packet path's capacity left after the server's own work.
//
// # Sharp edges
//
//   - In relay mode the generator binds giaddr:67, so it cannot share a
//     network namespace with a DHCP server bound to 0.0.0.0:67.
//   - On the link, the server unicasts replies to renew and inform (ciaddr
//     set) to ciaddr:68 (RFC 2131 section 4.1). They reach the generator
//     only if its host accepts those addresses, e.g. with a local route for
//     the pool on the generator's interface; otherwise they count as drops.
//   - CPU is getrusage(RUSAGE_SELF): the whole process, which is only the
//     generator when it runs as "bootd bench".
package bench
