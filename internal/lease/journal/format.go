package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"bootd/internal/lease"
)

// File format, shared by logs, snapshots and backups:
//
//	header  8 bytes: "BDLJ", format version (1), three zero bytes
//	record  4 bytes payload length n (big-endian)
//	        4 bytes CRC-32C of the length bytes and the payload
//	        n bytes payload: opPut + encoded lease, or opDelete + 4-byte address
//
// A snapshot holds only opPut records, one per live lease.

var fileMagic = [headerSize]byte{'B', 'D', 'L', 'J', 1, 0, 0, 0}

const (
	headerSize  = 8
	frameSize   = 8 // length + CRC
	opPut       = 1
	opDelete    = 2
	maxPayload  = 1 + lease.MaxEncodedLen
	deleteSize  = frameSize + 1 + 4
	minPutBytes = frameSize + 1 // and a lease encoding
)

// maxSyncBytes bounds what the writer appends between two fdatasyncs. A
// crash can only damage bytes written after the last completed fdatasync, so
// damage that starts more than maxSyncBytes before the end of the last log
// cannot be a torn write: it is reported as corruption.
const maxSyncBytes = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealRecord fills in the length and checksum of rec, a record whose
// payload follows frameSize reserved bytes.
func sealRecord(rec []byte) {
	n := len(rec) - frameSize
	binary.BigEndian.PutUint32(rec[0:4], uint32(n))
	crc := crc32.Update(0, castagnoli, rec[0:4])
	crc = crc32.Update(crc, castagnoli, rec[frameSize:])
	binary.BigEndian.PutUint32(rec[4:8], crc)
}

// appendPut appends a framed opPut record for the encoded lease enc.
func appendPut(b []byte, enc []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, opPut)
	b = append(b, enc...)
	sealRecord(b[start:])
	return b
}

// errBadRecord marks a record that fails its length or checksum check, or
// the end of the file inside a record: the place a torn write would leave.
var errBadRecord = errors.New("bad record")

// reader reads records from a log or snapshot.
type reader struct {
	r     *bufio.Reader
	off   int64 // offset of the next record
	buf   []byte
	frame [frameSize]byte // here, not on the stack: io.ReadFull would move it to the heap every call
}

func newReader(r io.Reader) *reader {
	return &reader{r: bufio.NewReaderSize(r, 1<<20), buf: make([]byte, 0, 512)}
}

// readHeader checks the file header. A file shorter than the header gives
// io.ErrUnexpectedEOF (or io.EOF when empty).
func (rd *reader) readHeader() error {
	var h [headerSize]byte
	n, err := io.ReadFull(rd.r, h[:])
	rd.off += int64(n)
	if err != nil {
		return err
	}
	if h != fileMagic {
		return fmt.Errorf("file header %q: %w", h[:], lease.ErrCorrupt)
	}
	return nil
}

// next returns the payload of the next record, valid until the next call;
// io.EOF at a clean end, errBadRecord (wrapped) for a damaged or cut record.
func (rd *reader) next() ([]byte, error) {
	f := rd.frame[:]
	n, err := io.ReadFull(rd.r, f)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("record at %d: cut after %d bytes: %w", rd.off, n, errBadRecord)
	}
	if err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(f[0:4])
	if size == 0 || size > maxPayload {
		return nil, fmt.Errorf("record at %d: length %d: %w", rd.off, size, errBadRecord)
	}
	if cap(rd.buf) < int(size) {
		rd.buf = make([]byte, size)
	}
	rd.buf = rd.buf[:size]
	if n, err := io.ReadFull(rd.r, rd.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("record at %d: cut after %d of %d bytes: %w", rd.off, n, size, errBadRecord)
		}
		return nil, err
	}
	crc := crc32.Update(0, castagnoli, f[0:4])
	crc = crc32.Update(crc, castagnoli, rd.buf)
	if crc != binary.BigEndian.Uint32(f[4:8]) {
		return nil, fmt.Errorf("record at %d: checksum mismatch: %w", rd.off, errBadRecord)
	}
	rd.off += frameSize + int64(size)
	return rd.buf, nil
}
