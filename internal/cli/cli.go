package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of Run.
const (
	exitOK    = 0
	exitError = 1 // the command failed (unreadable input, write error, ...)
	exitUsage = 2 // bad command line
)

// env is what a command may touch of the outside world. Commands get it
// as a parameter so that tests run them with buffers, in parallel.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// A runFunc runs a command with the arguments left after its flags. A nil
// error exits 0, a *usageError exits 2 with a short usage message, any other
// error is printed and exits 1.
type runFunc func(ctx context.Context, e *env, args []string) error

// command is one entry of the command table.
type command struct {
	name     string
	synopsis string // arguments after the command name, for the usage line
	summary  string // one line for the command list
	doc      string // paragraphs shown by "bootd help <name>", before the flags

	// flags declares the command's flags on fs and returns the function that
	// runs the command once they are parsed. It is called for every run and
	// for "bootd help <name>", so it must have no other effect.
	flags func(fs *flag.FlagSet) runFunc
}

// commands is the command table, in the order "bootd help" lists it. Adding
// a command is a file with a constructor like decodeCommand and a line here.
// It is a function rather than a variable so that the help command can read
// the table without an initialisation cycle, and so nothing is mutable.
func commands() []*command {
	return []*command{
		checkCommand(),
		leasesCommand(),
		reservationsCommand(),
		backupCommand(),
		restoreCommand(),
		exportCommand(),
		importCommand(),
		statsCommand(),
		tokenCommand(),
		decodeCommand(),
		demoCommand(),
		probeCommand(),
		benchCommand(),
		nullResponderCommand(),
		serveCommand(),
		helpCommand(),
		versionCommand(),
	}
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is a mistake on the command line: Run prints it with a short
// usage message and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Run runs the bootd command line args (without the program name) and
// returns the process exit code: 0 on success, 1 when the command failed,
// 2 for a bad command line.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, shortUsage)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		if strings.HasPrefix(name, "-") {
			fmt.Fprintf(stderr, "bootd: unknown flag %s\n%s", name, shortUsage)
		} else {
			fmt.Fprintf(stderr, "bootd: unknown command %q\n%s", name, shortUsage)
		}
		return exitUsage
	}
	return runCommand(ctx, e, c, rest)
}

// shortUsage is printed after a command-line mistake.
const shortUsage = `usage: bootd <command> [arguments]
Run 'bootd help' for the list of commands.
`

func runCommand(ctx context.Context, e *env, c *command, args []string) int {
	fs := flag.NewFlagSet("bootd "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, with the command name
	fs.Usage = func() {}
	run := c.flags(fs)
	args, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(e.stdout, c)
			return exitOK
		}
		printUsageError(e.stderr, c, err.Error())
		return exitUsage
	}
	err = run(ctx, e, args)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		printUsageError(e.stderr, c, ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "bootd %s: %v\n", c.name, err)
		return exitError
	}
}

// parseInterleaved parses fs from args, which may mix flags and other
// arguments (bootd leases release 198.18.0.5 --config F), and returns the
// other arguments in order. After "--" all
// are arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return append(rest, left...), nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

func printUsageError(w io.Writer, c *command, msg string) {
	fmt.Fprintf(w, "bootd %s: %s\n", c.name, msg)
	fmt.Fprintf(w, "usage: %s\nRun 'bootd help %s' for details.\n", usageLine(c), c.name)
}

func usageLine(c *command) string {
	if c.synopsis == "" {
		return "bootd " + c.name
	}
	return "bootd " + c.name + " " + c.synopsis
}

// printCommandHelp prints the full help of a command: usage line, doc and
// the flags, each flag written with two dashes (both forms are accepted).
func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: %s\n", usageLine(c))
	if c.doc != "" {
		fmt.Fprintf(w, "\n%s", strings.TrimLeft(c.doc, "\n"))
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n", f.Name, name, usage)
	})
}
