package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"time"

	"bootd/internal/api/auth"
	"bootd/internal/lease"
)

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	remote := remoteAddr(r)
	if wait, ok := a.limiter.Check(remote); !ok {
		tooMany(w, wait)
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	var id auth.Identity
	ok := false
	if a.opts.Tokens != nil {
		id, ok = a.opts.Tokens.Verify(body.Token)
	}
	if !ok {
		a.limiter.Fail(remote)
		a.audit(r, "session.login", "", errors.New("bad token"), "")
		httpError(w, http.StatusUnauthorized, "the token is not valid")
		return
	}
	a.limiter.Succeed(remote)
	http.SetCookie(w, &http.Cookie{
		Name:     auth.SessionCookie,
		Value:    a.session.New(id),
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	a.auditAs(r, id, "session.login", "", nil)
	writeJSON(w, http.StatusOK, map[string]any{"name": id.Name, "role": id.Role})
}

// auditAs records a change made by id (login has no identity in its
// context yet).
func (a *API) auditAs(r *http.Request, id auth.Identity, action, target string, err error) {
	a.audit(r.WithContext(context.WithValue(r.Context(), identityKey, id)), action, target, err, "")
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		a.session.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	a.audit(r, "session.logout", "", nil, "")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) {
	id := who(r)
	writeJSON(w, http.StatusOK, map[string]any{"name": id.Name, "role": id.Role})
}

type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	now := a.opts.Now()
	cfg := a.b.Config()
	a.loadedMu.Lock()
	loaded, reloads := a.loaded, a.reloads
	a.loadedMu.Unlock()
	st := a.b.Stats()
	var size, active uint64
	for _, p := range a.b.Pools() {
		size += p.Size
		active += uint64(p.Active)
	}
	checks := []check{
		{"dhcp", true, fmt.Sprintf("serving %d subnet(s) on %v; %d received, %d replied, %d dropped, %d malformed",
			len(cfg.Subnets), cfg.Interfaces, st.Received, st.Replied, st.Dropped, st.Malformed)},
	}
	storeOK, storeDetail := true, "lease store at "+cfg.LeaseStore.Path
	if err := a.b.Leases(r.Context(), func(*lease.Lease) error { return errStop }); err != nil && !errors.Is(err, errStop) {
		storeOK, storeDetail = false, "lease store: "+err.Error()
	}
	checks = append(checks, check{"lease-store", storeOK, storeDetail})
	poolOK, poolDetail := true, fmt.Sprintf("%d of %d pool addresses in use", active, size)
	if size > 0 && active*100 >= size*95 {
		poolOK, poolDetail = false, poolDetail+": pools 95% full or more"
	}
	checks = append(checks, check{"pools", poolOK, poolDetail})
	overall := "ok"
	for _, c := range checks {
		if !c.OK {
			overall = "failing"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":        a.opts.Version,
		"started":        a.started.UTC(),
		"uptime-seconds": now.Sub(a.started).Seconds(),
		"config": map[string]any{
			"file":              cfg.File,
			"reservations-file": cfg.ReservationsFile,
			"loaded":            loaded.UTC(),
			"reloads":           reloads,
		},
		"leases-active": active,
		"health":        map[string]any{"status": overall, "checks": checks},
	})
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.b.Stats())
}

type poolView struct {
	Range       string  `json:"range"`
	Size        uint64  `json:"size"`
	Active      uint64  `json:"active"`
	Utilisation float64 `json:"utilisation"`
}

type subnetView struct {
	Subnet        string     `json:"subnet"`
	Interface     string     `json:"interface"`
	SharedNetwork string     `json:"shared-network"`
	ProxyDHCP     bool       `json:"proxy-dhcp"`
	Reservations  int        `json:"reservations"`
	Pools         []poolView `json:"pools"`
}

func (a *API) pools(w http.ResponseWriter, r *http.Request) {
	cfg := a.b.Config()
	usage := a.b.Pools() // in configuration order
	out := []subnetView{}
	i := 0
	for _, sn := range cfg.Subnets {
		v := subnetView{Subnet: sn.Prefix.String(), Interface: sn.Interface, ProxyDHCP: sn.ProxyDHCP,
			Reservations: len(sn.Reservations), Pools: []poolView{}}
		if sn.Shared != nil {
			v.SharedNetwork = sn.Shared.Name
		}
		for range sn.Pools {
			if i >= len(usage) {
				break // the configuration changed between the two reads
			}
			u := usage[i]
			i++
			pv := poolView{Range: u.Range, Size: u.Size, Active: uint64(u.Active)}
			if u.Size > 0 {
				pv.Utilisation = float64(u.Active) / float64(u.Size)
			}
			v.Pools = append(v.Pools, pv)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"subnets": out})
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	if a.opts.Metrics == nil {
		httpError(w, http.StatusNotFound, "metrics are not served here")
		return
	}
	a.opts.Metrics.ServeHTTP(w, r)
}

func (a *API) backup(w http.ResponseWriter, r *http.Request) {
	name := "bootd-leases-" + a.opts.Now().UTC().Format("20060102T150405Z") + ".snapshot"
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	err := a.b.Backup(r.Context(), w)
	if err != nil {
		a.log.Warn("api: backup", "err", err)
	}
	a.audit(r, "backup.download", name, err, "")
}

//go:embed openapi.json
var openAPIDoc []byte

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc)
}
