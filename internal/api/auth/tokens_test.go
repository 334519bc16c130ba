package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTokens(t *testing.T) (*Tokens, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "api-tokens.json")
	return OpenTokens(path), path
}

func mustCreate(t *testing.T, tk *Tokens, name string, role Role) string {
	t.Helper()
	tok, err := tk.Create(name, role)
	if err != nil {
		t.Fatalf("Create(%q, %q): %v", name, role, err)
	}
	return tok
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"read-only", "admin"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	_, err := ParseRole("root")
	if err == nil || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "admin") {
		t.Errorf("ParseRole(root): error %v, want one naming read-only and admin", err)
	}
	tests := []struct {
		r, need Role
		want    bool
	}{
		{Admin, Admin, true},
		{Admin, ReadOnly, true},
		{ReadOnly, ReadOnly, true},
		{ReadOnly, Admin, false},
		{Role("root"), ReadOnly, false},
		{Role(""), ReadOnly, false},
	}
	for _, tt := range tests {
		if got := tt.r.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.r, tt.need, got, tt.want)
		}
	}
}

func TestTokenCreateVerify(t *testing.T) {
	t.Parallel()
	tk, path := newTokens(t)
	if _, ok := tk.Verify("bootd_0123456789abcdef_" + strings.Repeat("A", 43)); ok {
		t.Fatal("Verify with no token file succeeded")
	}
	if err := tk.Err(); err != nil {
		t.Fatalf("Err with no token file: %v", err)
	}
	admin := mustCreate(t, tk, "ops@example", Admin)
	reader := mustCreate(t, tk, "grafana", ReadOnly)

	if len(admin) != tokenLen || !strings.HasPrefix(admin, "bootd_") || admin[22] != '_' {
		t.Fatalf("token %q: want bootd_<16 hex>_<43 base64url>", admin)
	}
	id, ok := tk.Verify(admin)
	if !ok || id.Name != "ops@example" || id.Role != Admin || id.TokenID != admin[6:22] {
		t.Errorf("Verify(admin) = %+v, %v", id, ok)
	}
	id, ok = tk.Verify(reader)
	if !ok || id.Name != "grafana" || id.Role != ReadOnly {
		t.Errorf("Verify(reader) = %+v, %v", id, ok)
	}
	if !tk.Valid(admin[6:22]) || tk.Valid("0000000000000000") {
		t.Error("Valid is wrong")
	}

	secret := admin[23:]
	otherSecret := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	bad := map[string]string{
		"wrong secret":          admin[:23] + otherSecret,
		"secret of another":     admin[:23] + reader[23:],
		"wrong id":              "bootd_0123456789abcdef_" + secret,
		"upper-case id":         "bootd_" + strings.ToUpper(admin[6:22]) + "_" + secret,
		"empty":                 "",
		"prefix only":           "bootd_",
		"no prefix":             admin[6:],
		"other prefix":          "bootx" + admin[5:],
		"truncated":             admin[:len(admin)-1],
		"extra":                 admin + "A",
		"padded":                admin + "=",
		"wrong separator":       admin[:22] + "." + secret,
		"standard base64":       admin[:23] + strings.NewReplacer("-", "+", "_", "/").Replace(secret) + "+",
		"non-canonical last":    admin[:len(admin)-1] + string(flipLowBits(admin[len(admin)-1])),
		"whitespace":            " " + admin[:len(admin)-1],
		"bearer prefix":         "Bearer " + admin,
		"hex secret":            admin[:23] + strings.Repeat("0", 43),
		"newline in the secret": admin[:30] + "\n" + admin[31:],
	}
	for name, tok := range bad {
		if tok == admin {
			t.Fatalf("%s: the bad token is the good one", name)
		}
		if id, ok := tk.Verify(tok); ok {
			t.Errorf("%s: Verify(%q) = %+v, true", name, tok, id)
		}
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{admin, reader} {
		sec := tok[23:]
		raw, _ := base64.RawURLEncoding.DecodeString(sec)
		if bytes.Contains(data, []byte(sec)) || bytes.Contains(data, raw) ||
			bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(raw))) {
			t.Errorf("the token file holds the secret of %s", tok[:22])
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("token file mode %v, want 0600", m)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("token directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the token file (no temporary file left)", len(entries))
	}
}

// flipLowBits changes a base64url character into another with the same
// top bits, which decodes to the same bytes in non-strict mode.
func flipLowBits(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func TestTokenNames(t *testing.T) {
	t.Parallel()
	tk, _ := newTokens(t)
	for _, name := range []string{"a", "ops@example.com", "x_y-z.1", strings.Repeat("n", 64)} {
		if _, err := tk.Create(name, ReadOnly); err != nil {
			t.Errorf("Create(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", strings.Repeat("n", 65), "a b", "a/b", "é", "a\n", "a:b"} {
		if _, err := tk.Create(name, ReadOnly); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	if _, err := tk.Create("a", Admin); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Create of a duplicate name: %v", err)
	}
	if _, err := tk.Create("b", Role("root")); err == nil {
		t.Error("Create with an unknown role succeeded")
	}
}

func TestTokenListRevoke(t *testing.T) {
	t.Parallel()
	tk, _ := newTokens(t)
	if list, err := tk.List(); err != nil || len(list) != 0 {
		t.Fatalf("List with no file = %v, %v", list, err)
	}
	zed := mustCreate(t, tk, "zed", Admin)
	amy := mustCreate(t, tk, "amy", ReadOnly)
	list, err := tk.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "amy" || list[1].Name != "zed" ||
		list[0].Role != ReadOnly || list[1].Role != Admin ||
		list[0].ID != amy[6:22] || list[1].ID != zed[6:22] || list[0].Created.IsZero() {
		t.Fatalf("List = %+v", list)
	}
	if err := tk.Revoke("zed"); err != nil {
		t.Fatal(err)
	}
	if _, ok := tk.Verify(zed); ok {
		t.Error("a revoked token verifies")
	}
	if tk.Valid(zed[6:22]) {
		t.Error("a revoked token is Valid")
	}
	if _, ok := tk.Verify(amy); !ok {
		t.Error("revoking one token revoked another")
	}
	if err := tk.Revoke("zed"); !errors.Is(err, ErrNoToken) {
		t.Errorf("Revoke of an unknown name: %v, want ErrNoToken", err)
	}
}

// TestTokenFileChanges checks that a Tokens sees changes made through
// another Tokens on the same file (as "bootd token" makes them while the
// server runs), without being reopened.
func TestTokenFileChanges(t *testing.T) {
	t.Parallel()
	server, path := newTokens(t)
	cli := OpenTokens(path)
	if _, ok := server.Verify("bootd_0123456789abcdef_" + strings.Repeat("A", 43)); ok {
		t.Fatal("verified with no tokens")
	}
	tok := mustCreate(t, cli, "one", Admin)
	if _, ok := server.Verify(tok); !ok {
		t.Fatal("a token made by another Tokens does not verify")
	}
	// Many changes in a row, each seen at once.
	for _, name := range []string{"two", "three", "four"} {
		tok2 := mustCreate(t, cli, name, ReadOnly)
		if _, ok := server.Verify(tok2); !ok {
			t.Fatalf("token %s made by another Tokens does not verify", name)
		}
	}
	if err := cli.Revoke("one"); err != nil {
		t.Fatal(err)
	}
	if _, ok := server.Verify(tok); ok {
		t.Error("a token revoked by another Tokens still verifies")
	}
	if server.Valid(tok[6:22]) {
		t.Error("a token revoked by another Tokens is still Valid")
	}
}

func TestTokenFileBroken(t *testing.T) {
	t.Parallel()
	tk, path := newTokens(t)
	tok := mustCreate(t, tk, "one", Admin)
	if _, ok := tk.Verify(tok); !ok {
		t.Fatal("Verify failed")
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	broken := map[string][]byte{
		"truncated":      good[:len(good)/2],
		"unknown field":  bytes.Replace(good, []byte(`"name"`), []byte(`"secret": "x", "name"`), 1),
		"unknown role":   bytes.Replace(good, []byte(`"admin"`), []byte(`"root"`), 1),
		"other version":  bytes.Replace(good, []byte(`"version": 1`), []byte(`"version": 2`), 1),
		"not an object":  []byte("[]\n"),
		"trailing value": append(append([]byte{}, good...), []byte("{}\n")...),
	}
	for name, data := range broken {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := tk.Verify(tok); ok {
			t.Errorf("%s: Verify succeeded with a broken token file", name)
		}
		if tk.Valid(tok[6:22]) {
			t.Errorf("%s: Valid with a broken token file", name)
		}
		if err := tk.Err(); err == nil {
			t.Errorf("%s: Err is nil", name)
		}
		if _, err := tk.Create("two", ReadOnly); err == nil {
			t.Errorf("%s: Create overwrote a broken token file", name)
		}
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := tk.Verify(tok); !ok || tk.Err() != nil {
		t.Errorf("repaired file: Verify %v, Err %v", ok, tk.Err())
	}
}
