// Package api is bootd's HTTP API (docs/api.md, openapi.json): leases,
// reservations, pools, status, configuration and backups of a running
// server, a stream of its latest exchanges, its metrics and the web
// dashboard, all on one http.ServeMux.
//
// The same API serves two listeners. On the control socket (a Unix
// socket, mode 0600, in the lease store directory) every caller is the
// local administrator, named by its uid: that is how the CLI reaches a
// running server. On the TCP listener (the api section of the
// configuration) every request but the dashboard's files, the login and
// the OpenAPI document needs a token or a session made from one
// (internal/api/auth); the read-only role reads, the admin role changes.
// The listener refuses an address beyond loopback without TLS.
//
// Changes to reservations go through the configuration: the new set is
// written into the reservations file's text, checked by the configuration
// parser with the running configuration, refused when its address is held
// by another client, written to disk atomically, then swapped in with
// Backend.Reload. Reloads and reservation changes are serialized, so no
// change is lost to another. Every change is appended to the audit log.
//
// Errors are JSON, {"error": ...} (with "problems" for configuration
// errors), with a 4xx status for the caller's mistakes; a request that
// fails changes nothing.
package api
