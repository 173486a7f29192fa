package gen_test

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

// A fuzz target hands its input to gen.Packet and its parser the bytes of the case; Check
// compares the parser's outcome with what the specification requires. Here the input is fixed
// and the parser is mqttspec's own strict codec.
func Example() {
	input := []byte("bytes a fuzzer would pass in")
	c := gen.Packet(input, gen.Options{Version: codec.V5, Sender: codec.SideClient, Defect: gen.EdgeValue,
		Types: []codec.PacketType{codec.PUBLISH}})
	fmt.Printf("%v %v: %s\n", c.Type, c.Defect, c.Detail)
	fmt.Println("want:", c.Want)

	p, _, err := codec.DecodeWith(codec.Options{Version: c.Version, Sender: c.Sender}, c.Bytes, nil)
	fmt.Println("codec:", err)
	fmt.Println("check:", c.Check(p, err))
	// Output:
	// PUBLISH edge-value: QoS 3
	// want: reject publish-qos3 [MQTT-3.3.1-4] 0x81
	// codec: PUBLISH fixed header: QoS bits are 11 (at byte 0) [MQTT-3.3.1-4]
	// check: <nil>
}

// Check reports a parser that accepts what it must reject, with the statement it breaks.
// The "parser" here is the codec in lenient mode, which steps over violations on purpose.
func ExampleCase_Check() {
	c := gen.Packet([]byte{1, 2, 3, 4}, gen.Options{Version: codec.V311, Defect: gen.ReservedBit,
		Types: []codec.PacketType{codec.SUBSCRIBE}})
	var violations []codec.Error
	p, _, err := codec.DecodeWith(codec.Options{Version: c.Version, Lenient: true}, c.Bytes, &violations)
	fmt.Println(c.Check(p, err))
	// Output:
	// SUBSCRIBE: accepted a packet with fixed-header flags 0011 (83 13 FF FF 00 06 2F 2B 2F 2B 2F 2B 00 00 01 2B 00 00 01 2B 00); it must be rejected citing MQTT-3.8.1-1 (subscribe-flags)
}
