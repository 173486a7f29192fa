package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != CatalogSchema || doc.Role != d.role || len(doc.Cases) != len(cases) {
				t.Fatalf("schema %q role %q with %d cases, want %q %q %d", doc.Schema, doc.Role, len(doc.Cases), CatalogSchema, d.role, len(cases))
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
