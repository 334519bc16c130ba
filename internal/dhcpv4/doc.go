// Package dhcpv4 is the wire codec for BOOTP (RFC 951, RFC 1542) and DHCPv4
// (RFC 2131, RFC 2132) messages. It knows nothing of leases, sockets or
// configuration, and imports only the standard library.
//
// # Parsing
//
// Message.UnmarshalBinary parses the UDP payload of a message into a Message
// the caller owns and reuses; steady-state parsing allocates nothing. It
// rejects cheaply first (length, op, hlen, magic cookie), bounds every read by
// the buffer, and reports problems as *ParseError wrapping a sentinel error
// (ErrShort, ErrBadHLen, ErrOptionTruncated, ErrNoEnd, ErrOverloadLoop, ...).
// Parsing reads options from the options field, then from file and sname when
// option 52 says they are overloaded, and concatenates repeated instances of
// one code into one value (RFC 3396). A message without the magic cookie is
// plain BOOTP: its vendor area is kept in Message.Vendor.
//
// Option values are checked only when asked: typed accessors (RequestedIP,
// ClientID, RelayAgentInfo, ...) give false for an absent or malformed value,
// and Message.Validate lists every malformed value. Slices returned by
// accessors alias the Message and are valid until it is parsed again.
//
// # Building
//
// Message.AppendLayout appends the wire form to a caller-supplied buffer:
// the message type first, then options in the order of the client's parameter
// request list (Layout.Order), then the others, relay agent information (82)
// last; values over 255 bytes are split (RFC 3396); when the options do not
// fit in Layout.MaxLen (see MaxLenFromOption57) they spill into empty file and
// sname fields with option 52; what fits nowhere is counted in Layout.Omitted.
// Messages are padded to 300 bytes, the BOOTP minimum many clients and relays
// require. Unknown options are written back byte for byte.
//
// # Presentation
//
// The option table (LookupOption, OptionName, OptionByName) names every
// option of RFC 2132 and the later ones bootd uses, with the format of its
// value; FormatValue renders a value for people.
package dhcpv4
