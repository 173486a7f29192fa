package conformance

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// TestExpectConnectRefused pins what a MUST case accepts when a v5 server refuses a bad CONNECT:
// the close, with or without a refusing CONNACK of any Connect Reason Code of 0x80 or above; a
// code other than the error's own is a transcript note (judged by a MAY case), never a warning.
// An accepting CONNACK, or a refusing one with Session Present 1, fails.
func TestExpectConnectRefused(t *testing.T) {
	tests := []struct {
		name   string
		answer *codec.Connack // nil: close without CONNACK
		want   reports.Status
		note   string // substring of a transcript note
	}{
		{"close without CONNACK", nil, reports.Pass, ""},
		{"the error's code", &codec.Connack{ReasonCode: codec.ReasonMalformedPacket}, reports.Pass, ""},
		{"unspecified error", &codec.Connack{ReasonCode: codec.ReasonUnspecifiedError}, reports.Pass, ""},
		{"another refusal code", &codec.Connack{ReasonCode: codec.ReasonProtocolError}, reports.Pass, "judged by 3.1/malformed-connect-refusal-code"},
		{"accepted", &codec.Connack{ReasonCode: codec.ReasonSuccess}, reports.Fail, ""},
		{"refusal with Session Present 1", &codec.Connack{ReasonCode: codec.ReasonMalformedPacket, SessionPresent: true}, reports.Fail, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := fakeBroker(t, func(_ *testing.T, nc net.Conn) {
				p, ok := readPacket(nc, codec.V5).(*codec.Connect)
				if !ok {
					return
				}
				if strings.HasPrefix(p.ClientID, "mqttspecprobe") { // the runner's liveness probe
					write(nc, codec.V5, &codec.Connack{})
					time.Sleep(20 * time.Millisecond)
					return
				}
				if tc.answer != nil {
					write(nc, codec.V5, tc.answer)
				}
				time.Sleep(20 * time.Millisecond)
			})
			c := Case{ID: "9.9/refused", Title: "refused", Level: Must, Versions: V5, Statements: []string{"MQTT-3.1.4-1"},
				Run: func(t *T) {
					conn := t.Dial("")
					conn.Send(t.DefaultConnect())
					conn.ExpectConnectRefused(nil, []codec.ReasonCode{codec.ReasonMalformedPacket})
				}}
			res := RunCase(context.Background(), tg, allCaps(), &c, codec.V5, Timeouts{Step: 500 * time.Millisecond, Case: 2 * time.Second}, "run12345")
			if res.Status != tc.want {
				t.Fatalf("status %s (%s), want %s; transcript %+v", res.Status, res.Message, tc.want, res.Transcript)
			}
			if tc.note != "" && !hasNote(res, tc.note) {
				t.Errorf("no transcript note containing %q: %+v", tc.note, res.Transcript)
			}
		})
	}
}
