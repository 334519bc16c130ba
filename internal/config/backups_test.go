package config

import (
	"strings"
	"testing"
	"time"
)

func TestBackups(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want *Backups
	}{
		{"", nil},
		{"backups: {dir: /var/backups/bootd/}\n", &Backups{Dir: "/var/backups/bootd", Interval: time.Hour, Keep: 24}},
		{"backups: {dir: /b, interval: 1m, keep: 1}\n", &Backups{Dir: "/b", Interval: time.Minute, Keep: 1}},
		{"backups: {dir: /b, interval: 1d, keep: 7}\n", &Backups{Dir: "/b", Interval: 24 * time.Hour, Keep: 7}},
	} {
		c, err := Parse("t.yaml", []byte("interfaces: [eth0]\n"+tc.yaml+"subnets: [{subnet: 198.18.0.0/24}]\n"))
		if err != nil {
			t.Errorf("%s: %v", strings.TrimSpace(tc.yaml), err)
			continue
		}
		if (c.Backups == nil) != (tc.want == nil) || c.Backups != nil && *c.Backups != *tc.want {
			t.Errorf("%s: got %+v, want %+v", strings.TrimSpace(tc.yaml), c.Backups, tc.want)
		}
	}
}

func TestBackupsErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"backups: {keep: 3}\n", []string{"2:10: backups needs a dir: the directory to write snapshots to"}},
		{"backups: {dir: snaps}\n", []string{`2:16: backups dir "snaps" must be absolute`}},
		{"backups: {dir: /b, interval: 30s}\n", []string{"2:30: backups interval 30s is shorter than 1m0s"}},
		{"backups: {dir: /b, interval: 0}\n", []string{"2:30: backups interval must be longer than 0s"}},
		{"backups: {dir: /b, interval: infinite}\n", []string{"2:30: backups interval cannot be infinite"}},
		{"backups: {dir: /b, interval: soon}\n", []string{`2:30: backups interval: bad duration "soon": `}},
		{"backups: {dir: /b, keep: 0}\n", []string{"2:26: backups keep: 0 is out of range 1 to 1000000"}},
		{"backups: {dir: /b, kept: 2}\n", []string{`2:20: unknown key "kept" in backups (did you mean "keep"?)`}},
		{"backups: /b\n", []string{"2:10: "}},
	} {
		_, err := Parse("t.yaml", []byte("interfaces: [eth0]\n"+tc.yaml+"subnets: [{subnet: 198.18.0.0/24}]\n"))
		var got []string
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				got = append(got, strings.TrimPrefix(line, "t.yaml:"))
			}
		}
		ok := len(got) == len(tc.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.HasPrefix(got[i], tc.want[i])
		}
		if !ok {
			t.Errorf("%s: got\n  %s\nwant\n  %s", strings.TrimSpace(tc.yaml), strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
}
