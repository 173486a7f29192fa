package netfuzz

import (
	"math/rand"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// maxInput bounds what one input sends (property storms and huge packets stay below it).
const maxInput = 1 << 20

// maxDelay bounds the pauses of one input, so that slow sends do not stall the campaign.
const maxDelay = 400 * time.Millisecond

// mutator makes inputs from the MQTT grammar (package fuzz/gen) and mutates them.
type mutator struct {
	rng     *rand.Rand
	version codec.Version // VersionUnknown: both versions
	// username and password, when username is set, replace the anonymous login of every
	// generated CONNECT before the mutations (which may still drop or break them).
	username, password string
}

func (m *mutator) bytes(n int) []byte {
	b := make([]byte, n)
	m.rng.Read(b)
	return b
}

func (m *mutator) pickVersion() codec.Version {
	if m.version.Valid() {
		return m.version
	}
	if m.rng.Intn(2) == 0 {
		return codec.V311
	}
	return codec.V5
}

// session returns a valid client session: CONNECT, then SUBSCRIBE, PUBLISH at every QoS, PUBREL,
// UNSUBSCRIBE, PINGREQ… one write per packet.
func (m *mutator) session() (Input, codec.Version) {
	s := gen.NewSession(m.bytes(64+m.rng.Intn(400)), gen.SessionOptions{Version: m.pickVersion(), MaxPackets: 10, MaxField: 512})
	in := make(Input, 0, len(s.Cases))
	for i, c := range s.Cases {
		data := c.Bytes
		if cp, ok := c.Packet.(*codec.Connect); ok && i == 0 && m.username != "" {
			cp.UsernameFlag, cp.Username = true, m.username
			cp.PasswordFlag, cp.Password = true, []byte(m.password)
			if b, err := cp.AppendTo(nil, s.Version); err == nil {
				data = b
			}
		}
		in = append(in, Step{Data: data})
	}
	return in, s.Version
}

// mutation is one grammar-aware change of an input; weight sets how often it is picked.
type mutation struct {
	name   string
	do     func(m *mutator, in Input, v codec.Version) Input
	weight int
}

var mutations = []mutation{
	{"defect", (*mutator).defect, 8},            // one packet broken in one way: edges, flags, lengths, properties
	{"edge", (*mutator).edge, 4},                // one packet rebuilt with fields at their valid edges
	{"flip-flags", (*mutator).flipFlags, 3},     // fixed-header flag bits
	{"flip-bit", (*mutator).flipBit, 3},         // any bit of any byte
	{"wrong-length", (*mutator).wrongLength, 3}, // a remaining length that disagrees with the body
	{"truncate", (*mutator).truncate, 2},        // a packet cut short
	{"concatenate", (*mutator).concatenate, 2},  // packets joined into one write, or repeated
	{"property-storm", (*mutator).storm, 1},     // thousands of properties
	{"huge-length", (*mutator).hugeLength, 1},   // a header announcing up to 256 MB
	{"slow", (*mutator).slow, 1},                // a packet sent a byte at a time with pauses
	{"insert", (*mutator).insert, 3},            // a packet of any type, also the server's
	{"drop", (*mutator).drop, 2},
	{"swap", (*mutator).swap, 2},
}

var totalWeight = func() int {
	n := 0
	for _, mu := range mutations {
		n += mu.weight
	}
	return n
}()

func (m *mutator) pickMutation() mutation {
	x := m.rng.Intn(totalWeight)
	for _, mu := range mutations {
		if x < mu.weight {
			return mu
		}
		x -= mu.weight
	}
	return mutations[0]
}

// mutate applies one to three mutations and returns the result with their names.
func (m *mutator) mutate(in Input, v codec.Version) (Input, string) {
	out := in.clone()
	name := ""
	for n := 1 + m.rng.Intn(3); n > 0; n-- {
		mu := m.pickMutation()
		out = mu.do(m, out, v)
		if name != "" {
			name += "+"
		}
		name += mu.name
	}
	if len(out) == 0 {
		out = Input{{Data: []byte{0xC0, 0}}}
	}
	for out.Size() > maxInput {
		out = out[:len(out)-1]
	}
	for out.Duration() > maxDelay {
		for i := range out {
			out[i].Delay /= 2
		}
	}
	return out, name
}

func (m *mutator) pick(in Input) int {
	if len(in) == 0 {
		return 0
	}
	// Mostly after the CONNECT: a broken CONNECT only ever meets the handshake.
	if len(in) > 1 && m.rng.Intn(4) != 0 {
		return 1 + m.rng.Intn(len(in)-1)
	}
	return m.rng.Intn(len(in))
}

func packetType(b []byte) codec.PacketType {
	if len(b) == 0 {
		return 0
	}
	return codec.PacketType(b[0] >> 4)
}

func (m *mutator) regen(in Input, v codec.Version, d gen.Defect) Input {
	if len(in) == 0 {
		return in
	}
	i := m.pick(in)
	o := gen.Options{Version: v, Sender: codec.SideClient, Defect: d, MaxField: 1024}
	if t := packetType(in[i].Data); t >= codec.CONNECT && t <= codec.AUTH && (t != codec.AUTH || v == codec.V5) {
		o.Types = []codec.PacketType{t}
		o.Sender = codec.SideUnknown
	}
	in[i].Data = gen.Packet(m.bytes(32+m.rng.Intn(200)), o).Bytes
	return in
}

func (m *mutator) defect(in Input, v codec.Version) Input {
	return m.regen(in, v, gen.Defect(1+m.rng.Intn(len(gen.Defects())-1)))
}

func (m *mutator) edge(in Input, v codec.Version) Input { return m.regen(in, v, gen.Valid) }

func (m *mutator) flipFlags(in Input, _ codec.Version) Input {
	if i := m.pick(in); i < len(in) && len(in[i].Data) > 0 {
		in[i].Data[0] ^= 1 << m.rng.Intn(4)
	}
	return in
}

func (m *mutator) flipBit(in Input, _ codec.Version) Input {
	if i := m.pick(in); i < len(in) && len(in[i].Data) > 0 {
		j := m.rng.Intn(len(in[i].Data))
		in[i].Data[j] ^= 1 << m.rng.Intn(8)
	}
	return in
}

func appendVarint(dst []byte, x int) []byte {
	for {
		c := byte(x & 0x7F)
		x >>= 7
		if x > 0 {
			dst = append(dst, c|0x80)
		} else {
			return append(dst, c)
		}
	}
}

func (m *mutator) wrongLength(in Input, _ codec.Version) Input {
	i := m.pick(in)
	if i >= len(in) || len(in[i].Data) < 2 {
		return in
	}
	b := in[i].Data
	h := headerLen(b)
	body := b[h:]
	n := len(body)
	choices := []int{0, n - 1, n + 1, n + 1 + m.rng.Intn(100), n - 1 - m.rng.Intn(n+1), 127, 128, 16383, 16384, 2097151, 268435455}
	x := max(choices[m.rng.Intn(len(choices))], 0)
	in[i].Data = append(appendVarint([]byte{b[0]}, x), body...)
	return in
}

func (m *mutator) truncate(in Input, _ codec.Version) Input {
	if i := m.pick(in); i < len(in) && len(in[i].Data) > 1 {
		in[i].Data = in[i].Data[:1+m.rng.Intn(len(in[i].Data)-1)]
	}
	return in
}

func (m *mutator) concatenate(in Input, _ codec.Version) Input {
	if len(in) == 0 {
		return in
	}
	i := m.pick(in)
	if m.rng.Intn(2) == 0 && i+1 < len(in) {
		in[i].Data = append(in[i].Data, in[i+1].Data...)
		return append(in[:i+1], in[i+2:]...)
	}
	n := 2 + m.rng.Intn(200)
	one := in[i].Data
	var rep []byte
	for k := 0; k < n && len(rep)+len(one) < maxInput/4; k++ {
		rep = append(rep, one...)
	}
	in[i].Data = rep
	return in
}

// storm builds a packet with thousands of properties (5.0) or thousands of subscriptions
// (3.1.1) and puts it in the input.
func (m *mutator) storm(in Input, v codec.Version) Input {
	var p codec.Packet
	n := 1000 + m.rng.Intn(20000)
	if v == codec.V5 {
		pub := &codec.Publish{QoS: byte(m.rng.Intn(3)), PacketID: uint16(1 + m.rng.Intn(65535)), Topic: "a/b", Payload: []byte("s")}
		for k := 0; k < n; k++ {
			pub.Properties.AddUser("k", "v")
		}
		if m.rng.Intn(2) == 0 {
			pub.Properties.SubscriptionIDs = make([]uint32, 1+m.rng.Intn(5000))
			for k := range pub.Properties.SubscriptionIDs {
				pub.Properties.SubscriptionIDs[k] = uint32(1 + m.rng.Intn(codec.MaxVarint))
			}
		}
		p = pub
	} else {
		sub := &codec.Subscribe{PacketID: uint16(1 + m.rng.Intn(65535))}
		for k := 0; k < n; k++ {
			sub.Subscriptions = append(sub.Subscriptions, codec.Subscription{Filter: "s/+/#", QoS: byte(k % 3)})
		}
		p = sub
	}
	b, err := p.AppendTo(nil, v)
	if err != nil {
		return in
	}
	return m.insertAt(in, Step{Data: b})
}

func (m *mutator) hugeLength(in Input, _ codec.Version) Input {
	t := byte(1 + m.rng.Intn(14))
	lens := [][]byte{{0xFF, 0xFF, 0xFF, 0x7F}, {0x80, 0x80, 0x80, 0x01}, {0xFF, 0xFF, 0x7F}, {0xFF, 0xFF, 0xFF, 0xFF, 0x7F}}
	b := append([]byte{t<<4 | byte(m.rng.Intn(16))}, lens[m.rng.Intn(len(lens))]...)
	b = append(b, m.bytes(m.rng.Intn(64))...)
	return m.insertAt(in, Step{Data: b})
}

func (m *mutator) slow(in Input, _ codec.Version) Input {
	i := m.pick(in)
	if i >= len(in) || len(in[i].Data) == 0 {
		return in
	}
	data := in[i].Data
	pause := time.Duration(1+m.rng.Intn(10)) * time.Millisecond
	if m.rng.Intn(8) == 0 {
		pause *= 10
	}
	var steps []Step
	for k := 0; k < len(data); k++ {
		if k >= 8 { // the rest in one write: slowness is in the first bytes
			steps = append(steps, Step{Delay: pause, Data: data[k:]})
			break
		}
		steps = append(steps, Step{Delay: pause, Data: data[k : k+1]})
	}
	out := append(Input{}, in[:i]...)
	out = append(out, steps...)
	return append(out, in[i+1:]...)
}

func (m *mutator) insert(in Input, v codec.Version) Input {
	c := gen.Packet(m.bytes(32+m.rng.Intn(200)), gen.Options{Version: v, Defect: gen.Any, MaxField: 1024})
	return m.insertAt(in, Step{Data: c.Bytes})
}

func (m *mutator) insertAt(in Input, s Step) Input {
	i := 0
	if len(in) > 0 {
		i = 1 + m.rng.Intn(len(in))
	}
	out := append(Input{}, in[:i]...)
	out = append(out, s)
	return append(out, in[i:]...)
}

func (m *mutator) drop(in Input, _ codec.Version) Input {
	if len(in) < 2 {
		return in
	}
	i := m.pick(in)
	return append(in[:i], in[i+1:]...)
}

func (m *mutator) swap(in Input, _ codec.Version) Input {
	if len(in) < 2 {
		return in
	}
	i, j := m.rng.Intn(len(in)), m.rng.Intn(len(in))
	in[i], in[j] = in[j], in[i]
	return in
}
