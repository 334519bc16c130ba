package server_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/testnet"
)

// buildBootd builds cmd/bootd into a temporary directory.
func buildBootd(t *testing.T) string {
	t.Helper()
	gomod, err := run(t, time.Minute, "go", "env", "GOMOD")
	if err != nil {
		t.Fatalf("go env GOMOD: %v\n%s", err, gomod)
	}
	root := filepath.Dir(strings.TrimSpace(gomod))
	bin := filepath.Join(t.TempDir(), "bootd")
	out, err := run(t, 3*time.Minute, "go", "build", "-C", root, "-o", bin, "./cmd/bootd")
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveChild runs `ip netns exec NS bootd serve --config cfg` and waits for
// its "serving" log line. ip netns exec execs bootd, so the PID is bootd's.
func serveChild(t *testing.T, ns *testnet.Namespace, bin, cfg string) *proc {
	t.Helper()
	p := start(t, 2*time.Minute, "ip", "netns", "exec", ns.Name, bin, "serve", "--config", cfg)
	p.out.wait(t, 30*time.Second, 1, "msg=serving")
	return p
}

// child is bootd serve run as its own process in the server namespace of a
// link, on a config file and lease store of its own, with a relaying
// client in the client namespace.
type child struct {
	t     *testing.T
	bin   string
	link  link
	cfg   string // the configuration file
	store string // the lease store directory (created by bootd serve)
	c     *relayClient
}

// newChild builds bootd, the link and the client, and writes a relayed
// configuration with the given pool. It skips without namespaces.
func newChild(t *testing.T, pool string) *child {
	t.Helper()
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	ch := &child{t: t, bin: buildBootd(t), link: newLink(t, 22)}
	ch.store = filepath.Join(t.TempDir(), "leases")
	ch.cfg = filepath.Join(t.TempDir(), "bootd.yaml")
	ch.write(relayedConfig(pool))
	ch.c = newRelayClient(t, ch.link.cli)
	return ch
}

// write replaces the configuration file; STORE stands for the store directory.
func (ch *child) write(yaml string) {
	ch.t.Helper()
	if err := os.WriteFile(ch.cfg, []byte(strings.ReplaceAll(yaml, "STORE", ch.store)), 0o644); err != nil {
		ch.t.Fatal(err)
	}
}

// start runs bootd serve and waits until it serves.
func (ch *child) start() *proc {
	ch.t.Helper()
	return serveChild(ch.t, ch.link.srv, ch.bin, ch.cfg)
}

type acked struct {
	client int
	addr   netip.Addr
}

// TestCrashKeepsAckedLeases: bootd serve, SIGKILLed while clients stream
// DORA, has every lease it ACKed in its store, bound to the same client;
// restarted on that store, it ACKs a returning client's INIT-REBOOT
// REQUEST for the same address.
func TestCrashKeepsAckedLeases(t *testing.T) {
	ch := newChild(t, "198.18.0.10-198.18.3.250")
	c := ch.c
	p := ch.start()

	killAfter := 50 + rand.IntN(251) // 50..300 ACKs
	const maxClients = 1000
	var (
		mu     sync.Mutex
		acks   []acked
		killed = make(chan struct{})
		once   sync.Once
	)
	kill := func() {
		once.Do(func() {
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Errorf("SIGKILL %d: %v", p.cmd.Process.Pid, err)
			}
			close(killed)
		})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				ack, err := c.dora(i)
				if err != nil {
					continue // in flight at the kill, or after it
				}
				mu.Lock()
				acks = append(acks, acked{i, ack.YIAddr})
				n := len(acks)
				mu.Unlock()
				if n >= killAfter {
					kill()
				}
			}
		})
	}
feed:
	for i := range maxClients {
		select {
		case next <- i:
		case <-killed:
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d of %d clients ACKed before the clients ran out", len(acks), killAfter)
	}
	if err := p.wait(t, 10*time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("bootd exit: %v, want killed", err)
	}
	t.Logf("killed after %d ACKs (threshold %d)", len(acks), killAfter)

	// Offline: every ACKed address is in the store, bound, for its client.
	ctx := context.Background()
	js, err := journal.Open(ctx, ch.store, journal.Options{})
	if err != nil {
		t.Fatalf("reopening the store: %v", err)
	}
	for _, a := range acks {
		l, err := js.Get(ctx, a.addr)
		if err != nil {
			t.Errorf("client %d: ACKed %v, store: %v", a.client, a.addr, err)
			continue
		}
		if l.State != lease.Bound || !bytes.Equal(l.HWAddr, mac(a.client)) {
			t.Errorf("client %d: ACKed %v, store has %v for %v", a.client, a.addr, l.State, l.HWAddr)
		}
	}
	if err := js.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted on the same store, the server gives a returning client its address.
	ch.start()
	back := acks[rand.IntN(len(acks))]
	m, err := c.initReboot(back.client, back.addr)
	if err != nil {
		t.Fatalf("client %d INIT-REBOOT for %v after restart: %v", back.client, back.addr, err)
	}
	if mt, _ := m.MessageType(); mt != dhcpv4.Ack || m.YIAddr != back.addr {
		t.Errorf("client %d INIT-REBOOT for %v after restart: %v yiaddr %v, want ACK", back.client, back.addr, mt, m.YIAddr)
	}
	// And a new client is not given any of the ACKed addresses.
	fresh, err := c.dora(maxClients)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acks {
		if a.addr == fresh.YIAddr {
			t.Errorf("new client got %v, ACKed to client %d before the crash", fresh.YIAddr, a.client)
		}
	}
}
