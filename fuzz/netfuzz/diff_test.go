package netfuzz

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// TestDiffFindsAPlantedDisagreement runs fuzz diff against two reference brokers, one with a
// deliberate bug (its PUBACK carries another packet identifier), and expects the disagreement
// to be found, reproduced, minimized and blamed on the faulty broker by the oracle.
func TestDiffFindsAPlantedDisagreement(t *testing.T) {
	good := brokertest.Start(t, broker.Options{})
	bad := brokertest.Start(t, broker.Options{Faults: []string{"wrong-packet-id-in-puback"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := t.TempDir()
	rep, err := Diff(ctx, DiffOptions{Targets: []string{"tcp://" + good, "tcp://" + bad}, Names: []string{"good", "faulty"},
		Version: codec.V311, MaxExecs: 80, Seed: 3, OutDir: out, Minimize: true, MinimizeBudget: 5 * time.Second,
		AnswerTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d inputs, %.0f/s, %d splits, %d classes", rep.Execs, rep.ExecsPerSec(), rep.Splits, len(rep.Classes))
	var found, minimized bool
	for _, c := range rep.Classes {
		t.Logf("%d × %s — %s", c.Count, c.Name, c.Example.Verdict)
		_, faulty, _ := strings.Cut(c.Name, "faulty=")
		if strings.Contains(c.Name, "| PUBACK |") && strings.Contains(faulty, "id=new") && strings.Contains(c.Example.Verdict, "spec: faulty (ack-packet-id)") {
			found = true
			// (A split whose input leaves the brokers waiting for the rest of a packet costs
			// the answer timeout per attempt and may not shrink within the budget.)
			minimized = minimized || c.Example.Minimized
			if _, err := os.Stat(c.Example.File); err != nil {
				t.Error(err)
			}
			// The saved answers carry the bytes: the faulty broker's PUBACK (0x40) is in them.
			for name, a := range c.Example.Answers {
				raw, err := hex.DecodeString(a.Raw)
				if err != nil || len(raw) == 0 || raw[0] != 0x20 || a.RawCut {
					t.Errorf("%s: raw answer %q (cut %v): want the bytes from its CONNACK on", name, a.Raw, a.RawCut)
				}
				if name == "faulty" && !bytes.Contains(raw, []byte{0x40, 0x02}) {
					t.Errorf("faulty: raw answer %x has no PUBACK", raw)
				}
			}
		}
	}
	if !found {
		t.Fatalf("the planted wrong PUBACK identifier was not found:\n%s", rep.Markdown())
	}
	if !minimized {
		t.Errorf("no split of the planted class was minimized:\n%s", rep.Markdown())
	}
	if md := rep.Markdown(); !strings.Contains(md, "| faulty |") {
		t.Errorf("the summary lacks the targets' answers:\n%s", md)
	}
}

// TestDiffTwinsAgree: two healthy reference brokers answer every valid input alike, so the
// normalisation (identifiers, timing, order of deliveries) leaves no false split. (On inputs
// with a violation right behind the CONNECT they may split: the broker drops a CONNACK still
// queued when it closes, always in 3.1.1 and by a race in 5.0 — docs/findings.md.)
func TestDiffTwinsAgree(t *testing.T) {
	a := brokertest.Start(t, broker.Options{})
	b := brokertest.Start(t, broker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Diff(ctx, DiffOptions{Targets: []string{"tcp://" + a, "tcp://" + b}, Names: []string{"a", "b"},
		Version: codec.VersionUnknown, MaxExecs: 80, Seed: 5, AnswerTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d inputs, %.0f/s, %d splits (%d reproduced)", rep.Execs, rep.ExecsPerSec(), rep.Splits, rep.Stable)
	for _, c := range rep.Classes {
		if strings.HasPrefix(c.Name, "valid") {
			t.Errorf("%d × %s\n%s", c.Count, c.Name, rep.Markdown())
		} else {
			t.Logf("%d × %s (an input with a violation)", c.Count, c.Name)
		}
	}
}
