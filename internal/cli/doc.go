// Package cli is the bootd command line: Run parses the arguments and runs
// one subcommand, each in a file of its own (decode.go, help.go,
// version.go, ...) registered in the table returned by commands.
//
// Commands see the outside world only through the env passed to them
// (stdin, stdout, stderr) and the context, so tests run them with buffers
// and in parallel. Exit codes: 0 success, 1 failure, 2 bad command line
// (with a short usage message on stderr).
//
// The decode command reads pcap, pcapng and hex dumps (capture.go,
// hexdump.go), finds the UDP datagrams of ports 67 and 68 by decoding the
// link, IPv4 and UDP layers by hand (layers.go), parses them with
// bootd/internal/dhcpv4 and prints each as text or JSON from one record
// (render.go).
package cli
