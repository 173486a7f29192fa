// Package gen turns fuzz bytes into MQTT packets and sessions of a chosen version — valid, or
// broken in one chosen way — together with what a conforming parser must do with them: accept
// with exactly these fields, or reject citing this statement.
//
// It is meant for other people's parsers as much as for mqttspec's own. A Go MQTT library
// fuzzes its decoder in a few lines:
//
//	func FuzzParse(f *testing.F) {
//		f.Fuzz(func(t *testing.T, data []byte) {
//			c := gen.Packet(data, gen.Options{Version: codec.V5, Sender: codec.SideClient, Defect: gen.Any})
//			pkt, err := mylib.Parse(c.Bytes)
//			if err := c.Check(toCodec(pkt), err); err != nil {
//				t.Fatal(err) // e.g. "PUBLISH: accepted a packet with QoS 3 …; it must be rejected citing MQTT-3.3.1-4"
//			}
//		})
//	}
//
// toCodec converts the library's packet into codec's structs so that Check can compare every
// field (return nil to check only accept/reject). Values come from the fuzz input through
// go-fuzz-headers, so the fuzzer's mutations become changes of fields rather than of bytes, and
// fields are drawn at their edges (packet identifiers 1 and 65535, empty and 65535-byte
// strings, property storms) much more often than at random.
//
// A broken packet carries exactly one Defect; Case.Want names the rule (the codec's rule name,
// its statement ID and section, and the v5 reason code a receiver answers with). Sessions
// (NewSession) chain a CONNECT and client packets on a small pool of topics, for brokers.
package gen
