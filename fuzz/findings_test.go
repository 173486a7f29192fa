package fuzz

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
)

// documented are the reproducers docs/findings.md shows for the peers' disagreements; each must
// still produce the disagreement it documents (or the doc is out of date).
var documented = []struct {
	peer *peer
	v    codec.Version
	hex  string
	key  string
}{
	{pahoPeer, codec.V5, "310a0000070b010b01230001", fieldsDiffer + ":Publish.Properties.SubscriptionIDs"},
	{pahoPeer, codec.V5, "e000", peerRejectsValid + ":DISCONNECT:EOF"},
	{pahoPeer, codec.V5, "37050000230001", peerAcceptsInvalid + ":publish-qos3"},
	{pahoPeer, codec.V5, "c400", peerAcceptsInvalid + ":reserved-flags"},
	{pahoPeer, codec.V5, "c080808080 00", peerAcceptsInvalid + ":varint-too-long"},
	{pahoPeer, codec.V5, "30050002002e00", peerAcceptsInvalid + ":utf8-null"},
	{pahoPeer, codec.V5, "a20300 0024", peerAcceptsInvalid + ":packet-id-zero"},
	{pahoPeer, codec.V5, "20030000 0c", peerAcceptsInvalid + ":property-length"},
	{mochiPeer, codec.V5, "82050001000000", peerPanics + ":SUBSCRIBE:panic: runtime error: index out of range [N] with length N"},
	{mochiPeer, codec.V5, "e00104", fieldsDiffer + ":Disconnect.ReasonCode"},
	{mochiPeer, codec.V5, "f000", peerRejectsValid + ":AUTH:malformed packet: offset byte out of range: malformed packet: reason code"},
	{mochiPeer, codec.V5, "100f00044d5154540542 5d0e0000000000", peerRejectsValid + ":CONNECT:protocol violation: password flag set but no value"},
	{mochiPeer, codec.V311, "101100044d51545404 2e139200000001 6b0000", peerRejectsValid + ":CONNECT:protocol violation: will flag no payload"},
	{mochiPeer, codec.V311, "e08080808000", peerAcceptsInvalid + ":varint-too-long"},
	{mochiPeer, codec.V311, "70020000", peerAcceptsInvalid + ":ack-packet-id-zero"},
	{mochiPeer, codec.V5, "f00500031600 00", peerAcceptsInvalid + ":auth-data-without-method"},
}

func TestDocumentedFindings(t *testing.T) {
	for _, d := range documented {
		b, err := hex.DecodeString(strings.ReplaceAll(d.hex, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		got := compare(d.peer, d.v, b)
		if got == nil || got.key != d.key {
			t.Errorf("%s %v % X: %v, documented as %s", d.peer.name, d.v, b, got, d.key)
			continue
		}
		if knownDiff(d.peer.name, got.key) == nil {
			t.Errorf("%s: %s is documented but not in peerIssues", d.peer.name, got.key)
		}
	}
}
