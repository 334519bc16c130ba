package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"

	"bootd/internal/config"
	"bootd/internal/fsutil"
	"bootd/internal/lease"
)

// reservationView is a reservation as the API shows it (docs/api.md).
type reservationView struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Subnet   string `json:"subnet"`
	Address  string `json:"address,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	BootFile string `json:"boot-file,omitempty"`
	Source   string `json:"source"` // "api" or "config"
	File     string `json:"file"`
	Line     int    `json:"line"`
}

func resvView(cfg *config.Config, r *config.Reservation) reservationView {
	v := reservationView{
		Kind: r.IDKind.String(), ID: r.IDString(), Subnet: r.Subnet.Prefix.String(),
		Hostname: r.Hostname, BootFile: r.Own.BootFile, Source: "api", File: r.File, Line: r.Pos.Line,
	}
	if r.Address.IsValid() {
		v.Address = r.Address.String()
	}
	if r.File == "" {
		v.Source, v.File = "config", cfg.File
	}
	return v
}

// reservationBody is the body of POST and PUT.
type reservationBody struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Subnet   string `json:"subnet,omitempty"`
	Address  string `json:"address,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	BootFile string `json:"boot-file,omitempty"`
}

// spec checks what the configuration parser cannot point at in a file of
// its own making (the kind, a missing id) and makes the reservation to add.
func (b *reservationBody) spec() (config.ReservationSpec, []byte, error) {
	if b.ID == "" {
		return config.ReservationSpec{}, nil, errors.New("id is required: the client's MAC, client id, circuit id or remote id")
	}
	k, id, err := config.ParseIdentifier(b.Kind, b.ID)
	if err != nil {
		return config.ReservationSpec{}, nil, err
	}
	if b.Subnet == "" && b.Address == "" {
		return config.ReservationSpec{}, nil, errors.New("give a subnet, or an address inside a configured subnet")
	}
	return config.ReservationSpec{Kind: k, ID: b.ID, Subnet: b.Subnet, Address: b.Address,
		Hostname: b.Hostname, BootFile: b.BootFile}, id, nil
}

func (a *API) reservations(w http.ResponseWriter, r *http.Request) {
	cfg := a.b.Config()
	out := []reservationView{}
	for _, s := range cfg.Subnets {
		for _, rv := range s.Reservations {
			out = append(out, resvView(cfg, rv))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reservations": out, "file": cfg.ReservationsFile})
}

// pathReservation finds the reservation of a {kind}/{id} path, answering
// 4xx itself when there is none or more than one.
func (a *API) pathReservation(w http.ResponseWriter, r *http.Request, cfg *config.Config) (*config.Reservation, bool) {
	k, id, err := config.ParseIdentifier(r.PathValue("kind"), r.PathValue("id"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	rs := cfg.FindReservation(k, id)
	if s := r.URL.Query().Get("subnet"); s != "" {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("subnet %q is not a prefix like 198.18.0.0/24", s))
			return nil, false
		}
		var in []*config.Reservation
		for _, rv := range rs {
			if rv.Subnet.Prefix == p.Masked() {
				in = append(in, rv)
			}
		}
		rs = in
	}
	switch len(rs) {
	case 0:
		httpError(w, http.StatusNotFound, fmt.Sprintf("no reservation of %s %s", k, r.PathValue("id")))
		return nil, false
	case 1:
		return rs[0], true
	}
	httpError(w, http.StatusConflict, fmt.Sprintf("%s %s is reserved in %d subnets: add ?subnet=PREFIX", k, r.PathValue("id"), len(rs)))
	return nil, false
}

func (a *API) reservation(w http.ResponseWriter, r *http.Request) {
	cfg := a.b.Config()
	if rv, ok := a.pathReservation(w, r, cfg); ok {
		writeJSON(w, http.StatusOK, resvView(cfg, rv))
	}
}

func (a *API) addReservation(w http.ResponseWriter, r *http.Request) {
	var body reservationBody
	if !decodeBody(w, r, &body) {
		return
	}
	a.changeReservation(w, r, "reservation.add", false, &body)
}

func (a *API) putReservation(w http.ResponseWriter, r *http.Request) {
	var body reservationBody
	if !decodeBody(w, r, &body) {
		return
	}
	// The path names the reservation; the body may leave kind and id out.
	if body.Kind == "" && body.ID == "" {
		body.Kind, body.ID = r.PathValue("kind"), r.PathValue("id")
	}
	a.changeReservation(w, r, "reservation.change", true, &body)
}

func (a *API) deleteReservation(w http.ResponseWriter, r *http.Request) {
	a.changeReservation(w, r, "reservation.delete", true, nil)
}

// changeReservation replaces a reservation by the one body describes
// (nil: none): the one the path names when byPath, else none. It checks
// the new set as a configuration, refuses an address another client
// holds, writes the reservations file and swaps the configuration in,
// all under a.edit. Nothing changes unless every step succeeds.
func (a *API) changeReservation(w http.ResponseWriter, r *http.Request, action string, byPath bool, body *reservationBody) {
	a.edit.Lock()
	defer a.edit.Unlock()
	var old *config.Reservation
	if byPath {
		var ok bool
		if old, ok = a.pathReservation(w, r, a.b.Config()); !ok {
			return
		}
	}
	ctx := r.Context()
	cur := a.b.Config()
	file := cur.ReservationsFile
	target := ""
	fail := func(code int, msg string) {
		a.audit(r, action, target, errors.New(msg), "")
		httpError(w, code, msg)
	}
	if old != nil {
		target = old.IDKind.String() + " " + old.IDString()
		if old.File == "" {
			fail(http.StatusConflict, fmt.Sprintf("%s is reserved in the configuration file %s:%d; change it there and reload", target, cur.File, old.Pos.Line))
			return
		}
	}
	var add []config.ReservationSpec
	var newID []byte
	if body != nil {
		spec, id, err := body.spec()
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		target = spec.Kind.String() + " " + body.ID
		add, newID = []config.ReservationSpec{spec}, id
	}
	data, err := config.ReadReservations(file)
	if err != nil {
		fail(http.StatusInternalServerError, "reading "+file+": "+err.Error())
		return
	}
	var remove []config.Pos
	if old != nil {
		remove = []config.Pos{old.Pos}
	}
	next, err := config.EditReservations(data, remove, add)
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	cfg, err := config.ParseWith(cur.File, cur.Text, func(f string) ([]byte, error) {
		if f == file {
			return next, nil
		}
		return config.ReadReservations(f)
	})
	if err != nil {
		a.audit(r, action, target, err, "")
		configError(w, "the reservation is refused", err)
		return
	}
	// The new reservation is the one EditReservations appended: the
	// last of the file.
	var added *config.Reservation
	if body != nil {
		for _, rv := range cfg.FindReservation(add[0].Kind, newID) {
			if rv.File == file && (added == nil || rv.Pos.Line > added.Pos.Line) {
				added = rv
			}
		}
	}
	if added != nil && added.Address.IsValid() {
		if msg := a.heldByOther(ctx, added); msg != "" {
			fail(http.StatusConflict, msg)
			return
		}
	}
	if err := writeReservations(file, next); err != nil {
		fail(http.StatusInternalServerError, "writing "+file+": "+err.Error())
		return
	}
	if err := a.b.Reload(ctx, cfg); err != nil {
		// Put the file back as it was, so that it says what is served.
		if rerr := restoreReservations(file, data); rerr != nil {
			a.log.Error("reservations file not restored after a failed swap", "file", file, "err", rerr)
		}
		fail(http.StatusInternalServerError, "applying the reservation: "+err.Error())
		return
	}
	a.noteLoaded(false)
	a.audit(r, action, target, nil, "")
	switch {
	case added == nil:
		w.WriteHeader(http.StatusNoContent)
	case old == nil:
		writeJSON(w, http.StatusCreated, resvView(cfg, added))
	default:
		writeJSON(w, http.StatusOK, resvView(cfg, added))
	}
}

// heldByOther says why a reservation's address cannot be given now: a
// client other than its owner holds it. "" when it can.
func (a *API) heldByOther(ctx context.Context, rv *config.Reservation) string {
	l, err := a.b.Lease(ctx, rv.Address)
	if err != nil || !active(&l, a.opts.Now()) || !a.b.Held(rv.Address) {
		return ""
	}
	var owner []byte
	switch rv.IDKind {
	case config.ByMAC:
		owner = l.HWAddr
	case config.ByClientID:
		owner = l.ClientID
	case config.ByCircuitID:
		owner = l.CircuitID
	case config.ByRemoteID:
		owner = l.RemoteID
	}
	if bytes.Equal(owner, rv.ID) {
		return ""
	}
	return fmt.Sprintf("%s is leased to %s until %s; release that lease first (POST /api/v1/leases/%s/release)",
		rv.Address, clientOf(&l), l.Expires.UTC().Format("2006-01-02 15:04:05Z"), rv.Address)
}

func clientOf(l *lease.Lease) string {
	if len(l.HWAddr) > 0 {
		return lease.HexColon(l.HWAddr)
	}
	return "client-id " + lease.HexColon(l.ClientID)
}

func writeReservations(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return err
	}
	_, err := fsutil.WriteFile(file, 0o640, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// restoreReservations puts back the content a reservations file had
// (nil: it did not exist).
func restoreReservations(file string, data []byte) error {
	if data == nil {
		return os.Remove(file)
	}
	return writeReservations(file, data)
}
