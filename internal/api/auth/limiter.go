package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Limits of the Limiter.
const (
	// maxFailures failures from one address within failureWindow block it.
	maxFailures   = 5
	failureWindow = time.Minute
	// firstBlock is the first block; each failure after a block doubles
	// it, up to maxBlock.
	firstBlock = 2 * time.Second
	maxBlock   = 5 * time.Minute
	// maxAddrs bounds the addresses tracked; beyond it the address seen
	// least recently is forgotten.
	maxAddrs = 10000
)

// Limiter slows down guessing of tokens, per remote address: after 5
// failures from one address within a minute, the address is blocked for
// 2 s, and each failure after a block doubles the block (2, 4, 8 s ... up
// to 5 min). A success forgets the address. Failures are forgotten a minute
// after they happened, or a minute after the block they caused ended.
//
// The server calls Check before looking at a token, and Fail or Succeed
// after. Failures reported while the address is blocked (requests that
// passed Check just before the block began) are ignored, so parallel
// requests do not escalate the block more than once. It is safe for
// concurrent use.
type Limiter struct {
	now func() time.Time

	mu    sync.Mutex
	addrs map[netip.Addr]*list.Element // of *limitEntry
	lru   *list.List                   // front: seen most recently
}

type limitEntry struct {
	addr     netip.Addr
	fails    []time.Time // within failureWindow, oldest first; fewer than maxFailures
	lastFail time.Time
	block    time.Duration // the last block; 0 when not escalated
	until    time.Time     // blocked before this time
}

// NewLimiter returns a Limiter reading the time from now (time.Now when
// nil).
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, addrs: make(map[netip.Addr]*list.Element), lru: list.New()}
}

// Check reports whether a request from addr may go on; when not, the
// caller answers 429 with Retry-After set from retryAfter.
func (l *Limiter) Check(addr netip.Addr) (retryAfter time.Duration, ok bool) {
	addr = addr.Unmap()
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el := l.addrs[addr]
	if el == nil {
		return 0, true
	}
	e := el.Value.(*limitEntry)
	if now.Before(e.until) {
		return e.until.Sub(now), false
	}
	return 0, true
}

// Fail records a failed authentication from addr.
func (l *Limiter) Fail(addr netip.Addr) {
	addr = addr.Unmap()
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	var e *limitEntry
	if el := l.addrs[addr]; el != nil {
		l.lru.MoveToFront(el)
		e = el.Value.(*limitEntry)
	} else {
		e = &limitEntry{addr: addr}
		l.addrs[addr] = l.lru.PushFront(e)
		for l.lru.Len() > maxAddrs {
			old := l.lru.Back()
			delete(l.addrs, old.Value.(*limitEntry).addr)
			l.lru.Remove(old)
		}
	}
	if now.Before(e.until) {
		return // refused already; see the type's comment
	}
	if e.stale(now) {
		*e = limitEntry{addr: addr}
	}
	e.lastFail = now
	if e.block > 0 {
		e.block = min(2*e.block, maxBlock)
		e.until = now.Add(e.block)
		return
	}
	cut := 0
	for cut < len(e.fails) && now.Sub(e.fails[cut]) >= failureWindow {
		cut++
	}
	e.fails = append(e.fails[cut:], now)
	if len(e.fails) >= maxFailures {
		e.fails = nil
		e.block = firstBlock
		e.until = now.Add(e.block)
	}
}

// Succeed forgets addr's failures and blocks.
func (l *Limiter) Succeed(addr netip.Addr) {
	addr = addr.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	if el := l.addrs[addr]; el != nil {
		delete(l.addrs, addr)
		l.lru.Remove(el)
	}
}

// stale reports whether everything e remembers is forgotten by now: its
// last failure, and the end of its block, are a failureWindow old.
func (e *limitEntry) stale(now time.Time) bool {
	return now.Sub(e.lastFail) >= failureWindow && now.Sub(e.until) >= failureWindow
}

// prune drops stale entries from the least recently seen end. Called with
// l.mu held.
func (l *Limiter) prune(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		e := el.Value.(*limitEntry)
		if !e.stale(now) {
			return
		}
		delete(l.addrs, e.addr)
		l.lru.Remove(el)
	}
}

// tracked is the number of addresses remembered, for tests.
func (l *Limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}
