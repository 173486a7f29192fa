package codec_test

import (
	"bytes"
	"testing"

	paho "github.com/eclipse/paho.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqttspec/mqttspec/codec"
)

// The benchmark packets. benchPublishSmall is a typical telemetry message: a 96-byte v5 PUBLISH
// at QoS 1 with a Payload Format Indicator, Message Expiry, Content Type and one User Property.
func benchConnect() *codec.Connect {
	c := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, CleanStart: true, KeepAlive: 30,
		ClientID: "sensor-gateway-0042", UsernameFlag: true, Username: "gateway", PasswordFlag: true,
		Password: []byte("s3cr3t-t0ken"), WillFlag: true,
		Will: codec.Will{QoS: 1, Topic: "gw/0042/status", Payload: []byte("offline")}}
	c.Properties.SetSessionExpiry(3600).SetReceiveMaximum(100).SetMaximumPacketSize(1<<20).
		SetTopicAliasMaximum(16).AddUser("fw", "1.4.2")
	c.Will.Properties.SetWillDelay(10).SetPayloadFormat(1)
	return c
}

func benchPublishSmall() *codec.Publish {
	p := &codec.Publish{QoS: 1, PacketID: 4242, Topic: "site/07/floor/3/temp",
		Payload: []byte(`{"t":21.5,"h":40,"ts":1717171717}`)}
	p.Properties.SetPayloadFormat(1).SetMessageExpiry(300).SetContentType("application/json").AddUser("unit", "C")
	return p
}

func benchPublish64K() *codec.Publish {
	p := &codec.Publish{QoS: 1, PacketID: 7, Topic: "bulk/upload", Payload: bytes.Repeat([]byte("0123456789abcdef"), 4096)}
	p.Properties.SetPayloadFormat(0)
	return p
}

func benchSubscribe() *codec.Subscribe {
	s := &codec.Subscribe{PacketID: 9, Subscriptions: []codec.Subscription{
		{Filter: "site/+/floor/+/temp", QoS: 1},
		{Filter: "site/7/#", QoS: 2, NoLocal: true, RetainHandling: 1},
		{Filter: "$share/workers/jobs/+", QoS: 1},
	}}
	s.Properties.SubscriptionIDs = []uint32{12}
	return s
}

var benchPackets = []struct {
	name string
	p    func() codec.Packet
}{
	{"CONNECT", func() codec.Packet { return benchConnect() }},
	{"PUBLISH-96B", func() codec.Packet { return benchPublishSmall() }},
	{"PUBLISH-64KiB", func() codec.Packet { return benchPublish64K() }},
	{"SUBSCRIBE", func() codec.Packet { return benchSubscribe() }},
}

func TestBenchPacketSizes(t *testing.T) {
	if n := len(mustEncode(t, benchPublishSmall(), codec.V5)); n != 96 {
		t.Errorf("small PUBLISH is %d bytes, want 96", n)
	}
}

// BenchmarkDecode decodes the same v5 bytes with this codec (strict, zero-alloc Decoder and the
// allocating Decode), paho.golang's packets.ReadPacket and mochi-mqtt's packets decoders.
func BenchmarkDecode(b *testing.B) {
	for _, bp := range benchPackets {
		wire := mustEncode(b, bp.p(), codec.V5)
		b.Run("pkt="+bp.name+"/impl=mqttspec-decoder", func(b *testing.B) {
			dc := codec.NewDecoder(codec.V5)
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := dc.Decode(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("pkt="+bp.name+"/impl=mqttspec-alloc", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := codec.Decode(codec.V5, wire); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("pkt="+bp.name+"/impl=paho", func(b *testing.B) {
			r := bytes.NewReader(wire)
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(wire)
				if _, err := paho.ReadPacket(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("pkt="+bp.name+"/impl=mochi", func(b *testing.B) {
			r := bytes.NewReader(wire)
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(wire)
				if err := mochiDecode(r, wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// mochiDecode decodes one packet the way mochi's server does (fixed header, length, then the
// per-type decoder into a fresh Packet), but in place: mochi's own reader also copies the body.
func mochiDecode(r *bytes.Reader, wire []byte) error {
	pk := mochi.Packet{ProtocolVersion: 5}
	return mochiDecodeInto(&pk, r, wire)
}

// BenchmarkEncode encodes the same packets with this codec (AppendTo into a reused buffer),
// paho.golang (ControlPacket.WriteTo) and mochi-mqtt (Packet.XxxEncode into a bytes.Buffer).
func BenchmarkEncode(b *testing.B) {
	for _, bp := range benchPackets {
		p := bp.p()
		wire := mustEncode(b, p, codec.V5)
		b.Run("pkt="+bp.name+"/impl=mqttspec", func(b *testing.B) {
			buf := make([]byte, 0, len(wire))
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = p.AppendTo(buf[:0], codec.V5); err != nil {
					b.Fatal(err)
				}
			}
		})
		cp, err := paho.ReadPacket(bytes.NewReader(wire))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("pkt="+bp.name+"/impl=paho", func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if _, err := cp.WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		pk := mochi.Packet{ProtocolVersion: 5}
		if err := mochiDecodeInto(&pk, bytes.NewReader(wire), wire); err != nil {
			b.Fatal(err)
		}
		b.Run("pkt="+bp.name+"/impl=mochi", func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := mochiEncode(&pk, &buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func mochiDecodeInto(pk *mochi.Packet, r *bytes.Reader, wire []byte) error {
	hb, _ := r.ReadByte()
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return err
	}
	n, bu, err := mochi.DecodeLength(r)
	if err != nil {
		return err
	}
	pk.FixedHeader.Remaining = n
	body := wire[1+bu:]
	switch pk.FixedHeader.Type {
	case mochi.Connect:
		return pk.ConnectDecode(body)
	case mochi.Publish:
		return pk.PublishDecode(body)
	case mochi.Subscribe:
		return pk.SubscribeDecode(body)
	}
	return nil
}

func mochiEncode(pk *mochi.Packet, buf *bytes.Buffer) error {
	switch pk.FixedHeader.Type {
	case mochi.Connect:
		return pk.ConnectEncode(buf)
	case mochi.Publish:
		return pk.PublishEncode(buf)
	case mochi.Subscribe:
		return pk.SubscribeEncode(buf)
	}
	return nil
}
