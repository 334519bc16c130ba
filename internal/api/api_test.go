package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bootd/internal/api"
	"bootd/internal/api/auth"
	"bootd/internal/config"
	"bootd/internal/dhcpclient"
	"bootd/internal/servertest"
	"bootd/internal/testnet"
)

const apiConfig = `interfaces: [s0]
lease-store: {path: STORE}
subnets:
  - subnet: 198.18.40.0/24
    pools: [{range: 198.18.40.100-198.18.40.199}]
    reservations:
      - {mac: "02:00:00:00:40:99", address: 198.18.40.9, hostname: fixed}
  - subnet: 198.18.41.0/24
`

// fixture is a running server with its API on a loopback listener, an
// admin and a read-only token, and a DHCP client on the server's link.
type fixture struct {
	t       *testing.T
	run     *servertest.Running
	a       *api.API
	url     string
	admin   string
	reader  string
	tokens  *auth.Tokens
	audit   string
	cli     *testnet.Namespace
	clients map[string]*dhcpclient.Client
	now     *clock
}

// clock is a settable clock for the API (sessions, slow-down).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srvNS := testnet.New(t, "apis")
	cliNS := testnet.New(t, "apic")
	testnet.Veth(t, srvNS, "s0", cliNS, "c0")
	srvNS.IP("addr", "add", "198.18.40.1/24", "dev", "s0")
	run := servertest.Start(t, srvNS, apiConfig, io.Discard, slog.LevelInfo)

	dir := t.TempDir()
	tokens := auth.OpenTokens(filepath.Join(dir, "tokens.json"))
	admin, err := tokens.Create("ops", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := tokens.Create("viewer", auth.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit.log")
	audit, err := auth.OpenAudit(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit.Close() })
	clk := &clock{t: time.Now()}
	f := &fixture{t: t, run: run, admin: admin, reader: reader, tokens: tokens, audit: auditPath,
		cli: cliNS, clients: map[string]*dhcpclient.Client{}, now: clk}
	debug := http.NewServeMux()
	debug.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	f.a = api.New(run.Server, api.Options{
		Version: "test", Tokens: tokens, Audit: audit, Now: clk.Now, Log: slog.New(slog.DiscardHandler),
		Metrics: run.Server.Metrics().Handler(), Debug: debug,
		Load: func(string) (*config.Config, error) {
			return nil, fmt.Errorf("test.yaml: not on disk")
		},
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	f.url = "http://" + ln.Addr().String()
	return f
}

// dora gets a lease for mac through a DHCP client on the link.
func (f *fixture) dora(mac string) netip.Addr {
	f.t.Helper()
	c := f.clients[mac]
	if c == nil {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.cli.Do(func() (err error) {
			c, err = dhcpclient.Open(dhcpclient.Config{Interface: "c0", MAC: hw, Backoff: []time.Duration{200 * time.Millisecond}})
			return err
		}); err != nil {
			f.t.Fatal(err)
		}
		f.t.Cleanup(func() { c.Close() })
		f.clients[mac] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ack, err := c.DORA(ctx)
	if err != nil {
		f.t.Fatalf("DORA for %s: %v", mac, err)
	}
	return ack.YIAddr
}

// do sends a request with a bearer token ("" for none) and returns the
// status and body.
func (f *fixture) do(method, path, token string, body any) (int, []byte, http.Header) {
	f.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.url+path, r)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// want checks a request's status, and that an error answer has the one
// error shape with a message.
func (f *fixture) want(code int, method, path, token string, body any) []byte {
	f.t.Helper()
	got, b, _ := f.do(method, path, token, body)
	if got != code {
		f.t.Fatalf("%s %s: %d, want %d\n%s", method, path, got, code, b)
	}
	if code >= 400 {
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
			f.t.Fatalf("%s %s: error body %q is not {\"error\": ...}", method, path, b)
		}
	}
	return b
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	f.want(401, "GET", "/api/v1/status", "", nil)
	f.want(401, "GET", "/metrics", "", nil)
	f.want(200, "GET", "/api/v1/openapi.json", "", nil) // public
	f.want(200, "GET", "/api/v1/status", f.reader, nil)
	f.want(200, "GET", "/metrics", f.reader, nil)

	// Roles: the read-only token reads, the admin token changes.
	f.want(403, "POST", "/api/v1/reservations", f.reader, map[string]string{"kind": "mac", "id": "02:00:00:00:40:01", "address": "198.18.40.11"})
	f.want(403, "GET", "/api/v1/backup", f.reader, nil)
	f.want(403, "POST", "/api/v1/config/reload", f.reader, nil)
	f.want(200, "GET", "/api/v1/backup", f.admin, nil)
	var who struct{ Name, Role string }
	json.Unmarshal(f.want(200, "GET", "/api/v1/whoami", f.admin, nil), &who)
	if who.Name != "ops" || who.Role != "admin" {
		t.Errorf("whoami = %+v", who)
	}

	// A revoked token stops working at once.
	if err := auth.OpenTokens(filepath.Join(filepath.Dir(f.audit), "tokens.json")).Revoke("viewer"); err != nil {
		t.Fatal(err)
	}
	f.want(401, "GET", "/api/v1/status", f.reader, nil)
}

func TestSlowDown(t *testing.T) {
	f := newFixture(t)
	bad := f.admin[:len(f.admin)-4] + "AAAA"
	for i := range 5 {
		if code, b, _ := f.do("GET", "/api/v1/status", bad, nil); code != 401 {
			t.Fatalf("attempt %d: %d %s", i, code, b)
		}
	}
	// Blocked now: even the right token waits, and so does a login.
	code, b, h := f.do("GET", "/api/v1/status", f.admin, nil)
	if code != 429 || h.Get("Retry-After") != "2" || !strings.Contains(string(b), "too many failed attempts") {
		t.Fatalf("after 5 failures: %d Retry-After %q %s", code, h.Get("Retry-After"), b)
	}
	f.want(429, "POST", "/api/v1/session", "", map[string]string{"token": f.admin})
	f.now.Add(3 * time.Second)
	f.want(200, "GET", "/api/v1/status", f.admin, nil)
}

func TestSession(t *testing.T) {
	f := newFixture(t)
	f.want(401, "POST", "/api/v1/session", "", map[string]string{"token": "bootd_0000000000000000_x"})
	f.want(400, "POST", "/api/v1/session", "", `{"token": 1}`)
	f.want(400, "POST", "/api/v1/session", "", `{"token": "x", "user": "y"}`)

	resp, err := http.Post(f.url+"/api/v1/session", "application/json", strings.NewReader(`{"token":"`+f.admin+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %s, cookie %+v", resp.Status, cookie)
	}
	send := func(method, path string, csrf bool) int {
		req, _ := http.NewRequest(method, f.url+path, nil)
		req.AddCookie(cookie)
		if csrf {
			req.Header.Set(api.CSRFHeader, "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := send("GET", "/api/v1/whoami", false); c != 200 {
		t.Errorf("GET with the cookie: %d", c)
	}
	// A change with the cookie alone could come from another site's form.
	if c := send("POST", "/api/v1/leases/198.18.40.100/release", false); c != 403 {
		t.Errorf("POST with the cookie and no %s: %d, want 403", api.CSRFHeader, c)
	}
	if c := send("POST", "/api/v1/leases/198.18.40.100/release", true); c != 404 {
		t.Errorf("POST with the cookie and the header: %d, want 404 (no such lease)", c)
	}
	// Sessions end with their time, and at logout.
	f.now.Add(13 * time.Hour)
	if c := send("GET", "/api/v1/whoami", false); c != 401 {
		t.Errorf("after 13 h: %d, want 401", c)
	}
}

func TestLeases(t *testing.T) {
	f := newFixture(t)
	macs := []string{"02:00:00:00:40:01", "02:00:00:00:40:02", "02:00:00:00:40:03"}
	addrs := map[string]netip.Addr{}
	for _, m := range macs {
		addrs[m] = f.dora(m)
	}
	var list struct {
		Leases []struct {
			Address netip.Addr
			State   string
			Active  bool
			MAC     string
		}
		Total     int
		Truncated bool
	}
	json.Unmarshal(f.want(200, "GET", "/api/v1/leases", f.reader, nil), &list)
	if list.Total != 3 || len(list.Leases) != 3 || list.Truncated {
		t.Fatalf("list: %+v", list)
	}
	json.Unmarshal(f.want(200, "GET", "/api/v1/leases?q=40:02", f.reader, nil), &list)
	if list.Total != 1 || list.Leases[0].Address != addrs[macs[1]] || list.Leases[0].State != "bound" || !list.Leases[0].Active {
		t.Errorf("search by partial MAC: %+v", list)
	}
	json.Unmarshal(f.want(200, "GET", "/api/v1/leases?limit=2", f.reader, nil), &list)
	if list.Total != 3 || len(list.Leases) != 2 || !list.Truncated {
		t.Errorf("limit 2: %+v", list)
	}
	for _, bad := range []string{"?limit=0", "?address=x", "?mac=zz", "?state=gone", "?subnet=1.2.3", "?colour=red"} {
		f.want(400, "GET", "/api/v1/leases"+bad, f.reader, nil)
	}
	a := addrs[macs[0]]
	f.want(200, "GET", "/api/v1/leases/"+a.String(), f.reader, nil)
	f.want(404, "GET", "/api/v1/leases/198.18.40.250", f.reader, nil)
	f.want(400, "GET", "/api/v1/leases/not-an-address", f.reader, nil)

	// Release: the address is free at once and the lease is kept, released.
	f.want(403, "POST", "/api/v1/leases/"+a.String()+"/release", f.reader, nil)
	var l struct{ State string }
	json.Unmarshal(f.want(200, "POST", "/api/v1/leases/"+a.String()+"/release", f.admin, nil), &l)
	if l.State != "released" {
		t.Errorf("released lease state %q", l.State)
	}
	if f.run.Server.Held(a) {
		t.Errorf("%v still held after release", a)
	}
	st, err := f.run.Store.Get(context.Background(), a)
	if err != nil || st.State.String() != "released" {
		t.Errorf("store after release: %+v %v", st, err)
	}
	f.want(409, "POST", "/api/v1/leases/"+a.String()+"/release", f.admin, nil)

	// The export streams the store's leases, one JSON line each.
	_, body, _ := f.do("GET", "/api/v1/leases/export", f.reader, nil)
	if n := bytes.Count(body, []byte("\n")); n != 3 {
		t.Errorf("export: %d lines\n%s", n, body)
	}

	// Pools and status count the two active leases.
	var pools struct {
		Subnets []struct {
			Subnet       string
			Reservations int
			Pools        []struct {
				Size, Active uint64
				Utilisation  float64
			}
		}
	}
	json.Unmarshal(f.want(200, "GET", "/api/v1/pools", f.reader, nil), &pools)
	if len(pools.Subnets) != 2 || pools.Subnets[0].Reservations != 1 || pools.Subnets[0].Pools[0].Size != 100 ||
		pools.Subnets[0].Pools[0].Active != 2 || pools.Subnets[0].Pools[0].Utilisation != 0.02 {
		t.Errorf("pools: %+v", pools)
	}
	var status struct {
		LeasesActive int `json:"leases-active"`
		Health       struct{ Status string }
	}
	json.Unmarshal(f.want(200, "GET", "/api/v1/status", f.reader, nil), &status)
	if status.LeasesActive != 2 || status.Health.Status != "ok" {
		t.Errorf("status: %+v", status)
	}
	auditHas(t, f.audit, "ops", "lease.release", a.String(), "ok")
}

// auditHas fails unless the audit log has a line with these values.
func auditHas(t *testing.T, path, who, action, target, result string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var e auth.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if e.Who == who && e.Action == action && e.Target == target && strings.HasPrefix(e.Result, result) {
			return
		}
	}
	t.Errorf("audit log has no %s %s %s %s:\n%s", who, action, target, result, b)
}

func TestReservations(t *testing.T) {
	f := newFixture(t)
	mac := "02:00:00:00:40:05"
	first := f.dora(mac)
	if first.Compare(netip.MustParseAddr("198.18.40.100")) < 0 {
		t.Fatalf("first lease %v is not from the pool", first)
	}

	// Bad requests change nothing: 400 for what the API checks, 422 with
	// the configuration's problems for the rest.
	f.want(400, "POST", "/api/v1/reservations", f.admin, `{"kind": "mac"}`)
	f.want(400, "POST", "/api/v1/reservations", f.admin, `{"kind": "uuid", "id": "x", "address": "198.18.40.20"}`)
	f.want(400, "POST", "/api/v1/reservations", f.admin, `{"kind": "mac", "id": "02:00:00:00:40:05", "address": "198.18.40.20", "ttl": 5}`)
	f.want(400, "POST", "/api/v1/reservations", f.admin, `not json`)
	var e struct {
		Error    string
		Problems []struct {
			File         string
			Line, Column int
			Message      string
		}
	}
	json.Unmarshal(f.want(422, "POST", "/api/v1/reservations", f.admin,
		map[string]string{"kind": "mac", "id": "02:00:00:00:40:99", "address": "198.18.40.21"}), &e)
	resvFile := filepath.Join(f.run.Server.Config().LeaseStore.Path, "reservations.yaml")
	if len(e.Problems) != 1 || e.Problems[0].File != resvFile || !strings.Contains(e.Problems[0].Message, "already reserved") {
		t.Errorf("duplicate MAC: %+v", e)
	}
	json.Unmarshal(f.want(422, "POST", "/api/v1/reservations", f.admin,
		map[string]string{"kind": "mac", "id": "02:00:00:00:40:06", "address": "198.18.40.9"}), &e)
	if len(e.Problems) != 1 || !strings.Contains(e.Problems[0].Message, "reserved twice") {
		t.Errorf("duplicate address: %+v", e)
	}
	f.want(422, "POST", "/api/v1/reservations", f.admin, map[string]string{"kind": "mac", "id": "02:00:00:00:40:06", "address": "198.18.99.1"})
	// An address another client holds now is refused until released.
	json.Unmarshal(f.want(409, "POST", "/api/v1/reservations", f.admin,
		map[string]string{"kind": "mac", "id": "02:00:00:00:40:07", "address": first.String()}), &e)
	if !strings.Contains(e.Error, "leased to "+mac) {
		t.Errorf("held address: %q", e.Error)
	}
	if _, err := os.Stat(resvFile); !os.IsNotExist(err) {
		t.Fatalf("refused reservations wrote the file: %v", err)
	}

	// A good one: written, swapped in, and the client gets its address
	// on its next DORA.
	var v struct {
		Kind, ID, Subnet, Address, Hostname, Source, File string
		Line                                              int
	}
	json.Unmarshal(f.want(201, "POST", "/api/v1/reservations", f.admin,
		map[string]string{"kind": "mac", "id": mac, "address": "198.18.40.20", "hostname": "rack1-node5"}), &v)
	if v.Source != "api" || v.File != resvFile || v.Subnet != "198.18.40.0/24" || v.Line == 0 {
		t.Errorf("added: %+v", v)
	}
	if b, err := os.ReadFile(resvFile); err != nil || !strings.Contains(string(b), mac) {
		t.Errorf("reservations file: %v\n%s", err, b)
	}
	if got := f.dora(mac); got != netip.MustParseAddr("198.18.40.20") {
		t.Errorf("after the reservation the client got %v, want 198.18.40.20", got)
	}
	f.want(200, "GET", "/api/v1/reservations/mac/"+mac, f.reader, nil)
	f.want(404, "GET", "/api/v1/reservations/mac/02:00:00:00:40:42", f.reader, nil)
	f.want(400, "GET", "/api/v1/reservations/uuid/x", f.reader, nil)

	// Change: another address; then delete. A config file reservation is
	// shown but not changed through the API.
	json.Unmarshal(f.want(200, "PUT", "/api/v1/reservations/mac/"+mac, f.admin,
		map[string]string{"address": "198.18.40.21", "hostname": "rack1-node5"}), &v)
	if v.Address != "198.18.40.21" {
		t.Errorf("changed: %+v", v)
	}
	if got := f.dora(mac); got != netip.MustParseAddr("198.18.40.21") {
		t.Errorf("after the change the client got %v, want 198.18.40.21", got)
	}
	f.want(409, "DELETE", "/api/v1/reservations/mac/02:00:00:00:40:99", f.admin, nil)
	f.want(204, "DELETE", "/api/v1/reservations/mac/"+mac, f.admin, nil)
	f.want(404, "DELETE", "/api/v1/reservations/mac/"+mac, f.admin, nil)
	var all struct{ Reservations []struct{ Source string } }
	json.Unmarshal(f.want(200, "GET", "/api/v1/reservations", f.reader, nil), &all)
	if len(all.Reservations) != 1 || all.Reservations[0].Source != "config" {
		t.Errorf("after delete: %+v", all)
	}
	auditHas(t, f.audit, "ops", "reservation.add", "mac "+mac, "ok")
	auditHas(t, f.audit, "ops", "reservation.change", "mac "+mac, "ok")
	auditHas(t, f.audit, "ops", "reservation.delete", "mac "+mac, "ok")
	auditHas(t, f.audit, "ops", "reservation.add", "mac 02:00:00:00:40:07", first.String()+" is leased to")
}

// TestConcurrentReservations: many admins adding at once lose nothing
// and corrupt nothing: every add that succeeded is in the file and
// served.
func TestConcurrentReservations(t *testing.T) {
	f := newFixture(t)
	const n = 20
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			body := map[string]string{"kind": "mac", "id": fmt.Sprintf("02:00:00:00:41:%02x", i), "address": fmt.Sprintf("198.18.41.%d", 10+i%10)}
			codes[i], _, _ = f.do("POST", "/api/v1/reservations", f.admin, body)
		})
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch c {
		case 201:
			ok++
		case 422: // the address was taken by another add first
		default:
			t.Errorf("add %d: %d", i, c)
		}
	}
	if ok != 10 {
		t.Errorf("%d adds succeeded, want 10 (one per address)", ok)
	}
	cfg, err := config.ParseWith("test.yaml", f.run.Server.Config().Text, config.ReadReservations)
	if err != nil {
		t.Fatalf("the reservations file does not load: %v", err)
	}
	if got := len(cfg.Subnets[1].Reservations); got != ok {
		t.Errorf("%d reservations in the file, %d added", got, ok)
	}
	if got := len(f.run.Server.Config().Subnets[1].Reservations); got != ok {
		t.Errorf("%d reservations served, %d added", got, ok)
	}
}

func TestConfigAPI(t *testing.T) {
	f := newFixture(t)
	var v struct {
		File string
		Text string
	}
	json.Unmarshal(f.want(200, "GET", "/api/v1/config", f.reader, nil), &v)
	if v.File != "test.yaml" || !strings.Contains(v.Text, "198.18.40.0/24") {
		t.Errorf("config view: %+v", v)
	}
	f.want(200, "POST", "/api/v1/config/validate", f.reader, "interfaces: [s0]\nsubnets: [{subnet: 198.18.42.0/24}]\n")
	var e struct {
		Problems []struct {
			File         string
			Line, Column int
			Message      string
		}
	}
	json.Unmarshal(f.want(422, "POST", "/api/v1/config/validate", f.reader, "interfaces: [s0]\nsubnets: [{subnet: 198.18.42.0/33}]\n"), &e)
	if len(e.Problems) != 1 || e.Problems[0].Line != 2 || e.Problems[0].Column == 0 {
		t.Errorf("validate: %+v", e)
	}
	// A reload that fails keeps the configuration being served.
	before := f.run.Server.Config()
	f.want(500, "POST", "/api/v1/config/reload", f.admin, nil)
	if f.run.Server.Config() != before {
		t.Error("a failed reload changed the configuration")
	}
	f.want(405, "GET", "/api/v1/config/reload", f.admin, nil)
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.reader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	mac := "02:00:00:00:40:0e"
	addr := f.dora(mac)
	sc := bufio.NewScanner(resp.Body)
	seen := map[string]bool{}
	for sc.Scan() && !(seen["DISCOVER OFFER"] && seen["REQUEST ACK"]) {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct{ Type, Reply, MAC, Address, Interface string }
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if ev.MAC == mac && ev.Address == addr.String() && ev.Interface == "s0" {
			seen[ev.Type+" "+ev.Reply] = true
		}
	}
	if !seen["DISCOVER OFFER"] || !seen["REQUEST ACK"] {
		t.Errorf("events seen: %v (%v)", seen, sc.Err())
	}
}

// TestControlSocket: the control socket's callers are the local
// administrator, with no token; the TCP listener never grants that.
func TestControlSocket(t *testing.T) {
	f := newFixture(t)
	sock := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.a.ServeControl(ctx, sock) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeControl: %v", err)
		}
	}()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err = hc.Get("http://bootd/api/v1/whoami")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var who struct{ Name, Role string }
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who.Name != fmt.Sprintf("local:uid=%d", os.Geteuid()) || who.Role != "admin" {
		t.Errorf("whoami on the control socket: %+v", who)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", fi, err)
	}
	// The profiler is for local callers only.
	resp, err = hc.Get("http://bootd/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("profiler on the control socket: %s", resp.Status)
	}
	f.want(404, "GET", "/debug/pprof/cmdline", f.admin, nil)
	f.want(404, "GET", "/api/v2/leases", f.admin, nil)
}

func TestListenRefusesBeyondLoopbackWithoutTLS(t *testing.T) {
	ns := testnet.New(t, "apil")
	ns.IP("link", "add", "d0", "type", "veth", "peer", "name", "d1")
	ns.IP("addr", "add", "198.18.43.1/24", "dev", "d0")
	ns.IP("link", "set", "d0", "up")
	err := ns.Do(func() error {
		ln, err := api.Listen(context.Background(), &config.API{Listen: netip.MustParseAddrPort("198.18.43.1:0")})
		if err == nil {
			ln.Close()
			return fmt.Errorf("listening on 198.18.43.1 without TLS worked")
		}
		if !strings.Contains(err.Error(), "beyond loopback") {
			return fmt.Errorf("error %q does not say why", err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestTLS(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	ln, err := api.Listen(context.Background(), &config.API{Listen: netip.MustParseAddrPort("127.0.0.1:0"), TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.a.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+ln.Addr().String()+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+f.reader)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("over TLS: %s", resp.Status)
	}
	// Plain HTTP to the TLS port gets no API.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/openapi.json"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS listener")
		}
	}
	// A missing key file stops the start.
	if _, err := api.Listen(context.Background(), &config.API{Listen: netip.MustParseAddrPort("127.0.0.1:0"), TLSCert: certFile, TLSKey: filepath.Join(dir, "none.pem")}); err == nil {
		t.Error("Listen with a missing key worked")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bootd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
