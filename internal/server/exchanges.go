package server

import (
	"net/netip"
	"sync"
	"time"

	"bootd/internal/dhcpv4"
)

// ExchangeRing is how many recent exchanges the server keeps for the live
// view (the API's event stream and the dashboard).
const ExchangeRing = 1024

// Exchange is one request the server decided: answered or dropped. It
// holds no pointers into packet buffers, so recording one allocates
// nothing.
type Exchange struct {
	Seq    uint64 // 1 for the first exchange since start
	Time   time.Time
	Type   dhcpv4.MessageType // the request's; 0 for BOOTP
	Reply  dhcpv4.MessageType // the reply's; 0 when dropped or a BOOTP reply
	Answer bool               // a reply was made (sent at once, or once the lease is written)
	BOOTP  bool               // a plain BOOTP request
	HLen   uint8
	CHAddr [16]byte
	Addr   netip.Addr // the address given (yiaddr), or the client's ciaddr
	GIAddr netip.Addr // the relay's, when relayed
	IfName string
	Reason string // why it was dropped, or the note on a reply
}

// exchanges is a ring of the latest exchanges. Workers add one batch
// under one lock.
type exchanges struct {
	mu   sync.Mutex
	next uint64 // Seq of the next exchange
	ring [ExchangeRing]Exchange
}

func (x *exchanges) add(batch []slot) {
	x.mu.Lock()
	for i := range batch {
		e := &batch[i].ex
		if !e.Time.IsZero() {
			x.next++
			e.Seq = x.next
			x.ring[x.next%ExchangeRing] = *e
			e.Time = time.Time{}
		}
	}
	x.mu.Unlock()
}

// Exchanges appends to out the recorded exchanges with Seq > after, oldest
// first, and returns out and the Seq of the newest. Exchanges overwritten
// in the ring since after are skipped: compare the first Seq with after+1.
func (s *Server) Exchanges(after uint64, out []Exchange) ([]Exchange, uint64) {
	x := &s.exchanges
	x.mu.Lock()
	defer x.mu.Unlock()
	first := after + 1
	if x.next >= ExchangeRing && first < x.next-ExchangeRing+1 {
		first = x.next - ExchangeRing + 1
	}
	for seq := first; seq <= x.next; seq++ {
		out = append(out, x.ring[seq%ExchangeRing])
	}
	return out, x.next
}

// record notes the decision on sl's request in sl.ex, for the worker to
// add with its batch.
func record(sl *slot, in string, answer bool, reply dhcpv4.MessageType, addr netip.Addr, reason string) {
	req := &sl.req
	mt, _ := req.MessageType()
	sl.ex = Exchange{
		Time:   sl.meta.read,
		Type:   mt,
		Reply:  reply,
		Answer: answer,
		BOOTP:  req.IsBOOTP(),
		HLen:   min(req.HLen, 16),
		CHAddr: req.CHAddr,
		Addr:   addr,
		IfName: in,
		Reason: reason,
	}
	if req.GIAddr.IsValid() && !req.GIAddr.IsUnspecified() {
		sl.ex.GIAddr = req.GIAddr
	}
}
