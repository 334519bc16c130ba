package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"bootd/internal/api"
	"bootd/internal/api/auth"
	"bootd/internal/api/web"
	"bootd/internal/servertest"
	"bootd/internal/testnet"
)

// chromiumPath is Debian's Chromium (package chromium).
const chromiumPath = "/usr/bin/chromium"

// The topology of TestDashboardInChromium: the server's link and pool, the
// client's MAC, and the address the test reserves for it (outside the pool).
const (
	browserSubnet  = "198.18.7.0/24"
	browserServer  = "198.18.7.1/24"
	browserRange   = "198.18.7.100-198.18.7.199"
	browserMAC     = "02:00:00:00:aa:01"
	browserReserve = "198.18.7.50"
	browserHost    = "rack1-node1"
)

const browserConfig = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
subnets:
  - subnet: ` + browserSubnet + `
    pools:
      - range: ` + browserRange + `
`

// browserBuffer is a bytes.Buffer safe for concurrent writers (the server's
// log, the browser's output, a child's output).
type browserBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *browserBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *browserBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDashboardInChromium drives the dashboard in a real headless Chromium
// against a running server that a real DHCP client (busybox udhcpc) gets a
// lease from: log in (a wrong token first), see the pool and the lease, add
// a reservation for the client, see the client get the reserved address
// when it asks again, and see its exchanges arrive live. It ends with a
// screenshot of the page and a look at the audit log.
func TestDashboardInChromium(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the dashboard browser test needs root: network namespaces for the DHCP client, and Chromium runs here only as root with --no-sandbox")
	}
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("the dashboard browser test needs Debian's Chromium at %s (scripts/test.sh installs the package chromium): %v", chromiumPath, err)
	}
	udhcpcPath, err := exec.LookPath("udhcpc")
	if err != nil {
		t.Skipf("the dashboard browser test needs busybox udhcpc (scripts/test.sh installs it): %v", err)
	}
	began := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The server, in its namespace, and the client's namespace beside it.
	srvNS := testnet.New(t, "srv")
	cliNS := testnet.New(t, "cli")
	testnet.Veth(t, srvNS, "s0", cliNS, "c0")
	srvNS.IP("addr", "add", browserServer, "dev", "s0")
	cliNS.IP("link", "set", "dev", "c0", "address", browserMAC)

	logs := &browserBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and API log:\n%s", logs.String())
		}
	})
	r := servertest.Start(t, srvNS, browserConfig, logs, slog.LevelDebug)

	// The API with the dashboard, on loopback in the test's own namespace.
	dir := t.TempDir()
	tokens := auth.OpenTokens(filepath.Join(dir, "tokens.json"))
	token, err := tokens.Create("ops", auth.Admin)
	if err != nil {
		t.Fatalf("creating the admin token: %v", err)
	}
	auditPath := filepath.Join(dir, "audit.log")
	audit, err := auth.OpenAudit(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	a := browserNewAPI(t, r.Server, api.Options{
		Version:   "test",
		Log:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tokens:    tokens,
		Audit:     audit,
		Dashboard: web.Handler("test"),
		Metrics:   r.Server.Metrics().Handler(),
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiCtx, apiCancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(apiCtx, ln) }()
	t.Cleanup(func() {
		apiCancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the API did not stop within 10s")
		}
		audit.Close()
	})
	base := "http://" + ln.Addr().String()

	// A real client gets a lease from the pool.
	first := startBrowserClient(t, udhcpcPath, cliNS, filepath.Join(dir, "udhcpc1"))
	pooled := first.waitBound(t, ctx)
	t.Logf("udhcpc (pid %d) got %s from the pool", first.cmd.Process.Pid, pooled)
	if !browserInRange(pooled, browserRange) {
		t.Fatalf("udhcpc got %s, outside the pool %s", pooled, browserRange)
	}

	// The browser, started with exactly these flags.
	profile := t.TempDir()
	browserOut := &browserBuffer{}
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("window-size", "1280,900"), // the layout the dashboard is made for
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(browserOut),
	)
	// Registered after the profile's TempDir, so the browser has exited
	// before its profile is removed.
	t.Cleanup(allocCancel)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chromium output:\n%s", browserOut.String())
		}
	})

	// The page's console and uncaught exceptions, gathered in the tab's
	// event loop and reported when the test ends.
	var (
		jsMu       sync.Mutex
		console    []string
		exceptions []string
	)
	bctx, bcancel := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		// Runs in the tab's event loop: record and return.
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := browserExceptionText(ev.ExceptionDetails)
			jsMu.Lock()
			exceptions = append(exceptions, msg)
			console = append(console, "exception: "+msg)
			jsMu.Unlock()
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, arg := range ev.Args {
				if len(arg.Value) > 0 {
					args = append(args, string(arg.Value))
				} else {
					args = append(args, arg.Description)
				}
			}
			jsMu.Lock()
			console = append(console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			jsMu.Unlock()
		}
	}))
	t.Cleanup(bcancel)
	t.Cleanup(func() {
		jsMu.Lock()
		defer jsMu.Unlock()
		for _, line := range console {
			t.Logf("browser %s", line)
		}
		if len(exceptions) > 0 {
			t.Errorf("the dashboard threw %d JavaScript exception(s):\n%s", len(exceptions), strings.Join(exceptions, "\n"))
		}
	})
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, bound by ctx
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	b := &browserPage{t: t, ctx: bctx}

	// 1. The login form; a wrong token is refused, the admin token lets in.
	b.do("open the dashboard", chromedp.Navigate(base+"/"))
	b.do("see the login form", chromedp.WaitVisible(chromedp.ID("login-form")))
	b.do("log in with a wrong token",
		chromedp.SendKeys(chromedp.ID("login-token"), "bootd_wrongid_wrongsecret"),
		chromedp.Click(chromedp.ID("login-submit")))
	b.waitFor("#login-error to show the refusal", `document.getElementById('login-error').textContent.trim() !== ''`)
	t.Logf("wrong token: #login-error says %q", b.text(`document.getElementById('login-error').textContent`))
	if hidden := b.text(`String(document.getElementById('dashboard').hidden)`); hidden != "true" {
		t.Errorf("after a wrong token the dashboard is shown (hidden=%s)", hidden)
	}
	b.do("log in with the admin token",
		browserClearInput("login-token"),
		chromedp.SendKeys(chromedp.ID("login-token"), token),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("dashboard")))
	b.waitFor(`#whoami to name "ops"`, `document.getElementById('whoami').textContent.includes('ops')`)
	t.Logf("#whoami: %q", b.text(`document.getElementById('whoami').textContent`))

	// 2. The pool, with the client's lease active and its utilisation bar.
	b.waitFor("the pool row with 1 active lease", fmt.Sprintf(`(() => {
		const row = document.querySelector('#pools tr[data-range=%q]');
		return !!row && row.querySelector('td.num').textContent.trim() === '1 / 100' &&
			!!row.querySelector('td.util .bar .fill');
	})()`, browserRange))

	// 3. Search: a MAC nobody has finds nothing, the client's MAC finds its lease.
	b.search("02:00:00:00:ff:ff")
	b.waitFor("the search for an unknown MAC to find nothing", `(() => {
		const rows = document.querySelectorAll('#lease-table tbody tr');
		return rows.length === 1 && !rows[0].hasAttribute('data-address') &&
			rows[0].textContent.includes('no lease matches');
	})()`)
	b.search(browserMAC)
	b.waitFor("the client's lease row "+pooled, browserLeaseRow(pooled, browserMAC))

	// 4. A reservation for the client, outside the pool, through the form.
	b.do("fill in and submit the reservation form",
		chromedp.WaitVisible(chromedp.ID("resv-form")),
		chromedp.SendKeys(chromedp.ID("resv-id"), browserMAC),
		chromedp.SendKeys(chromedp.ID("resv-address"), browserReserve),
		chromedp.SendKeys(chromedp.ID("resv-hostname"), browserHost),
		chromedp.Click(chromedp.ID("resv-submit")))
	// The note clears itself after a few seconds, so look for it first.
	b.waitFor("#resv-status to note the addition", fmt.Sprintf(
		`document.getElementById('resv-status').textContent.includes(%q)`, "added mac "+browserMAC))
	b.waitFor("the reservation row in #resv-table", fmt.Sprintf(`(() => {
		const row = document.querySelector('#resv-table tr[data-kind="mac"][data-id=%q]');
		if (!row) return false;
		const cells = [...row.cells].map((c) => c.textContent.trim());
		return cells[2] === %q && cells[3] === %q && cells[4] === %q && cells[6] === 'api';
	})()`, browserMAC, browserSubnet, browserReserve, browserHost))
	if e := b.text(`document.getElementById('resv-error').textContent`); e != "" {
		t.Errorf("#resv-error after a good reservation: %q", e)
	}

	// 5. The client asks again: a new udhcpc (the old one killed, so it
	// sends no RELEASE) starts over with DISCOVER and gets the reserved
	// address, which the dashboard shows, live exchanges included.
	first.kill(t)
	second := startBrowserClient(t, udhcpcPath, cliNS, filepath.Join(dir, "udhcpc2"))
	got := second.waitBound(t, ctx)
	t.Logf("udhcpc (pid %d) got %s after the reservation", second.cmd.Process.Pid, got)
	if got != browserReserve {
		t.Fatalf("after the reservation udhcpc got %s, want %s", got, browserReserve)
	}
	b.search(browserMAC)
	b.waitFor("the reserved lease row "+browserReserve, browserLeaseRow(browserReserve, browserMAC))
	b.waitFor("the live exchanges of the client", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#exchange-table tbody tr[data-mac=%q]')];
		return rows.some((r) => r.cells[1].textContent.includes('REQUEST') &&
			r.cells[1].textContent.includes('ACK') && r.cells[3].textContent.trim() === %q);
	})()`, browserMAC, browserReserve))
	t.Logf("#exchange-table: %s rows for %s", b.text(fmt.Sprintf(
		`String(document.querySelectorAll('#exchange-table tbody tr[data-mac=%q]').length)`, browserMAC)), browserMAC)
	b.waitFor("the live indicator", `document.getElementById('live').textContent === 'live'`)

	// 6. A screenshot of the whole page, from the top: scrolled, the
	// tables' sticky headers would cover rows in it.
	b.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.waitFor("the page at the top", `window.scrollY === 0`)
	shot := b.screenshot()
	if len(shot) <= 10<<10 || !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the screenshot is not a PNG of some size: %d bytes, starting %q", len(shot), shot[:min(len(shot), 8)])
	}
	out, err := browserArtifact("dashboard.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%d bytes): %s", len(shot), out)

	// Log out, so the page stops its event stream before the API stops.
	b.do("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))

	// 7. The audit log has the refused login and the reservation.
	entries := browserAudit(t, auditPath)
	var badLogin, added bool
	for _, e := range entries {
		switch {
		case e.Action == "session.login" && e.Result != "ok":
			badLogin = true
		case e.Action == "reservation.add" && e.Who == "ops" && e.Result == "ok" && e.Role == auth.Admin:
			added = true
			if want := "mac " + browserMAC; e.Target != want {
				t.Errorf("audit: reservation.add target %q, want %q", e.Target, want)
			}
		}
	}
	if !badLogin || !added {
		var sb strings.Builder
		for _, e := range entries {
			fmt.Fprintf(&sb, "  %+v\n", e)
		}
		t.Errorf("audit log: refused session.login found %v, reservation.add by ops found %v; entries:\n%s", badLogin, added, sb.String())
	}
	t.Logf("the whole test took %v", time.Since(began).Round(time.Millisecond))
}

// browserNewAPI is api.New, failing the test rather than panicking when the
// API cannot be built (its routes and the dashboard's must not conflict in
// the mux).
func browserNewAPI(t *testing.T, b api.Backend, opts api.Options) (a *api.API) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("api.New with the dashboard panicked: %v", v)
		}
	}()
	return api.New(b, opts)
}

// browserClearInput empties the input with the given id before keys are
// typed into it. (chromedp's Clear sets the value attribute, which a field
// the user typed in no longer shows, and its SetValue reports a failure for
// an empty value.)
func browserClearInput(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ''`, id))
}

// browserLeaseRow is a predicate: the lease table has a bound lease of mac at addr.
func browserLeaseRow(addr, mac string) string {
	return fmt.Sprintf(`(() => {
		const row = document.querySelector('#lease-table tr[data-address=%q]');
		if (!row) return false;
		const cells = [...row.cells].map((c) => c.textContent.trim());
		return cells[1] === 'bound' && cells[2] === %q;
	})()`, addr, mac)
}

// browserStepTimeout bounds each browser step, so that a failure names the step
// rather than the test's deadline.
const browserStepTimeout = 20 * time.Second

// browserPage drives the dashboard's tab.
type browserPage struct {
	t   *testing.T
	ctx context.Context
}

func (p *browserPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, p.dump())
	}
}

// waitFor polls the JavaScript expression until it is true.
func (p *browserPage) waitFor(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserStepTimeout-time.Second)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, p.dump())
	}
}

// text evaluates a JavaScript expression whose value is a string.
func (p *browserPage) text(expr string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// search types q into the lease search box and submits it.
func (p *browserPage) search(q string) {
	p.t.Helper()
	p.do("search the leases for "+q,
		browserClearInput("lease-q"),
		chromedp.SendKeys(chromedp.ID("lease-q"), q),
		chromedp.Click(chromedp.ID("lease-search")))
}

func (p *browserPage) screenshot() []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserStepTimeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	return buf
}

// dump is the page's visible text, for failure messages.
func (p *browserPage) dump() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	if err != nil {
		return "(page text not available: " + err.Error() + ")"
	}
	return s
}

func browserExceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += ": " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", s, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

// browserClient is a busybox udhcpc run in a namespace, in the foreground, whose
// script appends "EVENT IP" lines to a file.
type browserClient struct {
	cmd    *exec.Cmd
	events string
	out    *browserBuffer
	done   chan struct{}
}

// startBrowserClient runs udhcpc on c0 in ns, with its files in dir, until the
// test ends; it is killed by its PID (and process group).
func startBrowserClient(t *testing.T, path string, ns *testnet.Namespace, dir string) *browserClient {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &browserClient{events: filepath.Join(dir, "events"), out: &browserBuffer{}, done: make(chan struct{})}
	script := filepath.Join(dir, "script.sh")
	text := fmt.Sprintf("#!/bin/sh\necho \"$1 ${ip}\" >>%q\nexit 0\n", u.events)
	if err := os.WriteFile(script, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	u.cmd = exec.Command("ip", "netns", "exec", ns.Name,
		path, "-f", "-i", "c0", "-s", script, "-t", "5", "-T", "2", "-A", "5")
	u.cmd.Stdout, u.cmd.Stderr = u.out, u.out
	u.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := u.cmd.Start(); err != nil {
		t.Fatalf("udhcpc: %v", err)
	}
	go func() {
		u.cmd.Wait()
		close(u.done)
	}()
	t.Cleanup(func() {
		u.kill(t)
		if t.Failed() {
			t.Logf("udhcpc (pid %d) output:\n%s\nscript events:\n%s", u.cmd.Process.Pid, u.out.String(), browserReadFile(u.events))
		}
	})
	return u
}

// kill SIGKILLs udhcpc's process group by its PID, if it still runs, and
// waits for it to exit.
func (u *browserClient) kill(t *testing.T) {
	t.Helper()
	select {
	case <-u.done:
		return
	default:
	}
	syscall.Kill(-u.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-u.done:
	case <-time.After(10 * time.Second):
		t.Errorf("udhcpc (pid %d) still running 10s after SIGKILL", u.cmd.Process.Pid)
	}
}

// waitBound waits for udhcpc's script to report a lease and returns its address.
func (u *browserClient) waitBound(t *testing.T, ctx context.Context) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		sc := bufio.NewScanner(strings.NewReader(browserReadFile(u.events)))
		for sc.Scan() {
			if ip, ok := strings.CutPrefix(sc.Text(), "bound "); ok {
				return strings.TrimSpace(ip)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("udhcpc (pid %d) bound no lease: %v\noutput:\n%s", u.cmd.Process.Pid, ctx.Err(), u.out.String())
		case <-u.done:
			t.Fatalf("udhcpc (pid %d) exited before it bound a lease: %v\noutput:\n%s", u.cmd.Process.Pid, u.cmd.ProcessState, u.out.String())
		case <-tick.C:
		}
	}
}

func browserReadFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// browserInRange reports whether addr lies in the pool range "FIRST-LAST".
func browserInRange(addr, r string) bool {
	first, last, _ := strings.Cut(r, "-")
	a, b, c := net.ParseIP(addr).To4(), net.ParseIP(first).To4(), net.ParseIP(last).To4()
	return a != nil && b != nil && c != nil && bytes.Compare(a, b) >= 0 && bytes.Compare(a, c) <= 0
}

// browserArtifact is where a test writes a file worth keeping after it:
// $BOOTD_ARTIFACTS when set, else artifacts/ at the repository's root.
func browserArtifact(name string) (string, error) {
	dir := os.Getenv("BOOTD_ARTIFACTS")
	if dir == "" {
		root, err := browserRepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Abs(filepath.Join(dir, name))
}

// browserRepoRoot is the nearest directory above the working directory with go.mod.
func browserRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func browserAudit(t *testing.T, path string) []auth.AuditEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	var out []auth.AuditEntry
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var e auth.AuditEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}
