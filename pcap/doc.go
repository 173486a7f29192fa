// Package pcap reads packet captures (pcap and pcapng, optionally gzipped), reassembles the TCP
// streams on MQTT ports and extracts the MQTT packets they carry, also from inside WebSocket.
//
// Read walks a capture once and hands every MQTT packet (a Message) and every irregularity worth
// telling (a Note: missing segments, a stream that ends inside a packet, a WebSocket text frame…)
// to a Handler. Collect keeps everything, with packets that own their memory, for the passive
// checks (package pcap/check) and replay (package pcap/replay).
//
// Pipeline: frame source (classic pcap through gopacket/pcapgo, pcapng through a strict block
// reader of ours) → link layer (Ethernet, Linux cooked SLL and SLL2, BSD loopback/null, raw IP) →
// IPv4/IPv6 and TCP (gopacket/layers) → gopacket/reassembly → per direction an optional
// WebSocket de-framer and an MQTT framer → codec.Decoder in lenient mode, so that violations are
// listed rather than fatal.
//
// Every input is treated as hostile: record and block lengths are checked before anything is
// allocated, a packet larger than Options.MaxPacketSize is reported and skipped without being
// buffered, out-of-order data is bounded by the reassembler's page limits, and a capture that is
// cut short yields what it held plus an error saying where it ended.
package pcap
