package server_test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReload: bootd serve reloads its configuration on SIGHUP. A bad file
// is refused with its errors (file:line:col) and the old configuration
// keeps serving; a good one takes effect and leases survive it; SIGTERM
// stops the server cleanly.
func TestReload(t *testing.T) {
	base := relayedConfig("198.18.0.10-198.18.0.200")
	ch := newChild(t, "198.18.0.10-198.18.0.200")
	write, c := ch.write, ch.c
	p := ch.start()

	first, err := c.dora(1)
	if err != nil {
		t.Fatal(err)
	}

	// A broken file: refused, with the position of the problem.
	write(strings.Replace(base, "lease-time: 1h", "lease-time: 1h\nbogus-key: 1", 1))
	p.signal(t, syscall.SIGHUP)
	p.out.wait(t, 10*time.Second, 1, "reload refused")
	if !strings.Contains(p.out.String(), `bootd.yaml:5:1: unknown key \"bogus-key\"`) {
		t.Errorf("refusal does not name file:line:col:\n%s", p.out.String())
	}
	// The old configuration still serves.
	if _, err := c.dora(2); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}

	// A good file with a new domain name: applied, the lease kept.
	write(strings.Replace(base, "router: 198.18.0.1", "router: 198.18.0.1\n      domain-name: reloaded.example.test", 1))
	p.signal(t, syscall.SIGHUP)
	p.out.wait(t, 10*time.Second, 1, "configuration reloaded")
	ack, err := c.initReboot(1, first.YIAddr)
	if err != nil {
		t.Fatalf("INIT-REBOOT after reload: %v", err)
	}
	if ack.YIAddr != first.YIAddr {
		t.Errorf("after reload the client got %v, want its lease %v", ack.YIAddr, first.YIAddr)
	}
	if d, _ := ack.DomainName(); string(d) != "reloaded.example.test" {
		t.Errorf("domain after reload %q, want the new one", d)
	}

	p.signal(t, syscall.SIGTERM)
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Errorf("bootd serve after SIGTERM: %v", err)
	}
	if !strings.Contains(p.out.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.out.String())
	}
}
