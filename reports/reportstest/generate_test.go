package reportstest

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

func TestGenerateIsValidAndDeterministic(t *testing.T) {
	o := Options{Cases: 300, Seed: 9, OutcomeSeed: 4}
	a, b := Generate(o), Generate(o)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with the same options differ")
	}
	// Valid after a round trip through results.json.
	var buf bytes.Buffer
	if err := a.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := reports.Decode(&buf, "generated")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cases) != 300 {
		t.Fatalf("%d cases", len(back.Cases))
	}
	seen := map[reports.Status]int{}
	for _, c := range a.Cases {
		seen[c.Status]++
		if len(c.Statements) == 0 || c.Section == "" || c.Title == "" {
			t.Fatalf("case %s lacks statements, section or title", c.ID)
		}
		if _, ok := reports.SpecCatalog().Statement(c.Version, c.Statements[0]); !ok {
			t.Fatalf("case %s cites unknown %s", c.ID, c.Statements[0])
		}
		v := codec.V5
		if c.Version == "3.1.1" {
			v = codec.V311
		}
		// Every hex is a packet the codec decodes to what the event says.
		for _, e := range c.Transcript {
			if e.Hex == "" {
				continue
			}
			raw, err := hex.DecodeString(e.Hex)
			if err != nil {
				t.Fatal(err)
			}
			p, _, err := codec.Decode(v, raw)
			if err != nil {
				t.Fatalf("case %s: %s does not decode: %v", c.ID, e.Packet, err)
			}
			if p.String() != e.Packet {
				t.Fatalf("case %s: decoded %q, event says %q", c.ID, p.String(), e.Packet)
			}
		}
	}
	for _, s := range reports.Statuses {
		if seen[s] == 0 {
			t.Errorf("no %s case in 300", s)
		}
	}
}

func TestSameSeedSameCases(t *testing.T) {
	a := Generate(Options{Cases: 200, Seed: 3, OutcomeSeed: 1})
	b := Generate(Options{Cases: 200, Seed: 3, OutcomeSeed: 2})
	differ := 0
	for i := range a.Cases {
		if a.Cases[i].Key() != b.Cases[i].Key() || a.Cases[i].Title != b.Cases[i].Title {
			t.Fatalf("case %d: %s vs %s", i, a.Cases[i].Key(), b.Cases[i].Key())
		}
		if a.Cases[i].Status != b.Cases[i].Status {
			differ++
		}
	}
	if differ == 0 || differ > 100 {
		t.Fatalf("%d of 200 outcomes differ between outcome seeds; want some, not most", differ)
	}
}
