package config

import (
	"strings"
	"testing"
)

func TestEditReservations(t *testing.T) {
	// From nothing: a header, then the reservation, which the parser reads back.
	b, err := EditReservations(nil, nil, []ReservationSpec{{Kind: ByMAC, ID: "02:00:00:00:00:02", Address: "198.18.0.20", Hostname: "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# Reservations made through bootd's API") {
		t.Errorf("no header:\n%s", b)
	}
	c, err := parseResv(t, string(b))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	r := c.Subnets[0].Reservations[1]
	if r.IDString() != "02:00:00:00:00:02" || r.Hostname != "web2" || r.File == "" {
		t.Fatalf("read back %+v", r)
	}

	// Adding a second keeps the first and a comment written by hand;
	// removing the first by its position leaves the second.
	withComment := strings.Replace(string(b), "reservations:", "# racks 1-4\nreservations:", 1)
	b2, err := EditReservations([]byte(withComment), nil, []ReservationSpec{{Kind: ByClientID, ID: "01:02:00:00:00:00:03", Subnet: "198.18.1.0/24", BootFile: "x.efi"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b2), "# racks 1-4") {
		t.Errorf("comment lost:\n%s", b2)
	}
	c, err = parseResv(t, string(b2))
	if err != nil {
		t.Fatalf("%v\n%s", err, b2)
	}
	first := c.Subnets[0].Reservations[1]
	if len(c.Subnets[1].Reservations) != 1 {
		t.Fatalf("second not added:\n%s", b2)
	}
	b3, err := EditReservations(b2, []Pos{first.Pos}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err = parseResv(t, string(b3))
	if err != nil {
		t.Fatalf("%v\n%s", err, b3)
	}
	if len(c.Subnets[0].Reservations) != 1 || len(c.Subnets[1].Reservations) != 1 {
		t.Errorf("after removing the first:\n%s", b3)
	}

	// Values cannot break out of their string.
	b4, err := EditReservations(nil, nil, []ReservationSpec{{Kind: ByMAC, ID: "02:00:00:00:00:09\"\n  - {mac: 02:00:00:00:00:0a}", Address: "198.18.0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseResv(t, string(b4)); err == nil || !strings.Contains(err.Error(), "mac") {
		t.Errorf("injected value accepted:\n%s\n%v", b4, err)
	}

	for _, bad := range []string{"reservations: 3\n", "- a\n", "reservations: [\n"} {
		if _, err := EditReservations([]byte(bad), nil, nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseIdentifier(t *testing.T) {
	k, id, err := ParseIdentifier("mac", "02:00:00:00:00:0A")
	if err != nil || k != ByMAC || len(id) != 6 || id[5] != 10 {
		t.Errorf("mac: %v %v %v", k, id, err)
	}
	if _, _, err := ParseIdentifier("mac", "02:00"); err == nil {
		t.Error("short mac accepted")
	}
	if _, _, err := ParseIdentifier("uuid", "x"); err == nil || !strings.Contains(err.Error(), "want mac, client-id") {
		t.Errorf("bad kind: %v", err)
	}
	if k, _, err := ParseIdentifier("circuit-id", "eth0/1"); err != nil || k != ByCircuitID {
		t.Errorf("circuit-id: %v %v", k, err)
	}
}
