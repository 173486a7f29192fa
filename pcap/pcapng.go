package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// ngSource reads pcapng. It is ours rather than gopacket's pcapgo.NgReader because that reader
// (gopacket 1.1.19) truncates link types to 8 bits (no SLL2), divides by zero on an
// if_tsresol it cannot represent, and allocates whatever capture length a block claims. This one
// checks every length against its block before using it and grows its buffer only with bytes
// that really arrive.
type ngSource struct {
	r      *bufio.Reader
	off    int64 // offset of the next block
	big    bool  // byte order of the current section
	ifaces []ngIface
	buf    []byte
	frames int
}

type ngIface struct {
	link   uint32
	snap   uint32
	units  uint64 // timestamp units per second
	offset int64  // if_tsoffset, seconds
}

const (
	ngSHB = 0x0A0D0D0A
	ngIDB = 0x00000001
	ngPB  = 0x00000002 // obsolete Packet Block
	ngSPB = 0x00000003
	ngEPB = 0x00000006
)

func openPcapNG(br *bufio.Reader) (*ngSource, error) {
	s := &ngSource{r: br}
	// The first block must be a section header; next() handles it like any later one.
	return s, nil
}

func (s *ngSource) format() Format { return FormatPcapNG }

func (s *ngSource) u16(b []byte) uint16 {
	if s.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (s *ngSource) u32(b []byte) uint32 {
	if s.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (s *ngSource) fail(truncated bool, format string, a ...any) error {
	return &CaptureError{Frame: s.frames, Offset: s.off, Truncated: truncated, Err: fmt.Errorf(format, a...)}
}

// readFull reads n bytes into s.buf, growing it with the data actually read rather than with n.
func (s *ngSource) readFull(n int) ([]byte, error) {
	if n <= cap(s.buf) {
		s.buf = s.buf[:n]
		_, err := io.ReadFull(s.r, s.buf)
		return s.buf, err
	}
	s.buf = s.buf[:0]
	for len(s.buf) < n {
		step := min(n-len(s.buf), max(len(s.buf), 64<<10))
		start := len(s.buf)
		s.buf = append(s.buf, make([]byte, step)...)
		if _, err := io.ReadFull(s.r, s.buf[start:]); err != nil {
			return nil, err
		}
	}
	return s.buf, nil
}

func (s *ngSource) next() (frame, error) {
	for {
		var hdr [12]byte
		n, err := io.ReadFull(s.r, hdr[:8])
		if err != nil {
			if n == 0 && err == io.EOF {
				if s.off == 0 {
					return frame{}, fmt.Errorf("%w: empty pcapng file", ErrNotCapture)
				}
				return frame{}, io.EOF
			}
			return frame{}, s.fail(true, "block header: %w", io.ErrUnexpectedEOF)
		}
		typ := binary.LittleEndian.Uint32(hdr[:4]) // the SHB type reads the same in both orders
		if s.off == 0 && typ != ngSHB {
			return frame{}, s.fail(false, "first block is type 0x%08x, not a section header", typ)
		}
		headLen := 8
		if typ == ngSHB {
			if _, err := io.ReadFull(s.r, hdr[8:12]); err != nil {
				return frame{}, s.fail(true, "section header: %w", io.ErrUnexpectedEOF)
			}
			switch binary.BigEndian.Uint32(hdr[8:12]) {
			case 0x1A2B3C4D:
				s.big = true
			case 0x4D3C2B1A:
				s.big = false
			default:
				return frame{}, s.fail(false, "section header byte-order magic is % x", hdr[8:12])
			}
			headLen = 12
		} else {
			typ = s.u32(hdr[:4])
		}
		total := s.u32(hdr[4:8])
		minLen := uint32(12)
		if typ == ngSHB {
			minLen = 28
		}
		switch {
		case total < minLen:
			return frame{}, s.fail(false, "block type 0x%x claims %d bytes, less than its minimum %d", typ, total, minLen)
		case total%4 != 0:
			return frame{}, s.fail(false, "block type 0x%x length %d is not a multiple of 4", typ, total)
		case total > maxBlock:
			return frame{}, s.fail(false, "block type 0x%x claims %d bytes, more than the %d this reader accepts", typ, total, maxBlock)
		}
		body, err := s.readFull(int(total) - headLen)
		if err != nil {
			return frame{}, s.fail(true, "block type 0x%x of %d bytes: %w", typ, total, io.ErrUnexpectedEOF)
		}
		if trail := s.u32(body[len(body)-4:]); trail != total {
			return frame{}, s.fail(false, "block type 0x%x: trailing length %d differs from leading length %d", typ, trail, total)
		}
		body = body[:len(body)-4]
		at := s.off
		s.off += int64(total)
		switch typ {
		case ngSHB:
			if major := s.u16(body[0:2]); major != 1 {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: fmt.Errorf("pcapng major version %d is not supported", major)}
			}
			s.ifaces = s.ifaces[:0]
		case ngIDB:
			ifc, err := s.parseIDB(body)
			if err != nil {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: err}
			}
			if len(s.ifaces) >= 1<<16 {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: errors.New("more than 65536 interfaces in one section")}
			}
			s.ifaces = append(s.ifaces, ifc)
		case ngEPB, ngPB:
			f, err := s.parsePacket(typ, body)
			if err != nil {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: err}
			}
			s.frames++
			return f, nil
		case ngSPB:
			if len(s.ifaces) == 0 {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: errors.New("simple packet block before any interface description")}
			}
			if len(body) < 4 {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: errors.New("simple packet block too short")}
			}
			ifc := &s.ifaces[0]
			orig := s.u32(body[0:4])
			capLen := uint64(orig)
			if ifc.snap != 0 && uint64(ifc.snap) < capLen {
				capLen = uint64(ifc.snap)
			}
			if avail := uint64(len(body) - 4); capLen > avail {
				return frame{}, &CaptureError{Frame: s.frames, Offset: at, Err: fmt.Errorf("simple packet block holds %d bytes, packet needs %d", avail, capLen)}
			}
			s.frames++
			return frame{data: body[4 : 4+capLen], origLen: int(orig), link: ifc.link}, nil
		default:
			// Interface statistics, name resolution, custom and unknown blocks carry nothing we use.
		}
	}
}

func (s *ngSource) parseIDB(body []byte) (ngIface, error) {
	if len(body) < 8 {
		return ngIface{}, errors.New("interface description block too short")
	}
	ifc := ngIface{link: uint32(s.u16(body[0:2])), snap: s.u32(body[4:8]), units: 1e6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := s.u16(opts[0:2]), int(s.u16(opts[2:4]))
		if code == 0 { // opt_endofopt
			break
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(opts) {
			return ngIface{}, fmt.Errorf("interface option %d of %d bytes runs past its block", code, n)
		}
		val := opts[4 : 4+n]
		switch code {
		case 9: // if_tsresol
			if n != 1 {
				return ngIface{}, fmt.Errorf("if_tsresol has %d bytes, want 1", n)
			}
			e := uint(val[0] & 0x7f)
			if val[0]&0x80 != 0 {
				if e > 63 {
					return ngIface{}, fmt.Errorf("if_tsresol 2^-%d is not representable", e)
				}
				ifc.units = 1 << e
			} else {
				if e > 19 {
					return ngIface{}, fmt.Errorf("if_tsresol 10^-%d is not representable", e)
				}
				ifc.units = 1
				for range e {
					ifc.units *= 10
				}
			}
		case 14: // if_tsoffset
			if n != 8 {
				return ngIface{}, fmt.Errorf("if_tsoffset has %d bytes, want 8", n)
			}
			if s.big {
				ifc.offset = int64(binary.BigEndian.Uint64(val))
			} else {
				ifc.offset = int64(binary.LittleEndian.Uint64(val))
			}
		}
		opts = opts[4+padded:]
	}
	return ifc, nil
}

func (s *ngSource) parsePacket(typ uint32, body []byte) (frame, error) {
	if len(body) < 20 {
		return frame{}, fmt.Errorf("packet block of %d bytes is too short", len(body))
	}
	var id uint32
	if typ == ngEPB {
		id = s.u32(body[0:4])
	} else {
		id = uint32(s.u16(body[0:2]))
	}
	if int64(id) >= int64(len(s.ifaces)) {
		return frame{}, fmt.Errorf("packet on interface %d, but the section describes %d", id, len(s.ifaces))
	}
	ifc := &s.ifaces[id]
	ts := uint64(s.u32(body[4:8]))<<32 | uint64(s.u32(body[8:12]))
	capLen, orig := s.u32(body[12:16]), s.u32(body[16:20])
	if uint64(capLen) > uint64(len(body)-20) {
		return frame{}, fmt.Errorf("packet claims %d captured bytes, its block holds %d", capLen, len(body)-20)
	}
	return frame{data: body[20 : 20+capLen], ts: ifc.time(ts), origLen: int(orig), link: ifc.link}, nil
}

// time converts a timestamp in the interface's units to a time.
func (ifc *ngIface) time(ts uint64) time.Time {
	sec := ts / ifc.units
	frac := ts % ifc.units
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, ifc.units) // hi < units because frac < units
	return time.Unix(int64(sec)+ifc.offset, int64(ns)).UTC()
}
