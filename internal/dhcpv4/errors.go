package dhcpv4

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped in a *ParseError) by Message.UnmarshalBinary,
// and by the builder. Test for them with errors.Is.
var (
	// ErrShort: the message is shorter than the 236-byte fixed BOOTP header.
	ErrShort = errors.New("message shorter than the 236-byte BOOTP header")
	// ErrTooLong: the message is longer than the largest UDP payload over IPv4.
	ErrTooLong = errors.New("message longer than 65507 bytes")
	// ErrBadOp: op is neither 1 (BOOTREQUEST) nor 2 (BOOTREPLY).
	ErrBadOp = errors.New("op is neither BOOTREQUEST nor BOOTREPLY")
	// ErrBadHLen: hlen is larger than the 16-byte chaddr field.
	ErrBadHLen = errors.New("hlen larger than 16")
	// ErrOptionTruncated: an option's length byte, or its value, runs past the end of its field.
	ErrOptionTruncated = errors.New("option runs past the end of its field")
	// ErrNoEnd: the options field has no end option (255).
	ErrNoEnd = errors.New("options field has no end option")
	// ErrBadOverload: option 52 is not a single byte of value 1, 2 or 3.
	ErrBadOverload = errors.New("option overload (52) value is not 1, 2 or 3")
	// ErrOverloadLoop: option 52 appears inside the file or sname field it overloads.
	ErrOverloadLoop = errors.New("option overload (52) inside an overloaded field")
	// ErrTooManyOptions: more option instances than MaxOptionInstances.
	ErrTooManyOptions = errors.New("too many option instances")
	// ErrMalformed: an option's value does not have the format its code requires
	// (reported by Validate, never by UnmarshalBinary).
	ErrMalformed = errors.New("malformed option value")
	// ErrTooBig: the message cannot be built within the allowed size, even with overload.
	ErrTooBig = errors.New("message does not fit in the allowed size")
)

// Area names where an option was found.
const (
	AreaOptions = "options"
	AreaFile    = "file"
	AreaSName   = "sname"
)

// ParseError says what was wrong with a message and where.
type ParseError struct {
	Area   string // "header", "options", "file", "sname" or "vendor"
	Offset int    // byte offset into the message where the problem starts
	Code   int    // option code concerned, or -1
	Err    error  // one of the sentinel errors above
}

func (e *ParseError) Error() string {
	if e.Code >= 0 {
		return fmt.Sprintf("dhcpv4: %s at offset %d (option %d): %v", e.Area, e.Offset, e.Code, e.Err)
	}
	return fmt.Sprintf("dhcpv4: %s at offset %d: %v", e.Area, e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// OptionError reports an option whose value is malformed (from Validate).
type OptionError struct {
	Code   uint8
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("dhcpv4: option %d (%s): %s", e.Code, OptionName(e.Code), e.Reason)
}

func (e *OptionError) Unwrap() error { return ErrMalformed }
