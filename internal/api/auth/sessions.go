package auth

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// SessionCookie is the name of the dashboard's session cookie.
const SessionCookie = "bootd_session"

// maxSessions bounds the sessions kept; beyond it the oldest is dropped.
const maxSessions = 10000

// Sessions are the dashboard's logins: a random cookie value standing for
// an Identity until it expires, ttl after it was made. They live in
// memory. It is safe for concurrent use.
//
// Sessions are kept by the SHA-256 of the cookie value, so looking one up
// takes no time that depends on how much of a guessed value is right, and
// the values themselves are not kept. The caller also checks
// Tokens.Valid(Identity.TokenID), so revoking a token ends its sessions.
type Sessions struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*list.Element // of *session
	order *list.List                          // front: newest
}

type session struct {
	key     [sha256.Size]byte
	id      Identity
	expires time.Time
}

// NewSessions returns an empty set of sessions that last ttl, reading the
// time from now (time.Now when nil).
func NewSessions(ttl time.Duration, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{ttl: ttl, now: now, byKey: make(map[[sha256.Size]byte]*list.Element), order: list.New()}
}

// New starts a session for id and returns the cookie value: 32 random
// bytes, base64url without padding.
func (s *Sessions) New(id Identity) string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never returns an error
	v := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	ss := &session{key: sha256.Sum256([]byte(v)), id: id, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sessions all last ttl, so the oldest expire first: drop expired
	// ones from the back, then the oldest beyond the bound.
	for el := s.order.Back(); el != nil; el = s.order.Back() {
		old := el.Value.(*session)
		if now.Before(old.expires) && s.order.Len() < maxSessions {
			break
		}
		delete(s.byKey, old.key)
		s.order.Remove(el)
	}
	s.byKey[ss.key] = s.order.PushFront(ss)
	return v
}

// Get returns the identity of the session with cookie value v. An unknown
// or expired session gives false; an expired one is removed.
func (s *Sessions) Get(v string) (Identity, bool) {
	key := sha256.Sum256([]byte(v))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	el := s.byKey[key]
	if el == nil {
		return Identity{}, false
	}
	ss := el.Value.(*session)
	if !now.Before(ss.expires) {
		delete(s.byKey, key)
		s.order.Remove(el)
		return Identity{}, false
	}
	return ss.id, true
}

// Delete ends the session with cookie value v, if there is one.
func (s *Sessions) Delete(v string) {
	key := sha256.Sum256([]byte(v))
	s.mu.Lock()
	defer s.mu.Unlock()
	if el := s.byKey[key]; el != nil {
		delete(s.byKey, key)
		s.order.Remove(el)
	}
}

// len is the number of sessions kept, for tests.
func (s *Sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}
