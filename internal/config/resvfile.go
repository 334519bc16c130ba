package config

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// ReservationSpec is a reservation to add to a reservations file, its
// values written as in the configuration file.
type ReservationSpec struct {
	Kind     IDKind
	ID       string
	Subnet   string // may be empty when Address is in a subnet
	Address  string
	Hostname string
	BootFile string
}

// reservationsHeader starts a reservations file bootd creates.
const reservationsHeader = `# Reservations made through bootd's API (bootd reservations, the dashboard).
# bootd rewrites this file on each change, keeping comments; after editing
# it by hand, reload bootd.
`

// EditReservations returns the content of a reservations file with the
// reservations at the positions in remove taken out (Reservation.Pos of a
// reservation from that file) and add appended. Comments and the other
// entries stay as they are. data may be empty (no file yet).
func EditReservations(data []byte, remove []Pos, add []ReservationSpec) ([]byte, error) {
	var doc yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("reading the reservations file: %w", err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, HeadComment: reservationsHeader,
			Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the reservations file is not a mapping with reservations")
	}
	root := doc.Content[0]
	var seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "reservations" {
			seq = root.Content[i+1]
		}
	}
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode}
		root.Content = append(root.Content, str("reservations"), seq)
	}
	if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
		*seq = yaml.Node{Kind: yaml.SequenceNode}
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, errors.New("reservations in the reservations file is not a list")
	}
	kept := seq.Content[:0]
	for _, it := range seq.Content {
		if !slices.Contains(remove, Pos{it.Line, it.Column}) {
			kept = append(kept, it)
		}
	}
	seq.Content = kept
	for _, r := range add {
		m := &yaml.Node{Kind: yaml.MappingNode}
		if r.Subnet != "" {
			m.Content = append(m.Content, str("subnet"), str(r.Subnet))
		}
		m.Content = append(m.Content, str(r.Kind.String()), quoted(r.ID))
		for _, kv := range [][2]string{{"address", r.Address}, {"hostname", r.Hostname}, {"boot-file", r.BootFile}} {
			if kv[1] != "" {
				m.Content = append(m.Content, str(kv[0]), quoted(kv[1]))
			}
		}
		seq.Content = append(seq.Content, m)
	}
	if len(seq.Content) > 0 {
		seq.Style = 0 // block style: one reservation per few lines
	} else {
		seq.Style = yaml.FlowStyle
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// quoted is a string value written in double quotes, so that no value
// (like a MAC address) can read as anything but a string.
func quoted(s string) *yaml.Node {
	n := str(s)
	n.Style = yaml.DoubleQuotedStyle
	return n
}

// ParseIdentifier reads a reservation identifier as the configuration file
// writes it: kind is mac, client-id, circuit-id or remote-id.
func ParseIdentifier(kind, value string) (IDKind, []byte, error) {
	var k IDKind
	for c := ByMAC; c <= ByRemoteID; c++ {
		if c.String() == kind {
			k = c
		}
	}
	if k == 0 {
		return 0, nil, fmt.Errorf("kind %q: want mac, client-id, circuit-id or remote-id", kind)
	}
	d := &decoder{}
	id, _ := d.identifier(kind, quoted(value))
	if len(d.errs) > 0 {
		return 0, nil, errors.New(d.errs[0].Msg)
	}
	return k, id, nil
}

// IDString is the reservation's identifier as the configuration file
// writes it.
func (r *Reservation) IDString() string { return formatID(r.IDKind, r.ID) }

// FindReservation returns the reservations of a client identifier, in
// subnet order.
func (c *Config) FindReservation(k IDKind, id []byte) []*Reservation {
	var out []*Reservation
	for _, s := range c.Subnets {
		for _, r := range s.Reservations {
			if r.IDKind == k && bytes.Equal(r.ID, id) {
				out = append(out, r)
			}
		}
	}
	return out
}
