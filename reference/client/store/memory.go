package store

import (
	"slices"
	"sync"
)

// Memory is a Store that lives as long as the process.
type Memory struct {
	mu      sync.Mutex
	seq     uint64
	entries map[key]seqEntry
	closed  bool
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{entries: make(map[key]seqEntry)} }

// Put stores e, keeping e.Packet without copying it.
func (m *Memory) Put(e Entry) error {
	if err := checkEntry(&e); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.seq++
	m.entries[key{e.Dir, e.ID}] = seqEntry{e, m.seq}
	return nil
}

// Delete removes an entry.
func (m *Memory) Delete(dir Direction, id uint16) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.entries, key{dir, id})
	return nil
}

// Entries returns the entries in Put order.
func (m *Memory) Entries() ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return sorted(m.entries), nil
}

func sorted(m map[key]seqEntry) []Entry {
	all := make([]seqEntry, 0, len(m))
	for _, e := range m {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b seqEntry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	out := make([]Entry, len(all))
	for i := range all {
		out[i] = all[i].Entry
	}
	return out
}

// Reset removes every entry.
func (m *Memory) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	clear(m.entries)
	return nil
}

// Close empties the store and makes later calls fail.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.entries = nil
	return nil
}
