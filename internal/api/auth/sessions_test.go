package auth

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := NewSessions(time.Hour, clk.now)
	alice := Identity{Name: "alice", Role: Admin, TokenID: "0123456789abcdef"}
	bob := Identity{Name: "bob", Role: ReadOnly, TokenID: "fedcba9876543210"}
	va := s.New(alice)
	if b, err := base64.RawURLEncoding.DecodeString(va); err != nil || len(b) != 32 {
		t.Fatalf("cookie value %q: want 32 bytes in base64url (%v)", va, err)
	}
	clk.advance(30 * time.Minute)
	vb := s.New(bob)
	if va == vb {
		t.Fatal("two sessions have one cookie value")
	}
	if got, ok := s.Get(va); !ok || got != alice {
		t.Errorf("Get(alice) = %+v, %v", got, ok)
	}
	if got, ok := s.Get(vb); !ok || got != bob {
		t.Errorf("Get(bob) = %+v, %v", got, ok)
	}
	for _, v := range []string{"", "x", va + "A", va[:len(va)-1]} {
		if got, ok := s.Get(v); ok {
			t.Errorf("Get(%q) = %+v, true", v, got)
		}
	}

	clk.advance(30*time.Minute - time.Nanosecond)
	if _, ok := s.Get(va); !ok {
		t.Error("alice's session ended before its hour")
	}
	clk.advance(time.Nanosecond)
	if _, ok := s.Get(va); ok {
		t.Error("alice's session outlived its hour")
	}
	if n := s.len(); n != 1 {
		t.Errorf("%d sessions kept after one expired, want 1", n)
	}
	if _, ok := s.Get(vb); !ok {
		t.Error("bob's session ended early")
	}
	s.Delete(vb)
	if _, ok := s.Get(vb); ok {
		t.Error("a deleted session is still there")
	}
	s.Delete(vb) // no effect
	if n := s.len(); n != 0 {
		t.Errorf("%d sessions kept, want 0", n)
	}
}

func TestSessionsBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := NewSessions(time.Hour, clk.now)
	first := s.New(Identity{Name: "first"})
	for range maxSessions {
		s.New(Identity{Name: "more"})
	}
	if n := s.len(); n != maxSessions {
		t.Errorf("%d sessions kept, want %d", n, maxSessions)
	}
	if _, ok := s.Get(first); ok {
		t.Error("the oldest session was kept beyond the bound")
	}
	// Expired sessions are dropped when new ones are made.
	clk.advance(time.Hour)
	s.New(Identity{Name: "last"})
	if n := s.len(); n != 1 {
		t.Errorf("%d sessions kept after the others expired, want 1", n)
	}
}
