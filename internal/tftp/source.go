package tftp

import (
	"io"
)

// netasciiBufSize is the read buffer of a netascii conversion.
const netasciiBufSize = 4096

// source yields a file's bytes in transfer form, sequentially: fill fills
// all of dst unless the content ends first, so a short fill is the last.
type source interface {
	fill(dst []byte) (int, error)
}

func newSource(r io.ReaderAt, netascii bool) source {
	if netascii {
		return &netasciiSource{r: r, buf: make([]byte, netasciiBufSize)}
	}
	return &octetSource{r: r}
}

// octetSource reads the file as it is, with ReadAt into the caller's buffer.
type octetSource struct {
	r   io.ReaderAt
	off int64
}

func (s *octetSource) fill(dst []byte) (int, error) {
	n, err := s.r.ReadAt(dst, s.off)
	s.off += int64(n)
	if err == io.EOF || n == len(dst) {
		return n, nil
	}
	return n, err
}

// netasciiSource converts to netascii on the fly (RFC 764, as RFC 1350 asks):
// LF becomes CR LF and CR becomes CR NUL. Other bytes pass unchanged.
type netasciiSource struct {
	r       io.ReaderAt
	off     int64
	buf     []byte
	b       []byte // unconverted bytes of buf
	eof     bool
	pending int // 1 + the byte owed after a CR (LF or NUL); 0 when none
}

func (s *netasciiSource) fill(dst []byte) (int, error) {
	i := 0
	for i < len(dst) {
		if s.pending != 0 {
			dst[i] = byte(s.pending - 1)
			s.pending = 0
			i++
			continue
		}
		if len(s.b) == 0 {
			if s.eof {
				break
			}
			n, err := s.r.ReadAt(s.buf, s.off)
			s.off += int64(n)
			s.b = s.buf[:n]
			switch {
			case err == io.EOF:
				s.eof = true
			case err != nil:
				return i, err
			case n == 0:
				return i, io.ErrNoProgress
			}
			continue
		}
		c := s.b[0]
		s.b = s.b[1:]
		switch c {
		case '\n':
			dst[i], s.pending = '\r', '\n'+1
		case '\r':
			dst[i], s.pending = '\r', 0+1
		default:
			dst[i] = c
		}
		i++
	}
	return i, nil
}

// netasciiSize counts the bytes of r in netascii form, for tsize.
func netasciiSize(r io.ReaderAt) (int64, error) {
	s := &netasciiSource{r: r, buf: make([]byte, netasciiBufSize)}
	buf := make([]byte, netasciiBufSize)
	var total int64
	for {
		n, err := s.fill(buf)
		total += int64(n)
		if err != nil {
			return 0, err
		}
		if n < len(buf) {
			return total, nil
		}
	}
}
