package codec_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// Decode one packet from bytes; a violation comes back as a *codec.Error naming the statement.
func ExampleDecode() {
	// A 3.1.1 PUBLISH, QoS 1, topic "a/b", packet identifier 10, payload "hi".
	wire := []byte{0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'}
	p, n, err := codec.Decode(codec.V311, wire)
	if err != nil {
		panic(err)
	}
	pub := p.(*codec.Publish)
	fmt.Println(n, pub.Topic, pub.QoS, pub.PacketID, string(pub.Payload))

	// The same packet with both QoS bits set.
	wire[0] = 0x36
	_, _, err = codec.Decode(codec.V311, wire)
	var e *codec.Error
	if errors.As(err, &e) {
		fmt.Println(e.Rule, e.Statement, errors.Is(err, codec.ErrMalformed))
	}
	// Output:
	// 11 a/b 1 10 hi
	// publish-qos3 MQTT-3.3.1-4 true
}

// Encode a v5 PUBLISH with properties, then read it back from a stream with the zero-alloc path.
func ExampleReader_Next() {
	pub := &codec.Publish{QoS: 1, PacketID: 1, Topic: "sensors/t", Payload: []byte("21.5")}
	pub.Properties.SetContentType("text/plain").AddUser("unit", "C")

	var stream bytes.Buffer
	w := codec.NewWriter(&stream, codec.V5)
	if err := w.WritePacket(pub); err != nil {
		panic(err)
	}
	if err := w.WritePacket(&codec.Pingreq{}); err != nil {
		panic(err)
	}

	r := codec.NewReader(&stream, codec.Options{Version: codec.V5, MaxPacketSize: 1 << 20})
	for {
		p, err := r.Next() // valid until the next call
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(p)
	}
	// Output:
	// PUBLISH topic="sensors/t" qos=1 id=1 props={Content Type="text/plain", User Property="unit":"C"} payload=4 bytes "21.5"
	// PINGREQ
	// EOF
}

// Lenient decoding keeps going and lists what a packet broke, as a capture analyser needs.
func ExampleDecoder_lenient() {
	dc := &codec.Decoder{Options: codec.Options{Version: codec.V5, Lenient: true}}
	// PUBLISH with a wildcard in its topic name and a Topic Alias of 0.
	wire := []byte{0x30, 0x09, 0x00, 0x03, 'a', '/', '#', 0x03, 0x23, 0x00, 0x00}
	p, _, err := dc.Decode(wire)
	fmt.Println(p, err)
	for _, v := range dc.Violations {
		fmt.Println(v.Rule, v.Cite())
	}
	// Output:
	// PUBLISH topic="a/#" qos=0 props={Topic Alias=0} payload=0 bytes <nil>
	// topic-name-wildcard MQTT-3.3.2-2
	// topic-alias-zero MQTT-3.3.2-8
}
