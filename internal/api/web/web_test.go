package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServe(t *testing.T) {
	h := Handler("1.2.3-test")
	tests := []struct {
		method, path string
		status       int
		contentType  string // prefix; "" means not checked
		cache        string
	}{
		{"GET", "/", 200, "text/html", "no-cache"},
		{"HEAD", "/", 200, "text/html", "no-cache"},
		{"GET", "/static/app.js", 200, "text/javascript", "no-cache"},
		{"GET", "/static/style.css", 200, "text/css", "no-cache"},
		{"GET", "/static/favicon.svg", 200, "image/svg+xml", "no-cache"},
		{"GET", "/static/x", 404, "", ""},
		{"GET", "/static/", 404, "", ""},
		{"GET", "/static/../web.go", 404, "", ""},
		{"GET", "/index.html", 404, "", ""},
		{"GET", "/api/v1/whoami", 404, "", ""},
		{"POST", "/", 405, "", ""},
		{"DELETE", "/static/app.js", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := get(t, h, tt.method, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if ct := resp.Header.Get("Content-Type"); tt.contentType != "" && !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.contentType)
			}
			if cc := resp.Header.Get("Cache-Control"); tt.cache != "" && cc != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", cc, tt.cache)
			}
		})
	}
}

func TestCSPValue(t *testing.T) {
	want := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	if ContentSecurityPolicy != want {
		t.Errorf("ContentSecurityPolicy = %q, want %q", ContentSecurityPolicy, want)
	}
}

func TestIndexVersionEscaped(t *testing.T) {
	b := body(t, get(t, Handler(`v1<script>x</script>`), "GET", "/"))
	if strings.Contains(b, "<script>x") {
		t.Error("version not escaped in index")
	}
	if !strings.Contains(b, "v1&lt;script&gt;") {
		t.Error("version missing from index")
	}
}

func TestETag(t *testing.T) {
	h := Handler("v")
	resp := get(t, h, "GET", "/static/app.js")
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest("GET", "/static/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("status with If-None-Match = %d, want 304", rec.Code)
	}
}

// sameOriginProblems lists what in an HTML page the CSP would block or
// what loads from elsewhere: absolute URLs, inline scripts and styles,
// style attributes and event-handler attributes.
func sameOriginProblems(page string) ([]string, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, err
	}
	var problems []string
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		problems = append(problems, "absolute http(s) URL")
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "style":
			problems = append(problems, "<style> block")
		case "script":
			if n.FirstChild != nil && strings.TrimSpace(n.FirstChild.Data) != "" {
				problems = append(problems, "inline <script> body")
			}
		}
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			switch {
			case k == "style":
				problems = append(problems, "style= attribute on <"+n.Data+">")
			case strings.HasPrefix(k, "on"):
				problems = append(problems, k+"= attribute on <"+n.Data+">")
			case k == "src" || k == "href" || k == "action" || k == "formaction":
				v := strings.TrimSpace(a.Val)
				if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") {
					problems = append(problems, k+"="+v+" is not a same-origin path")
				}
			}
		}
	}
	return problems, nil
}

func TestIndexSameOrigin(t *testing.T) {
	page := body(t, get(t, Handler("v"), "GET", "/"))
	problems, err := sameOriginProblems(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestSameOriginProblemsRejectsBadPages(t *testing.T) {
	bad := []string{
		`<script>alert(1)</script>`,
		`<script src="https://cdn.example/x.js"></script>`,
		`<script src="//cdn.example/x.js"></script>`,
		`<link rel="stylesheet" href="http://fonts.example/css">`,
		`<style>p{}</style>`,
		`<p style="color:red">x</p>`,
		`<button onclick="go()">x</button>`,
		`<img src="data:image/png;base64,AAAA">`,
	}
	for _, page := range bad {
		problems, err := sameOriginProblems(page)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) == 0 {
			t.Errorf("no problem found in %s", page)
		}
	}
	problems, _ := sameOriginProblems(`<script src="/static/app.js" defer></script><p id="x">ok</p>`)
	if len(problems) != 0 {
		t.Errorf("problems in a good page: %v", problems)
	}
}

func indexIDs(t *testing.T) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body(t, get(t, Handler("v"), "GET", "/"))))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			if a.Key == "id" {
				ids = append(ids, a.Val)
			}
		}
	}
	return ids
}

// The browser tests drive the page by these ids.
var requiredIDs = []string{
	"login-token", "login-submit", "login-error",
	"whoami", "logout",
	"health", "pools",
	"leases", "lease-q", "lease-search", "lease-table",
	"reservations", "resv-table", "resv-form", "resv-kind", "resv-id", "resv-address",
	"resv-hostname", "resv-bootfile", "resv-subnet", "resv-submit", "resv-error", "resv-status",
	"exchanges", "exchange-table", "live",
}

func TestIndexIDs(t *testing.T) {
	ids := indexIDs(t)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("id %q used twice", id)
		}
		seen[id] = true
	}
	for _, id := range requiredIDs {
		if !seen[id] {
			t.Errorf("index.html has no element with id %q", id)
		}
	}
}

// TestScriptIDs checks that every id app.js looks up with $('...') is in
// the page, so a renamed element cannot silently break the script.
func TestScriptIDs(t *testing.T) {
	js, err := assets.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	ids := indexIDs(t)
	matches := regexp.MustCompile(`\$\('([^']+)'\)`).FindAllStringSubmatch(string(js), -1)
	if len(matches) < len(requiredIDs) {
		t.Fatalf("found only %d id lookups in app.js", len(matches))
	}
	for _, m := range matches {
		if !slices.Contains(ids, m[1]) {
			t.Errorf("app.js looks up id %q, which index.html lacks", m[1])
		}
	}
	if regexp.MustCompile(`\.innerHTML\s*=|insertAdjacentHTML|document\.write`).Match(js) {
		t.Error("app.js writes HTML from strings")
	}
}

func TestScriptSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH; not checking app.js syntax")
	}
	out, err := exec.Command(node, "--check", "static/app.js").CombinedOutput()
	if err != nil {
		t.Errorf("node --check static/app.js: %v\n%s", err, out)
	}
}
