package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// Defaults for the zero values of Config.
const (
	DefaultAddr         = ":69"
	DefaultMaxTransfers = 64
	DefaultTimeout      = time.Second
	DefaultRetries      = 5
)

// maxWindowBytes bounds the memory of one transfer: the blocks of a window
// are kept until acknowledged, so windowsize × blksize is capped here and a
// larger windowsize is answered with a smaller one, as RFC 7440 §4 allows.
const maxWindowBytes = 1 << 20

// maxBackoff is how far retransmission back-off goes: the wait doubles after
// each timeout up to this multiple of the initial timeout.
const maxBackoff = 8

// requestBufSize is the receive buffer of the listening socket: requests with
// options are short (RFC 2347 allows 512 bytes); longer ones are malformed.
const requestBufSize = 1500

// Config configures a Server. Its zero values select the defaults above.
type Config struct {
	// Root is the directory files are served from. Names are resolved
	// below it through os.Root, so neither ".." nor symbolic links lead
	// out of it. Empty means only Files serves.
	Root string
	// Files, if set, is consulted before Root for every read request, with
	// the cleaned name (no leading "/"). It returns the content and its
	// size, or ok false to fall through to Root. If r is an io.Closer it is
	// closed when the transfer ends. It must be safe for concurrent use.
	Files func(name string, client netip.AddrPort) (r io.ReaderAt, size int64, ok bool)
	// Addr is the address ListenAndServe listens on.
	Addr string
	// MaxTransfers bounds concurrent transfers; requests beyond it are
	// answered with error 0 "server busy, try later".
	MaxTransfers int
	// Timeout is the first retransmission timeout when the client does
	// not negotiate one; it doubles after each timeout, up to 8 times.
	Timeout time.Duration
	// Retries is how many times a packet is retransmitted before the
	// transfer is abandoned.
	Retries int
	// Log receives a line per transfer and per refused request. Nil
	// discards.
	Log *slog.Logger
}

// Stats are a Server's counters since New.
type Stats struct {
	Requests    uint64 // read and write requests received
	Transfers   uint64 // transfers completed (the last block acknowledged)
	Failed      uint64 // transfers started and abandoned: timeouts, client errors, shutdown
	Refused     uint64 // requests answered with an error: not found, access, write, mode, busy
	Busy        uint64 // of Refused, those over MaxTransfers
	Malformed   uint64 // packets that could not be parsed, dropped or answered with error 4
	Bytes       uint64 // file bytes sent, each block counted once
	Retransmits uint64 // packets sent again after a timeout or a client's partial window ACK
	Active      int64  // transfers running now
}

// Server is a read-only TFTP server. Its methods are safe for concurrent use.
type Server struct {
	cfg   Config
	log   *slog.Logger
	slots chan struct{}

	requests, transfers, failed, refused, busy atomic.Uint64
	malformed, bytes, retransmits              atomic.Uint64
	active                                     atomic.Int64
}

// New checks cfg and returns a Server. Root, if set, must be a directory.
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" && cfg.Files == nil {
		return nil, errors.New("tftp: neither Root nor Files is set")
	}
	if cfg.Root != "" {
		fi, err := os.Stat(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("tftp: root: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("tftp: root %s is not a directory", cfg.Root)
		}
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxTransfers <= 0 {
		cfg.MaxTransfers = DefaultMaxTransfers
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries <= 0 {
		cfg.Retries = DefaultRetries
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, slots: make(chan struct{}, cfg.MaxTransfers)}, nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:    s.requests.Load(),
		Transfers:   s.transfers.Load(),
		Failed:      s.failed.Load(),
		Refused:     s.refused.Load(),
		Busy:        s.busy.Load(),
		Malformed:   s.malformed.Load(),
		Bytes:       s.bytes.Load(),
		Retransmits: s.retransmits.Load(),
		Active:      s.active.Load(),
	}
}

// ListenAndServe listens on Config.Addr (UDP, IPv4) and serves until ctx is
// cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	addr, err := net.ResolveUDPAddr("udp4", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("tftp: %w", err)
	}
	conn, err := net.ListenUDP("udp4", addr)
	if err != nil {
		return fmt.Errorf("tftp: %w", err)
	}
	defer conn.Close()
	return s.Serve(ctx, conn)
}

// Serve answers requests arriving on conn (IPv4) until ctx is cancelled,
// then stops its transfers, waits for them and returns nil; if reading conn
// fails, it does the same and returns the error. It does not close conn, but
// leaves its read deadline in the past. Each transfer runs on its own socket
// (its TID), bound to the address the request came to.
func (s *Server) Serve(ctx context.Context, conn *net.UDPConn) error {
	var root *os.Root
	if s.cfg.Root != "" {
		r, err := os.OpenRoot(s.cfg.Root)
		if err != nil {
			return fmt.Errorf("tftp: %w", err)
		}
		defer r.Close()
		root = r
	}
	local := netip.Addr{}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		if ap := la.AddrPort(); !ap.Addr().IsUnspecified() {
			local = ap.Addr().Unmap()
		}
	}
	if !local.IsValid() {
		// Learn each request's destination address to bind its TID to.
		if err := ipv4.NewPacketConn(conn).SetControlMessage(ipv4.FlagDst, true); err != nil {
			return fmt.Errorf("tftp: IP_PKTINFO: %w", err)
		}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx) // ends the transfers however Serve returns
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, requestBufSize)
	oob := make([]byte, 128)
	for {
		n, oobn, _, src, err := conn.ReadMsgUDPAddrPort(buf, oob)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("tftp: %w", err)
		}
		dst := local
		if !dst.IsValid() {
			var cm ipv4.ControlMessage
			if cm.Parse(oob[:oobn]) == nil && cm.Dst != nil {
				dst, _ = netip.AddrFromSlice(cm.Dst.To4())
			}
		}
		s.request(ctx, &wg, conn, root, buf[:n], src, dst)
	}
}

// request handles one datagram that arrived on the listening socket.
func (s *Server) request(ctx context.Context, wg *sync.WaitGroup, conn *net.UDPConn, root *os.Root, b []byte, src netip.AddrPort, dst netip.Addr) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	req, err := ParseRequest(b)
	if err != nil {
		s.malformed.Add(1)
		if errors.Is(err, ErrOpcode) || len(b) < 2 {
			return // stray DATA, ACK, ERROR or noise: nothing to answer
		}
		s.log.Debug("tftp malformed request", "client", src, "err", err)
		conn.WriteToUDPAddrPort(AppendError(nil, ErrCodeIllegalOp, "malformed request"), src)
		return
	}
	s.requests.Add(1)
	log := s.log.With("client", src, "file", req.Filename)
	refuse := func(code uint16, msg string) {
		s.refused.Add(1)
		log.Info("tftp request refused", "code", code, "reason", msg)
		conn.WriteToUDPAddrPort(AppendError(nil, code, msg), src)
	}
	if req.Op == OpWRQ {
		refuse(ErrCodeAccess, "read-only server")
		return
	}
	if req.Mode != "octet" && req.Mode != "netascii" {
		refuse(ErrCodeIllegalOp, "unsupported mode "+req.Mode)
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.busy.Add(1)
		refuse(ErrCodeNotDefined, "server busy, try later")
		return
	}
	s.active.Add(1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { <-s.slots; s.active.Add(-1) }()
		s.serveRead(ctx, log, root, req, src, dst)
	}()
}

// serveRead runs one read transfer from a new socket.
func (s *Server) serveRead(ctx context.Context, log *slog.Logger, root *os.Root, req Request, client netip.AddrPort, local netip.Addr) {
	conn, err := listenTID(local)
	if err != nil {
		s.failed.Add(1)
		log.Warn("tftp transfer socket", "err", err)
		return
	}
	defer conn.close()
	stop := context.AfterFunc(ctx, conn.interrupt)
	defer stop()

	refuse := func(code uint16, msg string) {
		s.refused.Add(1)
		log.Info("tftp request refused", "code", code, "reason", msg)
		conn.WriteToUDPAddrPort(AppendError(nil, code, msg), client)
	}
	name, err := cleanName(req.Filename)
	if err != nil {
		refuse(ErrCodeAccess, "access violation")
		return
	}
	r, size, code, msg := s.open(root, name, client)
	if r == nil {
		refuse(code, msg)
		return
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}

	t, err := newTransfer(conn, client, r, size, req, s.cfg.Timeout, s.cfg.Retries)
	if err != nil {
		refuse(ErrCodeNotDefined, "read error")
		return
	}
	start := time.Now()
	err = t.run(ctx)
	s.bytes.Add(uint64(t.sent))
	s.retransmits.Add(uint64(t.retransmits))
	attrs := []any{"bytes", t.sent, "blksize", t.blksize, "windowsize", t.window,
		"retransmits", t.retransmits, "duration", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		s.failed.Add(1)
		log.Warn("tftp transfer failed", append(attrs, "err", err)...)
		return
	}
	s.transfers.Add(1)
	log.Info("tftp transfer", attrs...)
}

// open finds name in Files, then below Root. On failure r is nil and code
// and msg are the TFTP error to send.
func (s *Server) open(root *os.Root, name string, client netip.AddrPort) (r io.ReaderAt, size int64, code uint16, msg string) {
	if s.cfg.Files != nil {
		if r, size, ok := s.cfg.Files(name, client); ok {
			return r, size, 0, ""
		}
	}
	if root == nil {
		return nil, 0, ErrCodeNotFound, "file not found"
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrCodeNotFound, "file not found"
	}
	if err != nil {
		return nil, 0, ErrCodeAccess, "access violation"
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, ErrCodeNotFound, "file not found"
	}
	return f, fi.Size(), 0, ""
}

// cleanName maps a requested file name to a name relative to the root. A
// leading "/" (or several) is dropped, as PXE firmware sends absolute-looking
// names meaning the TFTP root. Names with a ".." element, a backslash (a
// Windows separator bootd does not guess at), a control character or an
// empty element are refused.
func cleanName(name string) (string, error) {
	name = strings.TrimLeft(name, "/")
	if name == "" {
		return "", errors.New("empty name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", fmt.Errorf("character %#x at %d", c, i)
		}
	}
	for el := range strings.SplitSeq(name, "/") {
		if el == ".." || el == "" {
			return "", fmt.Errorf("element %q", el)
		}
	}
	return name, nil
}
