package pcap

import (
	"io"
	"os"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// Record is an MQTT packet kept by Collect. Unlike a Message it owns its memory.
type Record struct {
	Frame      int
	Time       time.Time
	Dir        Direction
	Type       codec.PacketType
	Flags      byte
	Size       int
	Raw        []byte // nil when the packet was too large to keep
	Version    codec.Version
	Packet     codec.Packet // nil when it could not be decoded
	Err        error
	Violations []codec.Error
	WebSocket  bool
	Alias      *Alias // see Message.Alias
}

// Conversation is everything found on one stream, in the order it was found.
type Conversation struct {
	Stream  *Stream
	Records []Record
	Notes   []Note
}

// Capture is a whole capture read into memory by Collect.
type Capture struct {
	Summary *Summary
	// Conversations has one entry per stream, indexed by Stream.ID.
	Conversations []*Conversation
	// Notes holds the notes that concern no particular stream.
	Notes []Note
}

// CollectFile collects the capture at path; see Collect.
func CollectFile(path string, o Options) (*Capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Collect(f, o)
}

// Collect reads a capture like Read and keeps every packet and note. Memory grows with the
// MQTT traffic in the capture. Like Read, it returns what it collected together with a
// *CaptureError for a damaged or cut-short file.
func Collect(r io.Reader, o Options) (*Capture, error) {
	c := &Capture{}
	conv := func(s *Stream) *Conversation {
		for len(c.Conversations) <= s.ID {
			c.Conversations = append(c.Conversations, nil)
		}
		if c.Conversations[s.ID] == nil {
			c.Conversations[s.ID] = &Conversation{Stream: s}
		}
		return c.Conversations[s.ID]
	}
	sum, err := Read(r, o, Handler{
		Packet: func(m *Message) {
			cv := conv(m.Stream)
			cv.Records = append(cv.Records, m.Record())
		},
		Note: func(n *Note) {
			if n.Stream == nil {
				c.Notes = append(c.Notes, *n)
				return
			}
			cv := conv(n.Stream)
			cv.Notes = append(cv.Notes, *n)
		},
	})
	c.Summary = sum
	if sum != nil {
		for _, s := range sum.Streams {
			conv(s)
		}
	}
	return c, err
}

// Record returns a copy of m that owns its memory: the bytes are copied and decoded again.
func (m *Message) Record() Record {
	r := Record{Frame: m.Frame, Time: m.Time, Dir: m.Dir, Type: m.Type, Flags: m.Flags, Size: m.Size,
		Version: m.Version, Err: m.Err, WebSocket: m.WebSocket}
	if m.Alias != nil {
		a := *m.Alias // its Topic owns its memory (see half.resolveAlias)
		r.Alias = &a
	}
	if m.Raw == nil {
		return r
	}
	r.Raw = append([]byte(nil), m.Raw...)
	if m.Packet == nil {
		return r
	}
	var viol []codec.Error
	p, _, err := codec.DecodeWith(codec.Options{Version: m.Version, Lenient: true, Sender: m.Dir.Side()}, r.Raw, &viol)
	if err != nil {
		// Cannot happen for bytes the same decoder accepted; keep the error rather than guess.
		r.Err = err
		return r
	}
	r.Packet, r.Violations = p, viol
	return r
}
