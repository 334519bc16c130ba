package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"bootd/internal/lease/journal"
	"bootd/internal/tftp"
)

// Pool is one address pool's usage, as the allocator counts it.
type Pool struct {
	Subnet string // the subnet's prefix, e.g. 192.0.2.0/24
	Range  string // first-last, e.g. 192.0.2.10-192.0.2.200
	Size   uint64 // addresses, less excluded ones
	Active int    // bound, offered or quarantined now
}

// AllocStats is the allocator's state at a scrape.
type AllocStats struct {
	Pools         []Pool
	OffersExpired uint64 // offers never taken up, since start
}

// funcCollector collects metrics by calling a function at each scrape.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// NewAllocCollector exports the pools' usage and the offers that expired,
// read from stats at each scrape (the DHCP server's, under its lock).
func NewAllocCollector(stats func() AllocStats) prometheus.Collector {
	labels := []string{"subnet", "pool"}
	active := prometheus.NewDesc("bootd_leases_active", "Addresses of the pool bound, offered or quarantined now.", labels, nil)
	size := prometheus.NewDesc("bootd_pool_size", "Addresses of the pool, less the excluded (reserved) ones.", labels, nil)
	ratio := prometheus.NewDesc("bootd_pool_utilization_ratio", "bootd_leases_active over bootd_pool_size.", labels, nil)
	expired := prometheus.NewDesc("bootd_dhcp_offers_expired_total", "Offers whose hold ended without the client's REQUEST.", nil, nil)
	return &funcCollector{
		descs: []*prometheus.Desc{active, size, ratio, expired},
		collect: func(ch chan<- prometheus.Metric) {
			st := stats()
			for _, p := range st.Pools {
				ch <- prometheus.MustNewConstMetric(active, prometheus.GaugeValue, float64(p.Active), p.Subnet, p.Range)
				ch <- prometheus.MustNewConstMetric(size, prometheus.GaugeValue, float64(p.Size), p.Subnet, p.Range)
				r := 0.0
				if p.Size > 0 {
					r = float64(p.Active) / float64(p.Size)
				}
				ch <- prometheus.MustNewConstMetric(ratio, prometheus.GaugeValue, r, p.Subnet, p.Range)
			}
			ch <- prometheus.MustNewConstMetric(expired, prometheus.CounterValue, float64(st.OffersExpired))
		},
	}
}

// NewStoreCollector exports the lease journal's counters, read from stats
// at each scrape.
func NewStoreCollector(stats func() journal.Stats) prometheus.Collector {
	commits := prometheus.NewDesc("bootd_lease_store_commits_total", "Commits (fdatasyncs) of the lease journal.", nil, nil)
	written := prometheus.NewDesc("bootd_lease_store_leases_written_total", "Lease changes the journal's commits carried.", nil, nil)
	compactions := prometheus.NewDesc("bootd_lease_store_compactions_total", "Snapshots of the lease journal completed.", nil, nil)
	return &funcCollector{
		descs: []*prometheus.Desc{commits, written, compactions},
		collect: func(ch chan<- prometheus.Metric) {
			st := stats()
			ch <- prometheus.MustNewConstMetric(commits, prometheus.CounterValue, float64(st.Commits))
			ch <- prometheus.MustNewConstMetric(written, prometheus.CounterValue, float64(st.Records))
			ch <- prometheus.MustNewConstMetric(compactions, prometheus.CounterValue, float64(st.Compactions))
		},
	}
}

// NewTFTPCollector exports the TFTP server's counters, read from stats at
// each scrape.
func NewTFTPCollector(stats func() tftp.Stats) prometheus.Collector {
	transfers := prometheus.NewDesc("bootd_tftp_transfers_total", "TFTP read requests by result: completed, failed (started, then abandoned) or refused (answered with an error).", []string{"result"}, nil)
	bytes := prometheus.NewDesc("bootd_tftp_bytes_total", "File bytes sent over TFTP, each block counted once.", nil, nil)
	active := prometheus.NewDesc("bootd_tftp_transfers_active", "TFTP transfers running now.", nil, nil)
	return &funcCollector{
		descs: []*prometheus.Desc{transfers, bytes, active},
		collect: func(ch chan<- prometheus.Metric) {
			st := stats()
			ch <- prometheus.MustNewConstMetric(transfers, prometheus.CounterValue, float64(st.Transfers), "completed")
			ch <- prometheus.MustNewConstMetric(transfers, prometheus.CounterValue, float64(st.Failed), "failed")
			ch <- prometheus.MustNewConstMetric(transfers, prometheus.CounterValue, float64(st.Refused), "refused")
			ch <- prometheus.MustNewConstMetric(bytes, prometheus.CounterValue, float64(st.Bytes))
			ch <- prometheus.MustNewConstMetric(active, prometheus.GaugeValue, float64(st.Active))
		},
	}
}
