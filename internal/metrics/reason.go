package metrics

import "strings"

// Reason is the category of a dropped request: the reason label of
// bootd_dhcp_dropped_total. The handler explains a drop in free text
// (naming addresses and errors); ReasonOf maps that text onto this small
// fixed set, so the label's values stay few.
type Reason uint8

// Reasons.
const (
	ReasonOther         Reason = iota // anything not below
	ReasonNotOurs                     // for another server, or not ours to answer (not authoritative, an address the client does not hold)
	ReasonNoSubnet                    // no configured subnet for the client's link or interface
	ReasonNoPool                      // no pool the client's classes allow
	ReasonPoolExhausted               // no free address in the client's pools
	ReasonConflict                    // the address is another client's
	ReasonBusy                        // the client's previous request is still being written
	ReasonNotPXE                      // proxy DHCP: not a PXE client, or nothing to boot it with
	ReasonBOOTPRefused                // BOOTP off on the subnet, or a BOOTP client without a reservation
	ReasonUnsupported                 // a message type the server does not answer
	ReasonMalformed                   // does not parse, or lacks what its type requires
	ReasonStoreError                  // the lease could not be recorded
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonOther:         "other",
	ReasonNotOurs:       "not_ours",
	ReasonNoSubnet:      "no_subnet",
	ReasonNoPool:        "no_pool",
	ReasonPoolExhausted: "pool_exhausted",
	ReasonConflict:      "conflict",
	ReasonBusy:          "busy",
	ReasonNotPXE:        "not_pxe",
	ReasonBOOTPRefused:  "bootp_refused",
	ReasonUnsupported:   "unsupported",
	ReasonMalformed:     "malformed",
	ReasonStoreError:    "store_error",
}

func (r Reason) String() string {
	if r >= numReasons {
		return reasonNames[ReasonOther]
	}
	return reasonNames[r]
}

// Texts of the allocator's errors (internal/alloc), as the handler quotes
// them after a colon.
const (
	errBusy     = "a commit for this client is in progress"
	errConflict = "address held by another client"
	errNotHeld  = "address not held by this client"
	errNoRoom   = "no free address in the pools"
)

// reasonPrefixes maps the beginnings of the handler's drop reasons
// (internal/handler) to categories; the first match wins.
var reasonPrefixes = []struct {
	prefix string
	reason Reason
}{
	{"client selected another server", ReasonNotOurs},
	{"DECLINE for another server", ReasonNotOurs},
	{"RELEASE for another server", ReasonNotOurs},
	{"not authoritative", ReasonNotOurs},
	{"no subnet", ReasonNoSubnet},
	{"allocated address outside the link", ReasonNoSubnet},
	{"unknown interface", ReasonNoSubnet},
	{"no pool for this client", ReasonNoPool},
	{"pool exhausted", ReasonPoolExhausted},
	{"reserved address", ReasonConflict},
	{"proxyDHCP: nothing to answer", ReasonUnsupported},
	{"proxyDHCP", ReasonNotPXE},
	{"BOOTP request", ReasonBOOTPRefused},
	{"unsupported message type", ReasonUnsupported},
	{"not a BOOTREQUEST", ReasonMalformed},
	{"no client identifier and no hardware address", ReasonMalformed},
	{"REQUEST in SELECTING state without", ReasonMalformed},
	{"REQUEST without", ReasonMalformed},
	{"DECLINE without", ReasonMalformed},
	{"INFORM without", ReasonMalformed},
	{"malformed", ReasonMalformed},
	{"lease not recorded", ReasonStoreError},
	{"DECLINE of", ReasonStoreError},
	{"RELEASE of", ReasonStoreError},
}

// ReasonOf maps a drop reason's text to its category. An allocator error
// quoted in the text decides first (a busy client, a conflict, an address
// not held), then the text's beginning; text that matches nothing is
// ReasonOther. It does not allocate.
func ReasonOf(text string) Reason {
	switch {
	case strings.Contains(text, errBusy):
		return ReasonBusy
	case strings.Contains(text, errConflict):
		return ReasonConflict
	case strings.Contains(text, errNotHeld):
		return ReasonNotOurs
	case strings.Contains(text, errNoRoom):
		return ReasonPoolExhausted
	}
	for _, p := range reasonPrefixes {
		if strings.HasPrefix(text, p.prefix) {
			return p.reason
		}
	}
	return ReasonOther
}
