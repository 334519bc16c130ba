package dhcpv4

// Option codes used by name in this package and its users. The full list
// with names and formats is in the option table (LookupOption).
const (
	OptPad                uint8 = 0
	OptSubnetMask         uint8 = 1
	OptTimeOffset         uint8 = 2
	OptRouter             uint8 = 3
	OptTimeServer         uint8 = 4
	OptNameServer         uint8 = 5
	OptDNSServers         uint8 = 6
	OptLogServer          uint8 = 7
	OptHostName           uint8 = 12
	OptBootFileSize       uint8 = 13
	OptDomainName         uint8 = 15
	OptRootPath           uint8 = 17
	OptIPForwarding       uint8 = 19
	OptPolicyFilter       uint8 = 21
	OptDefaultTTL         uint8 = 23
	OptMTU                uint8 = 26
	OptBroadcastAddr      uint8 = 28
	OptStaticRoutes       uint8 = 33
	OptNISDomain          uint8 = 40
	OptNTPServers         uint8 = 42
	OptVendorSpecific     uint8 = 43
	OptNetBIOSNameServers uint8 = 44
	OptNetBIOSNodeType    uint8 = 46
	OptRequestedIP        uint8 = 50
	OptLeaseTime          uint8 = 51
	OptOverload           uint8 = 52
	OptMessageType        uint8 = 53
	OptServerID           uint8 = 54
	OptParamRequestList   uint8 = 55
	OptMessage            uint8 = 56
	OptMaxMessageSize     uint8 = 57
	OptRenewalTime        uint8 = 58
	OptRebindingTime      uint8 = 59
	OptVendorClass        uint8 = 60
	OptClientID           uint8 = 61
	OptTFTPServerName     uint8 = 66
	OptBootFileName       uint8 = 67
	OptUserClass          uint8 = 77
	OptRapidCommit        uint8 = 80
	OptClientFQDN         uint8 = 81
	OptRelayAgentInfo     uint8 = 82
	OptClientArch         uint8 = 93
	OptClientNDI          uint8 = 94
	OptClientUUID         uint8 = 97
	OptIPv6OnlyPreferred  uint8 = 108
	OptCaptivePortal      uint8 = 114
	OptAutoConfigure      uint8 = 116
	OptSubnetSelection    uint8 = 118
	OptDomainSearch       uint8 = 119
	OptClasslessRoutes    uint8 = 121
	OptVIVendorClass      uint8 = 124
	OptVIVendorSpecific   uint8 = 125
	OptTFTPServerAddr     uint8 = 150
	OptIPXE               uint8 = 175
	OptPXELinuxConfigFile uint8 = 209
	OptPXELinuxPathPrefix uint8 = 210
	OptPXELinuxRebootTime uint8 = 211
	OptMSClasslessRoutes  uint8 = 249
	OptWPAD               uint8 = 252
	OptEnd                uint8 = 255
)

// Kind is the format of an option's value.
type Kind uint8

// Option value formats.
const (
	KindBytes        Kind = iota // opaque bytes
	KindAddr                     // one IPv4 address
	KindAddrs                    // one or more IPv4 addresses
	KindAddrsOrNone              // zero or more IPv4 addresses (option 68)
	KindAddrPairs                // pairs of IPv4 addresses (policy filter, static routes)
	KindUint8                    // unsigned 8-bit integer
	KindUint16                   // unsigned 16-bit integer
	KindUint16s                  // list of unsigned 16-bit integers
	KindUint32                   // unsigned 32-bit integer
	KindInt32                    // signed 32-bit integer
	KindSeconds                  // unsigned 32-bit number of seconds
	KindBool                     // one byte, 0 or 1
	KindString                   // text (NVT ASCII)
	KindEmpty                    // no value (rapid commit)
	KindOverload                 // option 52: 1, 2 or 3
	KindMessageType              // option 53
	KindCodes                    // list of option codes (55)
	KindClientID                 // type byte + identifier (61)
	KindUserClass                // RFC 3004 list of length-prefixed classes (77)
	KindFQDN                     // RFC 4702 client FQDN (81)
	KindRelayInfo                // RFC 3046 sub-options (82)
	KindClientArch               // RFC 4578 list of 16-bit architecture types (93)
	KindNDI                      // RFC 4578 network device interface (94)
	KindUUID                     // RFC 4578 type 0 + 16-byte GUID (97)
	KindDomainList               // RFC 3397 DNS names with compression (119)
	KindRoutes                   // RFC 3442 classless static routes (121, 249)
	KindVIClass                  // RFC 3925 vendor-identifying vendor class (124)
	KindVIVendor                 // RFC 3925 vendor-identifying vendor options (125)
	KindEncapsulated             // vendor sub-options (43, 175): code, length, value
)

// OptionInfo describes one option code.
type OptionInfo struct {
	Code uint8
	Name string // lower-case, dash-separated; "" when unknown
	Kind Kind
}

var optionTable = [256]OptionInfo{
	0:   {0, "pad", KindEmpty},
	1:   {1, "subnet-mask", KindAddr},
	2:   {2, "time-offset", KindInt32},
	3:   {3, "router", KindAddrs},
	4:   {4, "time-servers", KindAddrs},
	5:   {5, "name-servers", KindAddrs},
	6:   {6, "dns-servers", KindAddrs},
	7:   {7, "log-servers", KindAddrs},
	8:   {8, "cookie-servers", KindAddrs},
	9:   {9, "lpr-servers", KindAddrs},
	10:  {10, "impress-servers", KindAddrs},
	11:  {11, "resource-location-servers", KindAddrs},
	12:  {12, "host-name", KindString},
	13:  {13, "boot-file-size", KindUint16},
	14:  {14, "merit-dump", KindString},
	15:  {15, "domain-name", KindString},
	16:  {16, "swap-server", KindAddr},
	17:  {17, "root-path", KindString},
	18:  {18, "extensions-path", KindString},
	19:  {19, "ip-forwarding", KindBool},
	20:  {20, "non-local-source-routing", KindBool},
	21:  {21, "policy-filter", KindAddrPairs},
	22:  {22, "max-dgram-reassembly", KindUint16},
	23:  {23, "default-ip-ttl", KindUint8},
	24:  {24, "path-mtu-aging-timeout", KindSeconds},
	25:  {25, "path-mtu-plateau-table", KindUint16s},
	26:  {26, "mtu", KindUint16},
	27:  {27, "all-subnets-local", KindBool},
	28:  {28, "broadcast-address", KindAddr},
	29:  {29, "perform-mask-discovery", KindBool},
	30:  {30, "mask-supplier", KindBool},
	31:  {31, "router-discovery", KindBool},
	32:  {32, "router-solicitation-address", KindAddr},
	33:  {33, "static-routes", KindAddrPairs},
	34:  {34, "trailer-encapsulation", KindBool},
	35:  {35, "arp-cache-timeout", KindSeconds},
	36:  {36, "ieee802-3-encapsulation", KindBool},
	37:  {37, "default-tcp-ttl", KindUint8},
	38:  {38, "tcp-keepalive-interval", KindSeconds},
	39:  {39, "tcp-keepalive-garbage", KindBool},
	40:  {40, "nis-domain", KindString},
	41:  {41, "nis-servers", KindAddrs},
	42:  {42, "ntp-servers", KindAddrs},
	43:  {43, "vendor-specific", KindEncapsulated},
	44:  {44, "netbios-name-servers", KindAddrs},
	45:  {45, "netbios-dd-servers", KindAddrs},
	46:  {46, "netbios-node-type", KindUint8},
	47:  {47, "netbios-scope", KindString},
	48:  {48, "x-font-servers", KindAddrs},
	49:  {49, "x-display-managers", KindAddrs},
	50:  {50, "requested-address", KindAddr},
	51:  {51, "lease-time", KindSeconds},
	52:  {52, "overload", KindOverload},
	53:  {53, "message-type", KindMessageType},
	54:  {54, "server-id", KindAddr},
	55:  {55, "parameter-request-list", KindCodes},
	56:  {56, "message", KindString},
	57:  {57, "max-message-size", KindUint16},
	58:  {58, "renewal-time", KindSeconds},
	59:  {59, "rebinding-time", KindSeconds},
	60:  {60, "vendor-class", KindString},
	61:  {61, "client-id", KindClientID},
	62:  {62, "netware-ip-domain", KindString},
	63:  {63, "netware-ip-options", KindEncapsulated},
	64:  {64, "nisplus-domain", KindString},
	65:  {65, "nisplus-servers", KindAddrs},
	66:  {66, "tftp-server-name", KindString},
	67:  {67, "boot-file-name", KindString},
	68:  {68, "mobile-ip-home-agents", KindAddrsOrNone},
	69:  {69, "smtp-servers", KindAddrs},
	70:  {70, "pop3-servers", KindAddrs},
	71:  {71, "nntp-servers", KindAddrs},
	72:  {72, "www-servers", KindAddrs},
	73:  {73, "finger-servers", KindAddrs},
	74:  {74, "irc-servers", KindAddrs},
	75:  {75, "streettalk-servers", KindAddrs},
	76:  {76, "streettalk-directory-assistance-servers", KindAddrs},
	77:  {77, "user-class", KindUserClass},
	80:  {80, "rapid-commit", KindEmpty},
	81:  {81, "client-fqdn", KindFQDN},
	82:  {82, "relay-agent-info", KindRelayInfo},
	90:  {90, "authentication", KindBytes},
	91:  {91, "client-last-transaction-time", KindSeconds},
	92:  {92, "associated-ip", KindAddrs},
	93:  {93, "client-arch", KindClientArch},
	94:  {94, "client-ndi", KindNDI},
	97:  {97, "client-uuid", KindUUID},
	100: {100, "tz-posix", KindString},
	101: {101, "tz-database", KindString},
	108: {108, "ipv6-only-preferred", KindSeconds},
	114: {114, "captive-portal", KindString},
	116: {116, "auto-configure", KindUint8},
	118: {118, "subnet-selection", KindAddr},
	119: {119, "domain-search", KindDomainList},
	120: {120, "sip-servers", KindBytes},
	121: {121, "classless-static-routes", KindRoutes},
	124: {124, "vi-vendor-class", KindVIClass},
	125: {125, "vi-vendor-specific", KindVIVendor},
	145: {145, "forcerenew-nonce-capable", KindBytes},
	150: {150, "tftp-server-address", KindAddrs},
	175: {175, "ipxe-encapsulated", KindEncapsulated},
	209: {209, "pxelinux-config-file", KindString},
	210: {210, "pxelinux-path-prefix", KindString},
	211: {211, "pxelinux-reboot-time", KindSeconds},
	249: {249, "ms-classless-static-routes", KindRoutes},
	252: {252, "wpad-url", KindString},
	255: {255, "end", KindEmpty},
}

// LookupOption returns what is known of an option code. For an unknown code
// the Name is empty and the Kind is KindBytes.
func LookupOption(code uint8) OptionInfo {
	info := optionTable[code]
	info.Code = code
	return info
}

// OptionName returns the option's name, or "option-N" for an unknown code.
func OptionName(code uint8) string {
	if n := optionTable[code].Name; n != "" {
		return n
	}
	return "option-" + itoa(int(code))
}

// OptionByName finds an option by its name (as OptionName returns it).
func OptionByName(name string) (OptionInfo, bool) {
	for i := range optionTable {
		if optionTable[i].Name == name && name != "" {
			return LookupOption(uint8(i)), true
		}
	}
	return OptionInfo{}, false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// MessageType is the DHCP message type (option 53).
type MessageType uint8

// DHCP message types (RFC 2132 section 9.6, RFC 3203, RFC 4388, RFC 6926, RFC 7724).
const (
	Discover         MessageType = 1
	Offer            MessageType = 2
	Request          MessageType = 3
	Decline          MessageType = 4
	Ack              MessageType = 5
	Nak              MessageType = 6
	Release          MessageType = 7
	Inform           MessageType = 8
	ForceRenew       MessageType = 9
	LeaseQuery       MessageType = 10
	LeaseUnassigned  MessageType = 11
	LeaseUnknown     MessageType = 12
	LeaseActive      MessageType = 13
	BulkLeaseQuery   MessageType = 14
	LeaseQueryDone   MessageType = 15
	ActiveLeaseQuery MessageType = 16
	LeaseQueryStatus MessageType = 17
	DHCPTLS          MessageType = 18
)

var messageTypeNames = [...]string{
	1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE",
	8: "INFORM", 9: "FORCERENEW", 10: "LEASEQUERY", 11: "LEASEUNASSIGNED", 12: "LEASEUNKNOWN",
	13: "LEASEACTIVE", 14: "BULKLEASEQUERY", 15: "LEASEQUERYDONE", 16: "ACTIVELEASEQUERY",
	17: "LEASEQUERYSTATUS", 18: "TLS",
}

func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) && messageTypeNames[t] != "" {
		return messageTypeNames[t]
	}
	return "type(" + itoa(int(t)) + ")"
}
