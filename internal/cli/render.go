package cli

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"bootd/internal/dhcpv4"
)

// record is what decode prints for one BOOTP/DHCP datagram, as text or as
// one JSON object; both forms are made from it so that they say the same.
type record struct {
	Frame        int      `json:"frame"`
	Time         string   `json:"time,omitempty"` // RFC 3339, UTC, microseconds; captures only
	Line         int      `json:"line,omitempty"` // hex input: the line the message starts on
	Src          string   `json:"src,omitempty"`  // ip:port
	Dst          string   `json:"dst,omitempty"`
	VLAN         []uint16 `json:"vlan,omitempty"`          // VLAN ids, outermost first
	Length       int      `json:"length,omitempty"`        // bytes of the BOOTP message (UDP payload)
	Error        string   `json:"error,omitempty"`         // malformed: why
	NotDecodable string   `json:"not_decodable,omitempty"` // a datagram decode cannot read: why
	*Fields               // the decoded message; nil unless it parsed
}

// Fields are the decoded message (exported for encoding/json only).
type Fields struct {
	Op          string         `json:"op"`
	HType       uint8          `json:"htype"`
	HLen        uint8          `json:"hlen"`
	Hops        uint8          `json:"hops"`
	XID         string         `json:"xid"`
	Secs        uint16         `json:"secs"`
	Flags       string         `json:"flags"`
	Broadcast   bool           `json:"broadcast"`
	CIAddr      string         `json:"ciaddr"`
	YIAddr      string         `json:"yiaddr"`
	SIAddr      string         `json:"siaddr"`
	GIAddr      string         `json:"giaddr"`
	CHAddr      string         `json:"chaddr"`
	SName       string         `json:"sname"`
	File        string         `json:"file"`
	Overload    string         `json:"overload,omitempty"`     // which of file and sname held options
	MessageType string         `json:"message_type,omitempty"` // DHCP only
	BOOTP       bool           `json:"bootp,omitempty"`        // no DHCP message type
	NoCookie    bool           `json:"no_cookie,omitempty"`    // RFC 951 vendor area, no magic cookie
	Vendor      string         `json:"vendor,omitempty"`       // NoCookie: the vendor area in hex
	Options     []optionRecord `json:"options"`
	Warnings    []string       `json:"warnings,omitempty"` // Validate's problems

	flags dhcpv4.Flags
}

type optionRecord struct {
	Code       uint8          `json:"code"`
	Name       string         `json:"name"`
	Value      string         `json:"value"` // dhcpv4.FormatValue
	Hex        string         `json:"hex"`
	SubOptions []optionRecord `json:"sub_options,omitempty"` // option 82
}

// newFields describes a parsed message.
func newFields(m *dhcpv4.Message) *Fields {
	f := &Fields{
		Op:        m.Op.String(),
		HType:     m.HType,
		HLen:      m.HLen,
		Hops:      m.Hops,
		XID:       m.XID.String(),
		Secs:      m.Secs,
		Flags:     fmt.Sprintf("0x%04x", uint16(m.Flags)),
		Broadcast: m.Flags.Broadcast(),
		flags:     m.Flags,
		CIAddr:    m.CIAddr.String(),
		YIAddr:    m.YIAddr.String(),
		SIAddr:    m.SIAddr.String(),
		GIAddr:    m.GIAddr.String(),
		CHAddr:    dhcpv4.HexString(m.CHAddr[:min(int(m.HLen), len(m.CHAddr))]),
		SName:     string(m.ServerName()),
		File:      string(m.BootFile()),
		Overload:  overloadName(m.Overloaded),
		NoCookie:  m.NoCookie,
		Options:   []optionRecord{},
	}
	if m.NoCookie {
		f.BOOTP = true
		f.Vendor = hex.EncodeToString(m.Vendor)
	} else if t, ok := m.MessageType(); ok {
		f.MessageType = t.String()
	} else if !m.Options.Has(dhcpv4.OptMessageType) {
		f.BOOTP = true
	}
	for code, v := range m.Options.All() {
		o := optionRecord{Code: code, Name: dhcpv4.OptionName(code), Value: dhcpv4.FormatValue(code, v), Hex: hex.EncodeToString(v)}
		if code == dhcpv4.OptRelayAgentInfo {
			if ri, ok := m.RelayAgentInfo(); ok {
				for c, sv := range ri.All() {
					o.SubOptions = append(o.SubOptions, optionRecord{
						Code: c, Name: dhcpv4.RelaySubOptionName(c),
						Value: dhcpv4.FormatRelaySubOption(c, sv), Hex: hex.EncodeToString(sv),
					})
				}
			}
		}
		f.Options = append(f.Options, o)
	}
	if err := m.Validate(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				f.Warnings = append(f.Warnings, e.Error())
			}
		} else {
			f.Warnings = append(f.Warnings, err.Error())
		}
	}
	return f
}

func overloadName(v uint8) string {
	switch v {
	case 1:
		return "file"
	case 2:
		return "sname"
	case 3:
		return "file and sname"
	}
	return ""
}

func htypeName(t uint8) string {
	switch t {
	case 1:
		return "ethernet"
	case 6:
		return "ieee802"
	case 32:
		return "infiniband"
	}
	return ""
}

// writeText prints a record as text. Header fields are one per line with
// aligned values, options one per line, in wire order.
func writeText(w io.Writer, r *record) {
	switch {
	case r.Error != "":
		fmt.Fprintf(w, "frame %d: malformed BOOTP/DHCP message: %s\n", r.Frame, r.Error)
		return
	case r.NotDecodable != "":
		fmt.Fprintf(w, "frame %d: BOOTP/DHCP message not decodable: %s\n", r.Frame, r.NotDecodable)
		return
	}
	var first strings.Builder
	fmt.Fprintf(&first, "frame %d", r.Frame)
	if r.Time != "" {
		first.WriteString(" " + r.Time)
	}
	if r.Line != 0 {
		fmt.Fprintf(&first, " line %d", r.Line)
	}
	if r.Src != "" {
		first.WriteString(" " + r.Src + " > " + r.Dst)
	}
	for _, v := range r.VLAN {
		fmt.Fprintf(&first, " vlan %d", v)
	}
	fmt.Fprintf(&first, " length %d", r.Length)
	fmt.Fprintln(w, first.String())

	f := r.Fields
	field := func(name, value string) { fmt.Fprintf(w, "  %-9s %s\n", name+":", value) }
	field("op", f.Op)
	htype := strconv.Itoa(int(f.HType))
	if n := htypeName(f.HType); n != "" {
		htype += " (" + n + ")"
	}
	field("htype", htype)
	field("hlen", strconv.Itoa(int(f.HLen)))
	field("hops", strconv.Itoa(int(f.Hops)))
	field("xid", f.XID)
	field("secs", strconv.Itoa(int(f.Secs)))
	field("flags", flagsText(f))
	field("ciaddr", f.CIAddr)
	field("yiaddr", f.YIAddr)
	field("siaddr", f.SIAddr)
	field("giaddr", f.GIAddr)
	field("chaddr", f.CHAddr)
	field("sname", cfield(f.SName, f.Overload, "sname"))
	field("file", cfield(f.File, f.Overload, "file"))
	switch {
	case f.NoCookie:
		field("type", "BOOTP (RFC 951, no magic cookie)")
		field("vendor", vendorText(f.Vendor))
	case f.BOOTP:
		field("type", "BOOTP (no DHCP message type)")
	case f.MessageType != "":
		field("type", "DHCP "+f.MessageType)
	default:
		field("type", "DHCP (malformed message type)")
	}
	if f.Overload != "" {
		field("overload", "options continue in "+f.Overload)
	}
	for _, o := range f.Options {
		switch {
		case len(o.SubOptions) > 0:
			fmt.Fprintf(w, "  option %d %s:\n", o.Code, o.Name)
			for _, s := range o.SubOptions {
				fmt.Fprintf(w, "    sub-option %d %s: %s\n", s.Code, s.Name, s.Value)
			}
		case o.Value == "":
			fmt.Fprintf(w, "  option %d %s\n", o.Code, o.Name)
		default:
			fmt.Fprintf(w, "  option %d %s: %s\n", o.Code, o.Name, o.Value)
		}
	}
	for _, warn := range f.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}

func flagsText(f *Fields) string {
	var notes []string
	if f.Broadcast {
		notes = append(notes, "broadcast")
	}
	if rest := f.flags &^ dhcpv4.FlagBroadcast; rest != 0 {
		notes = append(notes, fmt.Sprintf("reserved bits 0x%04x", rest))
	}
	if len(notes) == 0 {
		return f.Flags
	}
	return f.Flags + " (" + strings.Join(notes, ", ") + ")"
}

// cfield shows sname or file: quoted, or noted as holding options.
func cfield(s, overload, name string) string {
	if strings.Contains(overload, name) {
		return "(holds options)"
	}
	return strconv.Quote(s)
}

func vendorText(h string) string {
	if h == "" {
		return "none"
	}
	if strings.Trim(h, "0") == "" {
		return fmt.Sprintf("%d bytes, all zero", len(h)/2)
	}
	b, _ := hex.DecodeString(h)
	return fmt.Sprintf("%d bytes: %s", len(b), dhcpv4.HexString(b))
}

// writeJSON prints a record as one line of JSON. A record always encodes,
// so the only possible error is the writer's, which the caller checks.
func writeJSON(w io.Writer, r *record) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(r)
}
