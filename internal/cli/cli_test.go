package cli

import (
	"strings"
	"testing"
)

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr []string // substrings
	}{
		{"no args", nil, []string{"usage: bootd <command>", "bootd help"}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "usage: bootd <command>"}},
		{"unknown top-level flag", []string{"--frobnicate"}, []string{"unknown flag --frobnicate", "usage: bootd <command>"}},
		{"unknown decode flag", []string{"decode", "--frobnicate"}, []string{
			"bootd decode: flag provided but not defined: -frobnicate", "usage: bootd decode [--json] [FILE]", "bootd help decode"}},
		{"unknown version flag", []string{"version", "-x"}, []string{"bootd version: flag provided but not defined: -x", "usage: bootd version\n"}},
		{"decode two files", []string{"decode", "a.pcap", "b.pcap"}, []string{"bootd decode: too many arguments", "usage: bootd decode"}},
		{"version argument", []string{"version", "now"}, []string{"bootd version: no arguments expected"}},
		{"help two commands", []string{"help", "decode", "version"}, []string{"bootd help: too many arguments"}},
		{"help unknown command", []string{"help", "frobnicate"}, []string{`bootd help: unknown command "frobnicate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			if n := strings.Count(stderr, "\n"); n > 4 {
				t.Errorf("stderr has %d lines, want a short message:\n%s", n, stderr)
			}
		})
	}
}

// TestCommandTable checks what every command must have, so that a new one
// shows up properly in "bootd help" and "bootd help NAME".
func TestCommandTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range commands() {
		if c.name == "" || strings.Contains(c.name, " ") || strings.HasPrefix(c.name, "-") || strings.HasSuffix(c.name, "-") {
			t.Errorf("command name %q: want one word, words joined by dashes", c.name)
		}
		if seen[c.name] {
			t.Errorf("command %q listed twice", c.name)
		}
		seen[c.name] = true
		if c.summary == "" || strings.Contains(c.summary, "\n") || strings.HasSuffix(c.summary, ".") {
			t.Errorf("command %q: summary %q: want one line without a final period", c.name, c.summary)
		}
		if c.doc == "" || !strings.HasSuffix(c.doc, "\n") {
			t.Errorf("command %q: doc must be non-empty and end with a newline", c.name)
		}
		if c.flags == nil {
			t.Errorf("command %q has no flags function", c.name)
		}
		if l := lookup(c.name); l == nil || l.name != c.name {
			t.Errorf("lookup(%q) does not find it", c.name)
		}
	}
	if lookup("nosuch") != nil {
		t.Error(`lookup("nosuch") != nil`)
	}
}
