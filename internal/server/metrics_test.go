package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/lease/journal"
	"bootd/internal/server"
)

// TestMetricsOnControlSocket: after DORAs, a NAK, a REQUEST for another
// server and a malformed datagram, GET /metrics on the control socket
// counts each, shows the pool's leases and the commits' latencies.
func TestMetricsOnControlSocket(t *testing.T) {
	l := newLink(t, 24)
	srv := startServer(t, l.srv, lanConfig)
	c := newRelayClient(t, l.cli)

	const n = 10
	doraAll(t, c, n, 4)
	nak := request(101, dhcpv4.Request)
	nak.Options.SetAddr(dhcpv4.OptRequestedIP, netip.MustParseAddr("198.18.9.9"))
	if m, err := c.exchange(nak, 4, time.Second, dhcpv4.Ack); m == nil || err == nil {
		t.Fatalf("REQUEST for an address of another subnet: %v, %v; want a NAK", m, err)
	}
	other := request(102, dhcpv4.Request)
	other.Options.SetAddr(dhcpv4.OptRequestedIP, netip.MustParseAddr("198.18.0.150"))
	other.Options.SetAddr(dhcpv4.OptServerID, netip.MustParseAddr("198.18.0.99"))
	if _, err := c.exchange(other, 1, 200*time.Millisecond, dhcpv4.Ack); err != errNoReply {
		t.Fatalf("REQUEST for another server: %v, want no reply", err)
	}
	if _, err := c.conn.WriteToUDP([]byte("not a DHCP message"), c.server); err != nil {
		t.Fatal(err)
	}

	sock := filepath.Join(t.TempDir(), "control.sock")
	served := make(chan error, 1)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.srv.Metrics().Handler()}
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		hs.Close()
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("serving metrics: %v", err)
		}
	}()
	pool := []string{"subnet", "198.18.0.0/24", "pool", "198.18.0.100-198.18.0.200"}
	want := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bootd_dhcp_received_total", []string{"type", "DISCOVER"}, n},
		{"bootd_dhcp_received_total", []string{"type", "REQUEST"}, n + 2},
		{"bootd_dhcp_received_total", []string{"type", "malformed"}, 1},
		{"bootd_dhcp_sent_total", []string{"type", "OFFER"}, n},
		{"bootd_dhcp_sent_total", []string{"type", "ACK"}, n},
		{"bootd_dhcp_sent_total", []string{"type", "NAK"}, 1},
		{"bootd_dhcp_dropped_total", []string{"reason", "not_ours"}, 1},
		{"bootd_dhcp_dropped_total", []string{"reason", "malformed"}, 1},
		{"bootd_dhcp_dropped_total", []string{"reason", "pool_exhausted"}, 0},
		{"bootd_dhcp_request_seconds", []string{"type", "DISCOVER"}, n},
		{"bootd_dhcp_request_seconds", []string{"type", "REQUEST"}, n + 1},
		{"bootd_lease_store_commit_seconds", nil, n},
		{"bootd_leases_active", pool, n},
		{"bootd_pool_size", pool, 101},
		{"bootd_pool_utilization_ratio", pool, n / 101.0},
		{"bootd_dhcp_offers_expired_total", nil, 0},
	}
	var fams map[string]*dto.MetricFamily
	// The counters of a reply are updated just after the kernel takes it,
	// so the client may have it a moment before: poll.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		fams, err = scrape(sock)
		ok := err == nil
		for _, w := range want {
			if !ok {
				break
			}
			ok = metricValue(fams, w.name, w.labels...) == w.want
		}
		if ok || time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if got := metricValue(fams, w.name, w.labels...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
}

// scrape GETs /metrics on the control socket sock and parses it.
func scrape(sock string) (map[string]*dto.MetricFamily, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://bootd/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET /metrics: %s\n%s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// metricValue returns the value of the series of name with the given
// labels (name, value pairs), or -1 when there is none; for a histogram,
// its sample count.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
series:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

// TestOffersExpiredAcrossReload: an offer whose hold ends untaken is
// counted once its address is reclaimed, and the count survives a reload
// (which replaces the allocator). The server runs on a clock the test
// moves.
func TestOffersExpiredAcrossReload(t *testing.T) {
	l := newLink(t, 24)
	c := newRelayClient(t, l.cli)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }

	dir := t.TempDir()
	cfg, err := config.Parse("test.yaml", []byte(strings.ReplaceAll(lanConfig, "STORE", dir)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	store, err := journal.Open(ctx, dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var srv *server.Server
	if err := l.srv.Do(func() (err error) {
		srv, err = server.New(ctx, cfg, store, server.Options{Now: clock, Log: slog.New(slog.DiscardHandler)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	expired := func() float64 {
		fams, err := srv.Metrics().Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*dto.MetricFamily{}
		for _, f := range fams {
			m[f.GetName()] = f
		}
		return metricValue(m, "bootd_dhcp_offers_expired_total")
	}
	if _, err := c.exchange(request(1, dhcpv4.Discover), 4, time.Second, dhcpv4.Offer); err != nil {
		t.Fatal(err)
	}
	if got := expired(); got != 0 {
		t.Errorf("offers expired during the hold: %v, want 0", got)
	}
	now.Add(int64(2 * config.DefaultOfferHold))
	// The next offer reclaims the first one's address.
	if _, err := c.exchange(request(2, dhcpv4.Discover), 4, time.Second, dhcpv4.Offer); err != nil {
		t.Fatal(err)
	}
	if got := expired(); got != 1 {
		t.Errorf("offers expired after the hold: %v, want 1", got)
	}
	if err := l.srv.Do(func() error { return srv.Reload(ctx, cfg) }); err != nil {
		t.Fatal(err)
	}
	if got := expired(); got != 1 {
		t.Errorf("offers expired after a reload: %v, want 1", got)
	}
}
