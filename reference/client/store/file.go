package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/mqttspec/mqttspec/codec"
)

// FileOptions tune a File store.
type FileOptions struct {
	// Sync calls fsync after every change. Without it the state survives a crash of the process
	// (the kernel holds the written bytes) but not a crash of the machine.
	Sync bool
}

// File is a Store kept in an append-only log file. Each change appends one record (length,
// CRC-32C, operation, entry); opening the file replays the log. A record torn by a crash in the
// middle of a write fails its checksum and is dropped together with anything after it, so the
// store reopens in the state of its last complete change. The log is rewritten compactly when
// dead records outnumber live entries.
//
// One File must be used by one client at a time; nothing locks the file against a second process.
type File struct {
	mu      sync.Mutex
	path    string
	opts    FileOptions
	f       *os.File
	size    int64 // offset just past the last complete record
	live    map[key]seqEntry
	seq     uint64
	garbage int   // records that no longer describe a live entry
	dropped int64 // bytes of a torn or corrupt tail dropped when the file was opened
	buf     []byte
	closed  bool
}

const (
	fileMagic = "mqttspec session store v1\n"
	recHeader = 8 // u32 body length, u32 CRC-32C of the body
	recFixed  = 5 // op, direction, packet id (2), version
	maxBody   = recFixed + codec.MaxPacketSize
	opPut     = 'P'
	opDelete  = 'D'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenFile opens (creating if needed) the store at path and replays its log.
func OpenFile(path string, o FileOptions) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &File{path: path, opts: o, f: f, live: make(map[key]seqEntry)}
	if err := s.load(); err != nil {
		f.Close()
		return nil, err
	}
	if s.garbage > compactMin && s.garbage > len(s.live) {
		if err := s.compact(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

const compactMin = 1024

func (s *File) load() error {
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	total := st.Size()
	if total < int64(len(fileMagic)) {
		// Empty, or torn while the file was being created: start over.
		head := make([]byte, total)
		if _, err := io.ReadFull(s.f, head); err != nil {
			return fmt.Errorf("store: read %s: %w", s.path, err)
		}
		if string(head) != fileMagic[:total] {
			return fmt.Errorf("store: %s is not an mqttspec session store", s.path)
		}
		if err := s.f.Truncate(0); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if _, err := s.f.WriteAt([]byte(fileMagic), 0); err != nil {
			return fmt.Errorf("store: write %s: %w", s.path, err)
		}
		s.size = int64(len(fileMagic))
		return s.sync()
	}
	r := bufio.NewReaderSize(s.f, 64<<10)
	head := make([]byte, len(fileMagic))
	if _, err := io.ReadFull(r, head); err != nil {
		return fmt.Errorf("store: read %s: %w", s.path, err)
	}
	if string(head) != fileMagic {
		return fmt.Errorf("store: %s is not an mqttspec session store", s.path)
	}
	pos := int64(len(fileMagic))
	var hdr [recHeader]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // clean end, or a header torn by a crash
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n < recFixed || n > maxBody || int64(n) > total-pos-recHeader {
			break // corrupt length: never allocate more than the file holds
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			break
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			break
		}
		if !s.apply(body) {
			break
		}
		pos += recHeader + int64(n)
	}
	s.size = pos
	if pos < total {
		s.dropped = total - pos
		if err := s.f.Truncate(pos); err != nil {
			return fmt.Errorf("store: drop torn tail of %s: %w", s.path, err)
		}
	}
	return nil
}

// apply replays one record; false means the record makes no sense (treated as corruption).
func (s *File) apply(body []byte) bool {
	op, dir, id, v := body[0], Direction(body[1]), binary.BigEndian.Uint16(body[2:4]), codec.Version(body[4])
	k := key{dir, id}
	switch op {
	case opPut:
		e := Entry{Dir: dir, ID: id, Version: v, Packet: body[recFixed:]}
		if checkEntry(&e) != nil {
			return false
		}
		if _, ok := s.live[k]; ok {
			s.garbage++
		}
		s.seq++
		s.live[k] = seqEntry{e, s.seq}
	case opDelete:
		if !dir.Valid() || id == 0 {
			return false
		}
		if _, ok := s.live[k]; ok {
			s.garbage++
			delete(s.live, k)
		}
		s.garbage++ // the delete record itself
	default:
		return false
	}
	return true
}

// Dropped returns how many bytes of a torn or corrupt tail were discarded when the file was opened.
func (s *File) Dropped() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

func appendRecord(dst []byte, op byte, e *Entry) []byte {
	at := len(dst)
	dst = append(dst, make([]byte, recHeader)...)
	dst = append(dst, op, byte(e.Dir), byte(e.ID>>8), byte(e.ID), byte(e.Version))
	dst = append(dst, e.Packet...)
	body := dst[at+recHeader:]
	binary.BigEndian.PutUint32(dst[at:], uint32(len(body)))
	binary.BigEndian.PutUint32(dst[at+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// write appends one record at the end of the last complete one, so a failed write is overwritten
// by the next instead of leaving a torn record in the middle of the log.
func (s *File) write(op byte, e *Entry) error {
	s.buf = appendRecord(s.buf[:0], op, e)
	if _, err := s.f.WriteAt(s.buf, s.size); err != nil {
		return fmt.Errorf("store: write %s: %w", s.path, err)
	}
	if err := s.sync(); err != nil {
		return err
	}
	s.size += int64(len(s.buf))
	if cap(s.buf) > 1<<20 {
		s.buf = nil
	}
	return nil
}

func (s *File) sync() error {
	if !s.opts.Sync {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", s.path, err)
	}
	return nil
}

// Put appends the entry to the log.
func (s *File) Put(e Entry) error {
	if err := checkEntry(&e); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.write(opPut, &e); err != nil {
		return err
	}
	k := key{e.Dir, e.ID}
	if _, ok := s.live[k]; ok {
		s.garbage++
	}
	s.seq++
	s.live[k] = seqEntry{e, s.seq}
	return s.maybeCompact()
}

// Delete appends a delete record when the entry exists.
func (s *File) Delete(dir Direction, id uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	k := key{dir, id}
	if _, ok := s.live[k]; !ok {
		return nil
	}
	if err := s.write(opDelete, &Entry{Dir: dir, ID: id}); err != nil {
		return err
	}
	delete(s.live, k)
	s.garbage += 2
	return s.maybeCompact()
}

func (s *File) maybeCompact() error {
	if s.garbage > compactMin && s.garbage > 2*len(s.live) {
		return s.compact()
	}
	return nil
}

// compact writes the live entries, in order, to a new file and renames it over the log.
func (s *File) compact() error {
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	entries := sorted(s.live)
	size := int64(len(fileMagic))
	_, err = w.WriteString(fileMagic)
	live := make(map[key]seqEntry, len(entries))
	for i := range entries {
		if err != nil {
			break
		}
		s.buf = appendRecord(s.buf[:0], opPut, &entries[i])
		_, err = w.Write(s.buf)
		size += int64(len(s.buf))
		live[key{entries[i].Dir, entries[i].ID}] = seqEntry{entries[i], uint64(i + 1)}
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		// The rename must not become visible before the data it points at.
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: compact %s: %w", s.path, err)
	}
	if s.opts.Sync {
		syncDir(filepath.Dir(s.path))
	}
	s.f.Close()
	s.f = f
	s.size = size
	s.live = live
	s.seq = uint64(len(entries))
	s.garbage = 0
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Entries returns the live entries in Put order.
func (s *File) Entries() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	return sorted(s.live), nil
}

// Reset empties the log.
func (s *File) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.f.Truncate(int64(len(fileMagic))); err != nil {
		return fmt.Errorf("store: reset %s: %w", s.path, err)
	}
	if err := s.sync(); err != nil {
		return err
	}
	s.size = int64(len(fileMagic))
	clear(s.live)
	s.garbage = 0
	return nil
}

// Close closes the file. The entries stay on disk for the next OpenFile.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.opts.Sync {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

var _ Store = (*File)(nil)
var _ Store = (*Memory)(nil)
