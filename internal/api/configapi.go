package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"bootd/internal/config"
)

func (a *API) configView(w http.ResponseWriter, r *http.Request) {
	cfg := a.b.Config()
	a.loadedMu.Lock()
	loaded, reloads := a.loaded, a.reloads
	a.loadedMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"file":              cfg.File,
		"reservations-file": cfg.ReservationsFile,
		"loaded":            loaded.UTC(),
		"reloads":           reloads,
		"text":              string(cfg.Text),
	})
}

// validate checks the body as a configuration file, with the reservations
// file the running server has. It changes nothing.
func (a *API) validate(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
		return
	case err != nil:
		httpError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	name := a.b.Config().File
	cfg, err := config.ParseWith(name, data, config.ReadReservations)
	if err != nil {
		configError(w, "the configuration is not valid", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "subnets": len(cfg.Subnets), "classes": len(cfg.Classes)})
}

func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	err := a.Reload(r.Context())
	a.audit(r, "config.reload", a.b.Config().File, err, "")
	if err != nil {
		if es := config.Errors(err); len(es) > 0 {
			configError(w, "reload refused; the old configuration keeps serving", err)
			return
		}
		httpError(w, http.StatusInternalServerError, "reload refused; the old configuration keeps serving: "+err.Error())
		return
	}
	a.configView(w, r)
}

// Reload reads the configuration file again and swaps it in (what SIGHUP
// and POST /api/v1/config/reload do). On error the old configuration
// keeps serving.
func (a *API) Reload(ctx context.Context) error {
	a.edit.Lock()
	defer a.edit.Unlock()
	file := a.b.Config().File
	cfg, err := a.opts.Load(file)
	if err != nil {
		return err
	}
	if err := a.b.Reload(ctx, cfg); err != nil {
		return errors.Join(fmt.Errorf("applying %s", file), err)
	}
	a.noteLoaded(true)
	return nil
}

// noteLoaded records that a configuration was swapped in.
func (a *API) noteLoaded(reload bool) {
	a.loadedMu.Lock()
	defer a.loadedMu.Unlock()
	a.loaded = a.opts.Now()
	if reload {
		a.reloads++
	}
}
