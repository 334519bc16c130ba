// Package httpboot serves boot files over HTTP, for UEFI HTTP boot and
// iPXE: the same read-only boot root as TFTP, plus files generated per
// request (an iPXE script rendered for the client, say), with range
// requests, HEAD and conditional GETs (net/http's ServeContent).
//
// Only files below the root are served. A request naming a path with a
// ".." element, a backslash or a NUL byte is refused (400) before the file
// system is asked; a symbolic link that leads out of the root is refused
// by os.Root (404, as for a missing file, so the response does not tell
// what exists outside). Directories are not listed. Methods other than
// GET and HEAD get 405.
package httpboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Config says what a Server serves.
type Config struct {
	// Root is the boot directory. Empty serves only Files.
	Root string
	// Files, if set, is asked first for every path (without the leading
	// "/"): generated content for this client, such as a templated iPXE
	// script. ok false falls through to Root.
	Files func(name string, client netip.AddrPort) (content []byte, ok bool)
	// Log receives a line per refused or failed request. Nil discards.
	Log *slog.Logger
}

// Server is an http.Handler serving a boot root.
type Server struct {
	cfg  Config
	root *os.Root // nil without Config.Root
	log  *slog.Logger

	requests, served, refused, missing atomic.Uint64
	bytes                              atomic.Uint64
}

// Stats counts what a Server has done.
type Stats struct {
	Requests uint64 `json:"requests"`
	Served   uint64 `json:"served"`  // 200 or 206 (or 304)
	Refused  uint64 `json:"refused"` // bad path or method
	Missing  uint64 `json:"missing"` // no such file (or outside the root)
	Bytes    uint64 `json:"bytes"`   // body bytes written
}

// New opens the boot root.
func New(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, log: cfg.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Root != "" {
		r, err := os.OpenRoot(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("http boot root: %w", err)
		}
		s.root = r
	}
	return s, nil
}

// Close releases the boot root.
func (s *Server) Close() error {
	if s.root == nil {
		return nil
	}
	return s.root.Close()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests: s.requests.Load(),
		Served:   s.served.Load(),
		Refused:  s.refused.Load(),
		Missing:  s.missing.Load(),
		Bytes:    s.bytes.Load(),
	}
}

// CleanPath turns a URL path into a name below the root, or says why it
// is refused. A leading "/" and empty or "." elements are dropped.
func CleanPath(p string) (string, error) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", errors.New("backslash or NUL in path")
	}
	var parts []string
	for _, e := range strings.Split(p, "/") {
		switch e {
		case "", ".":
			continue
		case "..":
			return "", errors.New(`".." in path`)
		}
		parts = append(parts, e)
	}
	if len(parts) == 0 {
		return "", errors.New("no file named")
	}
	return strings.Join(parts, "/"), nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.refused.Add(1)
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	name, err := CleanPath(r.URL.Path)
	if err != nil {
		s.refused.Add(1)
		s.log.Info("http boot: refused", "path", r.URL.Path, "client", r.RemoteAddr, "reason", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cw := &countingWriter{ResponseWriter: w}
	if s.cfg.Files != nil {
		client, _ := netip.ParseAddrPort(r.RemoteAddr)
		if b, ok := s.cfg.Files(name, client); ok {
			http.ServeContent(cw, r, name, time.Time{}, bytes.NewReader(b))
			s.done(cw)
			return
		}
	}
	f, st, err := s.open(name)
	if err != nil {
		s.missing.Add(1)
		s.log.Info("http boot: not found", "path", name, "client", r.RemoteAddr, "err", err)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	http.ServeContent(cw, r, name, st.ModTime(), f)
	s.done(cw)
}

func (s *Server) done(cw *countingWriter) {
	if cw.status < 400 {
		s.served.Add(1)
	}
	s.bytes.Add(cw.n)
}

// open opens a regular file below the root.
func (s *Server) open(name string) (*os.File, fs.FileInfo, error) {
	if s.root == nil {
		return nil, nil, fs.ErrNotExist
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", name)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// countingWriter counts the body bytes written and remembers the status.
type countingWriter struct {
	http.ResponseWriter
	n      uint64
	status int
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += uint64(n)
	return n, err
}

// ReadFrom keeps sendfile for large files: ServeContent copies with
// io.CopyN, which uses the ResponseWriter's ReadFrom when it has one.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := io.Copy(c.ResponseWriter, r)
	c.n += uint64(n)
	return n, err
}

// Serve serves HTTP on ln until ctx ends, then shuts down (giving
// transfers in progress 5 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(shut)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
