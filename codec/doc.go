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
package codec
