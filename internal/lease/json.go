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
		HWAddr: hexColon(l.HWAddr), ClientID: hexColon(l.ClientID), Hostname: l.Hostname,
		Start: l.Start.UTC(), Subnet: l.Subnet,
		CircuitID: hexColon(l.CircuitID), RemoteID: hexColon(l.RemoteID),
	}
	if !l.Expires.IsZero() {
		e := l.Expires.UTC()
		j.Expires = &e
	}
	if l.UUID != ([16]byte{}) {
		j.UUID = hexColon(l.UUID[:])
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
		if *f.dst, err = parseHexColon(f.src); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if j.Expires != nil {
		out.Expires = *j.Expires
	}
	if j.UUID != "" {
		u, err := parseHexColon(j.UUID)
		if err != nil || len(u) != 16 {
			return fmt.Errorf("uuid %q: want 16 bytes of hex", j.UUID)
		}
		out.UUID = [16]byte(u)
	}
	*l = out
	return nil
}

func hexColon(b []byte) string {
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

func parseHexColon(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return hex.DecodeString(strings.ReplaceAll(s, ":", ""))
}
