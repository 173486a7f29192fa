package check

import (
	"slices"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/pcap"
)

// Rec is one captured packet with what the checks derive from its context.
type Rec struct {
	pcap.Record
	From Role // the sender
	// Topic is a PUBLISH's topic name with its Topic Alias resolved ("" when the alias was never
	// set on this connection).
	Topic string
	// AliasUnset is set on a PUBLISH with an empty Topic Name whose Topic Alias no earlier packet
	// of its sender on this connection set.
	AliasUnset bool
}

// Conv is one stream as the checks see it.
type Conv struct {
	Stream *pcap.Stream
	// Version selects the statement numbering: 5.0, or 3.1.1 for 3.1, 3.1.1 and streams whose
	// version is unknown (which the codec decodes as 3.1.1).
	Version codec.Version
	Recs    []Rec
	Notes   []pcap.Note
	// Connect and Connack are the first CONNECT from the client and CONNACK from the server,
	// with their indexes in Recs (nil and -1 when not captured).
	Connect   *codec.Connect
	ConnectAt int
	Connack   *codec.Connack
	ConnackAt int
	// End is the time of the capture's last frame.
	End time.Time
	// All lists every stream of the capture, for checks that follow a message across streams.
	All []*Conv
	// pubs indexes the client PUBLISH packets of every stream by topic, in time order.
	pubs map[string][]publication
	// subscribes are the indexes of the client's SUBSCRIBE packets.
	subscribes []int
}

// Convs prepares every conversation of a capture for the checks.
func Convs(cp *pcap.Capture) []*Conv {
	var end time.Time
	if cp.Summary != nil {
		end = cp.Summary.Last
	}
	var all []*Conv
	for _, cv := range cp.Conversations {
		if cv == nil {
			continue
		}
		all = append(all, newConv(cv, end))
	}
	pubs := map[string][]publication{}
	for _, c := range all {
		c.All = all
		c.pubs = pubs
		for i := range c.Recs {
			rec := &c.Recs[i]
			if rec.From != Client {
				continue
			}
			switch rec.Packet.(type) {
			case *codec.Publish:
				pubs[rec.Topic] = append(pubs[rec.Topic], publication{rec, c})
			case *codec.Subscribe:
				c.subscribes = append(c.subscribes, i)
			}
		}
	}
	for _, list := range pubs {
		slices.SortStableFunc(list, func(a, b publication) int { return a.Time.Compare(b.Time) })
	}
	return all
}

func newConv(cv *pcap.Conversation, end time.Time) *Conv {
	c := &Conv{Stream: cv.Stream, Version: codec.V311, Notes: cv.Notes, ConnectAt: -1, ConnackAt: -1, End: end}
	if cv.Stream.Version == codec.V5 {
		c.Version = codec.V5
	}
	var aliases [2]pcap.AliasTable
	for i, r := range cv.Records {
		rec := Rec{Record: r, From: Client}
		if r.Dir == pcap.FromServer {
			rec.From = Broker
		}
		switch p := r.Packet.(type) {
		case *codec.Connect:
			if c.Connect == nil && r.Dir == pcap.FromClient {
				c.Connect, c.ConnectAt = p, i
			}
		case *codec.Connack:
			if c.Connack == nil && r.Dir == pcap.FromServer {
				c.Connack, c.ConnackAt = p, i
			}
		case *codec.Publish:
			rec.Topic = p.Topic
			if a, ok := aliases[dirIndex(r.Dir)].Apply(p); ok {
				rec.Topic, rec.AliasUnset = a.Topic, a.Unset
			}
		}
		c.Recs = append(c.Recs, rec)
	}
	if end.IsZero() || end.Before(cv.Stream.End) {
		c.End = cv.Stream.End
	}
	return c
}

func dirIndex(d pcap.Direction) int {
	if d == pcap.FromServer {
		return 1
	}
	return 0
}

// FromStart reports whether the stream was captured whole: from the client's SYN, with no byte
// missing in either direction. Checks that track state across packets need it.
func FromStart(c *Conv) bool {
	s := c.Stream
	return s.Handshake && s.MissingBytes == [2]int64{}
}

// freshSession reports whether the server said no session was present: neither side can then
// hold state from an earlier connection.
func freshSession(c *Conv) bool {
	return FromStart(c) && c.Connack != nil && !c.Connack.SessionPresent && c.Connack.ReasonCode == 0
}

// closedAt returns when the connection stopped carrying traffic: the first FIN or RST of either
// side, or the end of the capture.
func (c *Conv) closedAt() time.Time {
	s := c.Stream
	t := c.End
	if s.ClientClose != pcap.Open && s.ClientCloseTime.Before(t) {
		t = s.ClientCloseTime
	}
	if s.ServerClose != pcap.Open && s.ServerCloseTime.Before(t) {
		t = s.ServerCloseTime
	}
	return t
}

// peer returns the other role.
func peer(r Role) Role {
	if r == Client {
		return Broker
	}
	return Client
}

// packetID returns the identifier a packet carries, if it carries one.
func packetID(p codec.Packet) (uint16, bool) {
	switch p := p.(type) {
	case *codec.Publish:
		return p.PacketID, p.QoS > 0
	case *codec.Puback:
		return p.PacketID, true
	case *codec.Pubrec:
		return p.PacketID, true
	case *codec.Pubrel:
		return p.PacketID, true
	case *codec.Pubcomp:
		return p.PacketID, true
	case *codec.Subscribe:
		return p.PacketID, true
	case *codec.Suback:
		return p.PacketID, true
	case *codec.Unsubscribe:
		return p.PacketID, true
	case *codec.Unsuback:
		return p.PacketID, true
	}
	return 0, false
}

// pending is an exchange one side started and the other has not finished.
type pending struct {
	kind  codec.PacketType // PUBLISH, SUBSCRIBE or UNSUBSCRIBE
	qos   byte
	stage int // QoS 2: 0 PUBLISH sent, 1 PUBREC received, 2 PUBREL sent
	at    int // index of the packet that started it
}

// session follows the packet identifiers in use by each side of a stream.
type session struct {
	inUse [2]map[uint16]*pending // by sender: 0 client, 1 server
}

func newSession() *session {
	return &session{inUse: [2]map[uint16]*pending{{}, {}}}
}

func roleIndex(r Role) int {
	if r == Broker {
		return 1
	}
	return 0
}

// step updates the state with record i and reports what it meant.
type stepResult struct {
	newID     bool // a PUBLISH/SUBSCRIBE/UNSUBSCRIBE took an identifier that was free
	reuse     bool // a PUBLISH, SUBSCRIBE or UNSUBSCRIBE used an identifier already in use
	resend    bool // a PUBLISH re-sent an identifier in use with the same QoS (a redelivery)
	unmatched bool // an acknowledgement that answers nothing outstanding from the peer
	done      *pending
}

func (s *session) step(c *Conv, i int) stepResult {
	r := &c.Recs[i]
	own, other := s.inUse[roleIndex(r.From)], s.inUse[roleIndex(peer(r.From))]
	var res stepResult
	switch p := r.Packet.(type) {
	case *codec.Publish:
		if p.QoS == 0 || p.QoS > 2 {
			return res
		}
		if q, ok := own[p.PacketID]; ok {
			if q.kind == codec.PUBLISH && q.qos == p.QoS && q.stage == 0 {
				res.resend = true
				return res
			}
			res.reuse = true
		} else {
			res.newID = true
		}
		own[p.PacketID] = &pending{kind: codec.PUBLISH, qos: p.QoS, at: i}
	case *codec.Subscribe:
		res.reuse = own[p.PacketID] != nil
		res.newID = !res.reuse
		own[p.PacketID] = &pending{kind: codec.SUBSCRIBE, at: i}
	case *codec.Unsubscribe:
		res.reuse = own[p.PacketID] != nil
		res.newID = !res.reuse
		own[p.PacketID] = &pending{kind: codec.UNSUBSCRIBE, at: i}
	case *codec.Puback:
		q := other[p.PacketID]
		if q == nil || q.kind != codec.PUBLISH || q.qos != 1 {
			res.unmatched = true
			return res
		}
		delete(other, p.PacketID)
		res.done = q
	case *codec.Pubrec:
		q := other[p.PacketID]
		if q == nil || q.kind != codec.PUBLISH || q.qos != 2 {
			res.unmatched = true
			return res
		}
		if p.ReasonCode >= 0x80 {
			delete(other, p.PacketID)
			res.done = q
			return res
		}
		q.stage = max(q.stage, 1)
	case *codec.Pubrel:
		q := own[p.PacketID]
		if q == nil || q.kind != codec.PUBLISH || q.qos != 2 || q.stage == 0 {
			res.unmatched = true
			return res
		}
		q.stage = 2
	case *codec.Pubcomp:
		q := other[p.PacketID]
		if q == nil || q.kind != codec.PUBLISH || q.qos != 2 || q.stage != 2 {
			res.unmatched = true
			return res
		}
		delete(other, p.PacketID)
		res.done = q
	case *codec.Suback:
		q := other[p.PacketID]
		if q == nil || q.kind != codec.SUBSCRIBE {
			res.unmatched = true
			return res
		}
		delete(other, p.PacketID)
		res.done = q
	case *codec.Unsuback:
		q := other[p.PacketID]
		if q == nil || q.kind != codec.UNSUBSCRIBE {
			res.unmatched = true
			return res
		}
		delete(other, p.PacketID)
		res.done = q
	}
	return res
}
