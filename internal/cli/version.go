package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version overrides the version from the build information when set at link
// time: go build -ldflags "-X bootd/internal/cli.version=v1.2.3" ./cmd/bootd.
// It is the one package variable of this package, written only by the linker.
var version string

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of bootd and of the Go toolchain that built it",
		doc: `Version prints one line: "bootd", the version, the version control
revision when the build recorded one, and the Go version and platform.
The version is the one set with -ldflags "-X bootd/internal/cli.version=...",
else the module version of a "go install bootd@version" build, else "devel".
`,
		flags: func(*flag.FlagSet) runFunc { return runVersion },
	}
}

func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("no arguments expected")
	}
	_, err := fmt.Fprintln(e.stdout, versionLine())
	return err
}

// versionLine is what bootd version prints (and the API's status shows).
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionString(version, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// versionString composes the version line from its sources; bi may be nil.
func versionString(override string, bi *debug.BuildInfo, goVersion, platform string) string {
	v := override
	var rev, modified string
	if bi != nil {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	s := "bootd " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " (rev " + rev
		if modified == "true" {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + goVersion + " " + platform
}
