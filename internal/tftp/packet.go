package tftp

import (
	"errors"
	"fmt"
	"strconv"
)

// Opcodes (RFC 1350 §5, RFC 2347).
const (
	OpRRQ   = 1
	OpWRQ   = 2
	OpDATA  = 3
	OpACK   = 4
	OpERROR = 5
	OpOACK  = 6
)

// Error codes (RFC 1350 appendix, RFC 2347).
const (
	ErrCodeNotDefined    = 0
	ErrCodeNotFound      = 1
	ErrCodeAccess        = 2
	ErrCodeDiskFull      = 3
	ErrCodeIllegalOp     = 4
	ErrCodeUnknownTID    = 5
	ErrCodeFileExists    = 6
	ErrCodeNoSuchUser    = 7
	ErrCodeOptionRefused = 8
)

// Option limits.
const (
	DefaultBlockSize = 512   // RFC 1350, and the block size when blksize is not negotiated
	MinBlockSize     = 8     // RFC 2348
	MaxBlockSize     = 65464 // RFC 2348: the largest block that fits a UDP datagram with IP headers
	MinTimeout       = 1     // RFC 2349, seconds
	MaxTimeout       = 255   // RFC 2349, seconds
	MinWindowSize    = 1     // RFC 7440
	MaxWindowSize    = 65535 // RFC 7440
)

// maxOptionValue bounds the digits of an option value so that parsing cannot
// overflow: tsize is the longest (a file size), and 20 digits exceed int64.
const maxOptionValue = 19

// Sentinel errors of ParseRequest.
var (
	// ErrShort: the packet ends before its opcode or a string's terminating NUL.
	ErrShort = errors.New("truncated packet")
	// ErrOpcode: the packet is not a read or write request.
	ErrOpcode = errors.New("not a request")
	// ErrFormat: the request is malformed (empty filename or mode, an option without a value).
	ErrFormat = errors.New("malformed request")
)

// Options are the options of a request that bootd understands, with valid
// values (RFC 2347, 2348, 2349, 7440). An option absent from the request, or
// present with a value out of its range or not a decimal number, has its zero
// value here: the server ignores it, as RFC 2347 allows, rather than failing
// the request. Option names are matched without regard to case; when one is
// repeated, the last valid occurrence wins.
type Options struct {
	BlockSize  int   // blksize, MinBlockSize..MaxBlockSize; 0 if absent
	Timeout    int   // timeout in seconds, MinTimeout..MaxTimeout; 0 if absent
	WindowSize int   // windowsize, MinWindowSize..MaxWindowSize; 0 if absent
	Tsize      int64 // tsize value, meaningful if HasTsize (0 in a read request)
	HasTsize   bool  // tsize was requested
}

// Any reports whether any option was accepted, that is whether the server
// answers with an OACK.
func (o Options) Any() bool {
	return o.BlockSize != 0 || o.Timeout != 0 || o.WindowSize != 0 || o.HasTsize
}

// Request is a parsed read or write request.
type Request struct {
	Op       uint16 // OpRRQ or OpWRQ
	Filename string // as sent: not cleaned or checked
	Mode     string // lower case: "octet", "netascii", "mail" or anything a client sent
	Options  Options
}

// ParseRequest parses a read or write request (RFC 1350 §5, RFC 2347 §2).
// It never panics on any input. Errors wrap ErrShort, ErrOpcode or
// ErrFormat and name the position.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	if len(b) < 2 {
		return r, fmt.Errorf("opcode: %w", ErrShort)
	}
	r.Op = uint16(b[0])<<8 | uint16(b[1])
	if r.Op != OpRRQ && r.Op != OpWRQ {
		return r, fmt.Errorf("opcode %d: %w", r.Op, ErrOpcode)
	}
	off := 2
	name, off, err := cstring(b, off)
	if err != nil {
		return r, fmt.Errorf("filename: %w", err)
	}
	if len(name) == 0 {
		return r, fmt.Errorf("filename at offset 2 is empty: %w", ErrFormat)
	}
	modeOff := off
	mode, off, err := cstring(b, off)
	if err != nil {
		return r, fmt.Errorf("mode: %w", err)
	}
	if len(mode) == 0 {
		return r, fmt.Errorf("mode at offset %d is empty: %w", modeOff, ErrFormat)
	}
	r.Filename = string(name)
	r.Mode = lowerASCII(mode)
	for off < len(b) {
		optOff := off
		var key, val []byte
		key, off, err = cstring(b, off)
		if err != nil {
			return r, fmt.Errorf("option at offset %d: %w", optOff, err)
		}
		if len(key) == 0 {
			return r, fmt.Errorf("option at offset %d: empty name: %w", optOff, ErrFormat)
		}
		val, off, err = cstring(b, off)
		if err != nil {
			return r, fmt.Errorf("option %q at offset %d: value: %w", key, optOff, err)
		}
		r.Options.set(key, val)
	}
	return r, nil
}

// set records one option if bootd knows it and its value is valid.
func (o *Options) set(key, val []byte) {
	n, ok := decimal(val)
	switch {
	case equalFold(key, "blksize"):
		if ok && n >= MinBlockSize && n <= MaxBlockSize {
			o.BlockSize = int(n)
		}
	case equalFold(key, "timeout"):
		if ok && n >= MinTimeout && n <= MaxTimeout {
			o.Timeout = int(n)
		}
	case equalFold(key, "windowsize"):
		if ok && n >= MinWindowSize && n <= MaxWindowSize {
			o.WindowSize = int(n)
		}
	case equalFold(key, "tsize"):
		if ok {
			o.Tsize, o.HasTsize = n, true
		}
	}
}

// AppendRequest appends r in wire form: the inverse of ParseRequest for the
// options it keeps.
func AppendRequest(b []byte, r Request) []byte {
	b = append(b, byte(r.Op>>8), byte(r.Op))
	b = append(b, r.Filename...)
	b = append(b, 0)
	b = append(b, r.Mode...)
	b = append(b, 0)
	return appendOptions(b, r.Options)
}

// AppendOACK appends an option acknowledgement carrying the options of o
// that are set (RFC 2347 §3).
func AppendOACK(b []byte, o Options) []byte {
	b = append(b, 0, OpOACK)
	return appendOptions(b, o)
}

func appendOptions(b []byte, o Options) []byte {
	opt := func(b []byte, key string, v int64) []byte {
		b = append(b, key...)
		b = append(b, 0)
		b = strconv.AppendInt(b, v, 10)
		return append(b, 0)
	}
	if o.BlockSize != 0 {
		b = opt(b, "blksize", int64(o.BlockSize))
	}
	if o.Timeout != 0 {
		b = opt(b, "timeout", int64(o.Timeout))
	}
	if o.HasTsize {
		b = opt(b, "tsize", o.Tsize)
	}
	if o.WindowSize != 0 {
		b = opt(b, "windowsize", int64(o.WindowSize))
	}
	return b
}

// ParseOACK parses an option acknowledgement, for clients and tests.
func ParseOACK(b []byte) (Options, error) {
	var o Options
	if len(b) < 2 || b[0] != 0 || b[1] != OpOACK {
		return o, fmt.Errorf("not an OACK: %w", ErrOpcode)
	}
	for off := 2; off < len(b); {
		var key, val []byte
		var err error
		optOff := off
		if key, off, err = cstring(b, off); err != nil {
			return o, fmt.Errorf("option at offset %d: %w", optOff, err)
		}
		if val, off, err = cstring(b, off); err != nil {
			return o, fmt.Errorf("option %q at offset %d: value: %w", key, optOff, err)
		}
		o.set(key, val)
	}
	return o, nil
}

// AppendError appends an ERROR packet (RFC 1350 §5).
func AppendError(b []byte, code uint16, msg string) []byte {
	b = append(b, 0, OpERROR, byte(code>>8), byte(code))
	b = append(b, msg...)
	return append(b, 0)
}

// ParseError returns the code and message of an ERROR packet; a missing
// final NUL is tolerated.
func ParseError(b []byte) (code uint16, msg string, ok bool) {
	if len(b) < 4 || b[0] != 0 || b[1] != OpERROR {
		return 0, "", false
	}
	m := b[4:]
	for i, c := range m {
		if c == 0 {
			m = m[:i]
			break
		}
	}
	return uint16(b[2])<<8 | uint16(b[3]), string(m), true
}

// parseACK returns the block number of an ACK packet. Trailing bytes are
// tolerated, as some clients pad their ACKs.
func parseACK(b []byte) (block uint16, ok bool) {
	if len(b) < 4 || b[0] != 0 || b[1] != OpACK {
		return 0, false
	}
	return uint16(b[2])<<8 | uint16(b[3]), true
}

// opcode returns the opcode of a packet, or 0 if it is shorter than one.
func opcode(b []byte) uint16 {
	if len(b) < 2 {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// cstring returns the NUL-terminated string at b[off:] and the offset after its NUL.
func cstring(b []byte, off int) ([]byte, int, error) {
	for i := off; i < len(b); i++ {
		if b[i] == 0 {
			return b[off:i], i + 1, nil
		}
	}
	return nil, len(b), fmt.Errorf("no NUL after offset %d: %w", off, ErrShort)
}

// decimal parses a non-negative decimal number of at most maxOptionValue digits.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > maxOptionValue {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func lowerASCII(b []byte) string {
	s := []byte(string(b))
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			s[i] = c + 'a' - 'A'
		}
	}
	return string(s)
}
