// Command bootd is a DHCPv4/BOOTP network boot and address server.
// Its subcommands live in bootd/internal/cli; run "bootd help" for the list.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"bootd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
