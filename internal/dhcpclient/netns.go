package dhcpclient

import "bootd/internal/netns"

// NamespacePath is where `ip netns add NAME` mounts a named network namespace.
func NamespacePath(name string) string { return netns.Path(name) }

// InNamespace runs fn inside the network namespace at path (netns.Do):
// open the client there, use it from anywhere.
func InNamespace(path string, fn func() error) error { return netns.Do(path, fn) }
