package conformance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reports"
)

// expectPing is a catalog-style helper: a failure inside it is reported at its own line and at
// the line of the case that called it.
func expectPing(conn *conformance.Conn) { conn.Expect(conformance.Pingresp()) }

// TestFailureRecordsItsSource checks that a failing expectation names its own line in the
// transcript (and the case's line when a helper made it), and that results carry Case.Source.
func TestFailureRecordsItsSource(t *testing.T) {
	tg, stop, err := embedded.Start(context.Background(), embedded.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	direct := conformance.Case{ID: "9.9/direct", Title: "t", Statements: []string{"MQTT-3.12.4-1"}, Versions: conformance.V311,
		Level: conformance.Must, Source: conformance.CallerSource(-1),
		Run: func(t *conformance.T) {
			conn := t.Connect(t.DefaultConnect())
			conn.Send(&codec.Pingreq{})
			conn.Expect(conformance.Type(codec.SUBACK)) // the broker answers PINGRESP
		}}
	viaHelper := direct
	viaHelper.ID = "9.9/via-helper"
	viaHelper.Run = func(t *conformance.T) {
		conn := t.Connect(t.DefaultConnect())
		expectPing(conn) // nothing was sent: no PINGRESP comes
	}
	r := &conformance.Runner{Target: tg, Timeouts: conformance.Timeouts{Step: 300 * time.Millisecond}}
	res, err := r.Run(context.Background(), []conformance.Case{direct, viaHelper})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"9.9/direct":     {"(at conformance/source_test.go:"},
		"9.9/via-helper": {"(at conformance/source_test.go:17, called from conformance/source_test.go:"},
	}
	for _, c := range res.Cases {
		if c.Status != reports.Fail {
			t.Fatalf("%s: %s, want fail: %s", c.ID, c.Status, c.Message)
		}
		if !strings.HasPrefix(c.Source, "conformance/source_test.go:") {
			t.Errorf("%s: source %q", c.ID, c.Source)
		}
		var note string
		for _, e := range c.Transcript {
			if e.Dir == "note" && strings.HasPrefix(e.Packet, "fail: ") {
				note = e.Packet
			}
		}
		for _, w := range want[c.ID] {
			if !strings.Contains(note, w) {
				t.Errorf("%s: failure note %q lacks %q", c.ID, note, w)
			}
		}
	}
}
