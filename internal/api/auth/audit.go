package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditEntry is one record of the audit log.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`
	Role   Role      `json:"role"`
	Remote string    `json:"remote"`
	Action string    `json:"action"` // e.g. "reservation.add", "lease.release", "config.reload", "session.login"
	Target string    `json:"target,omitempty"`
	Result string    `json:"result"` // "ok" or the error text
	Detail string    `json:"detail,omitempty"`
}

// Audit is the audit log: one JSON object per line, each record synced to
// disk before Record returns. It is safe for concurrent use.
type Audit struct {
	mu sync.Mutex
	f  *os.File // nil once closed
}

// errAuditClosed is returned by Record after Close.
var errAuditClosed = errors.New("audit log closed")

// OpenAudit opens the audit log at path for appending, creating it (mode
// 0600) and its directory (mode 0700) when missing.
func OpenAudit(path string) (*Audit, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Audit{f: f}, nil
}

// Record appends e as one line and syncs the file. A zero Time is set to
// now.
func (a *Audit) Record(e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return errAuditClosed
	}
	// One write per record, with O_APPEND: a record is never split, and
	// other writers of the file (another bootd) cannot interleave with it.
	if _, err := a.f.Write(line); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Close closes the log; Record fails after it.
func (a *Audit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
