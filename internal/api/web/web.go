// Package web serves bootd's dashboard: one HTML page, a script and a
// style sheet, embedded in the binary and served by the API's mux.
//
// The page talks to the JSON API under /api/v1 (docs/api.md) with the
// session cookie and the X-Bootd-Request header; it has no build step and
// loads nothing from anywhere but its own origin.
//
// Every response carries a strict Content-Security-Policy, so the page may
// hold no inline script, inline style, style attribute or event-handler
// attribute: behaviour lives in static/app.js and looks in static/style.css.
// The tests parse index.html to hold it to that, and check that every
// element id the script looks up exists.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed index.html static
var assets embed.FS

// ContentSecurityPolicy is sent with every response of the handler.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// contentTypes lists the static files' types by extension; a file with
// another extension is not served.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// asset is one response body prepared at start.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// handler serves the page and its static files from memory.
type handler struct {
	index  asset
	static map[string]asset // by name under static/
}

// Handler returns the dashboard's handler: GET (and HEAD) / answers the
// page, GET /static/NAME its files; any other path is 404 and any other
// method 405. version is shown in the page's footer.
//
// It panics if the embedded page does not parse as a template, which the
// package's tests rule out.
func Handler(version string) http.Handler {
	tmpl := template.Must(template.ParseFS(assets, "index.html"))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ Version string }{version}); err != nil {
		panic("web: index.html: " + err.Error())
	}
	h := &handler{
		index:  newAsset(buf.Bytes(), "text/html; charset=utf-8"),
		static: make(map[string]asset),
	}
	err := fs.WalkDir(assets, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil
		}
		b, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		h.static[strings.TrimPrefix(name, "static/")] = newAsset(b, ct)
		return nil
	})
	if err != nil {
		panic("web: static: " + err.Error())
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")

	var a asset
	switch p := r.URL.Path; {
	case p == "/":
		a = h.index
	case strings.HasPrefix(p, "/static/"):
		var ok bool
		if a, ok = h.static[strings.TrimPrefix(p, "/static/")]; !ok {
			http.NotFound(w, r)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The files carry no version in their names, so the browser must
	// revalidate each time; the ETag makes that a 304.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
