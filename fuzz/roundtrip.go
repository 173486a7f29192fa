package fuzz

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// codecDecode is the decoder the round-trip and generator targets hold to their invariants;
// tests replace it with a broken one to see the checks fail.
var codecDecode = codec.DecodeWith

// checkRoundTrip builds a valid packet field by field from data (fuzz/gen over go-fuzz-headers)
// and checks encode → decode → equal on every path the codec offers: the allocating Decode, the
// aliasing Decoder, a Writer into a Reader; re-encoding the decoded packet gives the same bytes;
// Validate accepts the packet; the header's remaining length is the body's length.
func checkRoundTrip(data []byte) error {
	side := codec.SideUnknown
	if len(data) > 0 {
		side, data = codec.Side(data[0]%3), data[1:]
	}
	c := gen.Packet(data, gen.Options{Sender: side})
	if !c.Want.Accept {
		return fmt.Errorf("generator returned a broken packet for a valid request: %v", c)
	}
	o := codec.Options{Version: c.Version, Sender: side}
	h, err := codec.ParseHeader(c.Bytes, c.Version)
	if err != nil || h.PacketLen() != len(c.Bytes) || h.Type != c.Type {
		return fmt.Errorf("header of %v: %+v, %v for %d bytes", c.Type, h, err, len(c.Bytes))
	}
	if err := codec.Validate(c.Packet, c.Version, side); err != nil {
		return fmt.Errorf("Validate rejects a valid %v: %v", c.Type, err)
	}
	p, n, err := codecDecode(o, c.Bytes, nil)
	if err != nil || n != len(c.Bytes) {
		return fmt.Errorf("decode of a valid %v (% X): %v (n=%d)", c.Type, c.Bytes, err, n)
	}
	if d := gen.Diff(c.Packet, p); d != "" {
		return fmt.Errorf("round trip changed %v: %s", c.Type, d)
	}
	again, err := p.AppendTo(nil, c.Version)
	if err != nil || !bytes.Equal(again, c.Bytes) {
		return fmt.Errorf("re-encoding %v: % X, want % X (%v)", c.Type, again, c.Bytes, err)
	}
	dc := &codec.Decoder{Options: o}
	q, n, err := dc.Decode(c.Bytes)
	if err != nil || n != len(c.Bytes) {
		return fmt.Errorf("Decoder on a valid %v: %v", c.Type, err)
	}
	if d := gen.Diff(c.Packet, q); d != "" {
		return fmt.Errorf("Decoder differs for %v: %s", c.Type, d)
	}
	var buf bytes.Buffer
	if err := codec.NewWriter(&buf, c.Version).WritePacket(c.Packet); err != nil {
		return fmt.Errorf("Writer: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), c.Bytes) {
		return fmt.Errorf("Writer wrote % X, Encode % X", buf.Bytes(), c.Bytes)
	}
	r, err := codec.NewReader(&buf, o).ReadPacket()
	if err != nil {
		return fmt.Errorf("Reader on a valid %v: %v", c.Type, err)
	}
	if d := gen.Diff(c.Packet, r); d != "" {
		return fmt.Errorf("Reader differs for %v: %s", c.Type, d)
	}
	_ = p.String()
	return nil
}

// checkGenerator builds a packet that is valid or broken in one way and checks that the strict
// codec reaches the generator's verdict: a valid packet decodes to its fields, a broken one is
// rejected by the named rule, citing the same statement and reason code. A disagreement is a
// bug in the codec or in the generator's model of the specification; either matters, because
// users hold their parsers against the generator.
func checkGenerator(data []byte) error {
	side := codec.SideUnknown
	if len(data) > 0 {
		side, data = codec.Side(data[0]%3), data[1:]
	}
	c := gen.Packet(data, gen.Options{Sender: side, Defect: gen.Any})
	p, n, err := codecDecode(codec.Options{Version: c.Version, Sender: side}, c.Bytes, nil)
	if err == nil && n != len(c.Bytes) {
		return fmt.Errorf("%v: the codec used %d of %d bytes", c, n, len(c.Bytes))
	}
	if err := c.Check(p, err); err != nil {
		return fmt.Errorf("%v\n%w", c, err)
	}
	if c.Want.Accept {
		return nil
	}
	var e *codec.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%v: the codec answered %v, not a rule", c, err)
	}
	if e.Rule != c.Want.Rule || e.Statement != c.Want.Statement || e.Reason != c.Want.Reason {
		return fmt.Errorf("%v: the codec rejects by %s [%s] 0x%02X", c, e.Rule, e.Cite(), byte(e.Reason))
	}
	return nil
}
