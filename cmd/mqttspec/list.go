package main

import (
	"fmt"
	"io"
	"path"
	"slices"
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
	var markdown, asJSON, untested, statements bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the conformance catalog and its statement coverage",
		Long: `List every case of the catalog (ID, versions, level, statements, title) and the statement
coverage it reaches, per version, over the wire-testable Appendix B statements binding the role's
side (server for --role broker, client for --role client, plus those binding both):

  cited       some case cites the statement on that version
  proven      a deliberate fault of the reference broker (client) breaks the statement and a case
              citing it on that version is shown by the mutation tests to fail under that fault
  unprovable  the registry says why no case of this suite can prove it (needs a restart, an
              application decision, a transport the drivers lack)
  untestable  not observable on the wire at all (counted apart from testable)

--statements lists every statement with its status, faults and cases; --untested lists the
testable statements that are not proven, with why; --markdown writes the generated catalog
document; --json writes all of it as mqttspec/catalog/v1.`,
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
			case statements || untested:
				for _, v := range []string{spec.V311, spec.V5} {
					writeCoverageLine(w, v, cov[v])
					for _, st := range cov[v].Statements {
						if untested && (st.Status == statusProven || st.Status == statusUntestable) {
							continue
						}
						fmt.Fprintf(w, "  %-16s %-10s %s\n", st.ID, st.Status, st.detail())
					}
				}
			default:
				for _, c := range cases {
					fmt.Fprintf(w, "%-48s %-9s %-6s %s  %s\n", c.ID, versionsString(c.Versions), c.Level, strings.Join(c.Statements, ","), c.Source)
				}
				fmt.Fprintf(w, "\n%d cases\n", len(cases))
				for _, v := range []string{spec.V311, spec.V5} {
					writeCoverageLine(w, v, cov[v])
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "broker", "broker or client")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "write the catalog as Markdown")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the catalog as JSON")
	cmd.Flags().BoolVar(&untested, "untested", false, "list the testable statements that are not proven, with why")
	cmd.Flags().BoolVar(&statements, "statements", false, "list every statement with its status (proven, cited, unprovable, uncited, untestable)")
	rootCmd.AddCommand(cmd)
}

// writeCoverageLine prints the one-line totals of a version.
func writeCoverageLine(w io.Writer, v string, c covStat) {
	fmt.Fprintf(w, "coverage %s: %d testable statements: %d cited (%.0f%%), %d proven (%.0f%%), %d unprovable; %d untestable\n",
		v, c.Testable, c.Cited, pct(c.Cited, c.Testable), c.Proven, pct(c.Proven, c.Testable), c.Unprovable, c.Untestable)
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
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

// Statement statuses of `mqttspec list`, strongest first.
const (
	statusProven     = "proven"     // a fault breaks it and a case citing it fails under that fault
	statusCited      = "cited"      // cases cite it, no fault shows one of them failing
	statusUnprovable = "unprovable" // testable, not cited, and the registry says why no case can prove it
	statusUncited    = "uncited"    // testable, not cited, no reason recorded (a test keeps this empty)
	statusUntestable = "untestable" // not observable on the wire
)

// covStat is the coverage of one version for one role. Testable counts the wire-testable
// Appendix B statements binding the role's side; Cited, Proven and Unprovable count among them;
// Untestable counts the others binding the side.
type covStat struct {
	Testable   int `json:"testable"`
	Cited      int `json:"cited"`
	Proven     int `json:"proven"`
	Unprovable int `json:"unprovable"`
	Untestable int `json:"untestable"`
	// Tested is Cited under the name earlier mqttspec/catalog/v1 documents used.
	Tested int `json:"tested"`
	// Missing lists the testable statements no case cites (as in earlier v1 documents).
	Missing    []string     `json:"missing,omitempty"`
	Statements []stmtStatus `json:"statements"`
}

// stmtStatus is what `mqttspec list` knows about one statement of one version.
type stmtStatus struct {
	ID     string   `json:"id"`
	Status string   `json:"status"`           // proven, cited, unprovable, uncited or untestable
	Cases  []string `json:"cases,omitempty"`  // cases citing it on the version
	Faults []string `json:"faults,omitempty"` // faults proving it (through one of those cases)
	Reason string   `json:"reason,omitempty"` // why unprovable or untestable
}

// detail is the rest of a statement's line in the text views.
func (st stmtStatus) detail() string {
	switch st.Status {
	case statusProven:
		return "by " + strings.Join(st.Faults, ", ") + " through " + strings.Join(st.Cases, ", ")
	case statusCited:
		if n := len(st.Cases); n > 3 {
			return fmt.Sprintf("no fault shows a failure of its %d citing cases (%s, …)", n, strings.Join(st.Cases[:3], ", "))
		}
		return "no fault shows a failure of " + strings.Join(st.Cases, ", ")
	case statusUncited:
		return "no case cites it and the registry records no reason"
	}
	return st.Reason
}

// staticCoverage classifies, per version, the Appendix B statements binding side (or both):
// cited by a case running on the version, proven through the registered fault proofs of side,
// unprovable or untestable with the registry's reason.
func staticCoverage(cases []conformance.Case, side spec.Role) map[string]covStat {
	return coverageWith(cases, side, spec.Proofs(side))
}

// coverageWith is staticCoverage with the proofs given.
func coverageWith(cases []conformance.Case, side spec.Role, proofs []spec.Proof) map[string]covStat {
	out := map[string]covStat{}
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		citing := map[string][]string{} // statement -> case IDs
		for _, c := range cases {
			if c.Versions.Has(v) {
				for _, id := range c.StatementsFor(v) {
					citing[id] = append(citing[id], c.ID)
				}
			}
		}
		cs := covStat{Statements: []stmtStatus{}}
		for _, s := range spec.ByVersion(v.String()) {
			if !s.InAppendixB() || (s.Role != side && s.Role != spec.Both) {
				continue
			}
			st := stmtStatus{ID: s.ID, Cases: citing[s.ID]}
			if !s.Testable {
				cs.Untestable++
				st.Status, st.Reason = statusUntestable, s.WhyNot
				cs.Statements = append(cs.Statements, st)
				continue
			}
			cs.Testable++
			for _, p := range proofs {
				if p.Proves(s.Version, s.ID, func(id string) bool { return slices.Contains(st.Cases, id) }) {
					st.Faults = append(st.Faults, p.Fault)
				}
			}
			why, unprovable := spec.Unprovable(s.Version, s.ID, side)
			switch {
			case len(st.Faults) > 0:
				st.Status = statusProven
				cs.Proven++
			case len(st.Cases) > 0:
				st.Status = statusCited
			case unprovable:
				st.Status, st.Reason = statusUnprovable, why
				cs.Unprovable++
			default:
				st.Status = statusUncited
			}
			if len(st.Cases) > 0 {
				cs.Cited++
			} else {
				cs.Missing = append(cs.Missing, s.ID)
			}
			cs.Statements = append(cs.Statements, st)
		}
		cs.Tested = cs.Cited
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
	fmt.Fprintf(w, "%d cases. Statement coverage over the wire-testable statements binding the %s, see `mqttspec list --help`: "+
		"*cited* by a case; *proven* when a deliberate fault of the reference %s breaks the statement and a case citing it fails under that fault; "+
		"*unprovable* when no case of this suite can prove it (reason below); *untestable* statements are not observable on the wire and not counted as testable.\n\n",
		len(cases), sideName(role), role)
	fmt.Fprintf(w, "| version | testable | cited | proven | unprovable | untestable |\n|---|---|---|---|---|---|\n")
	for _, v := range []string{spec.V311, spec.V5} {
		c := cov[v]
		fmt.Fprintf(w, "| %s | %d | %d (%.0f%%) | %d (%.0f%%) | %d | %d |\n", v, c.Testable, c.Cited, pct(c.Cited, c.Testable),
			c.Proven, pct(c.Proven, c.Testable), c.Unprovable, c.Untestable)
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
		var open []stmtStatus
		for _, st := range cov[v].Statements {
			if st.Status != statusProven && st.Status != statusUntestable {
				open = append(open, st)
			}
		}
		fmt.Fprintf(w, "\n## MQTT %s testable statements not proven (%d)\n\n", v, len(open))
		for _, st := range open {
			s, _ := spec.Lookup(v, st.ID)
			fmt.Fprintf(w, "- %s — %s — **%s**: %s\n", st.ID, s.Summary, st.Status, strings.ReplaceAll(st.detail(), "|", "\\|"))
		}
	}
}

// sideName is the side of the statements a role's catalog checks.
func sideName(role string) string {
	if role == "client" {
		return "client or both sides"
	}
	return "server or both sides"
}

// sourceLink renders "path/file.go:42" as a Markdown link from docs/ to that line.
func sourceLink(src string) string {
	file, line, ok := strings.Cut(src, ":")
	if !ok {
		return src
	}
	return fmt.Sprintf("[%s:%s](../%s#L%s)", path.Base(file), line, file, line)
}
