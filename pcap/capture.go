package pcap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket/pcapgo"
)

// Format is the container format of a capture file.
type Format int

// Capture formats.
const (
	FormatPcap   Format = 1 // classic libpcap format (microsecond or nanosecond timestamps)
	FormatPcapNG Format = 2 // pcapng
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// Link-layer header types (LINKTYPE_* of tcpdump.org/linktypes.html) that Read decodes.
const (
	LinkNull      uint32 = 0   // BSD loopback: 4-byte address family in the capturing host's byte order
	LinkEthernet  uint32 = 1   // Ethernet II, with 802.1Q/802.1ad tags
	LinkRaw       uint32 = 101 // raw IPv4 or IPv6
	LinkLoop      uint32 = 108 // OpenBSD loopback: 4-byte address family in network byte order
	LinkLinuxSLL  uint32 = 113 // Linux cooked capture v1
	LinkIPv4      uint32 = 228 // raw IPv4
	LinkIPv6      uint32 = 229 // raw IPv6
	LinkLinuxSLL2 uint32 = 276 // Linux cooked capture v2
	linkRawBSD12  uint32 = 12  // DLT_RAW as written by some BSDs
	linkRawBSD14  uint32 = 14  // DLT_RAW as written by OpenBSD
)

// linkSupported reports whether Read can decode frames of link type l.
func linkSupported(l uint32) bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRaw, LinkLoop, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2,
		linkRawBSD12, linkRawBSD14:
		return true
	}
	return false
}

// maxSnap is the largest frame a classic pcap may hold here: libpcap's own maximum snapshot
// length. A file header announcing more (or 0) is clamped to it, which bounds the buffer the
// pcapgo reader allocates whatever the header claims.
const maxSnap = 262144

// maxBlock bounds a pcapng block. Blocks are read into a buffer that grows with the bytes that
// really arrive, so a claimed length costs nothing until it is backed by data.
const maxBlock = 16 << 20

// frame is one captured link-layer frame. data is valid until the next call to next.
type frame struct {
	data    []byte
	ts      time.Time
	origLen int
	link    uint32
}

// frameSource yields the frames of a capture. next returns io.EOF at a clean end and a
// *CaptureError otherwise.
type frameSource interface {
	next() (frame, error)
	format() Format
}

// CaptureError says what is wrong with a capture file and where. Frames before the problem were
// read and processed.
type CaptureError struct {
	Frame     int   // frames read successfully before the problem
	Offset    int64 // byte offset of the problem in the (decompressed) file, -1 when unknown
	Truncated bool  // the file ends inside a record: typical of a capture that was cut short
	Err       error
}

func (e *CaptureError) Error() string {
	where := fmt.Sprintf("after frame %d", e.Frame)
	if e.Offset >= 0 {
		where += fmt.Sprintf(" (byte %d)", e.Offset)
	}
	if e.Truncated {
		return fmt.Sprintf("capture is cut short %s: %v", where, e.Err)
	}
	return fmt.Sprintf("bad capture %s: %v", where, e.Err)
}

func (e *CaptureError) Unwrap() error { return e.Err }

// ErrNotCapture is returned for input that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// openSource detects the format of r (looking through one layer of gzip) and returns a frame
// source for it.
func openSource(r io.Reader) (frameSource, error) {
	br := bufio.NewReaderSize(r, bufferSize(r))
	magic, err := br.Peek(4)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: file has %d bytes", ErrNotCapture, len(magic))
		}
		return nil, err
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip header: %v", ErrNotCapture, err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
		if magic, err = br.Peek(4); err != nil {
			return nil, fmt.Errorf("%w: gzip content has %d bytes (%v)", ErrNotCapture, len(magic), err)
		}
	}
	switch binary.BigEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return openPcap(br)
	case 0x0a0d0d0a:
		return openPcapNG(br)
	case 0xa1b2cd34, 0x34cdb2a1:
		return nil, fmt.Errorf("%w: modified (Kuznetzov) pcap format is not supported", ErrNotCapture)
	}
	return nil, fmt.Errorf("%w: starts with % x", ErrNotCapture, magic)
}

// bufferSize is 64 KB, or less for an in-memory capture that is smaller (a fuzz input, a
// capture built by a test): a read of a 2 KB capture spent a tenth of its time clearing the
// buffer.
func bufferSize(r io.Reader) int {
	const hi, lo = 64 << 10, 4 << 10
	if l, ok := r.(interface{ Len() int }); ok {
		return max(lo, min(l.Len(), hi))
	}
	return hi
}

// pcapSource reads classic pcap through gopacket/pcapgo. pcapgo's LinkType is 8 bits wide in
// gopacket 1.1.19 (276, SLL2, would read as 20), so the link type comes from our own look at the
// file header.
type pcapSource struct {
	r      *pcapgo.Reader
	link   uint32
	frames int
}

func openPcap(br *bufio.Reader) (*pcapSource, error) {
	hdr, err := br.Peek(24)
	if err != nil {
		return nil, &CaptureError{Offset: int64(len(hdr)), Truncated: true, Err: fmt.Errorf("pcap file header: %w", io.ErrUnexpectedEOF)}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if m := binary.BigEndian.Uint32(hdr); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
		bo = binary.BigEndian
	}
	link := bo.Uint32(hdr[20:24]) & 0xffff // the upper bits carry FCS information
	snap := bo.Uint32(hdr[16:20])
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, &CaptureError{Offset: 0, Err: fmt.Errorf("pcap file header: %w", err)}
	}
	if snap == 0 || snap > maxSnap {
		r.SetSnaplen(maxSnap)
	}
	return &pcapSource{r: r, link: link}, nil
}

func (s *pcapSource) format() Format { return FormatPcap }

func (s *pcapSource) next() (frame, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if err != nil {
		switch {
		case err == io.EOF && ci.CaptureLength == 0:
			return frame{}, io.EOF
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return frame{}, &CaptureError{Frame: s.frames, Offset: -1, Truncated: true, Err: fmt.Errorf("record %d: %w", s.frames+1, io.ErrUnexpectedEOF)}
		}
		return frame{}, &CaptureError{Frame: s.frames, Offset: -1, Err: fmt.Errorf("record %d: %w", s.frames+1, err)}
	}
	s.frames++
	return frame{data: data, ts: ci.Timestamp, origLen: ci.Length, link: s.link}, nil
}
