package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"bootd/internal/alloc"
	"bootd/internal/lease"
	"bootd/internal/metrics"
)

// ErrNotActive is returned by Release for a lease that is not active: no
// client holds its address now, or its write is still in flight.
var ErrNotActive = errors.New("the lease is not active")

// Release ends the lease of addr as the client's DHCPRELEASE would: the
// address is free for others at once, and the lease is kept, released, so
// the client gets the same address when it asks again. It returns the
// lease as written. lease.ErrNotFound for an address without a lease.
func (s *Server) Release(ctx context.Context, addr netip.Addr) (lease.Lease, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, err := s.store.Get(ctx, addr)
	if err != nil {
		return lease.Lease{}, err
	}
	if err := s.state.alloc.Release(ctx, &l); err != nil {
		if errors.Is(err, alloc.ErrNotHeld) {
			return lease.Lease{}, fmt.Errorf("%s: %w", addr, ErrNotActive)
		}
		return lease.Lease{}, err
	}
	return l, nil
}

// Lease returns the lease of an address as the store holds it, or
// lease.ErrNotFound.
func (s *Server) Lease(ctx context.Context, addr netip.Addr) (lease.Lease, error) {
	return s.store.Get(ctx, addr)
}

// Leases calls fn for every lease in the store, in no particular order.
func (s *Server) Leases(ctx context.Context, fn func(*lease.Lease) error) error {
	return s.store.Load(ctx, fn)
}

// Held reports whether a client holds addr now (a bound lease or an
// offer, not expired).
func (s *Server) Held(addr netip.Addr) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, _, ok := s.state.alloc.Holder(addr)
	return ok
}

// Pools returns every pool's size and active leases, in configuration
// order (see allocStats for its cost).
func (s *Server) Pools() []metrics.Pool { return s.allocStats().Pools }

// Backup writes a consistent copy of the lease store (lease.Store.Backup).
func (s *Server) Backup(ctx context.Context, w io.Writer) error { return s.store.Backup(ctx, w) }
