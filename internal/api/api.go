package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"bootd/internal/api/auth"
	"bootd/internal/config"
	"bootd/internal/lease"
	"bootd/internal/metrics"
	"bootd/internal/server"
)

// Backend is the running server the API operates: *server.Server.
type Backend interface {
	Config() *config.Config
	Reload(ctx context.Context, cfg *config.Config) error
	Stats() server.Stats
	Pools() []metrics.Pool
	Lease(ctx context.Context, addr netip.Addr) (lease.Lease, error)
	Leases(ctx context.Context, fn func(*lease.Lease) error) error
	Release(ctx context.Context, addr netip.Addr) (lease.Lease, error)
	Held(addr netip.Addr) bool
	Backup(ctx context.Context, w io.Writer) error
	Exchanges(after uint64, out []server.Exchange) ([]server.Exchange, uint64)
}

// Options configure an API.
type Options struct {
	Version string
	Log     *slog.Logger
	Now     func() time.Time
	// Metrics serves GET /metrics; nil: not served.
	Metrics http.Handler
	// Dashboard serves GET / and the dashboard's files; nil: none.
	Dashboard http.Handler
	// Tokens authenticate requests over TCP; nil: only the control
	// socket's local callers get in.
	Tokens *auth.Tokens
	// Audit receives every change; nil: changes are only logged.
	Audit *auth.Audit
	// Load reads a configuration file (config.Load unless set).
	Load func(file string) (*config.Config, error)
	// Debug is mounted at /debug/ for local callers only (the profiler).
	Debug http.Handler
}

// API serves bootd's HTTP API over a Backend. One API serves both the
// TCP listener and the control socket.
type API struct {
	b       Backend
	opts    Options
	log     *slog.Logger
	started time.Time
	limiter *auth.Limiter
	session *auth.Sessions
	mux     *http.ServeMux

	// edit serializes everything that swaps the configuration: reloads
	// and reservation changes, so that no change is lost to another.
	edit     sync.Mutex
	loadedMu sync.Mutex
	loaded   time.Time
	reloads  int
}

// Limits of requests.
const (
	maxBody    = 1 << 20 // a configuration to validate is the largest body
	sessionTTL = 12 * time.Hour
)

// New makes the API of a running server.
func New(b Backend, opts Options) *API {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Load == nil {
		opts.Load = config.Load
	}
	a := &API{
		b: b, opts: opts, log: opts.Log,
		started: opts.Now(), loaded: opts.Now(),
		limiter: auth.NewLimiter(opts.Now),
		session: auth.NewSessions(sessionTTL, opts.Now),
	}
	a.mux = http.NewServeMux()
	routes := http.NewServeMux() // the routes alone, to tell 404 from 405
	for _, r := range a.routes() {
		a.mux.Handle(r.pattern, a.guard(r))
		routes.Handle(r.pattern, http.NotFoundHandler())
	}
	a.mux.Handle("/api/", notFound(routes))
	if opts.Dashboard != nil {
		a.mux.Handle("/", opts.Dashboard) // it answers 405 to methods other than GET and HEAD
	}
	if opts.Debug != nil {
		a.mux.Handle("/debug/", a.guard(route{"/debug/", localOnly, opts.Debug.ServeHTTP}))
	}
	return a
}

// Handler is the API's HTTP handler.
func (a *API) Handler() http.Handler { return a.mux }

// notFound answers a path under /api/ that no route takes, in the API's
// error shape: 405 with Allow when the path exists for other methods,
// else 404.
func notFound(routes *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, pattern := routes.Handler(r2); pattern != "" && !strings.HasPrefix(pattern, "/") {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		httpError(w, http.StatusNotFound, "no such API path: "+r.URL.Path+" (see /api/v1/openapi.json)")
	})
}

// need is what a route asks of its caller.
type need uint8

const (
	public    need = iota // anyone
	readOnly              // the read-only or the admin role
	admin                 // the admin role
	localOnly             // a caller on the control socket
)

type route struct {
	pattern string
	need    need
	h       http.HandlerFunc
}

// routes is the API's table; openapi.json documents the same routes
// (a test compares them).
func (a *API) routes() []route {
	return []route{
		{"POST /api/v1/session", public, a.login},
		{"DELETE /api/v1/session", readOnly, a.logout},
		{"GET /api/v1/whoami", readOnly, a.whoami},
		{"GET /api/v1/status", readOnly, a.status},
		{"GET /api/v1/stats", readOnly, a.stats},
		{"GET /api/v1/pools", readOnly, a.pools},
		{"GET /api/v1/leases", readOnly, a.leases},
		{"GET /api/v1/leases/export", readOnly, a.export},
		{"GET /api/v1/leases/{address}", readOnly, a.lease},
		{"POST /api/v1/leases/{address}/release", admin, a.release},
		{"GET /api/v1/reservations", readOnly, a.reservations},
		{"POST /api/v1/reservations", admin, a.addReservation},
		{"GET /api/v1/reservations/{kind}/{id}", readOnly, a.reservation},
		{"PUT /api/v1/reservations/{kind}/{id}", admin, a.putReservation},
		{"DELETE /api/v1/reservations/{kind}/{id}", admin, a.deleteReservation},
		{"GET /api/v1/config", readOnly, a.configView},
		{"POST /api/v1/config/validate", readOnly, a.validate},
		{"POST /api/v1/config/reload", admin, a.reload},
		{"GET /api/v1/backup", admin, a.backup},
		{"GET /api/v1/events", readOnly, a.events},
		{"GET /api/v1/openapi.json", public, a.openAPI},
		{"GET /metrics", readOnly, a.metrics},
	}
}

type ctxKey int

const (
	identityKey ctxKey = iota // auth.Identity: set by the control socket for local callers, then by guard
)

// who returns the caller's identity, set by guard.
func who(r *http.Request) auth.Identity {
	id, _ := r.Context().Value(identityKey).(auth.Identity)
	return id
}

// CSRFHeader must be set on requests that change something when the
// session cookie authenticates them: a cross-site form cannot set it.
const CSRFHeader = "X-Bootd-Request"

// guard authenticates and authorizes a request before its route runs.
func (a *API) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if rt.need == public {
			rt.h(w, r)
			return
		}
		id, local := r.Context().Value(identityKey).(auth.Identity)
		if rt.need == localOnly {
			if !local {
				httpError(w, http.StatusNotFound, "not found")
				return
			}
			rt.h(w, r)
			return
		}
		if !local {
			var viaSession, ok bool
			id, viaSession, ok = a.authenticate(w, r)
			if !ok {
				return
			}
			if viaSession && r.Method != http.MethodGet && r.Header.Get(CSRFHeader) == "" {
				httpError(w, http.StatusForbidden, "a request with the session cookie that changes something needs the "+CSRFHeader+" header")
				return
			}
		}
		if rt.need == admin && !id.Role.Allows(auth.Admin) {
			httpError(w, http.StatusForbidden, fmt.Sprintf("%s has the %s role; this needs admin", id.Name, id.Role))
			return
		}
		ctx := context.WithValue(r.Context(), identityKey, id)
		rt.h(w, r.WithContext(ctx))
	})
}

// authenticate finds the caller of a TCP request from its bearer token or
// session cookie, answering 401 or 429 itself when it cannot.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (id auth.Identity, viaSession, ok bool) {
	remote := remoteAddr(r)
	if h := r.Header.Get("Authorization"); h != "" {
		if wait, ok := a.limiter.Check(remote); !ok {
			tooMany(w, wait)
			return auth.Identity{}, false, false
		}
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if ok && a.opts.Tokens != nil {
			id, ok = a.opts.Tokens.Verify(strings.TrimSpace(tok))
		} else {
			ok = false
		}
		if !ok {
			a.limiter.Fail(remote)
			a.log.Warn("api: bad token", "remote", remote)
			w.Header().Set("WWW-Authenticate", `Bearer realm="bootd"`)
			httpError(w, http.StatusUnauthorized, "the token is not valid")
			return auth.Identity{}, false, false
		}
		a.limiter.Succeed(remote)
		return id, false, true
	}
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		if id, ok := a.session.Get(c.Value); ok && a.opts.Tokens != nil && a.opts.Tokens.Valid(id.TokenID) {
			return id, true, true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="bootd"`)
	httpError(w, http.StatusUnauthorized, "log in: send a token as Authorization: Bearer TOKEN, or POST it to /api/v1/session")
	return auth.Identity{}, false, false
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	httpError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed attempts from this address; try again in %d s", secs))
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// audit records a change made by the caller of r.
func (a *API) audit(r *http.Request, action, target string, err error, detail string) {
	id := who(r)
	res := "ok"
	if err != nil {
		res = err.Error()
	}
	e := auth.AuditEntry{Time: a.opts.Now(), Who: id.Name, Role: id.Role, Remote: r.RemoteAddr,
		Action: action, Target: target, Result: res, Detail: detail}
	a.log.Info("api change", "who", e.Who, "action", action, "target", target, "result", res)
	if a.opts.Audit != nil {
		if err := a.opts.Audit.Record(e); err != nil {
			a.log.Error("audit log not written", "err", err)
		}
	}
}

// apiError is the one shape of every error answer.
type apiError struct {
	Error    string    `json:"error"`
	Problems []problem `json:"problems,omitempty"`
}

type problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// configError answers a configuration that failed to load: 422 with its
// problems, or 500 when the failure is not the configuration's fault.
func configError(w http.ResponseWriter, prefix string, err error) {
	es := config.Errors(err)
	if len(es) == 0 {
		httpError(w, http.StatusInternalServerError, prefix+": "+err.Error())
		return
	}
	out := apiError{Error: fmt.Sprintf("%s: %d problem(s), first %v", prefix, len(es), es[0])}
	for _, e := range es {
		out.Problems = append(out.Problems, problem{e.File, e.Line, e.Column, e.Msg})
	}
	writeJSON(w, http.StatusUnprocessableEntity, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decodeBody reads a JSON body into v: at most maxBody bytes, unknown
// fields refused, one value. It answers 4xx itself on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			httpError(w, http.StatusUnsupportedMediaType, "send JSON, with Content-Type: application/json")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
			return false
		}
		httpError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		httpError(w, http.StatusBadRequest, "bad JSON body: more than one value")
		return false
	}
	return true
}

// Local marks a connection's requests as the local administrator's: the
// control socket's ConnContext.
func Local(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, identityKey, auth.Identity{Name: name, Role: auth.Admin})
}

// isLoopback reports whether a listener address stays on the machine.
func isLoopback(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().IsLoopback()
}
