package cli

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// frame is one packet of the input.
type frame struct {
	n         int             // frame number, from 1
	time      time.Time       // capture time; zero for hex input
	line      int             // hex input: the line the frame starts on
	link      layers.LinkType // how data starts, unless payload
	payload   bool            // data is the BOOTP message itself (hex input)
	data      []byte
	truncated bool // the capture kept fewer bytes than the frame had
}

// frameSource yields the frames of an input; next returns io.EOF at the end.
type frameSource interface {
	next() (frame, error)
}

// Magic numbers that start capture files.
const (
	magicPCAPMicro = 0xa1b2c3d4 // in the writer's byte order
	magicPCAPNano  = 0xa1b23c4d
	magicPCAPNG    = 0x0a0d0d0a // section header block type, a palindrome
	gzipMagic      = 0x1f8b
	// maxHexInput bounds a hex dump read into memory.
	maxHexInput = 64 << 20
)

// openCapture detects the format of r by its first bytes: pcap (either
// byte order, micro- or nanosecond), pcapng, either of them gzip-compressed,
// and otherwise hex text.
func openCapture(r io.Reader) (frameSource, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(head) >= 2 && binary.BigEndian.Uint16(head) == gzipMagic {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		br = bufio.NewReader(zr)
		if head, err = br.Peek(4); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
	}
	if len(head) == 4 {
		le, be := binary.LittleEndian.Uint32(head), binary.BigEndian.Uint32(head)
		switch {
		case le == magicPCAPMicro || be == magicPCAPMicro || le == magicPCAPNano || be == magicPCAPNano:
			pr, err := pcapgo.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("reading pcap header: %w", err)
			}
			if t := pr.LinkType(); !linkSupported(t) {
				return nil, fmt.Errorf("pcap link type %d (%v) is not supported", uint32(t), t)
			}
			return &pcapSource{r: pr}, nil
		case be == magicPCAPNG:
			nr, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
			if err != nil {
				return nil, fmt.Errorf("reading pcapng section header: %w", err)
			}
			return &pcapngSource{r: nr}, nil
		}
	}
	text, err := io.ReadAll(io.LimitReader(br, maxHexInput+1))
	if err != nil {
		return nil, err
	}
	if len(text) > maxHexInput {
		return nil, fmt.Errorf("not a pcap or pcapng capture, and too large for a hex dump (over %d MiB)", maxHexInput>>20)
	}
	blocks, err := parseHex(text)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng capture, nor a hex dump: %w", err)
	}
	return &hexSource{blocks: blocks}, nil
}

type pcapSource struct {
	r *pcapgo.Reader
	n int
}

func (s *pcapSource) next() (frame, error) {
	data, ci, err := s.r.ReadPacketData()
	if err != nil {
		return frame{}, readError(err, s.n)
	}
	s.n++
	return frame{n: s.n, time: ci.Timestamp, link: s.r.LinkType(), data: data, truncated: ci.CaptureLength < ci.Length}, nil
}

type pcapngSource struct {
	r *pcapgo.NgReader
	n int
}

func (s *pcapngSource) next() (frame, error) {
	data, ci, err := s.r.ReadPacketData()
	if err != nil {
		return frame{}, readError(err, s.n)
	}
	s.n++
	link := layers.LinkType(0xffff) // unknown: the frame is skipped
	if len(ci.AncillaryData) > 0 {
		if t, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = t
		}
	}
	return frame{n: s.n, time: ci.Timestamp, link: link, data: data, truncated: ci.CaptureLength < ci.Length}, nil
}

// readError keeps io.EOF as the end of the input and says where anything
// else happened.
func readError(err error, n int) error {
	if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return fmt.Errorf("after frame %d: %w", n, err)
}

type hexSource struct {
	blocks []hexBlock
	n      int
}

func (s *hexSource) next() (frame, error) {
	if s.n == len(s.blocks) {
		return frame{}, io.EOF
	}
	b := s.blocks[s.n]
	s.n++
	link, payload := guessLink(b.data)
	return frame{n: s.n, line: b.line, link: link, payload: payload, data: b.data}, nil
}
