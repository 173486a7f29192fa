// Package pcap reads packet captures (pcap and pcapng, optionally gzipped), reassembles the TCP
// streams on MQTT ports and extracts the MQTT packets they carry, also from inside WebSocket.
//
// Which connections are MQTT: those with a port in Options.Ports (default 1883), or in
// Options.WebSocketPorts (80, 8080, 9001) after an HTTP upgrade. A connection on a port of
// Options.Ports whose client starts with an HTTP GET carrying an Upgrade header is decoded as
// MQTT over WebSocket (no MQTT packet starts with 'G'), told once per server endpoint with a
// NoteWebSocket. With Options.Detect, brokers on
// other ports are found by content: a connection whose client sends a plausible CONNECT as its
// first bytes (first byte 0x10, a Remaining Length of at most four bytes large enough for the
// variable header, protocol name "MQTT" with level 4 or 5 or "MQIsdp" with level 3), or an HTTP
// GET offering an MQTT WebSocket subprotocol, is decoded exactly as if its port had been listed:
// the SYN and SYN-ACK of unlisted connections are kept in a bounded table (4096 segments, oldest
// evicted first, headers only) and fed to the reassembler before the CONNECT. The server's address
// and port are then MQTT for the rest of the read, so later connections to it are decoded from
// their SYN. Each detection is told once (NoteDetected, Summary.Detected, Stream.Detected). The
// first segment must hold the CONNECT up to its protocol level; a connection whose CONNECT is not
// in the capture (it started earlier) cannot be detected, and its port must be listed.
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
