package auth

import (
	"path/filepath"
	"testing"
)

// FuzzVerify checks that Verify never panics and accepts exactly the one
// token the file holds, whatever string it gets.
func FuzzVerify(f *testing.F) {
	tk := OpenTokens(filepath.Join(f.TempDir(), "api-tokens.json"))
	good, err := tk.Create("fuzz", Admin)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1] + "B")
	f.Add(good[:23])
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := tk.Verify(s)
		if ok != (s == good) {
			t.Fatalf("Verify(%q) = %+v, %v", s, id, ok)
		}
		if ok && (id.Name != "fuzz" || id.Role != Admin) {
			t.Fatalf("Verify(good) = %+v", id)
		}
	})
}
