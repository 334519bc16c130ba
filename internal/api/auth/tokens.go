package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Role is what a caller may do.
type Role string

// The roles: read-only may read (every GET but the backup), admin may do
// everything.
const (
	ReadOnly Role = "read-only"
	Admin    Role = "admin"
)

// ParseRole parses a role as written on the command line and in the token
// file.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case ReadOnly, Admin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: want %s or %s", s, ReadOnly, Admin)
}

// Allows reports whether a caller with role r may do what needs role need:
// admin allows everything, read-only allows read-only, and an unknown role
// allows nothing.
func (r Role) Allows(need Role) bool {
	switch r {
	case Admin:
		return true
	case ReadOnly:
		return need == ReadOnly
	}
	return false
}

// Identity is who makes a request.
type Identity struct {
	Name    string // token name, or "local:uid=N" for the control socket
	Role    Role
	TokenID string // "" for local
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID      string
	Name    string
	Role    Role
	Created time.Time
}

// ErrNoToken is returned (wrapped) by Tokens.Revoke for a name no token has.
var ErrNoToken = errors.New("no such token")

// Token layout and sizes.
const (
	tokenPrefix = "bootd_"
	idBytes     = 8  // the id, 16 hex digits: names the token, not secret
	secretBytes = 32 // 256 bits: guessing is hopeless, see hashSecret
	saltBytes   = 16
	idLen       = 2 * idBytes
	secretLen   = (secretBytes*8 + 5) / 6 // base64url without padding: 43
	tokenLen    = len(tokenPrefix) + idLen + 1 + secretLen
	maxNameLen  = 64
	fileVersion = 1
)

// record is one token in the file.
type record struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
	Salt    []byte    `json:"salt"` // saltBytes, base64 in JSON
	Hash    []byte    `json:"hash"` // SHA-256(salt || secret)
}

// tokenFile is the token file's content.
type tokenFile struct {
	Version int      `json:"version"`
	Tokens  []record `json:"tokens"`
}

// stamp identifies one version of the token file, as os.Stat sees it.
type stamp struct {
	exists       bool
	size         int64
	mtime, ctime int64 // nanoseconds
	dev, ino     uint64
}

func stampOf(fi os.FileInfo) stamp {
	s := stamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
		s.ctime = st.Ctim.Nano()
	}
	return s
}

// Tokens is the token file: JSON, mode 0600, written atomically. The
// server reads it (Verify, Valid); "bootd token" changes it (Create,
// Revoke). It is safe for concurrent use.
type Tokens struct {
	path string

	mu     sync.Mutex
	loaded bool
	stamp  stamp
	byID   map[string]record
	err    error // why the file as it is now cannot be used; nil when it can
}

// OpenTokens returns the token file at path. It reads nothing yet; a
// missing file holds no tokens.
func OpenTokens(path string) *Tokens {
	return &Tokens{path: path}
}

// Err reports why the token file cannot be used as it was last read (it
// cannot be read or parsed, so Verify fails), or nil.
func (t *Tokens) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// refresh re-reads the file when os.Stat shows it changed since the last
// read. Called with t.mu held. On error t.byID is empty: fail closed.
func (t *Tokens) refresh() {
	fi, err := os.Stat(t.path)
	var st stamp
	switch {
	case errors.Is(err, os.ErrNotExist):
		// No file: no tokens.
	case err != nil:
		t.loaded, t.byID, t.err = false, nil, fmt.Errorf("token file: %w", err)
		return
	default:
		st = stampOf(fi)
	}
	if t.loaded && st == t.stamp {
		return
	}
	f, err := readTokenFile(t.path)
	if err != nil {
		t.loaded, t.byID, t.err = false, nil, err
		return
	}
	t.byID = make(map[string]record, len(f.Tokens))
	for _, r := range f.Tokens {
		t.byID[r.ID] = r
	}
	// The stamp from before the read: if the file changed in between,
	// the next call sees a different stamp and reads again.
	t.loaded, t.stamp, t.err = true, st, nil
}

// readTokenFile reads and checks the token file; a missing file is an
// empty one.
func readTokenFile(path string) (*tokenFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &tokenFile{Version: fileVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	f, err := parseTokenFile(data)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return f, nil
}

func parseTokenFile(data []byte) (*tokenFile, error) {
	var f tokenFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, fileVersion)
	}
	ids := make(map[string]bool, len(f.Tokens))
	names := make(map[string]bool, len(f.Tokens))
	for i, r := range f.Tokens {
		switch {
		case !validID(r.ID):
			return nil, fmt.Errorf("token %d: bad id %q", i+1, r.ID)
		case ids[r.ID]:
			return nil, fmt.Errorf("token %d: id %s appears twice", i+1, r.ID)
		case checkName(r.Name) != nil:
			return nil, fmt.Errorf("token %d: %v", i+1, checkName(r.Name))
		case names[r.Name]:
			return nil, fmt.Errorf("token %d: name %q appears twice", i+1, r.Name)
		case r.Role != ReadOnly && r.Role != Admin:
			return nil, fmt.Errorf("token %d: unknown role %q", i+1, r.Role)
		case len(r.Salt) != saltBytes:
			return nil, fmt.Errorf("token %d: salt of %d bytes, want %d", i+1, len(r.Salt), saltBytes)
		case len(r.Hash) != sha256.Size:
			return nil, fmt.Errorf("token %d: hash of %d bytes, want %d", i+1, len(r.Hash), sha256.Size)
		}
		ids[r.ID], names[r.Name] = true, true
	}
	return &f, nil
}

// validID reports whether s is a token id as Create makes them: 16
// lower-case hex digits.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkName checks a token name: 1 to 64 of A-Z a-z 0-9 . _ @ -.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("token name %q: want 1 to %d characters", name, maxNameLen)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._@-", c)) {
			return fmt.Errorf("token name %q: %q is not allowed (letters, digits and . _ @ - are)", name, c)
		}
	}
	return nil
}

// hashSecret is SHA-256(salt || secret).
//
// A fast salted hash is right here, where passwords would need bcrypt or
// argon2: the secret is 256 random bits, not something a person chose, so
// there is no dictionary to try and 2^256 guesses stay out of reach however
// fast each one is. A slow hash would add nothing against guessing and
// would cost CPU on every API request (and make a flood of bad tokens an
// easy way to load the server). The salt keeps equal secrets from having
// equal hashes and rules out precomputed tables.
func hashSecret(salt, secret []byte) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write(secret)
	return h.Sum(nil)
}

// parseToken splits a token into its id and decoded secret. It checks the
// exact length first, so it does no work on arbitrary long input.
func parseToken(token string) (id string, secret []byte, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return "", nil, false
	}
	rest := token[len(tokenPrefix):]
	id, enc := rest[:idLen], rest[idLen:]
	if !validID(id) || enc[0] != '_' {
		return "", nil, false
	}
	// Strict: the unused low bits of the last character must be zero, so
	// each secret has exactly one spelling.
	secret, err := base64.RawURLEncoding.Strict().DecodeString(enc[1:])
	if err != nil || len(secret) != secretBytes {
		return "", nil, false
	}
	return id, secret, true
}

// Verify checks a token ("bootd_<id>_<secret>") against the file, read
// again first if it changed, and returns who it belongs to. A malformed,
// unknown or revoked token, or a token file that cannot be parsed, gives
// false.
func (t *Tokens) Verify(token string) (Identity, bool) {
	id, secret, ok := parseToken(token)
	if !ok {
		return Identity{}, false
	}
	t.mu.Lock()
	t.refresh()
	r, found := t.byID[id]
	t.mu.Unlock()
	if !found {
		// The id is not secret, so answering faster here leaks nothing.
		return Identity{}, false
	}
	if subtle.ConstantTimeCompare(hashSecret(r.Salt, secret), r.Hash) != 1 {
		return Identity{}, false
	}
	return Identity{Name: r.Name, Role: r.Role, TokenID: r.ID}, true
}

// Valid reports whether the token with this id still exists (the file is
// read again first if it changed). Sessions use it, so revoking a token
// also ends the sessions opened with it.
func (t *Tokens) Valid(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refresh()
	_, ok := t.byID[id]
	return ok
}

// List returns the tokens, sorted by name.
func (t *Tokens) List() ([]TokenInfo, error) {
	f, err := readTokenFile(t.path)
	if err != nil {
		return nil, err
	}
	list := make([]TokenInfo, 0, len(f.Tokens))
	for _, r := range f.Tokens {
		list = append(list, TokenInfo{ID: r.ID, Name: r.Name, Role: r.Role, Created: r.Created})
	}
	slices.SortFunc(list, func(a, b TokenInfo) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// Create adds a token with a new name and returns it. The returned token is
// the only copy of its secret: the file keeps a salt and a hash.
func (t *Tokens) Create(name string, role Role) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := readTokenFile(t.path)
	if err != nil {
		return "", err
	}
	ids := make(map[string]bool, len(f.Tokens))
	for _, r := range f.Tokens {
		if r.Name == name {
			return "", fmt.Errorf("a token named %q exists already", name)
		}
		ids[r.ID] = true
	}
	idRaw := make([]byte, idBytes)
	secret := make([]byte, secretBytes)
	salt := make([]byte, saltBytes)
	for {
		rand.Read(idRaw) // crypto/rand.Read never returns an error
		if !ids[hex.EncodeToString(idRaw)] {
			break
		}
	}
	rand.Read(secret)
	rand.Read(salt)
	r := record{
		ID:      hex.EncodeToString(idRaw),
		Name:    name,
		Role:    role,
		Created: time.Now().UTC().Truncate(time.Second),
		Salt:    salt,
		Hash:    hashSecret(salt, secret),
	}
	f.Tokens = append(f.Tokens, r)
	if err := t.write(f); err != nil {
		return "", err
	}
	return tokenPrefix + r.ID + "_" + base64.RawURLEncoding.EncodeToString(secret), nil
}

// Revoke deletes the token with this name. An unknown name gives an error
// wrapping ErrNoToken.
func (t *Tokens) Revoke(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := readTokenFile(t.path)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(f.Tokens, func(r record) bool { return r.Name == name })
	if i < 0 {
		return fmt.Errorf("token %q: %w", name, ErrNoToken)
	}
	f.Tokens = slices.Delete(f.Tokens, i, i+1)
	return t.write(f)
}

// write replaces the token file with f: a temporary file in the same
// directory (mode 0600), synced, renamed over the file, and the directory
// synced. Called with t.mu held; the next Verify reads the new file.
func (t *Tokens) write(f *tokenFile) error {
	f.Version = fileVersion
	if f.Tokens == nil {
		f.Tokens = []record{}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	dir := filepath.Dir(t.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := writeAtomic(t.path, data); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	t.loaded = false
	return nil
}

func writeAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // does nothing after the rename
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
