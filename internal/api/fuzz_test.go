package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"bootd/internal/config"
)

const fuzzConfig = `interfaces: [eth0]
lease-store: {path: /s}
subnets:
  - subnet: 198.18.0.0/24
    pools: [{range: 198.18.0.10-198.18.0.100}]
`

// FuzzReservationInput feeds a reservation body through what the API does
// with one: JSON decoding, the checks of spec, the edit of the
// reservations file and the configuration parser. Whatever the input, the
// file written is valid YAML that holds the reservations it held before,
// and the configuration either takes the new one or names a position in
// the reservations file.
func FuzzReservationInput(f *testing.F) {
	for _, s := range []string{
		`{"kind": "mac", "id": "02:00:00:00:00:01", "address": "198.18.0.20", "hostname": "web1"}`,
		`{"kind": "client-id", "id": "01:02:00:00:00:00:01", "subnet": "198.18.0.0/24", "boot-file": "ipxe.efi"}`,
		`{"kind": "circuit-id", "id": "eth0/1/2", "address": "198.18.0.30"}`,
		`{"kind": "mac", "id": "02:00:00:00:00:01\"\n- {mac: x}", "address": "198.18.0.20"}`,
		`{"kind": "mac", "id": "02:00:00:00:00:01", "address": "198.18.0.20", "hostname": "a b: c\n# d"}`,
		`{"kind": "remote-id", "id": "", "address": "198.18.0.20"}`,
		`{"kind": "mac", "id": "02:00:00:00:00:02", "subnet": "198.18.0.0/33"}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	existing, err := config.EditReservations(nil, nil, []config.ReservationSpec{{Kind: config.ByMAC, ID: "02:00:00:00:00:aa", Address: "198.18.0.5"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b reservationBody
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/api/v1/reservations", bytes.NewReader(body))
		if !decodeBody(rec, req, &b) {
			if rec.Code < 400 || rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("refused body answered %d %q", rec.Code, rec.Body)
			}
			return
		}
		spec, _, err := b.spec()
		if err != nil {
			return
		}
		next, err := config.EditReservations(existing, nil, []config.ReservationSpec{spec})
		if err != nil {
			t.Fatalf("editing a file bootd wrote: %v", err)
		}
		cfg, err := config.ParseWith("main.yaml", []byte(fuzzConfig), func(string) ([]byte, error) { return next, nil })
		if err != nil {
			es := config.Errors(err)
			if len(es) == 0 {
				t.Fatalf("not a configuration error: %v", err)
			}
			for _, e := range es {
				if e.File != "/s/reservations.yaml" {
					t.Fatalf("problem outside the reservations file: %v\n%s", e, next)
				}
			}
			return
		}
		// The new reservation did not swallow or break the old one.
		var old int
		for _, r := range cfg.Subnets[0].Reservations {
			if r.IDString() == "02:00:00:00:00:aa" {
				old++
			}
		}
		if old != 1 && !strings.EqualFold(spec.ID, "02:00:00:00:00:aa") {
			t.Fatalf("the existing reservation is gone:\n%s", next)
		}
	})
}
