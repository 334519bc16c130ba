package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"
)

// errRetries ends a transfer whose client stopped answering.
var errRetries = errors.New("no answer from client")

// clientError is an ERROR packet from the client, which ends a transfer.
type clientError struct {
	code uint16
	msg  string
}

func (e *clientError) Error() string {
	return fmt.Sprintf("client sent error %d: %q", e.code, e.msg)
}

// transfer is the state of one read transfer: a go-back-N sender over a
// window of blocks (RFC 7440; a window of one is RFC 1350's lock-step).
//
// Blocks are numbered from 1 by a 64-bit sequence number; the wire carries
// its low 16 bits, so block numbers roll over from 65535 to 0. Blocks of the
// current window stay in ring until acknowledged, so retransmissions read
// nothing again (netascii is converted once).
type transfer struct {
	conn *tidConn
	peer netip.AddrPort
	src  source
	oack []byte // the OACK to send first, or nil for a plain RFC 1350 transfer

	blksize int
	window  int
	timeout time.Duration // initial retransmission timeout
	retries int           // retransmissions allowed for one packet

	ring []byte   // window slots of 4+blksize bytes: DATA header and payload
	lens []int    // payload length per slot
	rbuf []byte   // receive buffer
	ebuf []byte   // error 5 replies to strays
	out  [][]byte // the packets of one sendWindow, sent with one system call

	base   uint64 // first unacknowledged block
	next   uint64 // next block to send
	filled uint64 // next block to read from src
	last   uint64 // the final (short) block once read, else 0
	done   bool   // last acknowledged

	wait  time.Duration // current retransmission timeout
	tries int           // timeouts since the last progress

	sent        int64 // payload bytes read and sent, each block once
	retransmits int
}

// newTransfer negotiates req's options for a file of the given size (-1 if
// unknown) and prepares the buffers.
func newTransfer(conn *tidConn, peer netip.AddrPort, r io.ReaderAt, size int64, req Request, timeout time.Duration, retries int) (*transfer, error) {
	t := &transfer{conn: conn, peer: peer, blksize: DefaultBlockSize, window: 1, timeout: timeout, retries: retries}
	netascii := req.Mode == "netascii"
	t.src = newSource(r, netascii)

	var ack Options
	o := req.Options
	if o.BlockSize != 0 {
		t.blksize = o.BlockSize
		ack.BlockSize = o.BlockSize
	}
	if o.Timeout != 0 {
		t.timeout = time.Duration(o.Timeout) * time.Second
		ack.Timeout = o.Timeout
	}
	if o.WindowSize != 0 {
		t.window = max(1, min(o.WindowSize, maxWindowBytes/t.blksize))
		ack.WindowSize = t.window
	}
	if o.HasTsize {
		if netascii && size >= 0 {
			var err error
			if size, err = netasciiSize(r); err != nil {
				return nil, err
			}
		}
		if size >= 0 {
			ack.Tsize, ack.HasTsize = size, true
		}
	}
	if ack.Any() {
		t.oack = AppendOACK(nil, ack)
	}
	t.ring = make([]byte, t.window*(4+t.blksize))
	t.lens = make([]int, t.window)
	t.out = make([][]byte, 0, t.window)
	t.rbuf = make([]byte, 4+DefaultBlockSize)
	t.ebuf = AppendError(nil, ErrCodeUnknownTID, "unknown transfer ID")
	t.base, t.next, t.filled = 1, 1, 1
	t.wait = t.timeout
	return t, nil
}

// run sends the file and returns nil once the last block is acknowledged.
func (t *transfer) run(ctx context.Context) error {
	if t.oack != nil {
		if err := t.negotiate(ctx); err != nil {
			return fmt.Errorf("option acknowledgement: %w", err)
		}
	}
	for !t.done {
		if err := t.sendWindow(); err != nil {
			return err
		}
		if err := t.await(ctx); err != nil {
			return fmt.Errorf("block %d: %w", t.base, err)
		}
	}
	return nil
}

// negotiate sends the OACK until the client acknowledges it with ACK 0.
func (t *transfer) negotiate(ctx context.Context) error {
	for {
		if _, err := t.conn.WriteToUDPAddrPort(t.oack, t.peer); err != nil {
			return err
		}
		for {
			p, err := t.recv(ctx)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if err := t.timedOut(); err != nil {
					return err
				}
				t.retransmits++
				break
			}
			if err != nil {
				return err
			}
			if blk, ok := parseACK(p); ok && blk == 0 {
				t.tries, t.wait = 0, t.timeout
				return nil
			}
		}
	}
}

// sendWindow sends the blocks from next up to the end of the window or the
// last block, reading those not read yet, with one sendmmsg.
func (t *transfer) sendWindow() error {
	for t.next < t.base+uint64(t.window) && (t.last == 0 || t.next <= t.last) {
		slot := int(t.next % uint64(t.window))
		pkt := t.ring[slot*(4+t.blksize):][:4+t.blksize]
		if t.next == t.filled {
			n, err := t.src.fill(pkt[4:])
			if err != nil {
				return fmt.Errorf("reading block %d: %w", t.next, err)
			}
			pkt[0], pkt[1], pkt[2], pkt[3] = 0, OpDATA, byte(t.next>>8), byte(t.next)
			t.lens[slot] = n
			t.sent += int64(n)
			if n < t.blksize {
				t.last = t.next
			}
			t.filled++
		} else {
			t.retransmits++
		}
		t.out = append(t.out, pkt[:4+t.lens[slot]])
		t.next++
	}
	if len(t.out) == 0 {
		return nil
	}
	err := t.conn.writeBatch(t.out, t.peer)
	clear(t.out) // hold no slot beyond the call
	t.out = t.out[:0]
	return err
}

// await waits for an ACK that moves the window, or for the timeout, after
// which the outstanding blocks are due again. An ACK of an earlier block of
// the window (the client lost the one after it) moves the window and makes
// the rest due again at once (RFC 7440 §4). Duplicate and stale ACKs are
// ignored, so they cause no retransmission (the Sorcerer's Apprentice bug).
func (t *transfer) await(ctx context.Context) error {
	for {
		p, err := t.recv(ctx)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if err := t.timedOut(); err != nil {
				return err
			}
			t.next = t.base
			return nil
		}
		if err != nil {
			return err
		}
		if blk, ok := parseACK(p); ok && t.ack(blk) {
			return nil
		}
	}
}

// ack applies an ACK of wire block number blk and reports whether it moved
// the window.
func (t *transfer) ack(blk uint16) bool {
	ref := t.base - 1
	seq := ref + uint64(blk-uint16(ref))
	if seq < t.base || seq >= t.next {
		return false
	}
	t.base = seq + 1
	t.tries, t.wait = 0, t.timeout
	if seq == t.last {
		t.done = true
	} else if seq < t.next-1 {
		t.next = t.base
	}
	return true
}

// timedOut counts a timeout and backs off, or fails when the retries are spent.
func (t *transfer) timedOut() error {
	t.tries++
	if t.tries > t.retries {
		return fmt.Errorf("%w after %d retransmissions", errRetries, t.retries)
	}
	t.wait = min(2*t.wait, maxBackoff*t.timeout)
	return nil
}

// recv returns the next packet from the client, answering packets from
// other ports or hosts with error 5 (RFC 1350 §4). It returns an error
// wrapping os.ErrDeadlineExceeded when the current timeout passes, and the
// client's ERROR packet as an error.
func (t *transfer) recv(ctx context.Context) ([]byte, error) {
	if err := t.conn.SetReadDeadline(time.Now().Add(t.wait)); err != nil {
		return nil, err
	}
	for {
		n, from, err := t.conn.ReadFromUDPAddrPort(t.rbuf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		p := t.rbuf[:n]
		if from.Addr().Unmap() != t.peer.Addr() || from.Port() != t.peer.Port() {
			if opcode(p) != OpERROR {
				t.conn.WriteToUDPAddrPort(t.ebuf, from)
			}
			continue
		}
		if code, msg, ok := ParseError(p); ok {
			return nil, &clientError{code: code, msg: msg}
		}
		return p, nil
	}
}
