package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"bootd/internal/testnet"
)

// The demo serves examples/demo.yaml: the constant must be the file.
func TestDemoConfigIsExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != demoConfig {
		t.Error("demoConfig in demo.go differs from examples/demo.yaml; keep them the same")
	}
	if !strings.Contains(demoConfig, demoStoreLine) {
		t.Errorf("demoConfig has no line %q for the demo to replace", demoStoreLine)
	}
}

func TestDemo(t *testing.T) {
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	// Not parallel with TestDemoInterrupted: both use the namespace names of this PID.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, []string{"demo"}, nil, &out, &errOut)
	if code != exitOK {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	wantContains(t, "output", out.String(),
		"server: level=INFO msg=answered", "reply=OFFER", "reply=ACK",
		"  type:     DHCP OFFER\n", "  type:     DHCP ACK\n",
		" got 198.18.0.100/24, router 198.18.0.1, dns 198.18.0.1, domain demo.example.test, lease 1h, from server 198.18.0.1\n",
		"  state:    bound\n", "  hostname: demo-client\n",
		"deleted namespace "+demoPrefix()+"srv", "deleted namespace "+demoPrefix()+"cli", "stopped the server")
	if t.Failed() {
		return
	}
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer lcancel()
	list, err := exec.CommandContext(lctx, "ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, list)
	}
	for line := range strings.Lines(string(list)) {
		if strings.HasPrefix(line, demoPrefix()) {
			t.Errorf("namespace left behind: %s", line)
		}
	}
	// The temporary directory is gone too.
	_, rest, ok := strings.Cut(out.String(), "\n  removed ")
	dir, _, _ := strings.Cut(rest, "\n")
	if !ok || !strings.Contains(dir, "bootd-demo-") {
		t.Fatalf("no \"removed DIR\" line in:\n%s", out.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
}

// cancelWriter cancels a context when a line containing word is written.
type cancelWriter struct {
	bytes.Buffer
	word   string
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.word) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestDemoInterrupted cancels the demo's context (what Ctrl-C does) once
// the client has sent its DISCOVER: the demo fails and still cleans up.
func TestDemoInterrupted(t *testing.T) {
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	// Not parallel with TestDemo: both use the namespace names of this PID.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := &cancelWriter{word: "sent DISCOVER", cancel: cancel}
	var errOut bytes.Buffer
	code := Run(ctx, []string{"demo"}, nil, out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "bootd demo: interrupted") {
		t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, errOut.String())
	}
	wantContains(t, "output", out.String(), "demo failed: interrupted", "stopped the server",
		"deleted namespace "+demoPrefix()+"srv", "deleted namespace "+demoPrefix()+"cli", "\n  removed ")
	if strings.Contains(out.String(), "the lease in the store") {
		t.Errorf("the demo went on after the interrupt:\n%s", out.String())
	}
}

// lineWriter hands each complete line written to it to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	all   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
}

// TestDemoDashboard: with --dashboard the demo serves the API and the
// dashboard on loopback with a token it prints, and its clients take
// leases that the API shows, until it is interrupted.
func TestDemoDashboard(t *testing.T) {
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	// Not parallel with the other demo tests: they use the namespace names of this PID.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := &lineWriter{lines: make(chan string, 1000)}
	var errOut bytes.Buffer
	code := make(chan int, 1)
	go func() { code <- Run(ctx, []string{"demo", "--dashboard", "127.0.0.1:0"}, nil, out, &errOut) }()
	var url, token string
	for url == "" || token == "" {
		select {
		case line := <-out.lines:
			if v, ok := strings.CutPrefix(line, "dashboard: "); ok {
				url = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "token:"); ok {
				token = strings.TrimSpace(v)
			}
		case c := <-code:
			t.Fatalf("demo ended (%d) before the dashboard: %s\n%s", c, errOut.String(), out.all.String())
		case <-ctx.Done():
			t.Fatal("no dashboard line")
		}
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+strings.TrimPrefix(path, "/"), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, body := get("/"); c != 200 || !strings.Contains(body, "bootd") {
		t.Errorf("dashboard page: %d", c)
	}
	// The demo's clients take leases: the first one, then more.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		c, body := get("/api/v1/leases")
		var list struct{ Total int }
		json.Unmarshal([]byte(body), &list)
		if c == 200 && list.Total >= 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("leases: %d %s", c, body)
		case <-tick.C:
		}
	}
	cancel()
	if c := <-code; c == exitOK && !strings.Contains(out.all.String(), "stopped the server") {
		t.Errorf("no clean up after the interrupt:\n%s", out.all.String())
	}
	wantContains(t, "output", out.all.String(), "deleted namespace "+demoPrefix()+"srv", "deleted namespace "+demoPrefix()+"cli")
}
