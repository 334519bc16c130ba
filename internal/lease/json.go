package lease

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// leaseJSON is the JSON form of a Lease: byte strings in colon-separated
// hex, times in RFC 3339, a lease that never expires without "expires".
type leaseJSON struct {
	Address   netip.Addr   `json:"address"`
	State     string       `json:"state"`
	HWType    uint8        `json:"htype"`
	HWAddr    string       `json:"hwaddr,omitempty"`
	ClientID  string       `json:"client_id,omitempty"`
	Hostname  string       `json:"hostname,omitempty"`
	Start     time.Time    `json:"start"`
	Expires   *time.Time   `json:"expires,omitempty"`
	Subnet    netip.Prefix `json:"subnet,omitzero"`
	UUID      string       `json:"uuid,omitempty"`
	CircuitID string       `json:"circuit_id,omitempty"`
	RemoteID  string       `json:"remote_id,omitempty"`
}

// MarshalJSON writes the lease as one JSON object.
func (l Lease) MarshalJSON() ([]byte, error) {
	j := leaseJSON{
		Address: l.Addr, State: l.State.String(), HWType: l.HWType,
		HWAddr: HexColon(l.HWAddr), ClientID: HexColon(l.ClientID), Hostname: l.Hostname,
		Start: l.Start.UTC(), Subnet: l.Subnet,
		CircuitID: HexColon(l.CircuitID), RemoteID: HexColon(l.RemoteID),
	}
	if !l.Expires.IsZero() {
		e := l.Expires.UTC()
		j.Expires = &e
	}
	if l.UUID != ([16]byte{}) {
		j.UUID = HexColon(l.UUID[:])
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Lease) UnmarshalJSON(b []byte) error {
	var j leaseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	st, err := ParseState(j.State)
	if err != nil {
		return err
	}
	out := Lease{Addr: j.Address, State: st, HWType: j.HWType, Hostname: j.Hostname, Start: j.Start, Subnet: j.Subnet}
	for _, f := range []struct {
		dst  *[]byte
		src  string
		name string
	}{{&out.HWAddr, j.HWAddr, "hwaddr"}, {&out.ClientID, j.ClientID, "client_id"}, {&out.CircuitID, j.CircuitID, "circuit_id"}, {&out.RemoteID, j.RemoteID, "remote_id"}} {
		if *f.dst, err = ParseHexColon(f.src); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if j.Expires != nil {
		out.Expires = *j.Expires
	}
	if j.UUID != "" {
		u, err := ParseHexColon(j.UUID)
		if err != nil || len(u) != 16 {
			return fmt.Errorf("uuid %q: want 16 bytes of hex", j.UUID)
		}
		out.UUID = [16]byte(u)
	}
	*l = out
	return nil
}

// HexColon writes bytes as the JSON form of a lease does, two hex digits
// a byte separated by colons (02:00:5e:10:00:01); nothing for none.
func HexColon(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

// ParseHexColon reads what HexColon writes; "" is no bytes.
func ParseHexColon(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	for i, part := range strings.Split(s, ":") {
		if len(part) != 2 {
			return nil, fmt.Errorf("%q: want bytes as two hex digits separated by colons (byte %d)", s, i+1)
		}
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	return b, nil
}
