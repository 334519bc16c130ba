package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"
)

// Report is the outcome of a run. Its JSON form is what "bootd bench
// --json" prints; scripts read it, so fields are only ever added.
type Report struct {
	Mode      string  `json:"mode"`
	Server    string  `json:"server,omitempty"` // relay mode
	GIAddr    string  `json:"giaddr,omitempty"` // relay mode
	Interface string  `json:"iface,omitempty"`  // onlink mode
	Clients   int     `json:"clients"`
	Rate      int     `json:"rate"` // exchanges started per second; 0: closed loop
	Window    int     `json:"window"`
	Mix       string  `json:"mix"`
	TimeoutS  float64 `json:"timeout_s"`

	// DurationS runs from the first request sent to the last exchange
	// completed, or to the moment the run stopped starting exchanges if
	// that was later.
	DurationS float64 `json:"duration_s"`
	// Started counts exchanges started; StartedByKind splits them by the
	// kind actually run (a client without a lease runs a DORA whatever the
	// mix picked).
	Started       uint64     `json:"started"`
	StartedByKind KindCounts `json:"started_by_kind"`
	// Completed counts exchanges that ended as hoped: DORA, renew and
	// inform with an ACK, release when sent. Started = completed + drops +
	// naks (+ exchanges abandoned at the end, which should be none).
	Completed     KindCounts `json:"completed"`
	Leases        uint64     `json:"leases"` // DORAs ended with an ACK
	LeasesPerS    float64    `json:"leases_per_s"`
	ExchangesPerS float64    `json:"exchanges_per_s"` // completed exchanges per second
	Drops         uint64     `json:"drops"`           // a request unanswered within the timeout
	DropPct       float64    `json:"drop_pct"`        // of started
	Naks          uint64     `json:"naks"`
	Stray         uint64     `json:"stray"`     // replies matching no outstanding request
	Unstarted     uint64     `json:"unstarted"` // fixed rate: due while every client was busy
	SentPackets   uint64     `json:"sent_packets"`
	RecvPackets   uint64     `json:"recv_packets"`
	SendErrors    uint64     `json:"send_errors"`

	// Latency in microseconds.
	Latency Latencies `json:"latency_us"`

	// The generator's own CPU time over the run (getrusage, whole
	// process), and as a percentage of one core over the wall time.
	CPUUserS float64 `json:"cpu_user_s"`
	CPUSysS  float64 `json:"cpu_sys_s"`
	CPUPct   float64 `json:"cpu_pct"`
}

// KindCounts counts exchanges by kind.
type KindCounts struct {
	DORA    uint64 `json:"dora"`
	Renew   uint64 `json:"renew"`
	Release uint64 `json:"release"`
	Inform  uint64 `json:"inform"`
	Total   uint64 `json:"total"`
}

func kindCounts(c [numKinds]uint64) KindCounts {
	return KindCounts{DORA: c[DORA], Renew: c[Renew], Release: c[Release], Inform: c[Inform],
		Total: c[DORA] + c[Renew] + c[Release] + c[Inform]}
}

// Latencies are the latency distributions of a run.
type Latencies struct {
	DiscoverOffer Summary `json:"discover_offer"` // DISCOVER sent to OFFER received
	RequestAck    Summary `json:"request_ack"`    // REQUEST sent to ACK received (DORA)
	DORA          Summary `json:"dora"`           // DISCOVER sent to ACK received
	Renew         Summary `json:"renew"`          // renewing REQUEST sent to ACK received
	Inform        Summary `json:"inform"`         // INFORM sent to ACK received
}

// Summary summarises one latency distribution, in microseconds.
type Summary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func summarise(h *histogram) Summary {
	us := func(ns int64) float64 { return float64(ns/10) / 100 } // to the hundredth of a µs
	return Summary{
		Count: h.n,
		P50:   us(h.quantile(0.50)),
		P90:   us(h.quantile(0.90)),
		P99:   us(h.quantile(0.99)),
		P999:  us(h.quantile(0.999)),
		Max:   us(h.max),
	}
}

func (g *Generator) report(measured, wall int64, ru0, ru1 *syscall.Rusage) *Report {
	st := &g.st
	r := &Report{
		Mode:          g.cfg.Mode.String(),
		Clients:       g.cfg.Clients,
		Rate:          g.cfg.Rate,
		Window:        g.cfg.Window,
		Mix:           g.cfg.Mix.String(),
		TimeoutS:      g.cfg.Timeout.Seconds(),
		DurationS:     time.Duration(measured).Seconds(),
		StartedByKind: kindCounts(st.started),
		Completed:     kindCounts(st.completed),
		Leases:        st.completed[DORA],
		Drops:         st.drops,
		Naks:          st.naks,
		Stray:         st.stray,
		Unstarted:     st.unstarted,
		SentPackets:   st.sent,
		RecvPackets:   st.recv,
		SendErrors:    st.sendErrors,
		Latency: Latencies{
			DiscoverOffer: summarise(&st.offer),
			RequestAck:    summarise(&st.request),
			DORA:          summarise(&st.dora),
			Renew:         summarise(&st.renew),
			Inform:        summarise(&st.inform),
		},
	}
	if g.cfg.Mode == Relay {
		r.Server = g.cfg.Server.String()
		r.GIAddr = g.giaddr.String()
	} else {
		r.Interface = g.cfg.Interface
	}
	r.Started = r.StartedByKind.Total
	if r.DurationS > 0 {
		r.LeasesPerS = float64(r.Leases) / r.DurationS
		r.ExchangesPerS = float64(r.Completed.Total) / r.DurationS
	}
	if r.Started > 0 {
		r.DropPct = 100 * float64(r.Drops) / float64(r.Started)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	r.CPUUserS = tv(ru1.Utime) - tv(ru0.Utime)
	r.CPUSysS = tv(ru1.Stime) - tv(ru0.Stime)
	if wall > 0 {
		r.CPUPct = 100 * (r.CPUUserS + r.CPUSysS) / time.Duration(wall).Seconds()
	}
	return r
}

// WriteJSON writes the report as one JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(r)
}

// WriteText writes the report as a few lines for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	rate := "closed loop, window " + fmt.Sprint(r.Window)
	if r.Rate > 0 {
		rate = fmt.Sprintf("%d exchanges/s", r.Rate)
	}
	target := fmt.Sprintf("relay %s -> %s", r.GIAddr, r.Server)
	if r.Mode == OnLink.String() {
		target = "onlink on " + r.Interface
	}
	fmt.Fprintf(&b, "bench: %s, %d clients, %s, mix %s\n", target, r.Clients, rate, r.Mix)
	fmt.Fprintf(&b, "duration   %.3f s\n", r.DurationS)
	fmt.Fprintf(&b, "started    %d (%s)\n", r.Started, countsText(r.StartedByKind))
	fmt.Fprintf(&b, "completed  %d (%s)\n", r.Completed.Total, countsText(r.Completed))
	fmt.Fprintf(&b, "leases     %d, %.0f/s; exchanges %.0f/s\n", r.Leases, r.LeasesPerS, r.ExchangesPerS)
	fmt.Fprintf(&b, "drops      %d (%.3f%%), naks %d, stray %d", r.Drops, r.DropPct, r.Naks, r.Stray)
	if r.Rate > 0 {
		fmt.Fprintf(&b, ", unstarted %d", r.Unstarted)
	}
	fmt.Fprintf(&b, "\npackets    sent %d, received %d", r.SentPackets, r.RecvPackets)
	if r.SendErrors > 0 {
		fmt.Fprintf(&b, ", send errors %d", r.SendErrors)
	}
	fmt.Fprintf(&b, "\nlatency µs %8s %9s %9s %9s %9s %9s\n", "count", "p50", "p90", "p99", "p99.9", "max")
	for _, l := range []struct {
		name string
		s    Summary
	}{
		{"  discover-offer", r.Latency.DiscoverOffer},
		{"  request-ack", r.Latency.RequestAck},
		{"  dora", r.Latency.DORA},
		{"  renew", r.Latency.Renew},
		{"  inform", r.Latency.Inform},
	} {
		if l.s.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-16s %8d %9.1f %9.1f %9.1f %9.1f %9.1f\n", l.name, l.s.Count, l.s.P50, l.s.P90, l.s.P99, l.s.P999, l.s.Max)
	}
	fmt.Fprintf(&b, "cpu        %.1f%% of one core (user %.2f s, sys %.2f s)\n", r.CPUPct, r.CPUUserS, r.CPUSysS)
	_, err := io.WriteString(w, b.String())
	return err
}

func countsText(c KindCounts) string {
	var parts []string
	for _, p := range []struct {
		name string
		n    uint64
	}{{"dora", c.DORA}, {"renew", c.Renew}, {"release", c.Release}, {"inform", c.Inform}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p.name, p.n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
