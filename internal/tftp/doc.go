// Package tftp is bootd's read-only TFTP server (RFC 1350) with option
// negotiation (RFC 2347): blksize (RFC 2348), timeout and tsize (RFC 2349)
// and windowsize (RFC 7440). It serves the files below one directory, and
// optionally content supplied per client by a callback (Config.Files), to
// PXE and iPXE firmware.
//
// # Requests
//
// Only read requests are served; a write request is answered with error 2
// (access violation, "read-only server"). Modes octet and netascii are
// served, any other mode gets error 4. In netascii the file is converted on
// the fly (LF becomes CR LF, CR becomes CR NUL); tsize, if asked for, is
// then computed by reading the file once and counting.
//
// File names are taken relative to the root: leading slashes are dropped (as
// tftp-hpa's -s does, since PXE firmware often asks for "/pxelinux.0").
// Names with a ".." element, an empty element, a backslash or a control
// character are refused with error 2 without touching the file system;
// backslashes are not mapped to slashes. Files are opened through os.Root,
// so a symbolic link that leads out of the root is refused (error 2) as
// well. A missing file, a directory or anything but a regular file gets
// error 1.
//
// # Options
//
// Options are matched without regard to case. An unknown option, or a known
// one with a value out of range or not a decimal number, is ignored and left
// out of the OACK; the request is never failed for it (RFC 2347 lets the
// server ignore options; error 8 is never sent). tsize is answered with the
// file's size. windowsize × blksize is capped at 1 MiB per transfer by
// answering a smaller windowsize. A request without accepted options gets a
// plain RFC 1350 transfer: 512-byte blocks, no OACK. After an OACK the
// transfer waits for ACK 0; an ERROR from the client ends it.
//
// # Transfers
//
// Each transfer has its own UDP socket (its TID) on an ephemeral port, bound
// to the address the request came to (learnt with IP_PKTINFO when the
// listening socket is bound to the unspecified address). Packets from another
// address or port get error 5 and do not disturb it. Block numbers roll over
// from 65535 to 0, so files of any size are served. That socket is a
// blocking one, read and written with direct system calls by the
// transfer's goroutine: a thread that sleeps in recvfrom wakes sooner for
// the next ACK than one parked in the runtime's network poller.
//
// The sender is go-back-N over a window: blocks are read once (ReadAt into a
// per-transfer ring of window blocks) and sent again only on a timeout or
// when the client acknowledges a block before the end of the window (it lost
// the next one). Duplicate or stale ACKs are ignored, which avoids the
// Sorcerer's Apprentice bug. The retransmission timeout starts at the
// negotiated timeout (else Config.Timeout) and doubles on each timeout up to
// 8 times its start; after Config.Retries timeouts in a row the transfer is
// abandoned, logged and counted as failed.
//
// At most Config.MaxTransfers transfers run at once; further requests get
// error 0 "server busy, try later" (error 3 would read as "disk full").
// Cancelling the context given to Serve closes every transfer's socket;
// Serve returns once all of them have stopped.
//
// Timers are real socket deadlines, not an injected clock: every test runs
// over loopback sockets, which testing/synctest cannot drive.
package tftp
