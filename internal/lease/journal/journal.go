// Package journal is bootd's purpose-built lease store: an append-only log
// of checksummed records with the current leases held in memory.
//
// Layout of the store directory:
//
//	LOCK                    flock(2)ed while a process has the store open
//	snap-<gen>              leases live at the start of generation gen
//	log-<gen>               changes made during generation gen, appended
//
// Every Put or Delete becomes one record (length, CRC-32C, payload) in the
// newest log. A single writer goroutine collects every change waiting at the
// moment, appends them with one write, calls fdatasync once, applies them to
// the in-memory map and only then answers each caller (group commit): a Put
// returns nil only once its record is on disk, and Get/Load see only such
// leases. If a write or fdatasync fails, the store refuses further changes
// (the kernel may have dropped the dirty pages, so the state of the file is
// unknown); reopen it.
//
// Logs grow by Options.PreallocBytes at a time, filled with zeros and
// fsynced before records go there, so an append changes no file metadata and
// its fdatasync writes data only; records end at the first all-zero frame.
//
// Open loads the newest snapshot and replays the logs of that generation
// and later. The writer never has more than maxSyncBytes (1 MiB) written
// but not synced, so a crash can only damage that much at the end of the
// newest log's records. A bad record (length out of range, checksum
// mismatch, cut short) whose non-zero bytes end within 1 MiB is a torn
// write: those bytes are overwritten with zeros, so that no stale record can
// line up again behind later appends, and the store opens normally
// (Stats.TornBytes says how many went). A bad record anywhere else, or in a
// snapshot, fails Open with lease.ErrCorrupt: the store does not silently
// drop acknowledged leases. Damage within the last 1 MiB of an otherwise
// good log cannot be told from a torn write.
//
// Compaction: when the records exceed both Options.CompactMinBytes and
// twice the size of a snapshot of the live leases, the writer starts
// generation gen+1 (a new preallocated log, fsynced with its directory),
// copies the index (4 bytes a lease; no lock needed as the writer is its only
// mutator) and goes on committing, while a background goroutine writes
// snap-<gen+1>.tmp, fsyncs it, renames it into place, fsyncs the directory
// and deletes the older generation. Puts wait only for the new log and the
// copy (tens of milliseconds at a million leases).
//
// Memory: the encoded leases (about 60 to 120 bytes each, and a length
// byte) sit in 1 MiB chunks, indexed by a hash table from address to a
// 32-bit reference (index.go): no pointer per lease, no allocation per
// lease, 12 bytes of index a lease. Chunks and index are mapped from the
// kernel, outside the Go heap, so that they do not raise the heap size at
// which the garbage collector next runs (arena.go); Close unmaps them, or
// the last reader still using chunks does. Readers go through the arena in
// order (refs sorted), not at random. Replaced leases leave garbage in the
// chunks; when it outweighs the live bytes, the writer repacks them (one
// pass under the write lock). References address 4 GiB of chunks; a change
// that would need more is refused before it is written.
//
// Load hands out leases that own their bytes; LoadShared, for the
// allocator's start-up, hands out leases that share a buffer and allocates
// nothing per lease. Neither hands out the store's own memory.
//
// A second Open of a directory in use fails at once with lease.ErrLocked.
// Backup writes a snapshot; saved as BackupName in an empty directory it
// opens as a store.
package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"bootd/internal/lease"
)

// BackupName is the file name under which Backup's output opens as a store.
const BackupName = "snap-0000000000000000"

const lockName = "LOCK"

func snapName(gen uint64) string { return fmt.Sprintf("snap-%016x", gen) }
func logName(gen uint64) string  { return fmt.Sprintf("log-%016x", gen) }

// Options tune a store. The zero value is usable.
type Options struct {
	// CompactMinBytes: no compaction while snapshot and logs total less.
	// Zero means 32 MiB.
	CompactMinBytes int64
	// MaxBatch bounds the changes in one commit. Zero means 4096.
	MaxBatch int
	// PreallocBytes is how much the log grows by at a time, filled with
	// zeros and synced ahead of the appends. Zero means 4 MiB.
	PreallocBytes int64
	// Logger receives compaction failures. Nil discards them.
	Logger *slog.Logger
}

// Stats counts what a store has done since Open.
type Stats struct {
	Commits     uint64 // fdatasyncs of the log
	Records     uint64 // changes committed
	Compactions uint64 // snapshots completed
	TornBytes   int64  // bytes cut from the end of the log at Open
}

// Store is a lease.Store kept in a directory.
type Store struct {
	dir      string
	opts     Options
	log      *slog.Logger
	lockFile *os.File

	mu     sync.RWMutex
	m      index // encoded lease in a, by address; only the writer changes them
	a      arena
	shut   bool         // m and a are gone (Close)
	mapped atomic.Int64 // arena chunks mapped, for tests

	// Owned by the writer goroutine (and by Open before it starts).
	f          *os.File // newest log
	fd         int
	gen        uint64
	logSize    int64 // where the records end
	allocSize  int64 // size of the log file, zeros after logSize
	diskBytes  int64 // snapshot + logs
	liveBytes  int64 // size of a snapshot of m, without the header
	compacting bool
	retryAt    int64 // no compaction below this after a failure
	repackMin  int64 // garbage bytes in the arena worth a repack
	failed     error

	reqs        chan *request
	sendMu      sync.RWMutex // enqueue read-locks it; shutdown locks it to drain reqs
	onCommit    atomic.Pointer[func()]
	quit        chan struct{}
	stopped     chan struct{}
	compactDone chan compactResult
	closed      atomic.Bool
	closeOnce   sync.Once
	closeErr    error

	commits, records, compactions atomic.Uint64
	tornBytes                     int64
}

type request struct {
	key  uint32
	rec  []byte // framed record
	done chan error
	cb   func(error) // PutAsync's done; nil for a waiting caller
}

// finish tells the request's submitter the outcome.
func (r *request) finish(err error) {
	if r.cb == nil {
		r.done <- err
		return
	}
	cb := r.cb
	r.cb = nil
	requestPool.Put(r)
	cb(err)
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan error, 1)} }}

// Open opens or creates the store in dir, replaying its files; ctx can
// cut the replay short.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.CompactMinBytes <= 0 {
		opts.CompactMinBytes = 32 << 20
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.PreallocBytes <= 0 {
		opts.PreallocBytes = defaultPrealloc
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("lease journal %s: %w", dir, err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lease journal %s: %w", dir, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lease journal %s: %w", dir, lease.ErrLocked)
		}
		return nil, fmt.Errorf("lock lease journal %s: %w", dir, err)
	}
	s := &Store{
		dir:         dir,
		opts:        opts,
		log:         logger.With("lease_journal", dir),
		lockFile:    lf,
		reqs:        make(chan *request, opts.MaxBatch),
		quit:        make(chan struct{}),
		stopped:     make(chan struct{}),
		compactDone: make(chan compactResult, 1),
		repackMin:   16 << 20,
	}
	s.a.mapped = &s.mapped
	if err := s.recover(ctx); err != nil {
		s.a.retire()
		s.m.free()
		if s.f != nil {
			s.f.Close()
		}
		lf.Close()
		return nil, fmt.Errorf("lease journal %s: %w", dir, err)
	}
	go s.writer()
	return s, nil
}

// recover loads the newest snapshot and replays the logs after it.
func (s *Store) recover(ctx context.Context) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var snaps, logs []uint64
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(s.dir, name)) // an interrupted snapshot
			continue
		}
		prefix, hex, ok := strings.Cut(name, "-")
		if !ok || len(hex) != 16 {
			continue
		}
		gen, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		switch prefix {
		case "snap":
			snaps = append(snaps, gen)
		case "log":
			logs = append(logs, gen)
		}
	}
	slices.Sort(logs)
	// Size the index for the leases the files can hold, within reason.
	var total int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			total += info.Size()
		}
	}
	s.m.reserve(int(min(total/80, 4<<20)))
	var base uint64
	if len(snaps) > 0 {
		base = slices.Max(snaps)
		n, err := s.replay(ctx, snapName(base), false)
		if err != nil {
			return err
		}
		s.diskBytes += n
	}
	// Files older than the snapshot are left over from a compaction that
	// ended before it could delete them.
	for _, g := range snaps {
		if g < base {
			os.Remove(filepath.Join(s.dir, snapName(g)))
		}
	}
	logs = slices.DeleteFunc(logs, func(g uint64) bool {
		if g < base {
			os.Remove(filepath.Join(s.dir, logName(g)))
			return true
		}
		return false
	})
	if len(logs) == 0 {
		return s.startLog(base)
	}
	for i, g := range logs {
		n, err := s.replay(ctx, logName(g), i == len(logs)-1)
		if err != nil {
			return err
		}
		s.diskBytes += n
	}
	s.gen = logs[len(logs)-1]
	return nil
}

// replay applies the records of a file to s.m and returns where its
// records end. Logs are preallocated with zeros, so records end at the first
// all-zero frame, or at a bad record followed by nothing but zeros. For the
// newest log (last), a bad record whose non-zero bytes end within
// maxSyncBytes is a torn write: those bytes are zeroed (so that no stale
// record can reappear after later appends) and the file stays open as s.f.
func (s *Store) replay(ctx context.Context, name string, last bool) (int64, error) {
	path := filepath.Join(s.dir, name)
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return 0, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	rd := newReader(f)
	dataEnd := int64(-1) // where the records end
	junkEnd := int64(0)  // end of the torn bytes after dataEnd, if any
	if err := rd.readHeader(); err != nil {
		// A log that never got its header synced holds no acknowledged
		// record: at most a partial header, then zeros.
		nz, zerr := nonZeroEnd(f, headerSize, size)
		if zerr != nil {
			return 0, fmt.Errorf("%s: %w", name, zerr)
		}
		if !last || nz > headerSize {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("%d bytes, no header: %w", size, lease.ErrCorrupt)
			}
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		dataEnd, junkEnd = 0, min(size, headerSize)
	}
	for i := 0; dataEnd < 0; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		p, err := rd.next()
		if err == io.EOF {
			dataEnd = rd.off
			break
		}
		if errors.Is(err, errBadRecord) {
			nz, zerr := nonZeroEnd(f, rd.off, size)
			if zerr != nil {
				return 0, fmt.Errorf("%s: %w", name, zerr)
			}
			switch {
			case nz == rd.off: // preallocated zeros: the clean end
				dataEnd = rd.off
			case last && nz-rd.off <= maxSyncBytes:
				dataEnd, junkEnd = rd.off, nz
			default:
				return 0, fmt.Errorf("%s: %w: %w", name, lease.ErrCorrupt, err)
			}
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if !s.a.room(len(p)) {
			s.repack()
			if !s.a.room(len(p)) {
				return 0, fmt.Errorf("%s: record at %d: %w", name, rd.off, errArenaFull)
			}
		}
		if err := s.applyPayload(p); err != nil {
			return 0, fmt.Errorf("%s: record at %d: %w", name, rd.off, err)
		}
	}
	if !last {
		return dataEnd, nil
	}
	if junkEnd > dataEnd {
		s.tornBytes += junkEnd - dataEnd
		s.log.Warn("cleared a torn write at the end of the lease log", "file", name, "offset", dataEnd, "bytes", junkEnd-dataEnd)
		if _, err := f.WriteAt(make([]byte, junkEnd-dataEnd), dataEnd); err != nil {
			return 0, fmt.Errorf("clear torn write in %s: %w", name, err)
		}
	}
	if dataEnd == 0 {
		if _, err := f.WriteAt(fileMagic[:], 0); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		dataEnd = headerSize
	}
	if junkEnd > 0 {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("sync %s: %w", name, err)
		}
	}
	keep = true
	s.f, s.fd, s.logSize, s.allocSize = f, int(f.Fd()), dataEnd, max(size, dataEnd)
	return dataEnd, nil
}

// nonZeroEnd returns the offset just past the last non-zero byte of f in
// [from, size), or from if there is none.
func nonZeroEnd(f *os.File, from, size int64) (int64, error) {
	end := from
	buf := make([]byte, 1<<20)
	for off := from; off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		for i := n - 1; i >= 0; i-- {
			if buf[i] != 0 {
				end = off + int64(i) + 1
				break
			}
		}
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return end, nil
}

// applyPayload applies one record's payload to s.m; the caller holds s.mu
// or is alone, and has checked that the arena has room for it.
func (s *Store) applyPayload(p []byte) error {
	switch {
	case len(p) > 1 && p[0] == opPut:
		a, err := lease.EncodedAddr(p[1:])
		if err != nil {
			return err
		}
		s.set(key(a.As4()), p[1:])
	case len(p) == 5 && p[0] == opDelete:
		s.del(key([4]byte(p[1:5])))
	default:
		return fmt.Errorf("unknown record type %d, %d bytes: %w", p[0], len(p), lease.ErrCorrupt)
	}
	return nil
}

func key(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

func (s *Store) set(k uint32, enc []byte) {
	if old, ok := s.m.set(k, s.a.add(enc)); ok {
		s.liveBytes -= int64(minPutBytes + s.a.drop(old))
	}
	s.liveBytes += int64(minPutBytes + len(enc))
}

func (s *Store) del(k uint32) {
	if old, ok := s.m.del(k); ok {
		s.liveBytes -= int64(minPutBytes + s.a.drop(old))
	}
}

// maybeRepack rebuilds the arena without its garbage once that outweighs
// the live bytes (and 16 MiB). It holds the write lock for one pass over the
// index, so it is rare: a renewal of every lease makes one round of garbage.
func (s *Store) maybeRepack() {
	if s.a.gone < s.repackMin || s.a.gone < s.a.live {
		return
	}
	s.repack()
}

func (s *Store) repack() {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.a
	s.a = arena{mapped: &s.mapped}
	s.m.remap(func(r ref) ref { return s.a.add(get(old.chunks, r)) })
	old.retire() // views still reading the old chunks keep them mapped
}

// startLog creates log-<gen> with its header and preallocated zeros, synced
// along with the directory, and makes it the log appended to.
func (s *Store) startLog(gen uint64) error {
	name := logName(gen)
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(fileMagic[:], 0)
	if err == nil {
		err = writeZeros(f, headerSize, headerSize+s.opts.PreallocBytes)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("start %s: %w", name, err)
	}
	if s.f != nil {
		s.f.Close() // fully synced by now
	}
	s.f, s.fd, s.gen, s.logSize, s.allocSize = f, int(f.Fd()), gen, headerSize, headerSize+s.opts.PreallocBytes
	s.diskBytes += headerSize
	return nil
}

// defaultPrealloc is how much a log grows by at a time. The writer fills new
// space with zeros and fsyncs it before appending there, so an append then
// changes no file metadata and its fdatasync writes only data: on the disks
// measured that nearly doubles the syncs per second of appending.
const defaultPrealloc = 4 << 20

var zeroBlock [64 << 10]byte

// writeZeros fills [from, to) of f with zeros.
func writeZeros(f *os.File, from, to int64) error {
	for off := from; off < to; {
		n, err := f.WriteAt(zeroBlock[:min(int64(len(zeroBlock)), to-off)], off)
		if err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

// grow makes room for n more bytes of records in the log.
func (s *Store) grow(n int) error {
	if s.logSize+int64(n) <= s.allocSize {
		return nil
	}
	to := s.logSize + int64(n) + s.opts.PreallocBytes
	if err := writeZeros(s.f, s.allocSize, to); err != nil {
		return fmt.Errorf("preallocate lease journal: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		// The zeros may be lost, which is harmless: new blocks read as zeros.
		return fmt.Errorf("preallocate lease journal: %w", err)
	}
	s.allocSize = to
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:     s.commits.Load(),
		Records:     s.records.Load(),
		Compactions: s.compactions.Load(),
		TornBytes:   s.tornBytes,
	}
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return lease.ErrClosed
	}
	return ctx.Err()
}

// Put records l durably.
func (s *Store) Put(ctx context.Context, l *lease.Lease) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	r, err := putRequest(l)
	if err != nil {
		return err
	}
	return s.submit(ctx, r)
}

// PutAsync is Put without the wait. It encodes l before it returns (l is
// the caller's again) and queues the change; done is called once, from the
// store's writer goroutine, with the outcome: nil once the commit carrying
// the lease is synced. When PutAsync returns an error, done is not called.
// done must be quick and must not call the store. PutAsync blocks only
// while the queue of changes is full.
func (s *Store) PutAsync(l *lease.Lease, done func(error)) error {
	if s.closed.Load() {
		return lease.ErrClosed
	}
	r, err := putRequest(l)
	if err != nil {
		return err
	}
	r.cb = done
	if err := s.enqueue(context.Background(), r); err != nil {
		r.cb = nil
		requestPool.Put(r)
		return err
	}
	return nil
}

// OnCommit sets fn to be called on the store's writer goroutine after each
// commit, once the PutAsync callbacks of the changes it carried have run
// (and after those failed at Close). A caller whose callbacks queue work
// can do it there, a commit at a time, without waking another goroutine.
// nil removes it.
func (s *Store) OnCommit(fn func()) {
	if fn == nil {
		s.onCommit.Store(nil)
		return
	}
	s.onCommit.Store(&fn)
}

func (s *Store) afterCallbacks() {
	if fn := s.onCommit.Load(); fn != nil {
		(*fn)()
	}
}

// putRequest encodes l as a framed put record.
func putRequest(l *lease.Lease) (*request, error) {
	r := requestPool.Get().(*request)
	rec := append(r.rec[:0], 0, 0, 0, 0, 0, 0, 0, 0, opPut)
	rec, err := lease.AppendBinary(rec, l)
	if err != nil {
		r.rec = rec[:0]
		requestPool.Put(r)
		return nil, err
	}
	sealRecord(rec)
	r.key, r.rec = key(l.Addr.As4()), rec
	return r, nil
}

// Delete removes the lease of addr.
func (s *Store) Delete(ctx context.Context, addr netip.Addr) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !addr.Is4() {
		return nil // no such lease can exist
	}
	a := addr.As4()
	r := requestPool.Get().(*request)
	rec := append(r.rec[:0], 0, 0, 0, 0, 0, 0, 0, 0, opDelete, a[0], a[1], a[2], a[3])
	sealRecord(rec)
	r.key, r.rec = key(a), rec
	return s.submit(ctx, r)
}

// submit hands r to the writer and waits for its commit. If ctx ends while
// waiting, the change may still be committed.
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := s.enqueue(ctx, r); err != nil {
		requestPool.Put(r)
		return err
	}
	select {
	case err := <-r.done:
		requestPool.Put(r)
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for commit: %w", ctx.Err()) // r stays with the writer
	}
}

// enqueue queues r for the writer. Once it returns nil, the writer will
// finish r: with its commit's outcome, or with ErrClosed at shutdown (the
// writer drains the queue under sendMu, so nothing queued is forgotten).
func (s *Store) enqueue(ctx context.Context, r *request) error {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.closed.Load() {
		return lease.ErrClosed
	}
	select {
	case s.reqs <- r:
		return nil
	case <-s.quit:
		return lease.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer commits batches of changes until Close.
func (s *Store) writer() {
	defer close(s.stopped)
	buf := make([]byte, 0, maxSyncBytes)
	batch := make([]*request, 0, s.opts.MaxBatch)
	var carry *request // did not fit the last batch
	for {
		r := carry
		carry = nil
		if r == nil {
			select {
			case r = <-s.reqs:
			case res := <-s.compactDone:
				s.endCompaction(res)
				continue
			case <-s.quit:
				s.shutdown()
				return
			}
		}
		buf = append(buf[:0], r.rec...)
		batch = append(batch[:0], r)
		// Let the callers just answered queue their next change, so it
		// joins this commit rather than waiting a whole fdatasync.
		runtime.Gosched()
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				if len(buf)+len(r.rec) > maxSyncBytes {
					carry = r
					break fill
				}
				buf = append(buf, r.rec...)
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if !s.a.room(len(buf)) {
			s.repack()
		}
		var err error
		if s.a.room(len(buf)) {
			err = s.commit(buf, len(batch))
		} else {
			err = errArenaFull // nothing written: the store stays usable
		}
		if err == nil {
			s.mu.Lock()
			for _, r := range batch {
				if r.rec[frameSize] == opPut {
					s.set(r.key, r.rec[frameSize+1:])
				} else {
					s.del(r.key)
				}
			}
			s.mu.Unlock()
			s.maybeRepack()
		}
		for i, r := range batch {
			r.finish(err)
			batch[i] = nil
		}
		s.afterCallbacks()
		s.maybeCompact()
	}
}

// commit appends buf to the log and syncs it.
func (s *Store) commit(buf []byte, n int) error {
	if s.failed != nil {
		return fmt.Errorf("lease journal unusable after an earlier failure, reopen it: %w", s.failed)
	}
	if err := s.grow(len(buf)); err != nil {
		return err // nothing written: the store stays usable
	}
	if _, err := s.f.WriteAt(buf, s.logSize); err != nil {
		s.failed = err
		return fmt.Errorf("append to lease journal: %w", err)
	}
	if err := syscall.Fdatasync(s.fd); err != nil {
		s.failed = err
		return fmt.Errorf("sync lease journal: %w", err)
	}
	s.logSize += int64(len(buf))
	s.diskBytes += int64(len(buf))
	s.commits.Add(1)
	s.records.Add(uint64(n))
	return nil
}

// shutdown ends the writer: it lets a running compaction stop, then closes
// the log.
func (s *Store) shutdown() {
	s.sendMu.Lock()
	for drained := false; !drained; {
		select {
		case r := <-s.reqs:
			r.finish(lease.ErrClosed)
		default:
			drained = true
		}
	}
	s.afterCallbacks()
	s.sendMu.Unlock()
	if s.compacting {
		s.endCompaction(<-s.compactDone)
	}
	s.closeErr = s.f.Close()
	s.mu.Lock()
	s.a.retire()
	s.m.free()
	s.shut = true
	s.mu.Unlock()
}

type compactResult struct {
	gen  uint64
	size int64
	err  error
}

func (s *Store) maybeCompact() {
	if s.compacting || s.failed != nil || s.diskBytes < s.opts.CompactMinBytes || s.diskBytes < s.retryAt ||
		s.diskBytes <= 2*(s.liveBytes+headerSize) {
		return
	}
	gen := s.gen + 1
	if err := s.startLog(gen); err != nil {
		s.log.Error("lease journal compaction", "err", err)
		s.retryAt = 2 * s.diskBytes
		return
	}
	vals := view{chunks: s.a.chunks, list: s.a.list.acquire(), refs: s.m.appendRefs(make([]ref, 0, s.m.len()))}
	s.compacting = true
	go func() {
		sortRefs(vals.refs, make([]ref, len(vals.refs))) // read the arena in order
		size, err := s.writeSnapshot(gen, vals)
		vals.release()
		s.compactDone <- compactResult{gen, size, err}
	}()
}

func (s *Store) endCompaction(res compactResult) {
	s.compacting = false
	if res.err != nil {
		if !errors.Is(res.err, lease.ErrClosed) {
			s.log.Error("lease journal compaction", "gen", res.gen, "err", res.err)
		}
		s.retryAt = 2 * s.diskBytes
		return
	}
	s.diskBytes = res.size + s.logSize
	s.compactions.Add(1)
}

// writeSnapshot writes snap-<gen> from vals, then deletes the generations
// before gen. It runs beside the writer and touches no writer state.
func (s *Store) writeSnapshot(gen uint64, vals view) (int64, error) {
	final := filepath.Join(s.dir, snapName(gen))
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	size, err := writeSnapshotTo(f, vals, func() error {
		select {
		case <-s.quit:
			return lease.ErrClosed
		default:
			return nil
		}
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("snapshot %d: %w", gen, err)
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return size, nil // the old files go at the next Open
	}
	for _, e := range ents {
		prefix, hex, _ := strings.Cut(e.Name(), "-")
		if g, err := strconv.ParseUint(hex, 16, 64); err == nil && len(hex) == 16 && g < gen && (prefix == "snap" || prefix == "log") {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
	return size, nil
}

// writeSnapshotTo writes the header and one opPut record per encoded lease,
// calling stop now and then to learn whether to give up.
func writeSnapshotTo(w io.Writer, vals view, stop func() error) (int64, error) {
	buf := make([]byte, 0, 1<<20)
	buf = append(buf, fileMagic[:]...)
	var n int64
	for i, r := range vals.refs {
		v := get(vals.chunks, r)
		if i%4096 == 0 {
			if err := stop(); err != nil {
				return n, err
			}
		}
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, opPut)
		buf = append(buf, v...)
		sealRecord(buf[start:])
		if len(buf) >= 1<<20-maxPayload-frameSize {
			m, err := w.Write(buf)
			n += int64(m)
			if err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	m, err := w.Write(buf)
	return n + int64(m), err
}

// view is a stable copy of the index: arena bytes never change, so refs
// with the chunk list of their time can be read without the lock, until
// release.
type view struct {
	chunks []*[chunkSize]byte
	list   *chunkList // keeps chunks mapped
	refs   []ref
}

func (v view) release() { v.list.release() }

// values returns a view of the current leases, in the order of the arena
// (the order they were added), so that reading them goes through memory
// once, not at random. The caller releases it.
func (s *Store) values() view {
	s.mu.RLock()
	v := view{chunks: s.a.chunks, list: s.a.list.acquire(), refs: s.m.appendRefs(make([]ref, 0, s.m.len()))}
	s.mu.RUnlock()
	sortRefs(v.refs, make([]ref, len(v.refs)))
	return v
}

// Len returns the number of leases in the store.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m.len()
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
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.shut {
		return l, lease.ErrClosed // closed since the check
	}
	r, ok := s.m.get(key(addr.As4()))
	if !ok {
		return l, fmt.Errorf("lease %v: %w", addr, lease.ErrNotFound)
	}
	err := lease.UnmarshalBinary(get(s.a.chunks, r), &l)
	return l, err
}

// Load calls fn for every lease, from a copy taken when Load starts; fn may
// use the store.
func (s *Store) Load(ctx context.Context, fn func(*lease.Lease) error) error {
	return s.load(ctx, lease.UnmarshalBinary, fn)
}

// LoadShared is Load for callers that copy what they keep of a lease: the
// lease given to fn, and its slices and Hostname, are only valid during
// the call, as they share a buffer that the next lease overwrites, and
// must not be changed. It allocates nothing per lease, which is what a
// server loading a million leases at start-up wants.
func (s *Store) LoadShared(ctx context.Context, fn func(*lease.Lease) error) error {
	var buf []byte
	return s.load(ctx, func(b []byte, l *lease.Lease) error {
		// A copy: the arena's own memory is never handed out, so that
		// nothing outside can keep it mapped or read it once unmapped.
		buf = append(buf[:0], b...)
		return lease.UnmarshalBinaryShared(buf, l)
	}, fn)
}

func (s *Store) load(ctx context.Context, decode func([]byte, *lease.Lease) error, fn func(*lease.Lease) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var l lease.Lease
	vals := s.values()
	defer vals.release()
	for _, r := range vals.refs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := decode(get(vals.chunks, r), &l); err != nil {
			return err
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	return nil
}

// Backup writes a snapshot of the leases committed when it starts.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	vals := s.values()
	defer vals.release()
	_, err := writeSnapshotTo(w, vals, ctx.Err)
	return err
}

// Close waits for the commit in progress, stops a running compaction,
// closes the files and releases the directory. Changes still waiting get
// lease.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.quit)
		<-s.stopped
		if err := s.lockFile.Close(); s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}

var _ lease.Store = (*Store)(nil)
