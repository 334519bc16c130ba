package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic or hang, and that what
// it returns is consistent: either a Config or problems, every problem
// with a position inside the input.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, name := range examples {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(inheritYAML))
	f.Add([]byte("interfaces: &a [eth0, *a]\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err == nil {
			return
		}
		problems := Errors(err)
		if len(problems) == 0 {
			t.Fatalf("error without problems: %v", err)
		}
		lines := len(splitLines(data)) + 1
		for _, p := range problems {
			if p.Line < 1 || p.Line > lines || p.Column < 1 {
				t.Errorf("position out of the input (%d lines): %v", lines, p)
			}
			if !errors.Is(err, p) {
				t.Errorf("joined error does not hold %v", p)
			}
		}
	})
}
