// Package metrics exposes bootd's Prometheus metrics. A Metrics owns its
// own registry (never the process-wide default, so that two servers can
// run side by side in one test), holds the counters and histograms the
// packet path updates, and serves them all with Handler. State that
// already exists elsewhere (pool usage, lease store and TFTP counters) is
// not copied per packet: collectors read it when the registry is scraped.
//
// The packet path's methods (Received, Sent, Dropped, ObserveRequest,
// ObserveCommit) do not allocate: every labelled series is made in New and
// kept in arrays indexed by Kind or Reason, so an update is an atomic add.
//
// Label values come from small fixed sets (message kinds, drop reasons,
// configured pools); nothing per client (no MAC, no address) is ever a
// label. docs/metrics.md lists the metrics.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bootd/internal/dhcpv4"
)

// Kind is the type label of a DHCP message: its DHCP message type (1 to
// 8), BOOTP, malformed or other.
type Kind uint8

// Kinds besides the DHCP message types 1 to 8, which are their own Kind.
const (
	KindBOOTP     Kind = 9  // a BOOTP message (no option 53)
	KindMalformed Kind = 10 // a datagram that does not parse
	KindOther     Kind = 11 // any other DHCP message type
	numKinds           = 12
)

var kindNames = [numKinds]string{
	1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM",
	KindBOOTP: "BOOTP", KindMalformed: "malformed", KindOther: "other",
}

func (k Kind) String() string {
	if k == 0 || k >= numKinds {
		return kindNames[KindOther]
	}
	return kindNames[k]
}

// KindOf is the kind of a parsed message.
func KindOf(m *dhcpv4.Message) Kind {
	mt, isDHCP := m.MessageType()
	if !isDHCP || m.IsBOOTP() {
		return KindBOOTP
	}
	if mt >= dhcpv4.Discover && mt <= dhcpv4.Inform {
		return Kind(mt)
	}
	return KindOther
}

// Buckets of the latency histograms, in seconds: an OFFER takes tens of
// microseconds, an ACK waits for an fdatasync (a fraction of a millisecond
// to tens of milliseconds, more on a slow disk).
var latencyBuckets = []float64{
	50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1,
}

// Metrics is a registry of bootd's metrics and the counters the DHCP
// server updates. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	received [numKinds]prometheus.Counter
	sent     [numKinds]prometheus.Counter   // OFFER, ACK, NAK, BOOTP; the rest share "other"
	request  [numKinds]prometheus.Observer  // DISCOVER, REQUEST, INFORM, BOOTP; the rest share "other"
	dropped  [numReasons]prometheus.Counter // by Reason
	commit   prometheus.Histogram
}

// New returns Metrics on a new registry, with the Go runtime's and the
// process's collectors registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bootd_dhcp_received_total",
		Help: "DHCP and BOOTP datagrams read on the server ports, by message type (malformed: did not parse).",
	}, []string{"type"})
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bootd_dhcp_sent_total",
		Help: "Replies handed to the kernel, by message type (BOOTP: a BOOTREPLY).",
	}, []string{"type"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bootd_dhcp_dropped_total",
		Help: "Requests answered with nothing, by reason.",
	}, []string{"reason"})
	request := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bootd_dhcp_request_seconds",
		Help:    "Time from reading a request to handing its reply to the kernel (for an ACK, including the lease's commit), by request type.",
		Buckets: latencyBuckets,
	}, []string{"type"})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bootd_lease_store_commit_seconds",
		Help:    "Time from starting a lease write to the lease store's report that it is durable.",
		Buckets: latencyBuckets,
	})
	m.reg.MustRegister(received, sent, dropped, request, m.commit)

	for k := Kind(1); k < numKinds; k++ {
		m.received[k] = received.WithLabelValues(k.String())
	}
	m.received[0] = m.received[KindOther]
	sentOther := sent.WithLabelValues(KindOther.String())
	reqOther := request.WithLabelValues(KindOther.String())
	for k := range Kind(numKinds) {
		m.sent[k], m.request[k] = sentOther, reqOther
	}
	for _, k := range []Kind{Kind(dhcpv4.Offer), Kind(dhcpv4.Ack), Kind(dhcpv4.Nak), KindBOOTP} {
		m.sent[k] = sent.WithLabelValues(k.String())
	}
	for _, k := range []Kind{Kind(dhcpv4.Discover), Kind(dhcpv4.Request), Kind(dhcpv4.Inform), KindBOOTP} {
		m.request[k] = request.WithLabelValues(k.String())
	}
	for r := range Reason(numReasons) {
		m.dropped[r] = dropped.WithLabelValues(r.String())
	}
	return m
}

// Register adds collectors to the registry (such as those of
// NewAllocCollector, NewStoreCollector, NewTFTPCollector).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Gatherer is the registry, for tests and for other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the metrics in the Prometheus text (or, when asked,
// protobuf) exposition format; mount it as GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Received counts a datagram read, of kind k.
func (m *Metrics) Received(k Kind) { m.received[k%numKinds].Inc() }

// Sent counts a reply of kind k handed to the kernel.
func (m *Metrics) Sent(k Kind) { m.sent[k%numKinds].Inc() }

// Dropped counts a request answered with nothing.
func (m *Metrics) Dropped(r Reason) { m.dropped[r%numReasons].Inc() }

// ObserveRequest records the time a request of kind k took, from its
// read to its reply going to the kernel.
func (m *Metrics) ObserveRequest(k Kind, d time.Duration) {
	m.request[k%numKinds].Observe(d.Seconds())
}

// ObserveCommit records the time a lease write took to become durable.
func (m *Metrics) ObserveCommit(d time.Duration) { m.commit.Observe(d.Seconds()) }
