// Package config loads the configuration of bootd serve: one YAML file,
// checked strictly, turned into an immutable *Config that the server
// shares between its workers and replaces as a whole on reload.
//
// Load and Parse report every problem at once (errors.Join of *Error, see
// Errors), each as "FILE:LINE:COLUMN: problem". Decoding goes through
// yaml.Node to keep positions: unknown keys, repeated keys and values of
// the wrong type are errors. YAML syntax errors carry the line the YAML
// library gives (found by bisection when it gives none) and the column of
// the first character on that line. Anchors and aliases (&name, *name) may
// be used for whole values; merge keys (<<) are refused; the document is
// bounded at about a million nodes once aliases are expanded. Parse never
// panics (it is fuzzed).
//
// # The file
//
// Top level (the global scope):
//
//	interfaces: [eth0, eth1]   # required, not empty: the interfaces to serve on
//	lease-store: {path: /var/lib/bootd}   # directory, absolute (default /var/lib/bootd)
//	offer-hold: 1m             # how long an offered address is held for the client (default 1m)
//	decline-quarantine: 1d     # how long a DECLINEd address stays unused (default 1d)
//	lease-time: 12h            # or {default: 12h, min: 5m, max: 1d}
//	renew-time: 6h             # T1 (default: half the lease time)
//	rebind-time: 10h30m        # T2 (default: 7/8 of the lease time)
//	authoritative: true        # NAK requests for addresses not ours (default true)
//	bootp: off                 # off | reservations | dynamic (default off)
//	boot-file: ...             # as in a class, see below
//	next-server: ...
//	options: {...}
//	tftp:                      # the TFTP server (off unless present)
//	  root: /srv/boot          # required: boot files, read-only; nothing outside it is served
//	  address: 198.18.0.1      # listen address (default: all)
//	  port: 69                 # (default 69)
//	  max-transfers: 64        # at once (default 64)
//	http-boot:                 # the HTTP boot server (off unless present)
//	  root: /srv/boot          # default: the tftp root
//	  listen: 198.18.0.1:8080  # required
//	boot-templates:            # files made per client, served over TFTP and HTTP before the root
//	  boot.ipxe: |             # text/template, with .Address, .MAC and .Hostname (from its lease)
//	    #!ipxe
//	    chain http://198.18.0.1/hosts/{{.MAC}}.ipxe
//	rarp:                      # the RARP responder (RFC 903; off unless present)
//	  interfaces: [eth0]       # answers with the address reserved for the MAC (reservations by mac)
//	backups:                   # scheduled lease store snapshots, by bootd serve (off unless present)
//	  dir: /var/backups/bootd  # required, absolute: bootd-<UTC time>.snap files
//	  interval: 1h             # (default 1h, at least 1m)
//	  keep: 24                 # snapshots kept, the oldest removed first (default 24, at least 1)
//	api:                       # the HTTP API, dashboard and /metrics (off unless present; docs/api.md)
//	  listen: 127.0.0.1:8067   # (default 127.0.0.1:8067); beyond loopback tls is required
//	  tls: {cert: /etc/bootd/api.crt, key: /etc/bootd/api.key}   # PEM files, both or neither
//	  tokens: /var/lib/bootd/api-tokens.json  # (default: in the lease store directory)
//	  audit-log: /var/lib/bootd/audit.log     # (default: in the lease store directory)
//	reservations-file: /var/lib/bootd/reservations.yaml  # (default: in the lease store directory)
//	subnets: [...]
//	shared-networks: [...]
//	classes: [...]
//
// Durations are whole seconds written as 90s, 30m, 12h, 7d, 1h30m, a bare
// number of seconds (3600, as in dhcpd.conf), or infinite. The longest
// finite time is 4294967294s (DHCP times are 32-bit; all ones is infinite).
//
// Defaults follow ISC dhcpd: lease time 12h (default-lease-time 43200),
// max 1d (max-lease-time 86400), no minimum. When no scope sets a max, a
// longer default raises it. authoritative defaults to true, unlike ISC
// dhcpd (whose default is false): bootd is usually the only server on its
// subnets, and a non-authoritative server leaves a client that moved
// between networks waiting for its old address to time out. Set
// authoritative: false where another server shares the subnet.
//
// A subnet:
//
//	subnets:
//	  - subnet: 198.18.0.0/24        # required; masked (198.18.0.5/24 is refused)
//	    interface: eth0              # optional: the interface it is on-link for; listed in interfaces
//	    server-address: 198.18.0.1   # optional: bootd's address in it (the server identifier)
//	    proxy-dhcp: false            # true: another server gives the addresses; bootd answers
//	                                 # PXE clients with boot settings only (no pools), on
//	                                 # port 67 and the PXE boot server port 4011
//	    pools:
//	      - range: 198.18.0.100-198.18.0.200   # or a prefix: 198.18.0.128/25
//	        classes: [pxe]           # optional: only clients in one of these classes
//	        options: {...}           # and the other per-client settings
//	    reservations:
//	      - mac: 52:54:00:12:34:56   # exactly one of mac, client-id, circuit-id, remote-id
//	        address: 198.18.0.10     # optional fixed address
//	        hostname: printer1       # sent as option 12
//	        boot-file: pxelinux.0
//	        next-server: 198.18.0.1
//	        options: {...}
//	    options: {...}               # and every setting of the global scope but
//	                                 # interfaces, lease-store, offer-hold and decline-quarantine
//
// A subnet without interface is on-link for the interface that has an
// address in it, or else reached through relays (giaddr, link selection).
// Without server-address, the interface's address in the subnet is used.
// The subnet mask (option 1) is sent from the prefix unless set in options.
//
// Pools are FIRST-LAST (inclusive) or a prefix. A range may not include the
// subnet's network or broadcast address; from a prefix they are left out
// (198.18.0.0/24 as the pool of 198.18.0.0/24 gives .1 to .254). /31 and
// /32 subnets have no such addresses. Pools may not overlap, within or
// across subnets.
//
// Reservations identify a client by mac (six bytes), client-id (option 61
// in hex, type byte first: "01:52:54:00:12:34:56", or {text: "name"} for
// type 0 followed by the text), circuit-id or remote-id (relay agent
// information sub-options 1 and 2, as text or {hex: ...}; they are only
// looked for among the reservations of the subnet the request came
// through). A client is looked up by client-id, then mac, then circuit-id,
// then remote-id. A fixed address must be in the subnet, is usually outside
// the pools; inside one, it is left out of the pool (Pool.Excluded).
// Addresses and clients are reserved once per subnet.
//
// Shared networks group subnets on one link (several prefixes on one VLAN):
//
//	shared-networks:
//	  - name: floor1                 # required, unique
//	    interface: eth1              # optional, for all its subnets
//	    options: {...}               # and the other settings, for all its subnets
//	    subnets: [...]               # required, as above
//
// # Options
//
// options maps option names (those of dhcpv4.OptionName, like router,
// dns-servers, domain-search) or codes to values, written by format:
//
//	router: 198.18.0.1                      # addresses: one or a list
//	dns-servers: [198.18.0.1, 198.18.0.2]
//	static-routes: ["198.18.4.0 198.18.0.1"]  # address pairs, also "A via B"
//	mtu: 1500                               # integers, range-checked (mtu >= 68)
//	time-offset: -3600                      # signed
//	arp-cache-timeout: 1h                   # times: durations
//	ip-forwarding: false                    # booleans: true or false
//	domain-name: example.test               # text: not empty
//	domain-search: [example.test, lab.example.test]  # RFC 3397, compressed
//	classless-static-routes: ["198.18.4.0/24 via 198.18.0.1", "0.0.0.0/0 via 198.18.0.1"]
//	client-arch: [7, 9]                     # lists of 16-bit integers
//	vendor-specific: "01:04:de:ad:be:ef"    # any other format: hex bytes, checked against it
//	"224": {type: string, value: "x"}       # a code: needs a type unless the table knows it
//	"225": {type: hex, value: "01:02:0a"}
//
// Types: addr, addrs, uint8, uint16, uint32, int32, bool, string, hex,
// seconds, domain-list, routes. A named option may also be given as
// {type, value} to override its format. Hex is "01:02:0a", "01-02-0a" or
// "01020a". Values are encoded to wire bytes at load time (Option); values
// over 255 bytes are split on the wire by the codec (RFC 3396).
//
// Options that bootd sets itself or that only clients and relays send are
// refused: lease-time (51), renewal-time (58) and rebinding-time (59) come
// from lease-time, renew-time and rebind-time; server-id (54) from
// server-address; requested-address, overload, message-type,
// parameter-request-list, max-message-size, client-id, relay-agent-info
// and rapid-commit are not configured.
//
// # Classes
//
//	classes:
//	  - name: pxe                  # required, unique
//	    match: {...}               # required
//	    boot-file: ipxe.efi        # and options, lease-time, renew-time,
//	    next-server: 198.18.0.1    # rebind-time
//
// A match holds when every condition in it holds:
//
//	vendor-class: "PXEClient*"     # option 60
//	user-class: iPXE               # any of the client's user classes (option 77)
//	hostname: "lab-*"              # option 12
//	circuit-id: "eth0/1"           # option 82 sub-option 1, text or {hex: ...}
//	remote-id: {hex: "00:01"}      # option 82 sub-option 2
//	client-arch: [7, 9]            # any architecture of option 93 is one of these
//	mac-prefix: b8:27:eb           # chaddr starts with these bytes
//	option: {code: 77, value: "x*"}  # any option's raw value; or hex: "..."; or just {code}: present
//	any: [{...}, {...}]            # one of these matches holds
//	not: {...}                     # this match does not hold
//
// Text conditions match the whole value, case-sensitively; * stands for
// any run of bytes (there is no escape: use hex for a literal *). A list
// of values means any of them. A condition on an absent option does not
// hold. any and not nest at most 8 deep.
//
// A client belongs to every class whose match holds (which decides which
// pools it may use), but only the first of them in file order gives its
// settings: list the most specific classes first. At most 256 classes.
//
// Network boot: a typical lab lists iPXE first (user-class: iPXE gets the
// script URL, so iPXE never loads iPXE again), then UEFI HTTP boot
// (vendor-class: "HTTPClient*" gets a URL), then PXE ROMs by architecture
// (client-arch: [7, 9] gets ipxe.efi, [0] undionly.kpxe). When a reply
// carries a boot file, bootd echoes the firmware's vendor class
// ("PXEClient" or "HTTPClient", which PXE and UEFI HTTP boot require) and,
// for PXE, sends option 43 with discovery control "use this boot file"
// unless option 43 is configured. A boot file longer than the 128-byte
// file field goes in option 67.
//
// # Scopes
//
// options, lease-time, renew-time, rebind-time, boot-file and next-server
// may be set in every scope; the most specific wins, per option:
//
//	global < shared network < subnet < pool < class < reservation
//
// authoritative and bootp are set at the subnet or above. For a reserved
// client the subnet stands in for the pool. Lease times are checked in
// every scope that sets one, once inherited: min <= default <= max and
// renew < rebind < default; a class or reservation is checked against the
// global or subnet settings, and View.Times falls back to the RFC 2131
// ratios if a combination met only at run time does not fit.
//
// # Using a Config
//
// Everything a request needs is computed at load time. A handler finds
// the subnet with SubnetFor (giaddr, link selection, ciaddr) or from its
// per-interface table (SubnetsOn, built at start), the other subnets of
// the link with Subnet.Link, the client's reservation with
// Subnet.Reservation, its classes with Config.Classify, the pools it may
// use with Pool.Allows, and its settings with NewView(base, class, host),
// whose Option, SetOptions, BootFile, NextServer, LeaseTime and Times
// read pre-encoded values. None of these allocate.
// # The reservations file
//
// Reservations made through the API (bootd reservations, the dashboard)
// are kept in the reservations file, which Load reads when it exists and
// bootd rewrites on each such change (keeping comments). It is one
// mapping with a list of reservations, each written as in a subnet's
// reservations plus the subnet it belongs to, which may be left out when
// the address is inside a configured subnet:
//
//	reservations:
//	  - subnet: 198.18.16.0/20
//	    mac: "02:00:00:00:00:01"
//	    address: 198.18.16.50
//	    hostname: web1
//
// Its reservations join the subnets' and are checked the same way
// (duplicates, addresses outside the subnet, ...); problems name the
// reservations file and the position in it. Parse reads no reservations
// file; Load and ParseWith do.
package config
