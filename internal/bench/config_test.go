package bench

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mix
		err  string
	}{
		{in: "dora=100,renew=0,release=0,inform=0", want: Mix{DORA: 100}},
		{in: "dora=40, renew=20,release=20,inform=20", want: Mix{40, 20, 20, 20}},
		{in: "renew=1", want: Mix{Renew: 1}},
		{in: "dora=0", err: "every weight is 0"},
		{in: "dora", err: "not KIND=WEIGHT"},
		{in: "discover=1", err: "unknown kind"},
		{in: "dora=1,dora=2", err: "given twice"},
		{in: "dora=-1", err: "must be an integer"},
		{in: "dora=x", err: "must be an integer"},
	} {
		got, err := ParseMix(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMix(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, err := ParseMix(got.String()); err != nil || again != got {
			t.Errorf("ParseMix(%q) = %v, %v: String does not round-trip", got.String(), again, err)
		}
	}
}

func TestValidate(t *testing.T) {
	relay := DefaultConfig()
	relay.Server = netip.MustParseAddr("198.18.0.1")
	onlink := DefaultConfig()
	onlink.Mode, onlink.Interface = OnLink, "c0"
	onlink.Server = relay.Server // accepted and ignored, so scripts can pass it always
	for _, c := range []Config{relay, onlink} {
		if err := c.Validate(); err != nil {
			t.Errorf("%v: %v", c.Mode, err)
		}
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Server = netip.Addr{} }, "needs a server"},
		{func(c *Config) { c.Server = netip.MustParseAddr("::1") }, "not a unicast IPv4"},
		{func(c *Config) { c.Interface = "c0" }, "onlink mode only"},
		{func(c *Config) { c.Mode, c.Interface = OnLink, "" }, "needs an interface"},
		{func(c *Config) { c.Mode, c.Interface, c.GIAddr = OnLink, "c0", c.Server }, "giaddr is for relay"},
		{func(c *Config) { c.Clients = 0 }, "clients 0"},
		{func(c *Config) { c.Clients = MaxClients + 1 }, "clients"},
		{func(c *Config) { c.Window = 0 }, "window"},
		{func(c *Config) { c.Rate = -1 }, "rate"},
		{func(c *Config) { c.Duration = MaxDuration + time.Second }, "duration"},
		{func(c *Config) { c.Count = -1 }, "count"},
		{func(c *Config) { c.Timeout = 0 }, "timeout"},
		{func(c *Config) { c.Mix = Mix{} }, "mix"},
	} {
		c := relay
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error with %q", err, tc.want)
		}
	}
}
