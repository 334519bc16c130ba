// Package lease defines what bootd records about an address given to a
// client, the Store interface every lease backend implements, and the errors
// stores return. It knows nothing of sockets or of the DHCP wire format.
//
// Invariants every Store keeps:
//   - at most one lease per address (the address is the key);
//   - Put returns only once the lease is durable (on disk, fsync'd, or
//     committed to the database): a server acknowledges a lease only after
//     Put returned nil;
//   - concurrent Puts may share one commit (group commit), but each caller
//     learns the outcome of its own lease.
//
// Which client holds which address is the allocator's business; it rebuilds
// its indexes from Store.Load at start-up.
package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// State is the state of a lease.
type State uint8

// Lease states.
const (
	// Offered: held for a client between OFFER and REQUEST, for a short time.
	Offered State = iota + 1
	// Bound: acknowledged; the client may use the address until Expires.
	Bound
	// Released: the client gave the address back (DHCPRELEASE). Kept so the
	// same client gets it again, but free for others.
	Released
	// Expired: the lease ran out. Kept for the returning client, but free for others.
	Expired
	// Declined: a client reported the address in use (DHCPDECLINE), or a
	// probe found it taken. Quarantined until Expires.
	Declined
)

func (s State) String() string {
	switch s {
	case Offered:
		return "offered"
	case Bound:
		return "bound"
	case Released:
		return "released"
	case Expired:
		return "expired"
	case Declined:
		return "declined"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState parses the names State.String returns.
func ParseState(s string) (State, error) {
	for st := Offered; st <= Declined; st++ {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown lease state %q", s)
}

// Lease is what is known of one address given to one client.
type Lease struct {
	Addr     netip.Addr // IPv4; the key
	State    State
	ClientID []byte // option 61 as the client sent it, or nil
	HWType   uint8  // BOOTP htype
	HWAddr   []byte // chaddr[:hlen]
	Hostname string
	Start    time.Time // when the lease was granted or last renewed
	Expires  time.Time // zero for a lease that never expires (BOOTP)
	Subnet   netip.Prefix
	// UUID is the PXE client machine identifier (option 97), zero if none.
	UUID [16]byte
	// CircuitID and RemoteID are the relay agent sub-options seen with the request.
	CircuitID []byte
	RemoteID  []byte
}

// Key returns the client identity a lease belongs to: option 61 when the
// client sent one, else the hardware type and address (RFC 2131 section 4.2).
func (l *Lease) Key() ClientKey {
	return MakeKey(l.ClientID, l.HWType, l.HWAddr)
}

// Equal reports whether two leases hold the same values.
func (l *Lease) Equal(o *Lease) bool {
	return l.Addr == o.Addr && l.State == o.State && bytes.Equal(l.ClientID, o.ClientID) &&
		l.HWType == o.HWType && bytes.Equal(l.HWAddr, o.HWAddr) && l.Hostname == o.Hostname &&
		l.Start.Equal(o.Start) && l.Expires.Equal(o.Expires) && l.Subnet == o.Subnet &&
		l.UUID == o.UUID && bytes.Equal(l.CircuitID, o.CircuitID) && bytes.Equal(l.RemoteID, o.RemoteID)
}

// ActiveAt reports whether the lease holds its address at time t: bound and
// not expired, offered and not expired, or declined and still quarantined.
func (l *Lease) ActiveAt(t time.Time) bool {
	switch l.State {
	case Bound, Offered, Declined:
		return l.Expires.IsZero() || t.Before(l.Expires)
	}
	return false
}

// ClientKey identifies a client: a tag byte, then the client identifier or
// the hardware type and address. It is a string so it can key a map.
type ClientKey string

// MakeKey builds the key of a client from option 61 if present, else from
// htype and chaddr.
func MakeKey(clientID []byte, hwType uint8, hwAddr []byte) ClientKey {
	if len(clientID) > 0 {
		return ClientKey("i" + string(clientID))
	}
	return ClientKey("h" + string([]byte{hwType}) + string(hwAddr))
}

// AppendKey appends the bytes of MakeKey(clientID, hwType, hwAddr) to b, for
// callers that look a client up without making a string.
func AppendKey(b, clientID []byte, hwType uint8, hwAddr []byte) []byte {
	if len(clientID) > 0 {
		return append(append(b, 'i'), clientID...)
	}
	return append(append(b, 'h', hwType), hwAddr...)
}

// Errors returned by stores.
var (
	ErrNotFound = errors.New("lease not found")
	ErrClosed   = errors.New("lease store closed")
	// ErrCorrupt: a record failed its checksum or schema check where the
	// store cannot skip it (a torn last record is skipped, not an error).
	ErrCorrupt = errors.New("lease store corrupt")
	// ErrLocked: another process holds the store.
	ErrLocked = errors.New("lease store in use by another process")
)

// Store is a durable set of leases keyed by address.
type Store interface {
	// Put records l, replacing the lease of the same address. It returns once
	// the lease is durable. Concurrent Puts may share one commit. Put does
	// not keep l or its slices after it returns: callers may reuse them.
	Put(ctx context.Context, l *Lease) error
	// Delete removes the lease of an address; deleting a missing one is not an error.
	Delete(ctx context.Context, addr netip.Addr) error
	// Get returns the lease of an address, or ErrNotFound.
	Get(ctx context.Context, addr netip.Addr) (Lease, error)
	// Load calls fn for every lease, in no particular order, and stops at
	// the first error fn returns.
	Load(ctx context.Context, fn func(*Lease) error) error
	// Backup writes a consistent copy of the store, readable by Open of the
	// same backend, while the store stays in use.
	Backup(ctx context.Context, w io.Writer) error
	// Close flushes and releases the store.
	Close() error
}
