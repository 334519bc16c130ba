// Package netns runs code inside a Linux network namespace: the demo's and
// the tests' servers and clients live in namespaces of their own, and a
// server told its namespace looks its interfaces up there at reload.
package netns

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Path is where `ip netns add NAME` mounts a named network namespace.
func Path(name string) string { return "/var/run/netns/" + name }

// Do runs fn on an OS thread switched into the network namespace at path
// (see Path) and returns its error. Sockets opened by fn stay in that
// namespace for their whole life and may be used from any goroutine
// afterwards. fn must not start goroutines that expect to be in the
// namespace.
//
// The thread is never unlocked: having left the process's namespace, it
// exits with its goroutine rather than going back to the scheduler's pool.
func Do(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("network namespace %s: %w", path, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
