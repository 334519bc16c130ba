package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"bootd/internal/config"
)

// Timeouts of the API's HTTP servers. There is no write timeout for the
// whole response: the event stream and a backup of a large store run
// long; the event stream sets a deadline per write instead.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
)

func (a *API) httpServer(ctx context.Context) *http.Server {
	return &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
}

// Listen opens the API's TCP listener as configured. It refuses an
// address beyond loopback without TLS (the configuration refuses it too;
// this is the last line), and loads the certificate now so that a bad
// one stops the start.
func Listen(ctx context.Context, c *config.API) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", c.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if c.TLSCert == "" {
		if !isLoopback(ln.Addr()) {
			ln.Close()
			return nil, fmt.Errorf("api: %s is beyond loopback and TLS is not configured", c.Listen)
		}
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("api tls: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// Serve serves the API on ln until ctx ends.
func (a *API) Serve(ctx context.Context, ln net.Listener) error {
	srv := a.httpServer(ctx)
	stop := context.AfterFunc(ctx, func() {
		shut, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		srv.Shutdown(shut)
	})
	defer stop()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeControl serves the API on the control socket at path until ctx
// ends: a Unix socket, mode 0600, whose callers are the local
// administrator (named by their uid), so the CLI needs no token. A stale
// socket file left by a killed server is replaced; a live one (another
// server on the same store) is an error.
func (a *API) ServeControl(ctx context.Context, path string) error {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another server is answering on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control socket: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	defer os.Remove(path)
	srv := a.httpServer(ctx)
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return Local(ctx, "local:uid="+peerUID(c))
	}
	stop := context.AfterFunc(ctx, func() {
		shut, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		srv.Shutdown(shut)
	})
	defer stop()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// peerUID is the uid of the process at the other end of a Unix socket.
func peerUID(c net.Conn) string {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return "?"
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return "?"
	}
	uid := "?"
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			uid = fmt.Sprint(cred.Uid)
		}
	})
	return uid
}
