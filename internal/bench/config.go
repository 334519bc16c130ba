package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Limits of a run.
const (
	// MaxDuration bounds a run, so a forgotten generator stops by itself.
	MaxDuration = 10 * time.Minute
	// MaxClients is the most clients: the client number must fit in the
	// low bits of the xid with room left for an exchange counter that does
	// not wrap while a late reply can still arrive, and in the three low
	// bytes of the MAC.
	MaxClients = 1 << 20
	// MaxRate bounds --rate, far above what one socket can carry.
	MaxRate = 10_000_000
)

// Mode is how the generator reaches the server.
type Mode uint8

// Modes.
const (
	// Relay: the generator is a relay agent. It binds giaddr:67, sends
	// unicast to the server with giaddr set and hops 1, and the server
	// answers giaddr:67.
	Relay Mode = iota
	// OnLink: the generator is on the server's link. It binds 0.0.0.0:68 on
	// one interface and broadcasts requests with the broadcast flag set, so
	// the server broadcasts its replies.
	OnLink
)

func (m Mode) String() string {
	switch m {
	case Relay:
		return "relay"
	case OnLink:
		return "onlink"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode parses the names Mode.String returns.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "relay":
		return Relay, nil
	case "onlink":
		return OnLink, nil
	}
	return 0, fmt.Errorf("unknown mode %q: relay or onlink", s)
}

// Kind is a kind of exchange.
type Kind uint8

// Kinds of exchange.
const (
	// DORA: DISCOVER, OFFER, REQUEST (options 50 and 54 from the OFFER), ACK.
	DORA Kind = iota
	// Renew: REQUEST with ciaddr, ACK. Needs a lease.
	Renew
	// Release: RELEASE with ciaddr and option 54; no reply, complete when
	// sent. Needs a lease.
	Release
	// Inform: INFORM with ciaddr, ACK. Needs a lease.
	Inform

	numKinds = 4
)

var kindNames = [numKinds]string{"dora", "renew", "release", "inform"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Mix holds the relative weights of the kinds of exchange, by Kind.
type Mix [numKinds]int

// DefaultMix is DORA only.
func DefaultMix() Mix { return Mix{DORA: 100} }

// ParseMix parses "dora=100,renew=0,release=0,inform=0"; kinds left out
// weigh 0. At least one weight must be positive.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := [numKinds]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Mix{}, fmt.Errorf("mix %q: %q is not KIND=WEIGHT", s, part)
		}
		k := -1
		for i, n := range kindNames {
			if n == name {
				k = i
			}
		}
		if k < 0 {
			return Mix{}, fmt.Errorf("mix %q: unknown kind %q (dora, renew, release, inform)", s, name)
		}
		if seen[k] {
			return Mix{}, fmt.Errorf("mix %q: %s given twice", s, name)
		}
		seen[k] = true
		w, err := strconv.Atoi(val)
		if err != nil || w < 0 || w > 1_000_000 {
			return Mix{}, fmt.Errorf("mix %q: weight of %s must be an integer from 0 to 1000000", s, name)
		}
		m[k] = w
	}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("mix %q: every weight is 0", s)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

func (m Mix) String() string {
	var b strings.Builder
	for k, w := range m {
		if w == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", kindNames[k], w)
	}
	return b.String()
}

// Config describes a run of the generator.
type Config struct {
	Mode Mode
	// Server is where relayed requests go (port 67). Relay mode only;
	// ignored on the link, where requests are broadcast.
	Server netip.Addr
	// GIAddr is the relay address: the generator binds GIAddr:67 and puts
	// it in giaddr. The zero Addr means the local address the kernel would
	// use toward Server. Relay mode only.
	GIAddr netip.Addr
	// Interface is the interface to broadcast on. OnLink mode only.
	Interface string

	Clients int   // simulated clients, each its own MAC
	MACSeed uint8 // third byte of every MAC, so two runs can use different clients
	// Rate is exchanges started per second; 0 runs closed loop with Window
	// exchanges outstanding.
	Rate   int
	Window int
	// The run stops starting exchanges after Duration or Count exchanges
	// (0: no limit), whichever comes first, then waits for the outstanding
	// ones for up to Timeout.
	Duration time.Duration
	Count    int
	// Timeout is how long a request waits for its reply before the exchange
	// counts as dropped. There are no retries.
	Timeout  time.Duration
	Mix      Mix
	Hostname bool // send option 12 (bench-SSxxxxxx)
}

// DefaultConfig returns the defaults of "bootd bench".
func DefaultConfig() Config {
	return Config{
		Mode:     Relay,
		Clients:  10000,
		Window:   256,
		Duration: 10 * time.Second,
		Timeout:  time.Second,
		Mix:      DefaultMix(),
	}
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Mode {
	case Relay:
		if !c.Server.IsValid() {
			bad("relay mode needs a server address")
		} else if !c.Server.Is4() || c.Server.IsUnspecified() {
			bad("server %v is not a unicast IPv4 address", c.Server)
		}
		if c.GIAddr.IsValid() && (!c.GIAddr.Is4() || c.GIAddr.IsUnspecified()) {
			bad("giaddr %v is not a unicast IPv4 address", c.GIAddr)
		}
		if c.Interface != "" {
			bad("an interface is for onlink mode only")
		}
	case OnLink:
		if c.Interface == "" {
			bad("onlink mode needs an interface")
		}
		if c.GIAddr.IsValid() {
			bad("giaddr is for relay mode only")
		}
	default:
		bad("unknown mode %v", c.Mode)
	}
	if c.Clients < 1 || c.Clients > MaxClients {
		bad("clients %d out of range 1..%d", c.Clients, MaxClients)
	}
	if c.Rate < 0 || c.Rate > MaxRate {
		bad("rate %d out of range 0..%d", c.Rate, MaxRate)
	}
	if c.Window < 1 {
		bad("window %d must be at least 1", c.Window)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("duration %v out of range (0, %v]", c.Duration, MaxDuration)
	}
	if c.Count < 0 {
		bad("count %d is negative", c.Count)
	}
	if c.Timeout <= 0 || c.Timeout > time.Minute {
		bad("timeout %v out of range (0, 1m]", c.Timeout)
	}
	if c.Mix.total() == 0 {
		bad("mix has no positive weight")
	}
	for k, w := range c.Mix {
		if w < 0 {
			bad("mix weight of %s is negative", Kind(k))
		}
	}
	return errors.Join(errs...)
}
