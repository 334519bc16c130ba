package dhcpv4

import (
	"iter"
	"net/netip"
)

// Relay agent information sub-options (RFC 3046 and later).
const (
	RelayCircuitID        uint8 = 1   // RFC 3046
	RelayRemoteID         uint8 = 2   // RFC 3046
	RelayDOCSISDevice     uint8 = 4   // RFC 3256
	RelayLinkSelection    uint8 = 5   // RFC 3527
	RelaySubscriberID     uint8 = 6   // RFC 3993
	RelayRADIUSAttributes uint8 = 7   // RFC 4014
	RelayAuthentication   uint8 = 8   // RFC 4030
	RelayVendorSpecific   uint8 = 9   // RFC 4243
	RelayFlags            uint8 = 10  // RFC 5010
	RelayServerIDOverride uint8 = 11  // RFC 5107
	RelayID               uint8 = 12  // RFC 6925
	RelayVirtualSubnet    uint8 = 151 // RFC 6607
	RelayVirtualControl   uint8 = 152 // RFC 6607
)

var relaySubNames = map[uint8]string{
	1: "circuit-id", 2: "remote-id", 4: "docsis-device-class", 5: "link-selection",
	6: "subscriber-id", 7: "radius-attributes", 8: "authentication", 9: "vendor-specific",
	10: "relay-flags", 11: "server-id-override", 12: "relay-id", 151: "virtual-subnet-selection",
	152: "virtual-subnet-selection-control",
}

// RelaySubOptionName names a sub-option of option 82.
func RelaySubOptionName(code uint8) string {
	if n, ok := relaySubNames[code]; ok {
		return n
	}
	return "sub-option-" + itoa(int(code))
}

// RelayInfo is the value of option 82: code/length/value sub-options. Unlike
// options, sub-option 0 is not padding (RFC 3046 defines none, but relays use
// it), so nothing is skipped.
type RelayInfo []byte

// RelayAgentInfo returns option 82 when its sub-options are well formed.
func (m *Message) RelayAgentInfo() (RelayInfo, bool) {
	v, ok := m.Options.Get(OptRelayAgentInfo)
	if !ok || len(v) == 0 || !subOptionsValid(v, false) {
		return nil, false
	}
	return RelayInfo(v), true
}

// All iterates over the sub-options in order.
func (r RelayInfo) All() iter.Seq2[uint8, []byte] { return SubOptions(r, false) }

// Get returns the first sub-option with the code.
func (r RelayInfo) Get(code uint8) ([]byte, bool) {
	for c, v := range r.All() {
		if c == code {
			return v, true
		}
	}
	return nil, false
}

// CircuitID returns sub-option 1.
func (r RelayInfo) CircuitID() ([]byte, bool) { return r.Get(RelayCircuitID) }

// RemoteID returns sub-option 2.
func (r RelayInfo) RemoteID() ([]byte, bool) { return r.Get(RelayRemoteID) }

// LinkSelection returns sub-option 5 (RFC 3527): the subnet the client is on.
func (r RelayInfo) LinkSelection() (netip.Addr, bool) { return r.addr(RelayLinkSelection) }

// ServerIDOverride returns sub-option 11 (RFC 5107): the address the client
// must see as server identifier.
func (r RelayInfo) ServerIDOverride() (netip.Addr, bool) { return r.addr(RelayServerIDOverride) }

func (r RelayInfo) addr(code uint8) (netip.Addr, bool) {
	v, ok := r.Get(code)
	if !ok || len(v) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(v)), true
}
