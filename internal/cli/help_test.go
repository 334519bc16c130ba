package cli

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			if !strings.Contains(stdout, "bootd <command> [arguments]") {
				t.Errorf("no usage line in:\n%s", stdout)
			}
			for _, c := range commands() {
				// one line per command: name, spaces, summary
				found := false
				for line := range strings.Lines(stdout) {
					f := strings.Fields(line)
					if len(f) > 1 && f[0] == c.name && strings.Join(f[1:], " ") == c.summary {
						found = true
					}
				}
				if !found {
					t.Errorf("command %q with its summary %q not listed in:\n%s", c.name, c.summary, stdout)
				}
			}
		})
	}
}

func TestHelpCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help", "decode"}, {"decode", "-h"}, {"decode", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			for _, want := range []string{"usage: bootd decode [--json] [FILE]\n", "Flags:\n", "  --json\n", "pcapng", "not decodable"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("decode help does not contain %q:\n%s", want, stdout)
				}
			}
		})
	}
}

// TestHelpEveryCommand runs "bootd help NAME" for every command: it must
// show the usage line and the doc, and name every flag.
func TestHelpEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		code, stdout, _ := runCLI(t, nil, "help", c.name)
		if code != exitOK {
			t.Errorf("help %s: exit %d", c.name, code)
		}
		if !strings.HasPrefix(stdout, "usage: "+usageLine(c)+"\n") {
			t.Errorf("help %s: does not start with its usage line:\n%s", c.name, stdout)
		}
		if !strings.Contains(stdout, c.doc) {
			t.Errorf("help %s: doc missing:\n%s", c.name, stdout)
		}
	}
}
