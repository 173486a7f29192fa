package pcap

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mqttspec/mqttspec/codec"
)

// CorpusFormat is how WriteCorpus stores a seed.
type CorpusFormat int

// Corpus formats.
const (
	// CorpusGo writes Go native fuzzing files ("go test fuzz v1" and one []byte value), ready for
	// testdata/fuzz/<target>/.
	CorpusGo CorpusFormat = iota
	// CorpusRaw writes the value's bytes as they are: a libFuzzer / OSS-Fuzz seed.
	CorpusRaw
)

// The fuzz targets (package fuzz) the corpus is written for. Each takes one []byte.
const (
	// CorpusPacketTarget decodes one packet: its first byte selects the version (byte % 3:
	// 3.1, 3.1.1, 5.0) and the sender (byte / 3 % 3: unknown, client, server).
	CorpusPacketTarget = "FuzzStrictLenient"
	// CorpusSessionTarget feeds a byte stream to a broker as one client connection.
	CorpusSessionTarget = "FuzzBrokerSession"
)

// maxSessionSeed bounds a session seed: fuzzing engines work best with small inputs.
const maxSessionSeed = 1 << 20

// CorpusStats counts what WriteCorpus did.
type CorpusStats struct {
	Packets    int // packet seeds written
	Sessions   int // session seeds written
	Duplicates int // seeds already present (same content)
	Skipped    int // packets not kept whole in the capture (over the size limit)
}

// WriteCorpus turns a capture into fuzz seeds under dir: every MQTT packet, prefixed with the
// byte that selects its version and sender, for CorpusPacketTarget, and the client side of
// every stream (all its client packets in order, up to 1 MiB) for CorpusSessionTarget. Seeds
// are named by the hash of their content, so writing the same capture twice adds nothing.
func WriteCorpus(cp *Capture, dir string, f CorpusFormat) (CorpusStats, error) {
	var st CorpusStats
	for _, t := range []string{CorpusPacketTarget, CorpusSessionTarget} {
		if err := os.MkdirAll(filepath.Join(dir, t), 0o755); err != nil {
			return st, err
		}
	}
	for _, cv := range cp.Conversations {
		if cv == nil {
			continue
		}
		var session []byte
		for _, r := range cv.Records {
			if r.Raw == nil {
				st.Skipped++
				continue
			}
			seed := append([]byte{corpusOptionByte(r.Version, r.Dir)}, r.Raw...)
			added, err := writeSeed(filepath.Join(dir, CorpusPacketTarget), seed, f)
			if err != nil {
				return st, err
			}
			if added {
				st.Packets++
			} else {
				st.Duplicates++
			}
			if r.Dir == FromClient && len(session)+len(r.Raw) <= maxSessionSeed {
				session = append(session, r.Raw...)
			}
		}
		if len(session) == 0 {
			continue
		}
		added, err := writeSeed(filepath.Join(dir, CorpusSessionTarget), session, f)
		if err != nil {
			return st, err
		}
		if added {
			st.Sessions++
		} else {
			st.Duplicates++
		}
	}
	return st, nil
}

// corpusOptionByte is the first byte of a packet seed: version index + 3 × sender.
func corpusOptionByte(v codec.Version, d Direction) byte {
	vi := byte(1) // 3.1.1, also for unknown versions (what the codec decodes them as)
	switch v {
	case codec.V31:
		vi = 0
	case codec.V5:
		vi = 2
	}
	side := byte(1)
	if d == FromServer {
		side = 2
	}
	return vi + 3*side
}

// writeSeed writes one seed unless a file of the same content exists; it reports whether it
// wrote.
func writeSeed(dir string, value []byte, f CorpusFormat) (bool, error) {
	var data []byte
	if f == CorpusRaw {
		data = value
	} else {
		data = []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(value)) + ")\n")
	}
	sum := sha256.Sum256(data)
	path := filepath.Join(dir, hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return false, fmt.Errorf("write seed: %w", err)
	}
	return true, nil
}
