// Package boltstore keeps leases in a bbolt file, leases.db, inside a
// directory: one bucket keyed by the 4-byte IPv4 address, each value a
// lease in the lease package's versioned binary encoding.
//
// Writes go through one goroutine that applies every Put and Delete waiting
// at that moment in a single bbolt transaction (one commit, so one round of
// fsyncs, for many clients); each caller still gets its own result. Reads
// (Get, Load) run in read transactions and copy out of the mmap.
//
// Sharp edges: bbolt holds an exclusive flock on the file while open; a
// second Open waits Options.Timeout and then fails with lease.ErrLocked.
// A long Backup or Load holds a read transaction, which blocks the file from
// growing (remapping) until it ends, so writes that need more space wait.
// A Put or Delete that returns an error other than a validation error may
// or may not have been committed.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"bootd/internal/lease"
)

// FileName is the name of the database file inside the store's directory.
// A file written by Backup opens as a store when saved under this name.
const FileName = "leases.db"

var bucketName = []byte("leases")

// Options tune a store. The zero value is usable.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file before failing with lease.ErrLocked. Zero means 1s.
	LockTimeout time.Duration
	// MaxBatch bounds how many changes share one commit. Zero means 1024.
	MaxBatch int
}

// Store is a lease.Store over bbolt.
type Store struct {
	db       *bolt.DB
	maxBatch int

	reqs    chan *request
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the writer has exited
	closed  atomic.Bool
	once    sync.Once

	commits atomic.Uint64
	changes atomic.Uint64
}

type request struct {
	key  [4]byte
	val  []byte // nil for a delete
	done chan error
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan error, 1)} }}

// Open opens or creates the store in dir. Waiting for the file lock is
// bounded by Options.LockTimeout, not by ctx.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("lease store %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, lease.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{
		db:       db,
		maxBatch: opts.MaxBatch,
		reqs:     make(chan *request),
		quit:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// Stats counts the commits and the changes they carried since Open.
type Stats struct {
	Commits, Changes uint64
}

// Stats returns the commit counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Changes: s.changes.Load()}
}

// Put records l durably.
func (s *Store) Put(ctx context.Context, l *lease.Lease) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	r := requestPool.Get().(*request)
	val, err := lease.AppendBinary(r.val[:0], l)
	if err != nil {
		requestPool.Put(r)
		return err
	}
	r.key, r.val = l.Addr.As4(), val
	return s.submit(ctx, r)
}

// Delete removes the lease of addr.
func (s *Store) Delete(ctx context.Context, addr netip.Addr) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !addr.Is4() {
		return nil // no such lease can exist
	}
	r := requestPool.Get().(*request)
	r.key, r.val = addr.As4(), nil
	return s.submit(ctx, r)
}

// closedErr maps bbolt's error for a closed database, seen when Close ran
// after check, to lease.ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", lease.ErrClosed, err)
	}
	return err
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return lease.ErrClosed
	}
	return ctx.Err()
}

// submit hands r to the writer and waits for its commit.
func (s *Store) submit(ctx context.Context, r *request) error {
	select {
	case s.reqs <- r:
	case <-s.quit:
		requestPool.Put(r)
		return lease.ErrClosed
	case <-ctx.Done():
		requestPool.Put(r)
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		requestPool.Put(r)
		return err
	case <-ctx.Done():
		// The writer owns r now; it is not reused. The change may still commit.
		return fmt.Errorf("waiting for commit: %w", ctx.Err())
	}
}

// writer commits batches until Close.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.maxBatch)
	for {
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		case <-s.quit:
			return
		}
		// Let the callers just answered queue their next change, so it
		// joins this commit rather than waiting a whole one.
		runtime.Gosched()
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketName)
			for _, r := range batch {
				var err error
				if r.val == nil {
					err = b.Delete(r.key[:])
				} else {
					err = b.Put(r.key[:], r.val)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			err = fmt.Errorf("commit of %d changes: %w", len(batch), err)
		}
		s.commits.Add(1)
		s.changes.Add(uint64(len(batch)))
		for i, r := range batch {
			r.done <- err
			batch[i] = nil
		}
	}
}

// Get returns the lease of addr.
func (s *Store) Get(ctx context.Context, addr netip.Addr) (lease.Lease, error) {
	var l lease.Lease
	if err := s.check(ctx); err != nil {
		return l, err
	}
	if !addr.Is4() {
		return l, fmt.Errorf("lease %v: %w", addr, lease.ErrNotFound)
	}
	key := addr.As4()
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketName).Get(key[:])
		if v == nil {
			return fmt.Errorf("lease %v: %w", addr, lease.ErrNotFound)
		}
		return lease.UnmarshalBinary(v, &l) // copies out of the mmap
	})
	return l, closedErr(err)
}

// Load calls fn for every lease, in address order, inside one read
// transaction: fn must not wait for a Put or Delete on the same store, which
// may need that transaction to end (bbolt cannot grow its mmap under it).
func (s *Store) Load(ctx context.Context, fn func(*lease.Lease) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return closedErr(s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketName).Cursor()
		var l lease.Lease
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := lease.UnmarshalBinary(v, &l); err != nil {
				return fmt.Errorf("key %x: %w", k, err)
			}
			if err := fn(&l); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Backup writes a consistent copy of the database file to w.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return closedErr(s.db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(ctxWriter{ctx, w})
		return err
	}))
}

// ctxWriter stops a long copy when ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Close waits for the commit in progress, then closes the file. Puts still
// waiting get lease.ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
		<-s.stopped
		err = s.db.Close()
	})
	return err
}

var _ lease.Store = (*Store)(nil)
