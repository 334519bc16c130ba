package cli

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitOK || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		if !strings.HasPrefix(stdout, "bootd ") || !strings.Contains(stdout, runtime.Version()) || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: stdout %q: want one line \"bootd VERSION ... %s ...\"", args, stdout, runtime.Version())
		}
	}
}

func TestVersionString(t *testing.T) {
	t.Parallel()
	const gov, platform = "go1.26.0", "linux/amd64"
	rev := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name     string
		override string
		bi       *debug.BuildInfo
		want     string
	}{
		{"no build info", "", nil, "bootd devel go1.26.0 linux/amd64"},
		{"local build", "", &debug.BuildInfo{Main: debug.Module{Path: "bootd", Version: "(devel)"}}, "bootd devel go1.26.0 linux/amd64"},
		{"go install", "", &debug.BuildInfo{Main: debug.Module{Path: "bootd", Version: "v1.2.3"}}, "bootd v1.2.3 go1.26.0 linux/amd64"},
		{"vcs", "", &debug.BuildInfo{
			Main:     debug.Module{Path: "bootd", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}},
		}, "bootd devel (rev 0123456789ab, modified) go1.26.0 linux/amd64"},
		{"ldflags override", "v9.9.9", &debug.BuildInfo{
			Main:     debug.Module{Path: "bootd", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}},
		}, "bootd v9.9.9 (rev 0123456789ab) go1.26.0 linux/amd64"},
	}
	for _, tt := range tests {
		if got := versionString(tt.override, tt.bi, gov, platform); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
