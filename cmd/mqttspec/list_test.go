package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/spec"
)

// catalogDocs are the generated catalog documents committed under docs/, by role.
var catalogDocs = []struct {
	role  string
	file  string
	cases func() []conformance.Case
	side  spec.Role
}{
	{"broker", "../../docs/catalog.md", catalog.BrokerCases, spec.Server},
	{"client", "../../docs/catalog-client.md", catalog.ClientCases, spec.Client},
}

// TestCatalogDocsFresh fails when docs/catalog.md or docs/catalog-client.md is not what
// `mqttspec list --markdown` writes now (a case added, moved or retitled without regenerating).
// MQTTSPEC_UPDATE_DOCS=1 rewrites them; `make catalog-docs` does the same through the CLI.
func TestCatalogDocsFresh(t *testing.T) {
	for _, d := range catalogDocs {
		t.Run(d.role, func(t *testing.T) {
			cases := d.cases()
			var buf bytes.Buffer
			writeCatalogMarkdown(&buf, d.role, cases, staticCoverage(cases, d.side))
			if os.Getenv("MQTTSPEC_UPDATE_DOCS") != "" {
				if err := os.WriteFile(d.file, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(d.file)
			if err != nil {
				t.Fatalf("%v (generate it with make catalog-docs)", err)
			}
			if !bytes.Equal(got, buf.Bytes()) {
				t.Errorf("%s is stale: run make catalog-docs (or MQTTSPEC_UPDATE_DOCS=1 go test ./cmd/mqttspec -run TestCatalogDocsFresh) and commit the result", d.file)
			}
		})
	}
}

// TestListJSONSources checks the machine-readable catalog: lower-case fields with a schema, and
// for every case a source whose file exists and holds the case ID literally.
func TestListJSONSources(t *testing.T) {
	for _, d := range catalogDocs {
		t.Run(d.role, func(t *testing.T) {
			cases := d.cases()
			var buf bytes.Buffer
			if err := encodeJSON(&buf, catalogJSON(d.role, cases, staticCoverage(cases, d.side))); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Schema string `json:"schema"`
				Role   string `json:"role"`
				Cases  []struct {
					ID     string `json:"id"`
					Source string `json:"source"`
				} `json:"cases"`
				Coverage map[string]struct {
					Testable   int `json:"testable"`
					Cited      int `json:"cited"`
					Proven     int `json:"proven"`
					Statements []struct {
						ID     string   `json:"id"`
						Status string   `json:"status"`
						Faults []string `json:"faults"`
					} `json:"statements"`
				} `json:"coverage"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != CatalogSchema || doc.Role != d.role || len(doc.Cases) != len(cases) {
				t.Fatalf("schema %q role %q with %d cases, want %q %q %d", doc.Schema, doc.Role, len(doc.Cases), CatalogSchema, d.role, len(cases))
			}
			for _, v := range []string{spec.V311, spec.V5} {
				cv, proven := doc.Coverage[v], 0
				for _, st := range cv.Statements {
					if st.Status == statusProven {
						proven++
						if len(st.Faults) == 0 {
							t.Errorf("%s %s: proven by no fault", v, st.ID)
						}
					}
				}
				if cv.Testable == 0 || cv.Proven != proven || cv.Cited < cv.Proven {
					t.Errorf("%s coverage: testable %d cited %d proven %d, %d statements proven", v, cv.Testable, cv.Cited, cv.Proven, proven)
				}
			}
			texts := map[string]string{}
			for _, c := range doc.Cases {
				file, line, ok := strings.Cut(c.Source, ":")
				if n, err := strconv.Atoi(line); !ok || err != nil || n <= 0 {
					t.Errorf("%s: source %q is not file:line", c.ID, c.Source)
					continue
				}
				text, seen := texts[file]
				if !seen {
					b, err := os.ReadFile(filepath.Join("../..", file))
					if err != nil {
						t.Errorf("%s: %v", c.ID, err)
						continue
					}
					text = string(b)
					texts[file] = text
				}
				if !strings.Contains(text, strconv.Quote(c.ID)) {
					t.Errorf("%s: %s does not contain the ID", c.ID, file)
				}
				if strings.HasSuffix(c.ID, "-v311") || strings.HasSuffix(c.ID, "-v5") {
					t.Errorf("%s: a per-version ID", c.ID)
				}
			}
		})
	}
}

func TestSourceLink(t *testing.T) {
	tests := []struct{ in, want string }{
		{"conformance/catalog/broker/3_1_connect.go:42", "[3_1_connect.go:42](../conformance/catalog/broker/3_1_connect.go#L42)"},
		{"", ""},
		{"nowhere", "nowhere"},
	}
	for _, tt := range tests {
		if got := sourceLink(tt.in); got != tt.want {
			t.Errorf("sourceLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCIDocExpectationsValid takes the expectations example of docs/ci.md as a user would copy
// it and validates it against the catalog: its case IDs and statements must exist.
func TestCIDocExpectationsValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed || !strings.Contains(block, "expectations:") {
		t.Fatal("docs/ci.md has no expectations example in a yaml block")
	}
	p := filepath.Join(t.TempDir(), "mqttspec-expect.yaml")
	if err := os.WriteFile(p, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, code, msg := execute(t, "expect", "check", p); code != exitOK {
		t.Errorf("expect check on the docs/ci.md example: exit %d: %s", code, msg)
	}
}

// TestCoverageStatuses classifies statements of a small made-up catalog against made-up proofs.
func TestCoverageStatuses(t *testing.T) {
	cases := []conformance.Case{
		{ID: "3.1/a", Versions: conformance.Both, Statements: []string{"MQTT-3.1.0-2"}},
		{ID: "3.1/b", Versions: conformance.Both, Statements: []string{"5.0:MQTT-3.1.2-3", "3.1.1:MQTT-3.1.2-3"}},
		{ID: "3.1/c", Versions: conformance.V5, Statements: []string{"MQTT-3.1.2-5"}},
	}
	proofs := []spec.Proof{
		{Fault: "second-connect", Statements: []string{"MQTT-3.1.0-2", "3.1.1:MQTT-3.1.0-2"}, Cases: []string{"3.1/a@5.0"}},
		{Fault: "reserved-flag", Statements: []string{"MQTT-3.1.2-3", "3.1.1:MQTT-3.1.2-3"}, Cases: []string{"3.1/b"}},
		{Fault: "wrong-case", Statements: []string{"MQTT-3.1.2-5"}, Cases: []string{"3.1/a"}}, // 3.1/a does not cite it
	}
	cov := coverageWith(cases, spec.Server, proofs)
	status := func(v, id string) stmtStatus {
		for _, st := range cov[v].Statements {
			if st.ID == id {
				return st
			}
		}
		t.Fatalf("%s %s not listed", v, id)
		return stmtStatus{}
	}
	tests := []struct {
		version, id, status string
		faults              []string
	}{
		{spec.V5, "MQTT-3.1.0-2", statusProven, []string{"second-connect"}},
		{spec.V311, "MQTT-3.1.0-2", statusCited, nil}, // the case is mapped on 5.0 only
		{spec.V5, "MQTT-3.1.2-3", statusProven, []string{"reserved-flag"}},
		{spec.V311, "MQTT-3.1.2-3", statusProven, []string{"reserved-flag"}},
		{spec.V5, "MQTT-3.1.2-5", statusCited, nil},        // the fault's case does not cite it
		{spec.V5, "MQTT-4.2.0-1", statusUnprovable, nil},   // reason in spec's registry
		{spec.V311, "MQTT-3.2.2-6", statusUntestable, nil}, // not observable
		{spec.V5, "MQTT-3.3.1-1", statusUncited, nil},      // nobody cites it here
	}
	for _, tt := range tests {
		st := status(tt.version, tt.id)
		if st.Status != tt.status || !slices.Equal(st.Faults, tt.faults) {
			t.Errorf("%s %s: %s by %v, want %s by %v", tt.version, tt.id, st.Status, st.Faults, tt.status, tt.faults)
		}
		if (st.Status == statusUnprovable || st.Status == statusUntestable) && st.Reason == "" {
			t.Errorf("%s %s: %s without a reason", tt.version, tt.id, st.Status)
		}
	}
	for _, v := range []string{spec.V311, spec.V5} {
		c := cov[v]
		n := map[string]int{}
		for _, st := range c.Statements {
			n[st.Status]++
		}
		if c.Proven != n[statusProven] || c.Cited != n[statusProven]+n[statusCited] || c.Unprovable != n[statusUnprovable] ||
			c.Untestable != n[statusUntestable] || c.Testable != len(c.Statements)-c.Untestable || c.Tested != c.Cited {
			t.Errorf("%s: totals %+v disagree with the statuses %v", v, c, n)
		}
	}
}

// TestTestableStatementsCitedOrExplained keeps the registry's reasons complete: every
// wire-testable statement binding a role's side is cited by one of its cases, or spec records
// why no case of this suite can prove it (spec.Unprovable).
func TestTestableStatementsCitedOrExplained(t *testing.T) {
	for _, d := range catalogDocs {
		for v, c := range staticCoverage(d.cases(), d.side) {
			for _, st := range c.Statements {
				if st.Status == statusUncited {
					t.Errorf("%s %s %s: testable, cited by no case, and no reason in conformance/spec/noproof.go", d.role, v, st.ID)
				}
			}
		}
	}
}
