package dhcpv4

import (
	"errors"
	"fmt"
)

// Validate checks every known option's value against its format and returns
// all problems joined (each an *OptionError), or nil. Unknown options are not
// checked. Parsing never rejects a message for a malformed option value: a
// server decides what to do with one.
func (m *Message) Validate() error {
	var errs []error
	for code, v := range m.Options.All() {
		if reason := checkValue(LookupOption(code).Kind, v); reason != "" {
			errs = append(errs, &OptionError{Code: code, Reason: reason})
		}
	}
	if v, ok := m.Options.Uint16(OptMaxMessageSize); ok && v < 576 {
		errs = append(errs, &OptionError{Code: OptMaxMessageSize, Reason: "below the minimum of 576"})
	}
	return errors.Join(errs...)
}

// CheckValue reports whether v is a valid value of the given kind: nil, or
// an error saying why not (it wraps ErrMalformed).
func CheckValue(kind Kind, v []byte) error {
	if reason := checkValue(kind, v); reason != "" {
		return fmt.Errorf("%w: %s", ErrMalformed, reason)
	}
	return nil
}

// checkValue returns why v is not a valid value of kind, or "".
func checkValue(kind Kind, v []byte) string {
	n := len(v)
	switch kind {
	case KindBytes:
		return ""
	case KindAddr:
		return wantLen(n, 4)
	case KindAddrs:
		if n == 0 || n%4 != 0 {
			return "length " + itoa(n) + " is not a positive multiple of 4"
		}
	case KindAddrsOrNone:
		if n%4 != 0 {
			return "length " + itoa(n) + " is not a multiple of 4"
		}
	case KindAddrPairs:
		if n == 0 || n%8 != 0 {
			return "length " + itoa(n) + " is not a positive multiple of 8"
		}
	case KindUint8:
		return wantLen(n, 1)
	case KindUint16:
		return wantLen(n, 2)
	case KindUint16s, KindClientArch:
		if n == 0 || n%2 != 0 {
			return "length " + itoa(n) + " is not a positive multiple of 2"
		}
	case KindUint32, KindInt32, KindSeconds:
		return wantLen(n, 4)
	case KindBool:
		if r := wantLen(n, 1); r != "" {
			return r
		}
		if v[0] > 1 {
			return "boolean value is not 0 or 1"
		}
	case KindString:
		if n == 0 {
			return "empty text"
		}
	case KindEmpty:
		return wantLen(n, 0)
	case KindOverload:
		if n != 1 || v[0] < 1 || v[0] > 3 {
			return "not 1, 2 or 3"
		}
	case KindMessageType:
		if r := wantLen(n, 1); r != "" {
			return r
		}
		if v[0] == 0 {
			return "message type 0"
		}
	case KindCodes:
		if n == 0 {
			return "empty list"
		}
	case KindClientID:
		if n < 2 {
			return "shorter than 2 bytes"
		}
	case KindUserClass:
		if n == 0 {
			return "empty user class"
		}
	case KindFQDN:
		if _, err := parseFQDN(v); err != nil {
			return err.Error()
		}
	case KindRelayInfo:
		if n == 0 || !subOptionsValid(v, false) {
			return "sub-options run past the end"
		}
	case KindNDI:
		return wantLen(n, 3)
	case KindUUID:
		if n != 17 {
			return "length " + itoa(n) + ", want 17"
		}
		if v[0] != 0 {
			return "type " + itoa(int(v[0])) + ", want 0"
		}
	case KindDomainList:
		if _, err := DecodeDomainList(v); err != nil {
			return err.Error()
		}
	case KindRoutes:
		if _, err := DecodeRoutes(v); err != nil {
			return err.Error()
		}
	case KindVIClass, KindVIVendor:
		i := 0
		for i+5 <= n {
			i += 5 + int(v[i+4])
		}
		if i != n || n == 0 {
			return "enterprise entries run past the end"
		}
	case KindEncapsulated:
		if !subOptionsValid(v, true) {
			return "sub-options run past the end"
		}
	}
	return ""
}

func wantLen(n, want int) string {
	if n != want {
		return "length " + itoa(n) + ", want " + itoa(want)
	}
	return ""
}
