package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

func pub(t *testing.T, id uint16, payload string) []byte {
	t.Helper()
	b, err := codec.Encode(&codec.Publish{QoS: 1, Topic: "a/b", PacketID: id, Payload: []byte(payload)}, codec.V5)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type op struct {
	put *Entry
	del *key
	rst bool
}

func entry(dir Direction, id uint16, pkt []byte) *Entry {
	return &Entry{Dir: dir, ID: id, Version: codec.V5, Packet: pkt}
}

// want lists (dir, id, packet) in the expected order.
func check(t *testing.T, s Store, want []Entry) {
	t.Helper()
	got, err := s.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i].Dir != want[i].Dir || got[i].ID != want[i].ID || got[i].Version != want[i].Version || !bytes.Equal(got[i].Packet, want[i].Packet) {
			t.Fatalf("entry %d = {%v %d %v %x}, want {%v %d %v %x}", i, got[i].Dir, got[i].ID, got[i].Version, got[i].Packet,
				want[i].Dir, want[i].ID, want[i].Version, want[i].Packet)
		}
	}
}

func TestStores(t *testing.T) {
	p1, p2, p3 := pub(t, 1, "one"), pub(t, 2, "two"), pub(t, 3, "three")
	rel, _ := codec.Encode(&codec.Pubrel{PacketID: 2}, codec.V5)
	rec, _ := codec.Encode(&codec.Pubrec{PacketID: 7}, codec.V5)
	cases := []struct {
		name string
		ops  []op
		want []Entry
	}{
		{"empty", nil, nil},
		{"insertion order", []op{{put: entry(Outgoing, 3, p3)}, {put: entry(Outgoing, 1, p1)}, {put: entry(Outgoing, 2, p2)}},
			[]Entry{*entry(Outgoing, 3, p3), *entry(Outgoing, 1, p1), *entry(Outgoing, 2, p2)}},
		{"replace moves to end", []op{{put: entry(Outgoing, 1, p1)}, {put: entry(Outgoing, 2, p2)}, {put: entry(Outgoing, 3, p3)},
			{put: entry(Outgoing, 2, rel)}},
			[]Entry{*entry(Outgoing, 1, p1), *entry(Outgoing, 3, p3), *entry(Outgoing, 2, rel)}},
		{"directions are separate", []op{{put: entry(Outgoing, 7, p1)}, {put: entry(Incoming, 7, rec)}, {del: &key{Outgoing, 7}}},
			[]Entry{*entry(Incoming, 7, rec)}},
		{"delete absent is fine", []op{{put: entry(Outgoing, 1, p1)}, {del: &key{Outgoing, 9}}, {del: &key{Incoming, 1}}},
			[]Entry{*entry(Outgoing, 1, p1)}},
		{"reset", []op{{put: entry(Outgoing, 1, p1)}, {put: entry(Incoming, 7, rec)}, {rst: true}, {put: entry(Outgoing, 2, p2)}},
			[]Entry{*entry(Outgoing, 2, p2)}},
	}
	for _, tc := range cases {
		for _, kind := range []string{"memory", "file"} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "session")
				open := func() Store {
					if kind == "memory" {
						return NewMemory()
					}
					f, err := OpenFile(path, FileOptions{Sync: true})
					if err != nil {
						t.Fatal(err)
					}
					return f
				}
				s := open()
				for _, o := range tc.ops {
					var err error
					switch {
					case o.put != nil:
						err = s.Put(*o.put)
					case o.del != nil:
						err = s.Delete(o.del.dir, o.del.id)
					case o.rst:
						err = s.Reset()
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				check(t, s, tc.want)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Entries(); !errors.Is(err, ErrClosed) {
					t.Fatalf("Entries after Close: %v, want ErrClosed", err)
				}
				if err := s.Put(*entry(Outgoing, 1, p1)); !errors.Is(err, ErrClosed) {
					t.Fatalf("Put after Close: %v, want ErrClosed", err)
				}
				if kind == "file" {
					check(t, open(), tc.want) // the log replays to the same state
				}
			})
		}
	}
}

func TestPutRejectsBadEntries(t *testing.T) {
	p := pub(t, 1, "x")
	bad := []struct {
		name string
		e    Entry
		want string
	}{
		{"direction", Entry{Dir: 'x', ID: 1, Version: codec.V5, Packet: p}, "direction"},
		{"id zero", Entry{Dir: Outgoing, ID: 0, Version: codec.V5, Packet: p}, "identifier 0"},
		{"version", Entry{Dir: Outgoing, ID: 1, Version: 9, Packet: p}, "version"},
		{"empty packet", Entry{Dir: Outgoing, ID: 1, Version: codec.V5}, "empty packet"},
	}
	f, err := OpenFile(filepath.Join(t.TempDir(), "s"), FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range bad {
		for _, s := range []Store{NewMemory(), f} {
			if err := s.Put(tc.e); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: Put = %v, want error containing %q", tc.name, err, tc.want)
			}
		}
	}
}

func TestFileTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session")
	f, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := pub(t, 1, "one"), pub(t, 2, "two")
	if err := f.Put(*entry(Outgoing, 1, p1)); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(*entry(Outgoing, 2, p2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	full, _ := os.ReadFile(path)
	// Cut the second record at every possible byte and flip one byte of it: the store must come
	// back with exactly the first entry, and drop the damaged tail.
	rec2 := len(appendRecord(nil, opPut, entry(Outgoing, 2, p2)))
	for cut := 1; cut <= rec2; cut++ {
		damaged := append([]byte(nil), full[:len(full)-cut]...)
		if cut == rec2 {
			damaged = append([]byte(nil), full...)
			damaged[len(damaged)-3] ^= 0xFF // checksum mismatch
		}
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		g, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		check(t, g, []Entry{*entry(Outgoing, 1, p1)})
		wantDropped := int64(rec2 - cut)
		if cut == rec2 {
			wantDropped = int64(rec2)
		}
		if g.Dropped() != wantDropped {
			t.Fatalf("cut %d: dropped %d bytes, want %d", cut, g.Dropped(), wantDropped)
		}
		// New records go after the last good one.
		if err := g.Put(*entry(Outgoing, 3, p2)); err != nil {
			t.Fatal(err)
		}
		g.Close()
		h, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, h, []Entry{*entry(Outgoing, 1, p1), *entry(Outgoing, 3, p2)})
		h.Close()
	}
}

func TestFileNotAStore(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"text": "hello world, this is not a store\n", "short": "xy"} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := OpenFile(path, FileOptions{}); err == nil || !strings.Contains(err.Error(), "not an mqttspec session store") {
			t.Errorf("%s: OpenFile = %v, want 'not an mqttspec session store'", name, err)
		}
	}
	// A file torn while its header was written is started over.
	path := filepath.Join(dir, "torn-header")
	os.WriteFile(path, []byte(fileMagic[:5]), 0o600)
	f, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, f, nil)
	f.Close()
}

func TestFileCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session")
	f, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keep := pub(t, 9, "keep")
	if err := f.Put(*entry(Outgoing, 9, keep)); err != nil {
		t.Fatal(err)
	}
	p := pub(t, 1, strings.Repeat("x", 100))
	for i := 0; i < 5000; i++ {
		id := uint16(i%100 + 10)
		if err := f.Put(*entry(Outgoing, id, p)); err != nil {
			t.Fatal(err)
		}
		if err := f.Delete(Outgoing, id); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := os.Stat(path)
	// 10000 records of ~120 bytes were written; compaction keeps the file near its live size.
	if st.Size() > 400*1024 {
		t.Fatalf("log is %d bytes after compaction, want far less than the %d written", st.Size(), 10000*120)
	}
	check(t, f, []Entry{*entry(Outgoing, 9, keep)})
	f.Close()
	g, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, g, []Entry{*entry(Outgoing, 9, keep)})
	g.Close()
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("compaction left %s.tmp behind", path)
	}
}
