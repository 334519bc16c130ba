package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"bootd/internal/lease"
	"bootd/internal/server"
)

// errStop ends a walk over the leases early.
var errStop = errors.New("stop")

// leaseView is a lease as the API shows it (docs/api.md).
type leaseView struct {
	Address   netip.Addr   `json:"address"`
	State     string       `json:"state"`
	Active    bool         `json:"active"`
	MAC       string       `json:"mac,omitempty"`
	HType     uint8        `json:"htype"`
	ClientID  string       `json:"client-id,omitempty"`
	Hostname  string       `json:"hostname,omitempty"`
	Start     time.Time    `json:"start"`
	Expires   *time.Time   `json:"expires,omitempty"`
	Subnet    netip.Prefix `json:"subnet,omitzero"`
	UUID      string       `json:"uuid,omitempty"`
	CircuitID string       `json:"circuit-id,omitempty"`
	RemoteID  string       `json:"remote-id,omitempty"`
}

// active reports whether a client holds the lease's address now.
func active(l *lease.Lease, now time.Time) bool {
	return (l.State == lease.Bound || l.State == lease.Offered) && (l.Expires.IsZero() || l.Expires.After(now))
}

func view(l *lease.Lease, now time.Time) leaseView {
	v := leaseView{
		Address: l.Addr, State: l.State.String(), Active: active(l, now),
		MAC: lease.HexColon(l.HWAddr), HType: l.HWType, ClientID: lease.HexColon(l.ClientID),
		Hostname: l.Hostname, Start: l.Start.UTC(), Subnet: l.Subnet,
		CircuitID: lease.HexColon(l.CircuitID), RemoteID: lease.HexColon(l.RemoteID),
	}
	if (l.State == lease.Bound || l.State == lease.Offered) && !v.Active {
		v.State = "expired"
	}
	if !l.Expires.IsZero() {
		e := l.Expires.UTC()
		v.Expires = &e
	}
	if l.UUID != ([16]byte{}) {
		v.UUID = lease.HexColon(l.UUID[:])
	}
	return v
}

// leaseQuery is a search of GET /api/v1/leases; every field set must match.
type leaseQuery struct {
	q        string // partial: address, MAC, client id or host name
	addr     netip.Addr
	mac      []byte
	clientID []byte
	hostname string // partial, any case
	state    string
	subnet   netip.Prefix
	limit    int
}

const defaultLimit, maxLimit = 1000, 100000

func parseLeaseQuery(r *http.Request) (leaseQuery, error) {
	q := leaseQuery{limit: defaultLimit}
	v := r.URL.Query()
	for k := range v {
		switch k {
		case "q", "address", "mac", "client-id", "hostname", "state", "subnet", "limit":
		default:
			return q, fmt.Errorf("unknown parameter %q: use q, address, mac, client-id, hostname, state, subnet or limit", k)
		}
	}
	var err error
	q.q = strings.ToLower(strings.TrimSpace(v.Get("q")))
	if s := v.Get("address"); s != "" {
		if q.addr, err = netip.ParseAddr(s); err != nil || !q.addr.Is4() {
			return q, fmt.Errorf("address %q is not an IPv4 address", s)
		}
	}
	if s := v.Get("mac"); s != "" {
		if q.mac, err = lease.ParseHexColon(s); err != nil || len(q.mac) == 0 {
			return q, fmt.Errorf("mac %q: want hex bytes like 02:00:00:00:00:01", s)
		}
	}
	if s := v.Get("client-id"); s != "" {
		if q.clientID, err = lease.ParseHexColon(s); err != nil || len(q.clientID) == 0 {
			return q, fmt.Errorf("client-id %q: want hex bytes like 01:02:00:00:00:00:01", s)
		}
	}
	q.hostname = strings.ToLower(v.Get("hostname"))
	if s := v.Get("state"); s != "" {
		if _, err := lease.ParseState(s); err != nil && s != "active" {
			return q, fmt.Errorf("state %q: want active, offered, bound, released, expired or declined", s)
		}
		q.state = s
	}
	if s := v.Get("subnet"); s != "" {
		if q.subnet, err = netip.ParsePrefix(s); err != nil {
			return q, fmt.Errorf("subnet %q is not a prefix like 198.18.0.0/24", s)
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return q, fmt.Errorf("limit %q: want a number from 1 to %d", s, maxLimit)
		}
		q.limit = n
	}
	return q, nil
}

func (q *leaseQuery) match(l *lease.Lease, v *leaseView) bool {
	switch {
	case q.addr.IsValid() && l.Addr != q.addr,
		q.mac != nil && !bytes.Equal(l.HWAddr, q.mac),
		q.clientID != nil && !bytes.Equal(l.ClientID, q.clientID),
		q.hostname != "" && !strings.Contains(strings.ToLower(l.Hostname), q.hostname),
		q.subnet.IsValid() && !q.subnet.Contains(l.Addr),
		q.state == "active" && !v.Active,
		q.state != "" && q.state != "active" && v.State != q.state:
		return false
	}
	if q.q == "" {
		return true
	}
	return strings.HasPrefix(l.Addr.String(), q.q) || strings.Contains(v.MAC, q.q) ||
		strings.Contains(v.ClientID, q.q) || strings.Contains(strings.ToLower(l.Hostname), q.q)
}

func (a *API) leases(w http.ResponseWriter, r *http.Request) {
	q, err := parseLeaseQuery(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := a.opts.Now()
	var out []leaseView
	total := 0
	err = a.b.Leases(r.Context(), func(l *lease.Lease) error {
		v := view(l, now)
		if q.match(l, &v) {
			total++
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		httpError(w, http.StatusInternalServerError, "reading the leases: "+err.Error())
		return
	}
	slices.SortFunc(out, func(x, y leaseView) int { return x.Address.Compare(y.Address) })
	truncated := len(out) > q.limit
	if truncated {
		out = out[:q.limit]
	}
	if out == nil {
		out = []leaseView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"leases": out, "total": total, "truncated": truncated})
}

// pathAddr reads the {address} of a path, answering 400 itself if bad.
func pathAddr(w http.ResponseWriter, r *http.Request) (netip.Addr, bool) {
	s := r.PathValue("address")
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an IPv4 address", s))
		return netip.Addr{}, false
	}
	return a, true
}

func (a *API) lease(w http.ResponseWriter, r *http.Request) {
	addr, ok := pathAddr(w, r)
	if !ok {
		return
	}
	l, err := a.b.Lease(r.Context(), addr)
	if errors.Is(err, lease.ErrNotFound) {
		httpError(w, http.StatusNotFound, "no lease of "+addr.String())
		return
	}
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, view(&l, a.opts.Now()))
}

func (a *API) release(w http.ResponseWriter, r *http.Request) {
	addr, ok := pathAddr(w, r)
	if !ok {
		return
	}
	l, err := a.b.Release(r.Context(), addr)
	a.audit(r, "lease.release", addr.String(), err, "")
	switch {
	case errors.Is(err, lease.ErrNotFound):
		httpError(w, http.StatusNotFound, "no lease of "+addr.String())
	case errors.Is(err, server.ErrNotActive):
		httpError(w, http.StatusConflict, "the lease of "+addr.String()+" is not active: no client holds it now")
	case err != nil:
		httpError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, view(&l, a.opts.Now()))
	}
}

// export streams every lease, one JSON object a line, in the form of
// bootd export (lease.Lease's JSON); what the CLI reads.
func (a *API) export(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jsonl")
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	err := a.b.Leases(r.Context(), func(l *lease.Lease) error { return enc.Encode(l) })
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		a.log.Warn("api: exporting leases", "err", err)
	}
}
