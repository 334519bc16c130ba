package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

func helpCommand() *command {
	return &command{
		name:     "help",
		synopsis: "[COMMAND]",
		summary:  "show the list of commands, or the usage of one",
		doc: `Help without arguments lists the commands. With the name of a command it
shows that command's usage, arguments and flags. "bootd -h" and
"bootd --help" are the same as "bootd help"; "bootd COMMAND -h" is the
same as "bootd help COMMAND".
`,
		flags: func(*flag.FlagSet) runFunc { return runHelp },
	}
}

func runHelp(_ context.Context, e *env, args []string) error {
	switch len(args) {
	case 0:
		printHelp(e.stdout)
		return nil
	case 1:
		c := lookup(args[0])
		if c == nil {
			return usagef("unknown command %q", args[0])
		}
		printCommandHelp(e.stdout, c)
		return nil
	}
	return usagef("too many arguments")
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `bootd is a DHCPv4/BOOTP network boot and address server.

Usage:

	bootd <command> [arguments]

Commands:

`)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "\t%s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Run 'bootd help <command>' for the usage of a command.
`)
}
