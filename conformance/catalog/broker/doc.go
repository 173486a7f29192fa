// Package broker holds the broker conformance cases, one file per specification section
// (3_1_connect.go, 3_3_publish.go, …). Importing it registers them with package catalog.
//
// Conventions: one case, one observable claim; cite every statement the case checks (3.1.1 and
// 5.0 IDs side by side when the rule exists in both); assert exact fields; keep waits short
// (keep alive 1 s where timing matters) so the whole catalog runs in well under a minute.
package broker

import (
	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// closeOnError is the reaction to a malformed packet or protocol error after CONNECT: the
// connection closes, v5 optionally after DISCONNECT with one of the codes (section 4.13).
func closeOnError(c *conformance.Conn, codes ...codec.ReasonCode) {
	if len(codes) == 0 {
		codes = []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError}
	}
	c.ExpectClosed(conformance.OrDisconnect(codes...))
}

// refuseConnect is the reaction to a bad CONNECT: the connection closes, optionally after a
// CONNACK with one of the codes (3.1.1 return codes or v5 reason codes, by version).
func refuseConnect(t *conformance.T, c *conformance.Conn, v311, v5 []codec.ReasonCode) {
	codes := v311
	if t.V5() {
		codes = v5
	}
	c.ExpectClosed(conformance.OrConnack(codes...))
}

var (
	malformedV5 = []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError}
)
