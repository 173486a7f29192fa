// Package replay re-sends the client side of captured MQTT streams to a live target and compares
// the target's answers with the answers in the capture.
//
// Each stream whose CONNECT was captured is replayed on its own connection, with its client
// identifier made unique for the run. Client packets go out in their captured order across all
// streams; before each one the player waits (up to Options.StepTimeout) until the target has
// answered as many packets as the captured server had by then on that stream, and a stream
// hands the next turn to another only once the target has sent it what the capture shows before
// that next packet (a subscriber's SUBACK before another client's PUBLISH), so that causality
// survives replay at any speed. A client that reconnects (a later stream with the same client
// identifier, opened after the earlier one ended) opens its new connection only once the replay
// of the earlier one is closed, so that the target sees a reconnection rather than a takeover;
// and after a client DISCONNECT the other streams wait (up to StepTimeout) until the target has
// closed that connection, so that nothing published meanwhile is delivered to the leaving
// client. Packet identifiers the server chose are mapped: when the target numbers its messages
// differently, the client's acknowledgements are rewritten to the target's numbers, and both
// answer lists show server-chosen identifiers by order of appearance (#1, #2…). Topic
// Aliases are resolved on both sides (the server's choice of aliases is its own), and a client
// alias above the target's Topic Alias Maximum is sent as the topic it stands for.
//
// The answers are compared in two steps. Their skeletons (type, flags, topic, reason codes,
// identifiers) are aligned by longest common subsequence; a packet present on one side only is a
// '-' or '+' line. Aligned packets are then compared in full — properties and payload — with
// per-property rules (see compareDetails), and one that differs is a '~' line whose Change holds
// both sides' packets and what differs. Retained messages and messages queued for an offline
// session are server PUBLISH packets like the others: their payloads and properties are compared.
package replay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/pcap"
)

// Options control a replay.
type Options struct {
	// Dial opens a connection to the target (conformance.Target.Dial fits).
	Dial func(ctx context.Context) (net.Conn, error)
	// Speed scales the captured timing: 2 replays twice as fast. 0 means 1.
	Speed float64
	// AsFast ignores the captured timing: only the order of client packets and the wait for the
	// target's answers remain.
	AsFast bool
	// StepTimeout bounds each wait for the target's answers (default 2s).
	StepTimeout time.Duration
	// Suffix is appended to client identifiers to keep the replay's sessions apart from anything
	// else on the target (default "-r" and four random hex digits).
	Suffix string
	// MaxPacketSize bounds the packets read from the target (default 16 MiB).
	MaxPacketSize int
}

// Result is the outcome of a replay.
type Result struct {
	Streams []*StreamResult
}

// Differences counts the streams whose answers differ or that failed.
func (r *Result) Differences() int {
	n := 0
	for _, s := range r.Streams {
		if s.Skipped == "" && !s.Equal() {
			n++
		}
	}
	return n
}

// StreamResult is the replay of one stream.
type StreamResult struct {
	Stream   int           `json:"stream"`
	Version  codec.Version `json:"-"`
	MQTT     string        `json:"version"`             // Version as text
	ClientID string        `json:"client_id"`           // as captured
	ReplayID string        `json:"replay_id,omitempty"` // as sent to the target
	Skipped  string        `json:"skipped,omitempty"`   // why the stream was not replayed ("" when it was)
	// Err is what went wrong while replaying (the diff still shows what arrived); Error is its
	// text, for JSON.
	Err   error  `json:"-"`
	Error string `json:"error,omitempty"`
	// Sent lists the client packets as sent; Captured and Replayed the server's answers in the
	// capture and from the target, normalised (see Normalize).
	Sent     []string `json:"sent,omitempty"`
	Captured []string `json:"captured,omitempty"`
	Replayed []string `json:"replayed,omitempty"`
	Diff     []Line   `json:"diff,omitempty"`
	// Changes details the '~' lines of Diff, in their order: both sides' packets and what differs.
	Changes []Change `json:"changes,omitempty"`
	Same    bool     `json:"same"`
}

// Change is a packet both sides sent (same type, flags, topic, reason codes and identifiers)
// with different content.
type Change struct {
	Captured string   `json:"captured"`
	Replayed string   `json:"replayed"`
	Differs  []string `json:"differs"` // one entry per differing property or the payload
}

// Equal reports whether the target answered as the captured server did.
func (s *StreamResult) Equal() bool {
	if s.Err != nil {
		return false
	}
	for _, l := range s.Diff {
		if l.Op != ' ' {
			return false
		}
	}
	return true
}

// Line is one line of a diff: ' ' both, '-' only captured, '+' only replayed, '~' both with
// different content (the skeleton, then what differs; StreamResult.Changes has both packets).
type Line struct {
	Op   byte
	Text string
}

func (l Line) String() string { return string(l.Op) + " " + l.Text }

// MarshalJSON writes a line as it prints: "- PUBACK id=1 rc=0x00".
func (l Line) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

// Run replays every stream of the capture that started with a captured CONNECT.
func Run(ctx context.Context, cp *pcap.Capture, o Options) (*Result, error) {
	if o.Dial == nil {
		return nil, errors.New("replay: no target to dial")
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 2 * time.Second
	}
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = pcap.DefaultMaxPacketSize
	}
	if o.Suffix == "" {
		var b [2]byte
		_, _ = rand.Read(b[:])
		o.Suffix = "-r" + hex.EncodeToString(b[:])
	}
	res := &Result{}
	var players []*player
	var items []*sendItem
	for _, cv := range cp.Conversations {
		if cv == nil || len(cv.Records) == 0 {
			continue
		}
		p := plan(cv, &o)
		res.Streams = append(res.Streams, p.res)
		if p.res.Skipped != "" {
			continue
		}
		// A client that reconnects (same identifier, the earlier connection over by the time of
		// the new CONNECT) must find its earlier connection closed on the target too, or the
		// target sees a session takeover where the capture shows a resumption.
		for _, q := range players {
			if q.res.ClientID == p.res.ClientID && p.res.ClientID != "" && !q.conv.Stream.End.After(p.sends[0].rec.Time) {
				p.after = q
			}
		}
		players = append(players, p)
		items = append(items, p.sends...)
	}
	// The global order of client packets: by captured time, then stream, then position.
	sort.SliceStable(items, func(i, j int) bool { return items[i].rec.Time.Before(items[j].rec.Time) })
	seq := newSequencer()
	for g, it := range items {
		it.global = g
		if g+1 < len(items) {
			it.serverBeforeNext = it.owner.serverAt(items[g+1].rec.Time)
		}
	}
	var first time.Time
	if cp.Summary != nil {
		first = cp.Summary.First
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, seq, start, first)
		}()
	}
	wg.Wait()
	return res, ctx.Err()
}

// sendItem is one client packet to send.
type sendItem struct {
	rec          *pcap.Record
	global       int // position in the order of all client packets
	serverBefore int // server packets the capture shows before this one
	ackOrdinal   int // for an acknowledgement of a server message: which one (-1: none)
	// serverBeforeNext is how many of this stream's server packets the capture shows before the
	// next client packet of any stream: they are awaited before that one may go out.
	serverBeforeNext int
	owner            *player
}

type player struct {
	o        *Options
	conv     *pcap.Conversation
	res      *StreamResult
	sends    []*sendItem
	captured []codec.Packet // the captured server packets
	capTimes []time.Time    // when each was captured, sorted (see serverAt)

	mu     sync.Mutex
	cond   *sync.Cond
	got    []codec.Packet // the target's packets
	closed bool
	gaveUp int // the largest count waitFor gave up on (StepTimeout)
	rerr   error
	bad    string   // the target's packet that could not be decoded
	pubIDs []uint16 // identifiers of the target's QoS>0 messages, by order of first use
	// The target's CONNACK Topic Alias Maximum: client aliases above it are sent as topics.
	aliasMax uint16
	// sendAliases are the client aliases the replay did set on the target (for alias-only
	// packets: sent as captured only when the mapping exists there).
	sendAliases map[uint16]string
	started     time.Time // when the connection to the target was opened
	// after is the replay of this client's previous connection, which must be closed before
	// this one opens (nil: none); done is closed when this replay's connection is.
	after *player
	done  chan struct{}
}

func plan(cv *pcap.Conversation, o *Options) *player {
	s := cv.Stream
	p := &player{o: o, conv: cv, res: &StreamResult{Stream: s.ID, Version: s.Version, MQTT: s.Version.String()}, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	var firstClient *pcap.Record
	for i := range cv.Records {
		if cv.Records[i].Dir == pcap.FromClient {
			firstClient = &cv.Records[i]
			break
		}
	}
	switch {
	case firstClient == nil:
		p.res.Skipped = "the capture holds no client packet of this stream"
		return p
	case firstClient.Type != codec.CONNECT || firstClient.Packet == nil:
		p.res.Skipped = "the stream's first client packet in the capture is not a decodable CONNECT (captured mid-way?)"
		return p
	}
	p.res.ClientID = firstClient.Packet.(*codec.Connect).ClientID
	// Which captured server message each client acknowledgement answers, by order of the
	// server's QoS>0 messages.
	ordinal := map[uint16]int{} // server id → ordinal of its latest PUBLISH
	n := 0
	server := 0
	for i := range cv.Records {
		r := &cv.Records[i]
		if r.Dir == pcap.FromServer {
			server++
			p.captured = append(p.captured, r.Packet)
			p.capTimes = append(p.capTimes, r.Time)
			if pub, ok := r.Packet.(*codec.Publish); ok && pub.QoS > 0 && !(pub.Dup && ordinalKnown(ordinal, pub.PacketID)) {
				ordinal[pub.PacketID] = n
				n++
			}
			continue
		}
		it := &sendItem{rec: r, serverBefore: server, ackOrdinal: -1, owner: p}
		switch r.Type {
		case codec.PUBACK, codec.PUBREC, codec.PUBCOMP:
			if id, ok := ackID(r.Packet); ok {
				if k, ok := ordinal[id]; ok {
					it.ackOrdinal = k
				}
			}
		}
		p.sends = append(p.sends, it)
	}
	sort.Slice(p.capTimes, func(i, j int) bool { return p.capTimes[i].Before(p.capTimes[j]) })
	return p
}

func ordinalKnown(m map[uint16]int, id uint16) bool { _, ok := m[id]; return ok }

func ackID(p codec.Packet) (uint16, bool) {
	switch p := p.(type) {
	case *codec.Puback:
		return p.PacketID, true
	case *codec.Pubrec:
		return p.PacketID, true
	case *codec.Pubcomp:
		return p.PacketID, true
	}
	return 0, false
}

// replayID makes a captured client identifier unique to the run, within the 23 bytes every
// 3.1.1 server must accept.
func replayID(id, suffix string) string {
	if id == "" {
		return "" // the server assigns one
	}
	if keep := 23 - len(suffix); len(id) > keep && keep > 0 {
		id = id[:keep]
	}
	return id + suffix
}

func (p *player) run(ctx context.Context, seq *sequencer, start, first time.Time) {
	defer close(p.done) // last: after the connection is closed and the turns released
	defer func() {
		// Whatever happened, give up this stream's turns so that the others go on.
		for _, it := range p.sends {
			seq.release(it.global)
		}
	}()
	v := p.conv.Stream.Version
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
			p.waitReader()
		}
		p.finish()
	}()
	for i, it := range p.sends {
		if err := seq.wait(ctx, it.global); err != nil {
			p.res.Err = err
			return
		}
		if !p.o.AsFast && !first.IsZero() {
			due := start.Add(time.Duration(float64(it.rec.Time.Sub(first)) / p.o.Speed))
			if err := sleepUntil(ctx, due); err != nil {
				p.res.Err = err
				return
			}
		}
		if i == 0 {
			if p.after != nil {
				select {
				case <-p.after.done:
				case <-ctx.Done():
					p.res.Err = ctx.Err()
					return
				}
			}
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			c, err := p.o.Dial(dctx)
			cancel()
			if err != nil {
				p.res.Err = fmt.Errorf("connect to the target: %w", err)
				return
			}
			conn = c
			p.started = time.Now()
			go p.read(conn, v)
		}
		p.waitFor(ctx, it.serverBefore)
		b, desc := p.bytes(it, v)
		p.res.Sent = append(p.res.Sent, desc)
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(b); err != nil {
			p.res.Err = fmt.Errorf("send %s: %w", desc, err)
			return
		}
		if it.rec.Type == codec.DISCONNECT {
			// The next packet of another stream waits until the target has closed this
			// connection (or StepTimeout): a PUBLISH that reaches it first would otherwise be
			// delivered to this client, and resent with DUP when it reconnects.
			p.waitFor(ctx, math.MaxInt)
		}
		// The capture's answers to this stream that came before the next client packet (of
		// any stream) are awaited first: a SUBSCRIBE's SUBACK before another client's
		// PUBLISH, or the target may route that message before the subscription exists.
		p.waitFor(ctx, it.serverBeforeNext)
		seq.release(it.global)
	}
	p.waitFor(ctx, len(p.captured))
}

// bytes returns what to send for a captured client packet: the captured bytes, except for the
// CONNECT's client identifier and the identifiers of acknowledgements of server messages.
func (p *player) bytes(it *sendItem, v codec.Version) ([]byte, string) {
	r := it.rec
	if r.Packet == nil {
		return r.Raw, fmt.Sprintf("%v (undecodable, sent as captured)", r.Type)
	}
	switch pk := r.Packet.(type) {
	case *codec.Connect:
		c := *pk
		c.ClientID = replayID(pk.ClientID, p.o.Suffix)
		p.res.ReplayID = c.ClientID
		if b, err := c.AppendTo(nil, v); err == nil {
			return b, Normalize(&c, nil)
		}
	case *codec.Publish:
		if r.Alias != nil {
			if b, desc, ok := p.publishAlias(pk, r.Alias, v); ok {
				return b, desc
			}
		}
	case *codec.Puback, *codec.Pubrec, *codec.Pubcomp:
		if it.ackOrdinal >= 0 {
			p.mu.Lock()
			var id uint16
			ok := it.ackOrdinal < len(p.pubIDs)
			if ok {
				id = p.pubIDs[it.ackOrdinal]
			}
			p.mu.Unlock()
			if ok {
				b := append([]byte(nil), r.Raw...)
				h, _ := codec.ParseHeader(b, v)
				if len(b) >= h.Len+2 {
					b[h.Len], b[h.Len+1] = byte(id>>8), byte(id)
					if q, _, err := codec.DecodeWith(codec.Options{Version: v, Lenient: true}, b, nil); err == nil {
						return b, Normalize(q, nil)
					}
				}
			}
		}
	}
	return r.Raw, Normalize(r.Packet, nil)
}

// publishAlias re-maps a captured client PUBLISH with a Topic Alias for the target: an alias the
// target allows (its CONNACK Topic Alias Maximum) goes out as captured; otherwise the packet is
// sent with the topic the alias stands for and no alias. An alias-only packet whose mapping the
// replay did not set on the target (because it was sent as a topic) goes out with the topic too.
func (p *player) publishAlias(pk *codec.Publish, a *pcap.Alias, v codec.Version) ([]byte, string, bool) {
	p.mu.Lock()
	max := p.aliasMax
	p.mu.Unlock()
	if p.sendAliases == nil {
		p.sendAliases = map[uint16]string{}
	}
	if a.Alias != 0 && a.Alias <= max && (a.Set || p.sendAliases[a.Alias] == a.Topic && a.Topic != "") {
		if a.Set {
			p.sendAliases[a.Alias] = a.Topic
		}
		return nil, "", false // as captured
	}
	if a.Topic == "" {
		return nil, "", false // unresolvable: as captured, the target's answer is the finding
	}
	delete(p.sendAliases, a.Alias)
	q := *pk
	q.Topic = a.Topic
	q.Properties.Clear(codec.PropTopicAlias) // a copy: the slices it shares are not written
	b, err := q.AppendTo(nil, v)
	if err != nil {
		return nil, "", false
	}
	return b, Normalize(&q, nil) + fmt.Sprintf(" (Topic Alias %d sent as its topic: the target allows %d)", a.Alias, max), true
}

// read collects the target's packets until the connection ends.
func (p *player) read(conn net.Conn, v codec.Version) {
	rd := codec.NewReader(conn, codec.Options{Version: v, Lenient: true, MaxPacketSize: p.o.MaxPacketSize, Sender: codec.SideServer})
	for {
		pk, err := rd.ReadPacket()
		p.mu.Lock()
		if err != nil {
			var ce *codec.Error
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
				// The target closed the connection, or we did: the end of the answers.
			case errors.As(err, &ce):
				p.bad = fmt.Sprintf("undecodable %v: %v", ce.Packet, err)
			default:
				p.rerr = err
			}
			p.closed = true
			p.cond.Broadcast()
			p.mu.Unlock()
			return
		}
		if pub, ok := pk.(*codec.Publish); ok && pub.QoS > 0 && !(pub.Dup && containsID(p.pubIDs, pub.PacketID)) {
			p.pubIDs = append(p.pubIDs, pub.PacketID)
		}
		if ca, ok := pk.(*codec.Connack); ok {
			p.aliasMax = ca.Properties.TopicAliasMaximum
		}
		p.got = append(p.got, pk)
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

func containsID(ids []uint16, id uint16) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// serverAt counts the stream's captured server packets from before t. capTimes is sorted
// (capture clocks can step back), so this is a search, not a scan per client packet.
func (p *player) serverAt(t time.Time) int {
	return sort.Search(len(p.capTimes), func(i int) bool { return !p.capTimes[i].Before(t) })
}

// waitFor waits until the target has sent n packets on this stream, closed it, or StepTimeout
// has passed. A count that already timed out once is not awaited again: the target's missing
// answer is a finding, and waiting for it before every later packet would only slow the replay.
func (p *player) waitFor(ctx context.Context, n int) {
	p.mu.Lock()
	if len(p.got) >= n || p.closed || n <= p.gaveUp {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	deadline := time.Now().Add(p.o.StepTimeout)
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	t := time.AfterFunc(p.o.StepTimeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer t.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.got) < n && !p.closed && ctx.Err() == nil && time.Now().Before(deadline) {
		p.cond.Wait()
	}
	if len(p.got) < n && !p.closed && ctx.Err() == nil {
		p.gaveUp = n
	}
}

func (p *player) waitReader() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed {
		p.cond.Wait()
	}
}

// finish compares the answers.
func (p *player) finish() {
	p.mu.Lock()
	got := p.got
	rerr, bad := p.rerr, p.bad
	p.mu.Unlock()
	ca, re := normalizeAll(p.captured), normalizeAll(got)
	if bad != "" {
		re = append(re, answer{key: bad, full: bad})
	}
	for _, a := range ca {
		p.res.Captured = append(p.res.Captured, a.full)
	}
	for _, a := range re {
		p.res.Replayed = append(p.res.Replayed, a.full)
	}
	// Message Expiry Intervals differ by how long each broker held the message: at most the
	// longer of the captured stream and its replay, plus a second of rounding.
	s := p.conv.Stream
	slack := s.End.Sub(s.Start)
	if !p.started.IsZero() {
		slack = max(slack, time.Since(p.started))
	}
	p.res.Diff, p.res.Changes = diff(ca, re, rules{expirySlack: uint32(slack/time.Second) + 1})
	if p.res.Err == nil && rerr != nil {
		p.res.Err = fmt.Errorf("reading the target: %w", rerr)
	}
	if p.res.Err != nil {
		p.res.Error = p.res.Err.Error()
	}
	p.res.Same = p.res.Equal()
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sequencer hands out turns in global order; a released turn that is not the current one is
// remembered, so a stream that gives up does not block the others.
type sequencer struct {
	mu       sync.Mutex
	cond     *sync.Cond
	next     int
	released map[int]bool
}

func newSequencer() *sequencer {
	s := &sequencer{released: map[int]bool{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *sequencer) wait(ctx context.Context, g int) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.next < g && ctx.Err() == nil {
		s.cond.Wait()
	}
	return ctx.Err()
}

func (s *sequencer) release(g int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g < s.next {
		return
	}
	s.released[g] = true
	for s.released[s.next] {
		delete(s.released, s.next)
		s.next++
	}
	s.cond.Broadcast()
}

// Normalize renders a packet for comparison: type, flags, reason codes and the identifiers of
// client requests; ids maps identifiers the server chose to their order of appearance (nil
// leaves them as they are). Properties, payloads and client identifiers are left out of this
// skeleton: the answers are aligned on it, then compared in full (see compareDetails).
func Normalize(p codec.Packet, ids func(uint16) string) string {
	id := func(x uint16) string {
		if ids != nil {
			return ids(x)
		}
		return fmt.Sprint(x)
	}
	switch p := p.(type) {
	case nil:
		return "undecodable"
	case *codec.Connect:
		s := fmt.Sprintf("CONNECT v%v keepalive=%d", codec.Version(p.ProtocolLevel), p.KeepAlive)
		if p.CleanStart {
			s += " clean"
		}
		if p.WillFlag {
			s += fmt.Sprintf(" will=%q", p.Will.Topic)
		}
		return s
	case *codec.Connack:
		return fmt.Sprintf("CONNACK session_present=%t rc=0x%02X", p.SessionPresent, byte(p.ReasonCode))
	case *codec.Publish:
		s := fmt.Sprintf("PUBLISH topic=%q qos=%d", p.Topic, p.QoS)
		if p.Retain {
			s += " retain"
		}
		if p.Dup {
			s += " dup"
		}
		if p.QoS > 0 {
			s += " id=" + id(p.PacketID)
		}
		return s
	case *codec.Puback:
		return fmt.Sprintf("PUBACK id=%d rc=0x%02X", p.PacketID, byte(p.ReasonCode))
	case *codec.Pubrec:
		return fmt.Sprintf("PUBREC id=%d rc=0x%02X", p.PacketID, byte(p.ReasonCode))
	case *codec.Pubrel:
		return fmt.Sprintf("PUBREL id=%s rc=0x%02X", id(p.PacketID), byte(p.ReasonCode))
	case *codec.Pubcomp:
		return fmt.Sprintf("PUBCOMP id=%d rc=0x%02X", p.PacketID, byte(p.ReasonCode))
	case *codec.Subscribe:
		var f []string
		for _, s := range p.Subscriptions {
			f = append(f, fmt.Sprintf("%q/%d", s.Filter, s.QoS))
		}
		return fmt.Sprintf("SUBSCRIBE id=%d %s", p.PacketID, strings.Join(f, " "))
	case *codec.Suback:
		return fmt.Sprintf("SUBACK id=%d rc=%s", p.PacketID, codes(p.ReasonCodes))
	case *codec.Unsubscribe:
		return fmt.Sprintf("UNSUBSCRIBE id=%d %q", p.PacketID, p.Filters)
	case *codec.Unsuback:
		return fmt.Sprintf("UNSUBACK id=%d rc=%s", p.PacketID, codes(p.ReasonCodes))
	case *codec.Pingreq:
		return "PINGREQ"
	case *codec.Pingresp:
		return "PINGRESP"
	case *codec.Disconnect:
		return fmt.Sprintf("DISCONNECT rc=0x%02X", byte(p.ReasonCode))
	case *codec.Auth:
		return fmt.Sprintf("AUTH rc=0x%02X", byte(p.ReasonCode))
	}
	return p.Type().String()
}

func codes(rc []codec.ReasonCode) string {
	var s []string
	for _, c := range rc {
		s = append(s, fmt.Sprintf("0x%02X", byte(c)))
	}
	return "[" + strings.Join(s, ",") + "]"
}

// answer is one server packet rendered for comparison: key is its skeleton (Normalize, with
// the topic its alias stands for), full adds its properties and payload.
type answer struct {
	key, full string
	pkt       codec.Packet
}

// normalizeAll renders one connection's server packets, numbering the identifiers the server
// chose (its QoS>0 messages and their PUBREL) by order of appearance and resolving its Topic
// Aliases (which aliases a server assigns is its own choice).
func normalizeAll(ps []codec.Packet) []answer {
	ord := map[uint16]int{}
	n := 0
	var aliases pcap.AliasTable
	out := make([]answer, 0, len(ps))
	for _, p := range ps {
		shown := p
		if pub, ok := p.(*codec.Publish); ok {
			if pub.QoS > 0 {
				if _, seen := ord[pub.PacketID]; !seen || !pub.Dup {
					n++
					ord[pub.PacketID] = n
				}
			}
			if a, ok := aliases.Apply(pub); ok {
				q := *pub
				q.Topic = a.Topic
				if a.Unset {
					q.Topic = fmt.Sprintf("?alias %d", a.Alias)
				}
				shown = &q
			}
		}
		key := Normalize(shown, func(id uint16) string {
			if k, ok := ord[id]; ok {
				return fmt.Sprintf("#%d", k)
			}
			return fmt.Sprintf("?%d", id)
		})
		out = append(out, answer{key: key, full: key + details(p), pkt: p})
	}
	return out
}

// details renders what the skeleton leaves out: the properties (Topic Alias aside: resolved into
// the topic) and a PUBLISH's payload.
func details(p codec.Packet) string {
	var parts []string
	if props := codec.PropertiesOf(p); props != nil {
		for _, pr := range pcap.Properties(props) {
			if pr.Name == codec.PropTopicAlias.String() {
				continue
			}
			parts = append(parts, pr.Name+"="+pr.Value)
		}
	}
	s := ""
	if len(parts) > 0 {
		s = " props={" + strings.Join(parts, ", ") + "}"
	}
	if pub, ok := p.(*codec.Publish); ok {
		s += " payload=" + payloadText(pub.Payload)
	}
	return s
}

// payloadText shows a short printable payload as a quoted string, anything else by its length
// and the start of its SHA-256.
func payloadText(b []byte) string {
	printable := len(b) <= 64
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		return fmt.Sprintf("%q", b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes sha256:%x", len(b), sum[:6])
}

// rules are the per-property comparison rules of compareDetails.
type rules struct {
	// expirySlack is how many seconds a Message Expiry Interval may differ by: each broker
	// decrements it by the time it held the message, which differs between capture and replay.
	expirySlack uint32
}

// compareDetails lists what differs between two packets with the same skeleton, property by
// property. Values a broker makes up per connection or per run are compared by presence only:
// Assigned Client Identifier (random), Authentication Data (nonces). The Message Expiry Interval
// must be present on both sides or neither, and the two values within the slack. Not compared:
// Topic Alias (resolved into the topic) and Reason String (diagnostic text a receiver must not
// parse, present or not at the implementation's choice). Every other property, the order of User
// Properties, and the payload are compared exactly.
func compareDetails(a, b codec.Packet, r rules) []string {
	var out []string
	pa, pb := codec.PropertiesOf(a), codec.PropertiesOf(b)
	if pa != nil && pb != nil {
		ids := map[codec.PropID]bool{}
		for _, id := range pa.IDs() {
			ids[id] = true
		}
		for _, id := range pb.IDs() {
			ids[id] = true
		}
		sorted := make([]codec.PropID, 0, len(ids))
		for id := range ids {
			sorted = append(sorted, id)
		}
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		for _, id := range sorted {
			ha, hb := pa.Has(id), pb.Has(id)
			va, vb := propText(pa, id), propText(pb, id)
			switch {
			case id == codec.PropTopicAlias, id == codec.PropReasonString:
				continue // resolved into the topic; free diagnostic text the receiver must not parse
			case ha != hb:
				out = append(out, fmt.Sprintf("%v: captured %s, replayed %s", id, orAbsent(ha, va), orAbsent(hb, vb)))
			case id == codec.PropAssignedClientID, id == codec.PropAuthData:
				continue // present on both sides: the value is the broker's own
			case id == codec.PropMessageExpiry:
				x, y := pa.MessageExpiry, pb.MessageExpiry
				if max(x, y)-min(x, y) > r.expirySlack {
					out = append(out, fmt.Sprintf("%v: captured %d, replayed %d (more than the %d s the brokers may have held the message apart)", id, x, y, r.expirySlack))
				}
			case va != vb:
				out = append(out, fmt.Sprintf("%v: captured %s, replayed %s", id, va, vb))
			}
		}
	}
	if x, ok := a.(*codec.Publish); ok {
		if y, ok := b.(*codec.Publish); ok && !bytes.Equal(x.Payload, y.Payload) {
			out = append(out, fmt.Sprintf("payload: captured %s, replayed %s", payloadText(x.Payload), payloadText(y.Payload)))
		}
	}
	return out
}

func orAbsent(has bool, v string) string {
	if !has {
		return "absent"
	}
	return v
}

// propText renders one property (all values of a repeatable one, in order) as pcap prints it.
func propText(p *codec.Properties, id codec.PropID) string {
	var vs []string
	for _, pr := range pcap.Properties(p) {
		if pr.Name == id.String() {
			vs = append(vs, pr.Value)
		}
	}
	return strings.Join(vs, " ")
}

// diff aligns two answer lists by the longest common subsequence of their skeletons, then
// compares the aligned pairs in full: a pair that differs is a '~' line with its Change.
func diff(a, b []answer, r rules) ([]Line, []Change) {
	var changes []Change
	same := func(x, y answer) Line {
		d := compareDetails(x.pkt, y.pkt, r)
		if len(d) == 0 {
			return Line{' ', x.full}
		}
		changes = append(changes, Change{Captured: x.full, Replayed: y.full, Differs: d})
		return Line{'~', x.key + ": " + strings.Join(d, "; ")}
	}
	if len(a)*len(b) > 4_000_000 {
		// Too long for the quadratic alignment: compare position by position.
		var out []Line
		for i := 0; i < max(len(a), len(b)); i++ {
			switch {
			case i < len(a) && i < len(b) && a[i].key == b[i].key:
				out = append(out, same(a[i], b[i]))
			default:
				if i < len(a) {
					out = append(out, Line{'-', a[i].full})
				}
				if i < len(b) {
					out = append(out, Line{'+', b[i].full})
				}
			}
		}
		return out, changes
	}
	l := make([][]int, len(a)+1)
	for i := range l {
		l[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i].key == b[j].key {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out []Line
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].key == b[j].key:
			out = append(out, same(a[i], b[j]))
			i, j = i+1, j+1
		case l[i+1][j] >= l[i][j+1]:
			out = append(out, Line{'-', a[i].full})
			i++
		default:
			out = append(out, Line{'+', b[j].full})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, Line{'-', a[i].full})
	}
	for ; j < len(b); j++ {
		out = append(out, Line{'+', b[j].full})
	}
	return out, changes
}
