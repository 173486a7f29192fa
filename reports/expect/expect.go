// Package expect compares a run's results with an expectations file (mqttspec-expect.yaml): the
// known gaps of a target, so that CI fails on regressions rather than on what never worked.
package expect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mqttspec/mqttspec/reports"
)

// Entry is one expectation: a case (optionally on one version) or a statement ID, and the
// status it is known to end with.
type Entry struct {
	Case      string         `yaml:"case,omitempty"`      // case ID, e.g. 3.1/keepalive-enforced
	Statement string         `yaml:"statement,omitempty"` // or a statement ID: every case citing it
	Version   string         `yaml:"version,omitempty"`   // "3.1.1" or "5.0"; empty = both
	Status    reports.Status `yaml:"status"`              // fail, warn, skip or error
	Reason    string         `yaml:"reason,omitempty"`    // why, or a link to the issue
	line      int
}

// File is an expectations file.
type File struct {
	Target       string  `yaml:"target,omitempty"` // informational: which target the file is for
	Expectations []Entry `yaml:"expectations"`
}

// FileError is a problem in an expectations file, with its line.
type FileError struct {
	Path string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Known says which case and statement IDs exist, to reject typos in a file.
type Known struct {
	Case      func(id string) bool
	Statement func(version, id string) bool
}

// Parse reads an expectations file. Every problem is reported with its line: bad YAML, unknown
// fields, missing or invalid status, an entry naming neither or both of case and statement,
// unknown IDs (when known is given), duplicates.
func Parse(data []byte, path string, known *Known) (*File, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return &File{}, nil
		}
		return nil, yamlError(path, err)
	}
	var f File
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&f); err != nil {
		return nil, yamlError(path, err)
	}
	// Recover each entry's line from the node tree.
	if list := findKey(&root, "expectations"); list != nil && list.Kind == yaml.SequenceNode {
		for i, n := range list.Content {
			if i < len(f.Expectations) {
				f.Expectations[i].line = n.Line
			}
		}
	}
	var errs []error
	seen := map[string]int{}
	for i := range f.Expectations {
		e := &f.Expectations[i]
		bad := func(format string, a ...any) {
			errs = append(errs, &FileError{path, e.line, fmt.Sprintf(format, a...)})
		}
		switch {
		case e.Case == "" && e.Statement == "":
			bad("entry names neither a case nor a statement")
		case e.Case != "" && e.Statement != "":
			bad("entry names both a case (%s) and a statement (%s); use one", e.Case, e.Statement)
		}
		switch e.Status {
		case reports.Fail, reports.Warn, reports.Skip, reports.Error:
		case reports.Pass:
			bad("status pass is the default; remove the entry")
		case "":
			bad("entry has no status (fail, warn, skip or error)")
		default:
			bad("status %q is not one of fail, warn, skip, error", e.Status)
		}
		if e.Version != "" && e.Version != "3.1.1" && e.Version != "5.0" {
			bad("version %q is not 3.1.1 or 5.0", e.Version)
		}
		if known != nil {
			if e.Case != "" && known.Case != nil && !known.Case(e.Case) {
				bad("unknown case %q%s", e.Case, mergedHint(e.Case, known.Case))
			}
			if e.Statement != "" && known.Statement != nil {
				ok := false
				for _, v := range versionsOf(e.Version) {
					ok = ok || known.Statement(v, e.Statement)
				}
				if !ok {
					bad("unknown statement %q", e.Statement)
				}
			}
		}
		key := e.Case + "|" + e.Statement + "|" + e.Version
		if prev, dup := seen[key]; dup {
			bad("duplicate of the entry on line %d", prev)
		}
		seen[key] = e.line
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &f, nil
}

func versionsOf(v string) []string {
	if v == "" {
		return []string{"3.1.1", "5.0"}
	}
	return []string{v}
}

func findKey(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func yamlError(path string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	// yaml.v3 says "line N: …"; keep its line as ours.
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		if i := strings.Index(msg, ":"); i >= 0 {
			msg = strings.TrimSpace(msg[i+1:])
		}
	} else if strings.HasPrefix(msg, "unmarshal errors:") {
		rest := strings.TrimSpace(strings.TrimPrefix(msg, "unmarshal errors:"))
		if _, scanErr := fmt.Sscanf(rest, "line %d:", &line); scanErr == nil {
			if i := strings.Index(rest, ":"); i >= 0 {
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return &FileError{Path: path, Line: line, Msg: msg}
}

// ReadFile reads and checks an expectations file.
func ReadFile(path string, known *Known) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, known)
}

// Expected returns the status expected for a case result, and the entry that says so (nil when
// the default, pass, applies). A case entry wins over a statement entry.
func (f *File) Expected(c *reports.Case) (reports.Status, *Entry) {
	var byStatement *Entry
	for i := range f.Expectations {
		e := &f.Expectations[i]
		if e.Version != "" && e.Version != c.Version {
			continue
		}
		if e.Case != "" && e.Case == c.ID {
			return e.Status, e
		}
		if e.Statement != "" && byStatement == nil {
			for _, s := range c.Statements {
				if s == e.Statement {
					byStatement = e
				}
			}
		}
	}
	if byStatement != nil {
		return byStatement.Status, byStatement
	}
	return reports.Pass, nil
}

// Kind classifies a difference between expectation and result.
type Kind string

// Kinds of difference.
const (
	Regression     Kind = "regression"      // expected to pass (or warn/skip), now fails or errors
	UnexpectedPass Kind = "unexpected-pass" // a known gap now passes: tighten the file
	Changed        Kind = "changed"         // another status change (e.g. fail → warn, pass → skip)
)

// Diff is one case whose status differs from its expectation.
type Diff struct {
	Kind     Kind
	Case     reports.Case
	Expected reports.Status
	Entry    *Entry
}

// Comparison is the outcome of comparing results with a file.
type Comparison struct {
	Regressions     []Diff
	UnexpectedPass  []Diff
	Changed         []Diff
	Matched         int
	UnusedEntries   []Entry // entries that matched no case in the results
	ExpectedFailing int     // cases expected not to pass that indeed do not
}

// OK reports whether CI should pass: no regression.
func (c *Comparison) OK() bool { return len(c.Regressions) == 0 }

// Compare classifies every case of res against f.
func Compare(f *File, res *reports.Results) *Comparison {
	out := &Comparison{}
	used := make([]bool, len(f.Expectations))
	for _, c := range res.Cases {
		want, e := f.Expected(&c)
		if e != nil {
			for i := range f.Expectations {
				if &f.Expectations[i] == e {
					used[i] = true
				}
			}
		}
		got := c.Status
		if got == want {
			out.Matched++
			if want != reports.Pass {
				out.ExpectedFailing++
			}
			continue
		}
		d := Diff{Case: c, Expected: want, Entry: e}
		switch {
		case (got == reports.Fail || got == reports.Error) && want != reports.Fail && want != reports.Error:
			d.Kind = Regression
			out.Regressions = append(out.Regressions, d)
		case got == reports.Pass:
			d.Kind = UnexpectedPass
			out.UnexpectedPass = append(out.UnexpectedPass, d)
		default:
			d.Kind = Changed
			out.Changed = append(out.Changed, d)
		}
	}
	for i, u := range used {
		if !u {
			out.UnusedEntries = append(out.UnusedEntries, f.Expectations[i])
		}
	}
	return out
}

// Update builds an expectations file from results: one case entry per case (and version) that
// did not pass, keeping the reasons of a previous file where the same case was listed.
func Update(res *reports.Results, previous *File) *File {
	out := &File{Target: res.Target.Name}
	if previous != nil && previous.Target != "" {
		out.Target = previous.Target
	}
	reasons := map[string]string{}
	if previous != nil {
		for _, e := range previous.Expectations {
			if e.Case != "" {
				reasons[e.Case+"|"+e.Version] = e.Reason
				if e.Version == "" {
					reasons[e.Case+"|*"] = e.Reason
				}
			}
		}
	}
	for _, c := range res.Cases {
		if c.Status == reports.Pass {
			continue
		}
		reason := reasons[c.ID+"|"+c.Version]
		if reason == "" {
			reason = reasons[c.ID+"|*"]
		}
		if reason == "" {
			reason = oneLine(c.Message)
		}
		out.Expectations = append(out.Expectations, Entry{Case: c.ID, Version: c.Version, Status: c.Status, Reason: reason})
	}
	sort.SliceStable(out.Expectations, func(i, j int) bool {
		a, b := out.Expectations[i], out.Expectations[j]
		if a.Case != b.Case {
			return a.Case < b.Case
		}
		return a.Version < b.Version
	})
	return out
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Marshal renders the file with a header comment.
func (f *File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# mqttspec expectations: the known gaps of a target.\n")
	b.WriteString("# mqttspec test … --expect THIS_FILE exits 0 while results match, 1 on a regression.\n")
	b.WriteString("# Regenerate with: mqttspec expect update results.json -o THIS_FILE\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// mergedHint explains an ID of the catalog's former per-version twins ("3.1/keepalive-enforced-v311"):
// they are one case now, and an entry for one version says so with version.
func mergedHint(id string, known func(string) bool) string {
	for suffix, version := range map[string]string{"-v311": "3.1.1", "-v5": "5.0"} {
		if base, ok := strings.CutSuffix(id, suffix); ok && known(base) {
			return fmt.Sprintf(" (per-version cases were merged: write case: %s with version: %q)", base, version)
		}
	}
	return ""
}
