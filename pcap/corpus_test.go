package pcap

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

func TestWriteCorpus(t *testing.T) {
	cp := captureFile(t, "v5-qos.pcapng")
	distinct := map[string]bool{}
	sessions := map[string]bool{}
	attempts := 0
	for _, cv := range cp.Conversations {
		var s []byte
		for _, r := range cv.Records {
			distinct[string(append([]byte{corpusOptionByte(r.Version, r.Dir)}, r.Raw...))] = true
			if r.Dir == FromClient {
				s = append(s, r.Raw...)
			}
		}
		sessions[string(s)] = true
		attempts += len(cv.Records) + 1
	}
	for _, f := range []CorpusFormat{CorpusGo, CorpusRaw} {
		dir := t.TempDir()
		st, err := WriteCorpus(cp, dir, f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Packets != len(distinct) || st.Sessions != len(sessions) || st.Packets+st.Sessions+st.Duplicates != attempts || st.Skipped != 0 {
			t.Errorf("format %d: stats %+v, want %d packet and %d session seeds", f, st, len(distinct), len(sessions))
		}
		entries, _ := os.ReadDir(filepath.Join(dir, CorpusPacketTarget))
		if len(entries) != len(distinct) {
			t.Fatalf("%d files, want %d", len(entries), len(distinct))
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, CorpusPacketTarget, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			value := data
			if f == CorpusGo {
				s := string(data)
				if !strings.HasPrefix(s, "go test fuzz v1\n[]byte(") || !strings.HasSuffix(s, ")\n") {
					t.Fatalf("%s is not a native fuzz file: %q", e.Name(), s)
				}
				u, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(s, "go test fuzz v1\n[]byte("), ")\n"))
				if err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				value = []byte(u)
			}
			if !distinct[string(value)] {
				t.Fatalf("%s holds a seed that is not a captured packet", e.Name())
			}
			v := [...]codec.Version{codec.V31, codec.V311, codec.V5}[value[0]%3]
			side := codec.Side(value[0] / 3 % 3)
			if v != codec.V5 || side == codec.SideUnknown {
				t.Errorf("%s: option byte %d selects %v/%v, want 5.0 and a known sender", e.Name(), value[0], v, side)
			}
			if _, _, err := codec.DecodeWith(codec.Options{Version: v, Sender: side}, value[1:], nil); err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			}
		}
		// Writing again adds nothing.
		again, err := WriteCorpus(cp, dir, f)
		if err != nil || again.Packets != 0 || again.Sessions != 0 {
			t.Errorf("second write: %+v %v", again, err)
		}
	}
}
