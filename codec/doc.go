// Package codec is mqttspec's strict reference codec for MQTT 3.1, 3.1.1 and 5.0 control packets.
//
// Every packet type has its own struct (Connect, Publish, …, Auth). Decoding is strict by
// default: each rejection is a *Error naming the violated normative statement (for example
// MQTT-3.3.1-4 for a PUBLISH with QoS 3) and the v5 reason code a receiver has to answer with.
// A lenient Decoder keeps going past violations it can step over and lists them instead, which is
// what a capture analyser needs.
//
// Two decode paths exist. Decode and Reader.ReadPacket return packets that own their memory. A
// Decoder (and Reader.Next) decodes into packets the decoder owns and whose strings and byte slices
// alias the input: nothing is allocated once the decoder is warm, and the packet is valid until the
// next call or until the input is reused.
//
// Encoding (AppendTo, Encode, Writer) is deliberately permissive: it writes what the struct says,
// including values the specification forbids, because a test suite has to be able to send them.
// Validate checks a packet against the strict rules before it is sent.
//
// # Usage
//
// Decode bytes you already hold, or read packets from a connection:
//
//	p, n, err := codec.Decode(codec.V5, buf) // p owns its memory; n bytes were used
//	var e *codec.Error
//	if errors.As(err, &e) {
//		// e.Rule ("publish-qos3"), e.Statement ("MQTT-3.3.1-4"), e.Reason (0x81) …
//	}
//
//	r := codec.NewReader(conn, codec.Options{Version: codec.V5, MaxPacketSize: 1 << 20})
//	r.IdleTimeout, r.PacketTimeout = time.Minute, 10*time.Second
//	for {
//		p, err := r.Next() // zero-alloc; valid until the next call (ReadPacket: owned)
//		…
//	}
//
//	w := codec.NewWriter(conn, codec.V5) // goroutine-safe, one Write per packet
//	pub := &codec.Publish{QoS: 1, PacketID: 7, Topic: "a/b", Payload: []byte("hi")}
//	pub.Properties.SetMessageExpiry(60).AddUser("k", "v")
//	err = w.WritePacket(pub)
//
// Rules lists every check the decoder makes with the statement it enforces in 3.1.1 and 5.0.
// Errors match ErrMalformed, ErrProtocol or ErrPacketTooLarge with errors.Is, by the v5 reason code
// a receiver answers with. See the package examples for complete programs.
//
// # Guarantees
//
// A Reader checks the size limit from the fixed header before reading a body and allocates in
// proportion to the bytes that arrive (about twice what a peer has sent, never what it merely
// announces). A warm Decoder, Reader.Next and AppendTo into a buffer with room do not allocate.
// The tests hold golden vectors written from the specifications, a negative case per rule and
// version, and a native fuzz target (FuzzDecode) checking decode/re-encode round trips.
package codec
