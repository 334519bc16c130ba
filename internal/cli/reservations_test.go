package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bootd/internal/api"
	"bootd/internal/api/auth"
	"bootd/internal/config"
	"bootd/internal/server"
	"bootd/internal/servertest"
	"bootd/internal/testnet"
)

// resvYAML serves 198.18.0.0/24 on s0 with one reservation of the
// configuration file; STORE is replaced by the store directory.
const resvYAML = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
subnets:
  - subnet: 198.18.0.0/24
    server-address: 198.18.0.1
    pools:
      - range: 198.18.0.100-198.18.0.200
    reservations:
      - mac: 02:00:00:00:00:09
        address: 198.18.0.9
        hostname: fromconfig
`

// apiServer is an in-process server with its API.
type apiServer struct {
	srv   *server.Server
	store string // the lease store directory, where control.sock is
	api   *api.API
}

// startAPIServer runs a server in a network namespace and serves its API
// on the control socket of its store until the test ends. It skips the
// test without root or namespaces.
func startAPIServer(t *testing.T, opts api.Options) *apiServer {
	t.Helper()
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	srv := testnet.New(t, "rsrv")
	cli := testnet.New(t, "rcli")
	testnet.Veth(t, srv, "s0", cli, "c0")
	srv.IP("addr", "add", "198.18.0.1/24", "dev", "s0")
	r := servertest.Start(t, srv, resvYAML, t.Output(), slog.LevelWarn)
	cfg := r.Server.Config()
	opts.Load = func(string) (*config.Config, error) { return r.Server.Config(), nil }
	opts.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	a := api.New(r.Server, opts)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sock := filepath.Join(cfg.LeaseStore.Path, server.ControlSocket)
	go func() { done <- a.ServeControl(ctx, sock) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeControl: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("ServeControl did not return within 10s of cancel")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("ServeControl: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("control socket %s not answering after 10s: %v", sock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &apiServer{srv: r.Server, store: cfg.LeaseStore.Path, api: a}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, nil, args...)
	if code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	return out
}

// mustFail runs the CLI and fails the test unless it exits 1 with every
// want on standard error.
func mustFail(t *testing.T, args []string, want ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, nil, args...)
	if code != exitError {
		t.Fatalf("%v: exit %d, want %d; stdout %q, stderr %q", args, code, exitError, out, errOut)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("%v: stderr lacks %q:\n%s", args, w, errOut)
		}
	}
	return errOut
}

type resvList struct {
	Reservations []resvView `json:"reservations"`
	File         string     `json:"file"`
}

func listJSON(t *testing.T, args ...string) resvList {
	t.Helper()
	out := mustRun(t, append([]string{"reservations", "list", "--json"}, args...)...)
	var l resvList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	return l
}

func findResv(l resvList, kind, id string) *resvView {
	for i := range l.Reservations {
		if l.Reservations[i].Kind == kind && l.Reservations[i].ID == id {
			return &l.Reservations[i]
		}
	}
	return nil
}

// TestReservationsControlSocket adds, changes and deletes a reservation
// through the control socket of a running server's store.
func TestReservationsControlSocket(t *testing.T) {
	s := startAPIServer(t, api.Options{})
	store := []string{"--store", s.store}
	const mac = "02:00:00:00:00:01"

	out := mustRun(t, append([]string{"reservations", "list"}, store...)...)
	for _, want := range []string{"KIND", "SOURCE", "02:00:00:00:00:09", "198.18.0.9", "fromconfig", "config test.yaml:", "1 reservations"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	// add: printed, listed, served by the API with source api, on disk.
	out = mustRun(t, append([]string{"reservations", "add", "--mac", mac, "--address", "198.18.0.50",
		"--hostname", "web1", "--boot-file", "ipxe.efi"}, store...)...)
	for _, want := range []string{mac, "198.18.0.0/24", "198.18.0.50", "web1", "ipxe.efi", "api"} {
		if !strings.Contains(out, want) {
			t.Errorf("add output lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, append([]string{"reservations", "list"}, store...)...)
	if !regexp.MustCompile(`(?m)^mac\s+02:00:00:00:00:01\s+198\.18\.0\.0/24\s+198\.18\.0\.50\s+web1\s+ipxe\.efi\s+api\s*$`).MatchString(out) {
		t.Errorf("list after add lacks the new reservation:\n%s", out)
	}
	var got resvList
	if err := controlAPI(s.store).do(t.Context(), http.MethodGet, "/api/v1/reservations", nil, &got); err != nil {
		t.Fatal(err)
	}
	file := s.srv.Config().ReservationsFile
	if r := findResv(got, "mac", mac); r == nil || r.Source != "api" || r.File != file || r.Address != "198.18.0.50" {
		t.Errorf("GET /api/v1/reservations: %+v", got)
	}
	if data, err := os.ReadFile(file); err != nil || !strings.Contains(string(data), mac) || !strings.Contains(string(data), "198.18.0.50") {
		t.Errorf("reservations file %s: %v\n%s", file, err, data)
	}

	// The same client again: the API's message names the file's position.
	errOut := mustFail(t, append([]string{"reservations", "add", "--mac", mac, "--address", "198.18.0.60"}, store...),
		"the reservation is refused", "already reserved")
	if !regexp.MustCompile(regexp.QuoteMeta(file) + `:\d+:\d+: mac 02:00:00:00:00:01 is already reserved`).MatchString(errOut) {
		t.Errorf("duplicate add: no FILE:LINE:COLUMN problem line:\n%s", errOut)
	}

	// change replaces it.
	out = mustRun(t, append([]string{"reservations", "change", "--mac", mac, "--address", "198.18.0.51", "--hostname", "web2"}, store...)...)
	if !strings.Contains(out, "198.18.0.51") || !strings.Contains(out, "web2") || strings.Contains(out, "ipxe.efi") {
		t.Errorf("change output:\n%s", out)
	}
	l := listJSON(t, store...)
	if r := findResv(l, "mac", mac); r == nil || r.Address != "198.18.0.51" || r.Hostname != "web2" || r.BootFile != "" || r.Source != "api" {
		t.Errorf("list --json after change: %+v", l)
	}
	if r := findResv(l, "mac", "02:00:00:00:00:09"); r == nil || r.Source != "config" {
		t.Errorf("list --json lacks the configuration's reservation: %+v", l)
	}
	if l.File != file {
		t.Errorf("list --json file %q, want %q", l.File, file)
	}

	// The configuration file's reservation is not changed through the API.
	mustFail(t, append([]string{"reservations", "delete", "--mac", "02:00:00:00:00:09"}, store...),
		"reserved in the configuration file")

	// delete.
	out = mustRun(t, append([]string{"reservations", "delete", "--mac", mac, "--subnet", "198.18.0.0/24"}, store...)...)
	if !strings.Contains(out, "deleted") {
		t.Errorf("delete output: %q", out)
	}
	if r := findResv(listJSON(t, store...), "mac", mac); r != nil {
		t.Errorf("still listed after delete: %+v", r)
	}
	mustFail(t, append([]string{"reservations", "delete", "--mac", mac}, store...), "no reservation of mac "+mac)

	// leases release of an address nobody holds: the API's 404.
	mustFail(t, []string{"leases", "release", "198.18.0.77", "--store", s.store}, "no lease of 198.18.0.77")
	// The listing still goes through the socket.
	if out := mustRun(t, "leases", "--store", s.store); !strings.Contains(out, "0 leases") {
		t.Errorf("leases: %s", out)
	}
}

// TestReservationsTCP uses the API's TCP listener with tokens.
func TestReservationsTCP(t *testing.T) {
	tokFile := filepath.Join(t.TempDir(), "api-tokens.json")
	tokens := auth.OpenTokens(tokFile)
	s := startAPIServer(t, api.Options{Tokens: tokens})
	reader, err := tokens.Create("reader", auth.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := tokens.Create("boss", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	adminFile := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(adminFile, []byte(admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.api.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()

	t.Setenv(TokenEnv, reader)
	out := mustRun(t, "reservations", "list", "--api", url)
	if !strings.Contains(out, "fromconfig") || !strings.Contains(out, "1 reservations") {
		t.Errorf("list over TCP:\n%s", out)
	}
	mustFail(t, []string{"reservations", "add", "--api", url, "--mac", "02:00:00:00:00:02", "--address", "198.18.0.52"},
		"reader has the read-only role; this needs admin")
	if out := mustRun(t, "leases", "--api", url); !strings.Contains(out, "0 leases") {
		t.Errorf("leases over TCP: %s", out)
	}

	// The admin token from a file wins over the environment.
	out = mustRun(t, "reservations", "add", "--api", url, "--token-file", adminFile, "--mac", "02:00:00:00:00:02", "--address", "198.18.0.52")
	if !strings.Contains(out, "198.18.0.52") {
		t.Errorf("add over TCP:\n%s", out)
	}
	if r := findResv(listJSON(t, "--api", url), "mac", "02:00:00:00:00:02"); r == nil || r.Source != "api" {
		t.Errorf("not listed over TCP after add")
	}
	mustFail(t, []string{"leases", "release", "198.18.0.77", "--api", url, "--token-file", adminFile}, "no lease of 198.18.0.77")

	// A bad token: 401, and after repeated failures 429 with Retry-After.
	t.Setenv(TokenEnv, "bootd_0123456789abcdef_nottherightsecret")
	mustFail(t, []string{"reservations", "list", "--api", url}, "the token is not valid")
	var last string
	for range 10 {
		code, _, errOut := runCLI(t, nil, "reservations", "list", "--api", url)
		if code != exitError {
			t.Fatalf("bad token: exit %d", code)
		}
		if last = errOut; strings.Contains(errOut, "too many failed attempts") {
			break
		}
	}
	if !strings.Contains(last, "too many failed attempts") || !strings.Contains(last, "Retry-After") {
		t.Errorf("no 429 after repeated bad tokens: %s", last)
	}
}

// TestReservationsNoServer: reservations need a running server.
func TestReservationsNoServer(t *testing.T) {
	dir := t.TempDir()
	mustFail(t, []string{"reservations", "list", "--store", dir},
		"no server is running on the lease store "+dir+"; reservations are changed through a running server")
	mustFail(t, []string{"reservations", "add", "--store", dir, "--mac", "02:00:00:00:00:01", "--address", "198.18.0.5"},
		"no server is running on the lease store "+dir)
	mustFail(t, []string{"leases", "release", "198.18.0.5", "--store", dir},
		"no server is running on the lease store "+dir+"; leases are released through a running server")
}

func TestReservationsUsage(t *testing.T) {
	t.Setenv(TokenEnv, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"reservations", "--store", "x"}, "want an action"},
		{[]string{"reservations", "frob", "--store", "x"}, `unknown action "frob"`},
		{[]string{"reservations", "add", "--store", "x"}, "add wants one of --mac"},
		{[]string{"reservations", "add", "--store", "x", "--mac", "a", "--remote-id", "b"}, "add wants one of --mac"},
		{[]string{"reservations", "delete", "--store", "x", "--mac", "a", "--hostname", "h"}, "delete takes the client"},
		{[]string{"reservations", "list"}, "--config or --store is required"},
		{[]string{"reservations", "list", "--store", "x", "--api", "http://127.0.0.1:1"}, "only one"},
		{[]string{"reservations", "list", "--api", "ftp://x"}, "want a URL"},
		{[]string{"reservations", "list", "--api", "http://127.0.0.1:1"}, "--api needs a token"},
		{[]string{"reservations", "list", "--store", "x", "--token-file", "f"}, "go with --api"},
		{[]string{"leases", "release", "--store", "x"}, "release wants one ADDRESS"},
		{[]string{"leases", "release", "nowhere", "--store", "x"}, "not an IPv4 address"},
		{[]string{"leases", "release", "198.18.0.5", "--store", "x", "--state", "bound"}, "for the listing"},
		{[]string{"leases", "frob", "--store", "x"}, `unexpected argument "frob"`},
	} {
		code, _, errOut := runCLI(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

// TestAPIClientErrors: the API's error shape becomes the message with one
// line per problem, and a 429 mentions Retry-After.
func TestAPIClientErrors(t *testing.T) {
	t.Parallel()
	e := &apiError{Status: 422, Message: "the reservation is refused: 1 problem(s)",
		Problems: []apiProblem{{File: "/s/reservations.yaml", Line: 3, Column: 10, Message: "bad"}}}
	if got, want := e.Error(), "the reservation is refused: 1 problem(s)\n/s/reservations.yaml:3:10: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &apiError{Status: 429, Message: "too many failed attempts", RetryAfter: "4"}
	if got := e.Error(); !strings.Contains(got, "Retry-After: 4") {
		t.Errorf("429: %q", got)
	}
}
