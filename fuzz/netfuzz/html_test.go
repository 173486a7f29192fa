package netfuzz

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// plantedDiff runs fuzz diff against two healthy reference brokers and one with a planted bug
// (its PUBACK carries another packet identifier), so the report holds a class the oracle and
// the majority both blame on the faulty one. The brokers require a user name, which the run's
// credentials supply (as ejabberd's mod_mqtt requires one).
func plantedDiff(t *testing.T) *DiffReport {
	t.Helper()
	users := map[string]string{"u1": "p1"}
	a := brokertest.Start(t, broker.Options{Users: users})
	b := brokertest.Start(t, broker.Options{Users: users})
	bad := brokertest.Start(t, broker.Options{Users: users, Faults: []string{"wrong-packet-id-in-puback"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Diff(ctx, DiffOptions{Targets: []string{"tcp://" + a, "tcp://" + b, "tcp://" + bad},
		Names: []string{"good-a", "good-b", "faulty"}, Username: "u1", Password: "p1",
		Version: codec.V311, MaxExecs: 60, Seed: 3, AnswerTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// plantedClass is the class of the planted bug: the faulty broker's PUBACK has a new identifier.
func plantedClass(rep *DiffReport) *DiffClass {
	for _, c := range rep.Classes {
		_, faulty, _ := strings.Cut(c.Name, "faulty=")
		if strings.Contains(c.Name, "| PUBACK |") && strings.Contains(faulty, "id=new") {
			return c
		}
	}
	return nil
}

// TestDiffHTMLRendersAPlantedDisagreement checks the HTML summary of a run with a planted
// disagreement: the class is there under its pattern, with every target's answer signature, the
// input's bytes in hex, the codec's verdict, the verdict blaming the faulty target (also as the
// filter's attribute), and the page loads nothing from anywhere.
func TestDiffHTMLRendersAPlantedDisagreement(t *testing.T) {
	rep := plantedDiff(t)
	c := plantedClass(rep)
	if c == nil {
		t.Fatalf("the planted wrong PUBACK identifier was not found:\n%s", rep.Markdown())
	}
	for _, cl := range rep.Classes {
		if strings.Contains(cl.Name, "good-a=") && !strings.Contains(cl.Example.Verdict, "faulty") {
			t.Logf("class not blamed on the faulty broker: %s — %s", cl.Name, cl.Example.Verdict)
		}
	}
	if got := strings.Join(c.Example.Deviating, " "); got != "faulty" {
		t.Errorf("deviating = %q, want faulty (verdict %s)", got, c.Example.Verdict)
	}
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	e := c.Example
	raw, err := hex.DecodeString(e.Steps[0].Hex)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ what, s string }{
		{"the pattern heading", "<code>" + templateEscape(c.Pattern()) + "</code>"},
		{"the class name", templateEscape(c.Name)},
		{"the codec's verdict", templateEscape(e.Codec)},
		{"the verdict", "Verdict: " + templateEscape(e.Verdict)},
		{"the filter attribute", `data-deviates="faulty"`},
		{"the filter's option", `<option value="faulty">faulty (`},
		{"the input bytes in hex", hexSpaced(hex.EncodeToString(raw))},
		{"the faulty target's answer", templateEscape(strings.Join(e.Answers["faulty"].Packets, " "))},
		{"the healthy target's answer", templateEscape(strings.Join(e.Answers["good-a"].Packets, " "))},
		{"the oracle's finding", "ack-packet-id"},
		{"a CSP forbidding requests", templateEscape("default-src 'none'; script-src 'sha256-")},
	}
	for _, w := range want {
		if !strings.Contains(page, w.s) {
			t.Errorf("the page lacks %s (%q)", w.what, w.s)
		}
	}
	for _, bad := range []string{"http://", "https://", "src=", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page refers to an external resource: %q", bad)
		}
	}
	if !strings.Contains(page, `class="dev" data-target="faulty"`) {
		t.Error("the faulty target's row is not marked as deviating")
	}
}

// TestDiffHTMLNoSplits: a run without splits says so.
func TestDiffHTMLNoSplits(t *testing.T) {
	var buf bytes.Buffer
	rep := &DiffReport{Targets: []string{"a", "b"}, DiffStats: DiffStats{Execs: 5, Elapsed: time.Second}}
	if err := rep.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `id="agree"`) || strings.Contains(buf.String(), "<article") {
		t.Errorf("unexpected page for a run without splits:\n%s", buf.String())
	}
}

// templateEscape is what html/template makes of plain text in an element.
func templateEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}
