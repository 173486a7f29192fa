package main

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
	"github.com/mqttspec/mqttspec/conformance/spec"
	"github.com/mqttspec/mqttspec/reports"
)

func init() {
	var role string
	var markdown, asJSON, untested bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the conformance catalog and its statement coverage",
		Long: `List every case of the catalog (ID, versions, level, statements, title) and the statement
coverage it reaches: the wire-testable statements cited by at least one case. --markdown writes
the generated catalog document; --untested lists the testable statements no case cites.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cases []conformance.Case
			var side spec.Role
			switch role {
			case "broker", "":
				cases, side = catalog.BrokerCases(), spec.Server
			case "client":
				cases, side = catalog.ClientCases(), spec.Client
			default:
				return failWith(exitUsage, fmt.Errorf("--role must be broker or client, not %q", role))
			}
			if markdown && asJSON {
				return failWith(exitUsage, fmt.Errorf("--markdown and --json exclude each other"))
			}
			cov := staticCoverage(cases, side)
			w := cmd.OutOrStdout()
			switch {
			case asJSON:
				return encodeJSON(w, catalogJSON(role, cases, cov))
			case markdown:
				writeCatalogMarkdown(w, role, cases, cov)
			case untested:
				for _, v := range []string{spec.V311, spec.V5} {
					fmt.Fprintf(w, "MQTT %s: %d testable statements not cited by any case\n", v, len(cov[v].Missing))
					for _, id := range cov[v].Missing {
						s, _ := spec.Lookup(v, id)
						fmt.Fprintf(w, "  %-16s %s\n", id, s.Summary)
					}
				}
			default:
				for _, c := range cases {
					fmt.Fprintf(w, "%-48s %-9s %-6s %s  %s\n", c.ID, versionsString(c.Versions), c.Level, strings.Join(c.Statements, ","), c.Source)
				}
				fmt.Fprintf(w, "\n%d cases\n", len(cases))
				for _, v := range []string{spec.V311, spec.V5} {
					fmt.Fprintf(w, "coverage %s: %d of %d testable statements (%.0f%%)\n", v, cov[v].Tested, cov[v].Testable, cov[v].percent())
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "broker", "broker or client")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "write the catalog as Markdown")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the catalog as JSON")
	cmd.Flags().BoolVar(&untested, "untested", false, "list testable statements no case cites")
	rootCmd.AddCommand(cmd)
}

// CatalogSchema is the "schema" value of `mqttspec list --json`.
const CatalogSchema = "mqttspec/catalog/v1"

// catalogDoc is the document `mqttspec list --json` writes: field names in the lower-case style
// of results.json.
type catalogDoc struct {
	Schema   string             `json:"schema"`
	Role     string             `json:"role"`
	Cases    []catalogCase      `json:"cases"`
	Coverage map[string]covStat `json:"coverage"`
}

type catalogCase struct {
	ID         string                `json:"id"`
	Title      string                `json:"title"`
	Level      string                `json:"level"`
	Versions   []string              `json:"versions"`
	Statements []string              `json:"statements"`
	Requires   []conformance.Feature `json:"requires,omitempty"`
	Source     string                `json:"source"`
}

func catalogJSON(role string, cases []conformance.Case, cov map[string]covStat) catalogDoc {
	if role == "" {
		role = "broker"
	}
	doc := catalogDoc{Schema: CatalogSchema, Role: role, Cases: []catalogCase{}, Coverage: cov}
	for _, c := range cases {
		var vs []string
		for _, v := range c.Versions.List() {
			vs = append(vs, v.String())
		}
		doc.Cases = append(doc.Cases, catalogCase{ID: c.ID, Title: c.Title, Level: c.Level.String(), Versions: vs,
			Statements: c.Statements, Requires: c.Requires, Source: c.Source})
	}
	return doc
}

type covStat struct {
	Testable int      `json:"testable"`
	Tested   int      `json:"tested"`
	Missing  []string `json:"missing,omitempty"`
}

func (c covStat) percent() float64 {
	if c.Testable == 0 {
		return 0
	}
	return 100 * float64(c.Tested) / float64(c.Testable)
}

// staticCoverage counts the testable Appendix B statements binding side (or both) that some case
// cites, per version.
func staticCoverage(cases []conformance.Case, side spec.Role) map[string]covStat {
	out := map[string]covStat{}
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		cited := map[string]bool{}
		for _, c := range cases {
			if c.Versions.Has(v) {
				for _, id := range c.StatementsFor(v) {
					cited[id] = true
				}
			}
		}
		var cs covStat
		for _, s := range spec.ByVersion(v.String()) {
			if !s.Testable || !s.InAppendixB() || (s.Role != side && s.Role != spec.Both) {
				continue
			}
			cs.Testable++
			if cited[s.ID] {
				cs.Tested++
			} else {
				cs.Missing = append(cs.Missing, s.ID)
			}
		}
		out[v.String()] = cs
	}
	return out
}

func versionsString(vs conformance.Versions) string {
	var s []string
	for _, v := range vs.List() {
		s = append(s, v.String())
	}
	return strings.Join(s, ",")
}

func writeCatalogMarkdown(w io.Writer, role string, cases []conformance.Case, cov map[string]covStat) {
	if role == "" {
		role = "broker"
	}
	fmt.Fprintf(w, "# mqttspec %s catalog\n\nGenerated by `mqttspec list --role %s --markdown`; do not edit by hand. Source links are relative to docs/.\n\n", role, role)
	fmt.Fprintf(w, "%d cases. Statement coverage (wire-testable statements cited by a case):\n\n", len(cases))
	fmt.Fprintf(w, "| version | cited | testable | coverage |\n|---|---|---|---|\n")
	for _, v := range []string{spec.V311, spec.V5} {
		fmt.Fprintf(w, "| %s | %d | %d | %.0f%% |\n", v, cov[v].Tested, cov[v].Testable, cov[v].percent())
	}
	bySection := map[string][]conformance.Case{}
	var sections []string
	for _, c := range cases {
		s := c.Section()
		if _, ok := bySection[s]; !ok {
			sections = append(sections, s)
		}
		bySection[s] = append(bySection[s], c)
	}
	sort.SliceStable(sections, func(i, j int) bool { return reports.CompareSections(sections[i], sections[j]) < 0 })
	for _, s := range sections {
		fmt.Fprintf(w, "\n## Section %s\n\n| case | versions | level | statements | checks | source |\n|---|---|---|---|---|---|\n", s)
		for _, c := range bySection[s] {
			fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s |\n", c.ID, versionsString(c.Versions), c.Level, strings.Join(c.Statements, " "),
				strings.ReplaceAll(c.Title, "|", "\\|"), sourceLink(c.Source))
		}
	}
	for _, v := range []string{spec.V311, spec.V5} {
		fmt.Fprintf(w, "\n## MQTT %s statements not covered (%d)\n\n", v, len(cov[v].Missing))
		for _, id := range cov[v].Missing {
			s, _ := spec.Lookup(v, id)
			fmt.Fprintf(w, "- %s — %s\n", id, s.Summary)
		}
	}
}

// sourceLink renders "path/file.go:42" as a Markdown link from docs/ to that line.
func sourceLink(src string) string {
	file, line, ok := strings.Cut(src, ":")
	if !ok {
		return src
	}
	return fmt.Sprintf("[%s:%s](../%s#L%s)", path.Base(file), line, file, line)
}
