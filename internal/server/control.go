package server

// ControlSocket is the name of the control socket in the lease store
// directory: a Unix socket, mode 0600, on which bootd serve answers its
// API (internal/api) for local callers, so that `bootd leases`, `bootd
// backup`, `bootd reservations` and the rest reach a running server (the
// store itself is locked by it).
const ControlSocket = "control.sock"
