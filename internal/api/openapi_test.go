package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return raw, doc
}

// resolvePointer follows a local JSON pointer ("#/components/...") in doc.
func resolvePointer(doc map[string]any, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref returns v, or what its $ref points at.
func deref(doc map[string]any, v any) any {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["$ref"].(string); ok {
			if r, ok := resolvePointer(doc, ref); ok {
				return r
			}
		}
	}
	return v
}

func TestOpenAPIDocument(t *testing.T) {
	_, doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0") {
		t.Errorf("openapi = %q, want 3.0.x", v)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("no paths")
	}

	wantRole := map[need]string{public: "none", readOnly: "read-only", admin: "admin"}
	routes := map[string]route{}
	for _, r := range (&API{}).routes() {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok {
			t.Errorf("route %q has no method", r.pattern)
			continue
		}
		routes[method+" "+path] = r
	}

	documented := map[string]bool{}
	for path, item := range paths {
		ops, ok := item.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for _, m := range openAPIMethods {
			o, ok := ops[m].(map[string]any)
			if !ok {
				continue
			}
			key := strings.ToUpper(m) + " " + path
			documented[key] = true
			if s, _ := o["summary"].(string); s == "" {
				t.Errorf("%s: no summary", key)
			}
			r, ok := routes[key]
			if ok {
				if got, want := o["x-bootd-role"], wantRole[r.need]; got != want {
					t.Errorf("%s: x-bootd-role %v, want %q", key, got, want)
				}
			}
			resp, _ := o["responses"].(map[string]any)
			has2xx := false
			for code := range resp {
				if len(code) == 3 && code[0] == '2' {
					has2xx = true
				}
			}
			if !has2xx {
				t.Errorf("%s: no 2xx response", key)
			}
			checkPathParams(t, doc, key, path, ops, o)
		}
	}

	var missingDoc, missingCode []string
	for k := range routes {
		if !documented[k] {
			missingDoc = append(missingDoc, k)
		}
	}
	for k := range documented {
		if _, ok := routes[k]; !ok {
			missingCode = append(missingCode, k)
		}
	}
	slices.Sort(missingDoc)
	slices.Sort(missingCode)
	for _, k := range missingDoc {
		t.Errorf("route %s is in routes() but not in openapi.json", k)
	}
	for _, k := range missingCode {
		t.Errorf("%s is in openapi.json but not in routes()", k)
	}

	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !strings.HasPrefix(ref, "#/components/") {
					t.Errorf("%s: $ref %q is not a local component", at, ref)
				} else if _, ok := resolvePointer(doc, ref); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
			for k, e := range v {
				walk(at+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s/%d", at, i), e)
			}
		}
	}
	walk("#", doc)
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// checkPathParams checks that every {name} of a path is declared as a
// required path parameter of the operation or its path item.
func checkPathParams(t *testing.T, doc map[string]any, key, path string, item, o map[string]any) {
	t.Helper()
	declared := map[string]bool{}
	for _, list := range []any{item["parameters"], o["parameters"]} {
		ps, _ := list.([]any)
		for _, p := range ps {
			pm, _ := deref(doc, p).(map[string]any)
			if pm["in"] == "path" {
				name, _ := pm["name"].(string)
				declared[name] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %q is not required", key, name)
				}
			}
		}
	}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		if !declared[m[1]] {
			t.Errorf("%s: path parameter {%s} is not declared", key, m[1])
		}
		delete(declared, m[1])
	}
	for name := range declared {
		t.Errorf("%s: path parameter %q is not in the path", key, name)
	}
}

func TestOpenAPIServed(t *testing.T) {
	raw, _ := loadOpenAPI(t)
	h := New(nil, Options{}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), raw) {
		t.Errorf("GET /api/v1/openapi.json serves %d bytes, not openapi.json's %d", rec.Body.Len(), len(raw))
	}
}
