package metrics

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"bootd/internal/dhcpv4"
	"bootd/internal/lease/journal"
	"bootd/internal/tftp"
)

func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Reason
	}{
		{"client selected another server", ReasonNotOurs},
		{"DECLINE for another server", ReasonNotOurs},
		{"RELEASE for another server", ReasonNotOurs},
		{"not authoritative: no record of this client for 192.0.2.1", ReasonNotOurs},
		{"not authoritative: silent on a REQUEST for 192.0.2.1", ReasonNotOurs},
		{"RELEASE of 192.0.2.1: address not held by this client", ReasonNotOurs},
		{"DECLINE of 192.0.2.1: address not held by this client", ReasonNotOurs},
		{"no subnet for 192.0.2.1", ReasonNoSubnet},
		{"no subnet on interface eth0", ReasonNoSubnet},
		{"allocated address outside the link", ReasonNoSubnet},
		{"no pool for this client", ReasonNoPool},
		{"pool exhausted", ReasonPoolExhausted},
		{"reserved address 192.0.2.1 is leased to another client", ReasonConflict},
		{"lease not recorded: address held by another client", ReasonConflict},
		{"lease not recorded: a commit for this client is in progress", ReasonBusy},
		{"RELEASE of 192.0.2.1: a commit for this client is in progress", ReasonBusy},
		{"lease not recorded: sync lease journal: input/output error", ReasonStoreError},
		{"lease not recorded: lease store closed", ReasonStoreError},
		{"proxyDHCP: not a PXE client", ReasonNotPXE},
		{"proxyDHCP: no boot file for this client", ReasonNotPXE},
		{"proxyDHCP: nothing to answer to RELEASE", ReasonUnsupported},
		{"unsupported message type LEASEQUERY", ReasonUnsupported},
		{"BOOTP request on a subnet with bootp: off", ReasonBOOTPRefused},
		{"BOOTP request from a client without a reservation", ReasonBOOTPRefused},
		{"not a BOOTREQUEST", ReasonMalformed},
		{"no client identifier and no hardware address", ReasonMalformed},
		{"REQUEST in SELECTING state without requested address", ReasonMalformed},
		{"REQUEST without server identifier, requested address or ciaddr", ReasonMalformed},
		{"DECLINE without requested address", ReasonMalformed},
		{"INFORM without ciaddr", ReasonMalformed},
		{"", ReasonOther},
		{"something new", ReasonOther},
	} {
		if got := ReasonOf(tc.text); got != tc.want {
			t.Errorf("ReasonOf(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestHandlerDropReasonsMapped reads the handler's source: the text of
// every drop("...") there must map to a category, not to "other", so a
// reworded reason cannot silently fall out of its category.
func TestHandlerDropReasonsMapped(t *testing.T) {
	files, err := filepath.Glob("../handler/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "drop" {
				return true
			}
			text, ok := leadingString(call.Args[0])
			if !ok {
				return true // a variable: its texts are in TestReasonOf
			}
			found++
			if r := ReasonOf(text); r == ReasonOther {
				t.Errorf("%s: drop reason %q maps to %q; add it to reasonPrefixes", fset.Position(call.Pos()), text, r)
			}
			return true
		})
	}
	if found < 10 {
		t.Errorf("found %d drop reasons in the handler; has drop been renamed?", found)
	}
}

// leadingString is the string literal that begins e ("text" or "text" + x).
func leadingString(e ast.Expr) (string, bool) {
	for {
		switch x := e.(type) {
		case *ast.BinaryExpr:
			e = x.X
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		default:
			return "", false
		}
	}
}

func TestKindOf(t *testing.T) {
	var m dhcpv4.Message
	for _, tc := range []struct {
		mt   dhcpv4.MessageType // 0: no option 53
		want string
	}{
		{dhcpv4.Discover, "DISCOVER"},
		{dhcpv4.Request, "REQUEST"},
		{dhcpv4.Inform, "INFORM"},
		{dhcpv4.Nak, "NAK"},
		{dhcpv4.LeaseQuery, "other"},
		{0, "BOOTP"},
	} {
		m.Reset()
		m.Op = dhcpv4.BootRequest
		if tc.mt != 0 {
			m.SetMessageType(tc.mt)
		}
		if got := KindOf(&m).String(); got != tc.want {
			t.Errorf("KindOf(type %d) = %s, want %s", tc.mt, got, tc.want)
		}
	}
	if got := KindMalformed.String(); got != "malformed" {
		t.Errorf("KindMalformed = %s", got)
	}
}

func TestPacketPathCounters(t *testing.T) {
	m := New()
	m.Received(Kind(dhcpv4.Discover))
	m.Received(Kind(dhcpv4.Discover))
	m.Received(KindMalformed)
	m.Sent(Kind(dhcpv4.Offer))
	m.Sent(Kind(dhcpv4.Discover)) // not a reply type: "other"
	m.Dropped(ReasonOf("pool exhausted"))
	m.ObserveRequest(Kind(dhcpv4.Discover), 30*time.Microsecond)
	m.ObserveCommit(2 * time.Millisecond)

	const want = `
# HELP bootd_dhcp_received_total DHCP and BOOTP datagrams read on the server ports, by message type (malformed: did not parse).
# TYPE bootd_dhcp_received_total counter
bootd_dhcp_received_total{type="ACK"} 0
bootd_dhcp_received_total{type="BOOTP"} 0
bootd_dhcp_received_total{type="DECLINE"} 0
bootd_dhcp_received_total{type="DISCOVER"} 2
bootd_dhcp_received_total{type="INFORM"} 0
bootd_dhcp_received_total{type="NAK"} 0
bootd_dhcp_received_total{type="OFFER"} 0
bootd_dhcp_received_total{type="RELEASE"} 0
bootd_dhcp_received_total{type="REQUEST"} 0
bootd_dhcp_received_total{type="malformed"} 1
bootd_dhcp_received_total{type="other"} 0
# HELP bootd_dhcp_sent_total Replies handed to the kernel, by message type (BOOTP: a BOOTREPLY).
# TYPE bootd_dhcp_sent_total counter
bootd_dhcp_sent_total{type="ACK"} 0
bootd_dhcp_sent_total{type="BOOTP"} 0
bootd_dhcp_sent_total{type="NAK"} 0
bootd_dhcp_sent_total{type="OFFER"} 1
bootd_dhcp_sent_total{type="other"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "bootd_dhcp_received_total", "bootd_dhcp_sent_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(m.Gatherer(), "bootd_dhcp_dropped_total"); err != nil || n != int(numReasons) {
		t.Errorf("dropped series: %d, %v; want one per reason (%d)", n, err, numReasons)
	}
	const dropped = `
# HELP bootd_lease_store_commit_seconds Time from starting a lease write to the lease store's report that it is durable.
# TYPE bootd_lease_store_commit_seconds histogram
bootd_lease_store_commit_seconds_bucket{le="5e-05"} 0
bootd_lease_store_commit_seconds_bucket{le="0.0001"} 0
bootd_lease_store_commit_seconds_bucket{le="0.00025"} 0
bootd_lease_store_commit_seconds_bucket{le="0.0005"} 0
bootd_lease_store_commit_seconds_bucket{le="0.001"} 0
bootd_lease_store_commit_seconds_bucket{le="0.0025"} 1
bootd_lease_store_commit_seconds_bucket{le="0.005"} 1
bootd_lease_store_commit_seconds_bucket{le="0.01"} 1
bootd_lease_store_commit_seconds_bucket{le="0.025"} 1
bootd_lease_store_commit_seconds_bucket{le="0.05"} 1
bootd_lease_store_commit_seconds_bucket{le="0.1"} 1
bootd_lease_store_commit_seconds_bucket{le="0.25"} 1
bootd_lease_store_commit_seconds_bucket{le="1"} 1
bootd_lease_store_commit_seconds_bucket{le="+Inf"} 1
bootd_lease_store_commit_seconds_sum 0.002
bootd_lease_store_commit_seconds_count 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(dropped), "bootd_lease_store_commit_seconds"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.dropped[ReasonPoolExhausted]); got != 1 {
		t.Errorf("dropped{reason=pool_exhausted} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.dropped[ReasonOther]); got != 0 {
		t.Errorf("dropped{reason=other} = %v, want 0", got)
	}
}

// TestPacketPathAllocs: the methods the packet path calls allocate nothing.
func TestPacketPathAllocs(t *testing.T) {
	m := New()
	text := "lease not recorded: a commit for this client is in progress"
	allocs := testing.AllocsPerRun(1000, func() {
		m.Received(Kind(dhcpv4.Request))
		m.Sent(Kind(dhcpv4.Ack))
		m.Dropped(ReasonOf(text))
		m.ObserveRequest(Kind(dhcpv4.Request), time.Millisecond)
		m.ObserveCommit(time.Millisecond)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet, want 0", allocs)
	}
}

func TestCollectors(t *testing.T) {
	alloc := NewAllocCollector(func() AllocStats {
		return AllocStats{
			Pools: []Pool{
				{Subnet: "192.0.2.0/24", Range: "192.0.2.10-192.0.2.209", Size: 200, Active: 50},
				{Subnet: "198.51.100.0/24", Range: "198.51.100.10-198.51.100.10", Size: 0},
			},
			OffersExpired: 7,
		}
	})
	const wantAlloc = `
# HELP bootd_dhcp_offers_expired_total Offers whose hold ended without the client's REQUEST.
# TYPE bootd_dhcp_offers_expired_total counter
bootd_dhcp_offers_expired_total 7
# HELP bootd_leases_active Addresses of the pool bound, offered or quarantined now.
# TYPE bootd_leases_active gauge
bootd_leases_active{pool="192.0.2.10-192.0.2.209",subnet="192.0.2.0/24"} 50
bootd_leases_active{pool="198.51.100.10-198.51.100.10",subnet="198.51.100.0/24"} 0
# HELP bootd_pool_size Addresses of the pool, less the excluded (reserved) ones.
# TYPE bootd_pool_size gauge
bootd_pool_size{pool="192.0.2.10-192.0.2.209",subnet="192.0.2.0/24"} 200
bootd_pool_size{pool="198.51.100.10-198.51.100.10",subnet="198.51.100.0/24"} 0
# HELP bootd_pool_utilization_ratio bootd_leases_active over bootd_pool_size.
# TYPE bootd_pool_utilization_ratio gauge
bootd_pool_utilization_ratio{pool="192.0.2.10-192.0.2.209",subnet="192.0.2.0/24"} 0.25
bootd_pool_utilization_ratio{pool="198.51.100.10-198.51.100.10",subnet="198.51.100.0/24"} 0
`
	if err := testutil.CollectAndCompare(alloc, strings.NewReader(wantAlloc)); err != nil {
		t.Error(err)
	}

	store := NewStoreCollector(func() journal.Stats { return journal.Stats{Commits: 3, Records: 40, Compactions: 1} })
	const wantStore = `
# HELP bootd_lease_store_commits_total Commits (fdatasyncs) of the lease journal.
# TYPE bootd_lease_store_commits_total counter
bootd_lease_store_commits_total 3
# HELP bootd_lease_store_compactions_total Snapshots of the lease journal completed.
# TYPE bootd_lease_store_compactions_total counter
bootd_lease_store_compactions_total 1
# HELP bootd_lease_store_leases_written_total Lease changes the journal's commits carried.
# TYPE bootd_lease_store_leases_written_total counter
bootd_lease_store_leases_written_total 40
`
	if err := testutil.CollectAndCompare(store, strings.NewReader(wantStore)); err != nil {
		t.Error(err)
	}

	tf := NewTFTPCollector(func() tftp.Stats {
		return tftp.Stats{Requests: 9, Transfers: 5, Failed: 1, Refused: 3, Bytes: 1 << 20, Active: 2}
	})
	const wantTFTP = `
# HELP bootd_tftp_bytes_total File bytes sent over TFTP, each block counted once.
# TYPE bootd_tftp_bytes_total counter
bootd_tftp_bytes_total 1.048576e+06
# HELP bootd_tftp_transfers_active TFTP transfers running now.
# TYPE bootd_tftp_transfers_active gauge
bootd_tftp_transfers_active 2
# HELP bootd_tftp_transfers_total TFTP read requests by result: completed, failed (started, then abandoned) or refused (answered with an error).
# TYPE bootd_tftp_transfers_total counter
bootd_tftp_transfers_total{result="completed"} 5
bootd_tftp_transfers_total{result="failed"} 1
bootd_tftp_transfers_total{result="refused"} 3
`
	if err := testutil.CollectAndCompare(tf, strings.NewReader(wantTFTP)); err != nil {
		t.Error(err)
	}

	// Every metric, bootd's and the runtime's, passes promlint.
	m := New()
	if err := m.Register(alloc, store, tf); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// And a second registration of a collector is refused, not doubled.
	if err := m.Register(NewStoreCollector(func() journal.Stats { return journal.Stats{} })); err == nil {
		t.Error("a second store collector was registered")
	}
}

// TestPromlintCatchesBadNames: the lint above can fail.
func TestPromlintCatchesBadNames(t *testing.T) {
	bad := prometheus.NewCounter(prometheus.CounterOpts{Name: "bootd_dhcp_received", Help: "A counter without _total."})
	problems, err := testutil.CollectAndLint(bad)
	if err != nil || len(problems) == 0 {
		t.Errorf("promlint on a counter without _total: %v, %v; want a problem", problems, err)
	}
}
