// Package auth holds what the HTTP API needs to know who is calling and
// what they may do: API tokens kept as salted hashes in a token file
// (Tokens), roles (Role, Identity), a per-address limiter that slows down
// guessing (Limiter), the dashboard's login sessions (Sessions) and the
// append-only audit log of changes (Audit).
//
// A token is "bootd_" + id + "_" + secret: the id (16 hex digits) names the
// token in the file and in logs and is not secret; the secret (256 random
// bits, base64url) is shown once by "bootd token create" and never stored.
// The file keeps a random salt and SHA-256(salt || secret) per token.
//
// Invariants:
//   - the token file is written whole (temporary file, fsync, rename, fsync
//     of the directory) with mode 0600, so a reader sees the old file or
//     the new one, never a mix;
//   - Tokens.Verify re-reads the file whenever its size, modification time,
//     change time or inode differ from the last read, so tokens created or
//     revoked by another process take effect at the next request;
//   - a token file that cannot be read or parsed verifies nothing (Verify
//     fails closed) and Tokens.Err says why;
//   - Limiter and Sessions keep at most a fixed number of entries, dropping
//     the oldest, so a flood of addresses or logins cannot exhaust memory.
//
// Sharp edges: two processes changing the token file at the same moment
// (two "bootd token create" at once) may lose one change, as each writes
// the whole file; the server itself only reads it. Sessions live in memory
// and end when the server stops. Nothing here keeps a goroutine or a
// package-level variable: every value is independent, and clocks are
// passed in.
package auth
