package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestServeLogFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("answered", "xid", "0x1", "reply", "ACK")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("json log line %q: %v", buf.String(), err)
	}
	if rec["msg"] != "answered" || rec["reply"] != "ACK" {
		t.Errorf("json record %v", rec)
	}
	buf.Reset()
	log, _ = newLogger(&buf, "text", "debug")
	log.Debug("shown", "k", "v")
	if !strings.Contains(buf.String(), "msg=shown k=v") {
		t.Errorf("text log %q", buf.String())
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "loud"}} {
		if _, err := newLogger(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("newLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if code, _, errOut := runCLI(t, nil, "serve"); code != exitUsage || !strings.Contains(errOut, "--config is required") {
		t.Errorf("serve without --config: exit %d, %q", code, errOut)
	}
}
