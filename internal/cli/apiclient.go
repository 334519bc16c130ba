package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bootd/internal/server"
)

// TokenEnv is the environment variable holding the API token when
// --token-file is not given.
const TokenEnv = "BOOTD_TOKEN"

// apiClient talks to a running server's HTTP API: through the control
// socket of its lease store (where the caller is the local administrator
// and needs no token) or over TCP with a bearer token.
type apiClient struct {
	http  *http.Client
	base  string // "http://bootd" on the control socket, else the --api URL
	token string // sent as Authorization: Bearer; "" on the control socket
	where string // for messages: the socket's path or the URL
}

// controlAPI returns a client for the control socket of the store in dir,
// or nil when no server answers on it.
func controlAPI(dir string) *apiClient {
	c := controlClient(dir)
	if c == nil {
		return nil
	}
	return socketAPI(c, filepath.Join(dir, server.ControlSocket))
}

func socketAPI(c *http.Client, path string) *apiClient {
	return &apiClient{http: c, base: "http://bootd", where: "control socket " + path}
}

// controlClient returns an HTTP client for the control socket of a store,
// or nil when no server answers on it.
func controlClient(dir string) *http.Client {
	path := filepath.Join(dir, server.ControlSocket)
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil
	}
	c.Close()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// controlGet GETs path on the control socket client c (from
// controlClient); the caller closes the body.
func controlGet(ctx context.Context, c *http.Client, path string) (io.ReadCloser, error) {
	return socketAPI(c, server.ControlSocket).get(ctx, path)
}

// remoteAPI returns a client for the API at rawURL (http:// or https://),
// authenticated by the token in tokenFile or else in $BOOTD_TOKEN; caFile,
// when set, is a PEM file of certificate authorities trusted besides the
// system's.
func remoteAPI(rawURL, tokenFile, caFile string) (*apiClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("--api %q: want a URL like https://bootd.example:8067", rawURL)
	}
	var token string
	if tokenFile != "" {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(data))
		if token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", tokenFile)
		}
	} else {
		token = strings.TrimSpace(os.Getenv(TokenEnv))
	}
	if token == "" {
		return nil, usagef("--api needs a token: give --token-file FILE or set %s (bootd token create makes one)", TokenEnv)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the API is reached directly, never through a proxy of the environment
	if caFile != "" {
		if u.Scheme != "https" {
			return nil, usagef("--api-ca is for an https:// --api URL")
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--api-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--api-ca %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	base := strings.TrimRight(u.String(), "/")
	return &apiClient{http: &http.Client{Transport: tr}, base: base, token: token, where: base}, nil
}

// apiError is an error answer of the API: its message, and for a refused
// configuration one problem a line as FILE:LINE:COLUMN: MESSAGE.
type apiError struct {
	Status     int
	Message    string
	Problems   []apiProblem
	RetryAfter string // of a 429
}

type apiProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Status == http.StatusTooManyRequests && e.RetryAfter != "" {
		fmt.Fprintf(&b, " (Retry-After: %s s)", e.RetryAfter)
	}
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	}
	return b.String()
}

// errorOf reads the error answer resp (status 4xx or 5xx).
func errorOf(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body struct {
		Error    string       `json:"error"`
		Problems []apiProblem `json:"problems"`
	}
	e := &apiError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	if json.Unmarshal(raw, &body) == nil && body.Error != "" {
		e.Message, e.Problems = body.Error, body.Problems
		return e
	}
	// Not the API's shape (a proxy in between, another server): the status
	// and the first line of what came back.
	e.Message = resp.Status
	if line, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n"); line != "" {
		e.Message += ": " + line
	}
	return e
}

// send makes a request; body, when not nil, is sent as JSON. A 4xx or 5xx
// answer becomes an *apiError; on success the caller closes the body.
func (c *apiClient) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w", c.where, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, errorOf(resp)
	}
	return resp, nil
}

// do makes a JSON request: body (nil: none) is sent as JSON, the answer is
// decoded into out (nil: discarded).
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: bad answer to %s %s: %w", c.where, method, path, err)
	}
	return nil
}

// get GETs path and returns the answer's body to stream; the caller
// closes it.
func (c *apiClient) get(ctx context.Context, path string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// apiSource is the --config / --store / --api choice of the server a
// command talks to.
type apiSource struct {
	store                 storeSource
	url, tokenFile, caPEM *string
}

func apiSourceFlags(fs *flag.FlagSet) apiSource {
	return apiSource{
		store:     storeFlags(fs),
		url:       fs.String("api", "", "the server's API `URL` (http:// or https://), instead of its control socket"),
		tokenFile: fs.String("token-file", "", "with --api: the `FILE` holding the token (else $"+TokenEnv+")"),
		caPEM:     fs.String("api-ca", "", "with an https --api: a PEM `FILE` of certificate authorities to trust"),
	}
}

// remote reports whether --api was given; with it, remoteClient is the
// client, otherwise dir names the store.
func (s apiSource) remote() bool { return *s.url != "" }

// check refuses the flags given together that do not go together.
func (s apiSource) check() error {
	switch {
	case s.remote() && (*s.store.config != "" || *s.store.store != ""):
		return usagef("give --config, --store or --api, only one")
	case !s.remote() && (*s.tokenFile != "" || *s.caPEM != ""):
		return usagef("--token-file and --api-ca go with --api")
	case !s.remote() && *s.store.config == "" && *s.store.store == "":
		return usagef("--config or --store is required (or --api URL)")
	}
	return nil
}

func (s apiSource) remoteClient() (*apiClient, error) {
	return remoteAPI(*s.url, *s.tokenFile, *s.caPEM)
}

// client returns the client of the running server: over --api, or on the
// control socket of the store; what, when none runs there, says what
// needs it ("reservations are changed through a running server").
func (s apiSource) client(what string) (*apiClient, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.remote() {
		return s.remoteClient()
	}
	dir, err := s.store.dir()
	if err != nil {
		return nil, err
	}
	c := controlAPI(dir)
	if c == nil {
		return nil, fmt.Errorf("no server is running on the lease store %s; %s", dir, what)
	}
	return c, nil
}
