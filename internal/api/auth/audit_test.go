package auth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestAuditConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "new-dir", "audit.log")
	a, err := OpenAudit(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 25
	// A long detail makes torn writes likely if records were split.
	long := string(bytes.Repeat([]byte("x"), 8000))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := a.Record(AuditEntry{
					Who: fmt.Sprintf("w%d", w), Role: Admin, Remote: "198.18.0.1:5000",
					Action: "reservation.add", Target: fmt.Sprint(i), Result: "ok", Detail: long,
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Record(AuditEntry{Action: "x"}); err == nil {
		t.Error("Record after Close succeeded")
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("audit log mode %v, want 0600", m)
	}
	seen := map[string]int{}
	lines := readAudit(t, path)
	for _, e := range lines {
		if e.Time.IsZero() || e.Action != "reservation.add" || e.Result != "ok" || e.Detail != long || e.Role != Admin {
			t.Fatalf("bad record %+v", e)
		}
		seen[e.Who]++
	}
	if len(lines) != writers*each {
		t.Errorf("%d records, want %d", len(lines), writers*each)
	}
	for w := range writers {
		if n := seen[fmt.Sprintf("w%d", w)]; n != each {
			t.Errorf("writer %d: %d records, want %d", w, n, each)
		}
	}

	// Opening again appends.
	a, err = OpenAudit(path)
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if err := a.Record(AuditEntry{Time: when, Who: "local:uid=0", Action: "config.reload", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	lines = readAudit(t, path)
	if last := lines[len(lines)-1]; len(lines) != writers*each+1 || !last.Time.Equal(when) || last.Who != "local:uid=0" {
		t.Errorf("after reopening: %d records, last %+v", len(lines), last)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw[bytes.LastIndexByte(raw[:len(raw)-1], '\n'):], []byte(`"target"`)) {
		t.Error("an empty target is written")
	}
}

func readAudit(t *testing.T, path string) []AuditEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []AuditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e AuditEntry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d: %v: %q", len(out)+1, err, sc.Text())
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
