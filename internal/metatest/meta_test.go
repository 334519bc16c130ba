package metatest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goPackage is the part of `go list -json` these tests read.
type goPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Imports    []string
	Deps       []string
}

func goList(t *testing.T, args ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rule says which imports a package may have, directly or through its dependencies.
type rule struct {
	pkg       string
	stdOnly   bool     // only the standard library (and nothing of this module but itself)
	forbidden []string // import paths never allowed, even in the standard library; a trailing "/" makes a prefix
}

var rules = []rule{
	// The wire codec knows nothing of leases, sockets, HTTP, databases or metrics.
	{pkg: "bootd/internal/dhcpv4", stdOnly: true, forbidden: []string{"net", "net/http", "database/sql", "github.com/prometheus/", "os/exec"}},
	// The lease store and the allocator know nothing of sockets or of the wire format.
	{pkg: "bootd/internal/lease", forbidden: []string{"net", "net/http", "bootd/internal/dhcpv4", "bootd/internal/netio"}},
	{pkg: "bootd/internal/lease/journal", forbidden: []string{"net", "net/http", "bootd/internal/dhcpv4", "bootd/internal/netio"}},
	// Protocol logic is testable without a network: no sockets.
	{pkg: "bootd/internal/handler", forbidden: []string{"net", "net/http", "bootd/internal/netio", "github.com/prometheus/", "bootd/internal/metrics"}},
	{pkg: "bootd/internal/alloc", forbidden: []string{"net", "net/http", "bootd/internal/dhcpv4", "bootd/internal/netio", "bootd/internal/config", "github.com/prometheus/"}},
	// Metrics are counted by the server and read from the others at scrape
	// time: the protocol logic and the allocator never import them (above),
	// and the metrics package imports nothing that drives the service.
	{pkg: "bootd/internal/metrics", forbidden: []string{"bootd/internal/server", "bootd/internal/handler", "bootd/internal/alloc", "bootd/internal/cli"}},
}

// checkDeps returns the violations of r by a package with the given dependencies.
func checkDeps(r rule, deps []string, standard map[string]bool) []string {
	var bad []string
	for _, d := range deps {
		if r.stdOnly && !standard[d] && d != r.pkg {
			bad = append(bad, d+" is not in the standard library")
			continue
		}
		for _, f := range r.forbidden {
			if d == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
				bad = append(bad, d+" is forbidden")
			}
		}
	}
	return bad
}

func TestDependencyRules(t *testing.T) {
	for _, r := range rules {
		pkgs := goList(t, "-deps", r.pkg)
		standard := map[string]bool{}
		var deps []string
		for _, p := range pkgs {
			standard[p.ImportPath] = p.Standard
			if p.ImportPath != r.pkg {
				deps = append(deps, p.ImportPath)
			}
		}
		if len(deps) == 0 {
			t.Fatalf("%s: go list found no dependencies at all; the check would prove nothing", r.pkg)
		}
		for _, v := range checkDeps(r, deps, standard) {
			t.Errorf("%s depends on %s", r.pkg, v)
		}
	}
}

// The checker must reject known-bad dependency lists, or the test above proves nothing.
func TestCheckDepsRejects(t *testing.T) {
	r := rule{pkg: "bootd/internal/x", stdOnly: true, forbidden: []string{"net", "net/http", "github.com/prometheus/"}}
	std := map[string]bool{"fmt": true, "net": true, "net/netip": true, "net/http": true, "bootd/internal/lease": false, "github.com/x/y": false, "github.com/prometheus/client_golang": false}
	for _, tc := range []struct {
		deps []string
		want int
	}{
		{[]string{"fmt"}, 0},
		{[]string{"fmt", "net/http"}, 1},
		{[]string{"bootd/internal/lease"}, 1},
		{[]string{"github.com/x/y", "net/http"}, 2},
		{[]string{"net/netip"}, 0},
		{[]string{"net"}, 1},
		{[]string{"github.com/prometheus/client_golang"}, 1}, // not std, and a forbidden prefix: reported once
	} {
		if got := checkDeps(r, tc.deps, std); len(got) != tc.want {
			t.Errorf("checkDeps(%v) = %v, want %d violations", tc.deps, got, tc.want)
		}
	}
}

// missingDocs returns the packages in dirs whose non-test files carry no package comment.
func missingDocs(dirs []string) ([]string, error) {
	var missing []string
	for _, dir := range dirs {
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		hasDoc, hasFiles := false, false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			hasFiles = true
			af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				return nil, err
			}
			if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
				hasDoc = true
			}
		}
		if hasFiles && !hasDoc {
			missing = append(missing, dir)
		}
	}
	return missing, nil
}

func TestPackageDocs(t *testing.T) {
	var dirs []string
	for _, p := range goList(t, "./...") {
		dirs = append(dirs, p.Dir)
	}
	if len(dirs) < 2 {
		t.Fatalf("go list ./... found %d packages", len(dirs))
	}
	missing, err := missingDocs(dirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range missing {
		t.Errorf("package in %s has no package documentation", d)
	}
}

func TestMissingDocsRejects(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	for d, src := range map[string]string{
		good: "// Package good is documented.\npackage good\n",
		bad:  "package bad\n\n// F is documented but the package is not.\nfunc F() {}\n",
	} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "x.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := missingDocs([]string{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{bad}) {
		t.Errorf("missingDocs = %v, want [%s]", got, bad)
	}
}
