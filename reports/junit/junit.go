// Package junit writes a results document as JUnit XML, the format CI systems (GitLab, Jenkins,
// GitHub test reporters) read: one testsuite per specification section, one testcase per case
// and version.
//
// Status mapping:
//   - pass: a plain testcase.
//   - fail: <failure type="MUST"> with the message, expected and actual, and the statements.
//   - warn: a SHOULD that was not met is not a failure of the build, so the testcase passes; it
//     carries a <property name="mqttspec.status" value="warn"/> and its system-out starts with
//     "WARN:" and the reason, so the warning is visible in every viewer. Options.WarnAsFailure
//     turns warnings into <failure type="SHOULD"> for pipelines that want them red.
//   - skip: <skipped message="reason"/>.
//   - error: <error> (the harness could not judge, e.g. connection refused).
//
// Every testcase with a transcript has it in <system-out>: one line per event with time,
// connection, direction and decoded packet, followed by the hex bytes.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mqttspec/mqttspec/reports"
)

// Options tune the output. The zero value is the documented default.
type Options struct {
	// Catalog names the sections ("3.1 CONNECT") and is used to print statement paraphrases
	// in failures; nil prints bare section numbers and IDs.
	Catalog reports.Catalog
	// WarnAsFailure reports warnings as failures of type SHOULD.
	WarnAsFailure bool
	// MaxHexBytes bounds the hex dump of one event in system-out (0: 4096 bytes); the full
	// bytes are in results.json.
	MaxHexBytes int
}

// Testsuites is the document root.
type Testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Suites   []Testsuite `xml:"testsuite"`
}

// Testsuite is one section.
type Testsuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       float64    `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	Hostname   string     `xml:"hostname,attr,omitempty"`
	Properties []Property `xml:"properties>property,omitempty"`
	Cases      []Testcase `xml:"testcase"`
}

// Property is a name/value pair.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Testcase is one case on one version.
type Testcase struct {
	Name       string     `xml:"name,attr"`
	Classname  string     `xml:"classname,attr"`
	Time       float64    `xml:"time,attr"`
	Properties []Property `xml:"properties>property,omitempty"`
	Failure    *Problem   `xml:"failure,omitempty"`
	Error      *Problem   `xml:"error,omitempty"`
	Skipped    *Skipped   `xml:"skipped,omitempty"`
	SystemOut  string     `xml:"system-out,omitempty"`
}

// Problem is a <failure> or <error>.
type Problem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// Skipped is a <skipped>.
type Skipped struct {
	Message string `xml:"message,attr,omitempty"`
}

// Build converts a results document to the JUnit tree.
func Build(r *reports.Results, o Options) *Testsuites {
	if o.MaxHexBytes <= 0 {
		o.MaxHexBytes = 4096
	}
	name := "mqttspec"
	if r.Target.Name != "" {
		name += ": " + r.Target.Name
	}
	doc := &Testsuites{Name: name}
	bySection := map[string]int{}
	var order []string
	versions := map[string][]string{}
	for i := range r.Cases {
		c := &r.Cases[i]
		if _, ok := bySection[c.Section]; !ok {
			bySection[c.Section] = len(order)
			order = append(order, c.Section)
		}
		if !contains(versions[c.Section], c.Version) {
			versions[c.Section] = append(versions[c.Section], c.Version)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return reports.CompareSections(order[i], order[j]) < 0 })
	index := map[string]int{}
	for i, s := range order {
		index[s] = i
		title := reports.SectionTitleAny(o.Catalog, s, versions[s]...)
		if s == "" {
			title = "(no section)"
		}
		doc.Suites = append(doc.Suites, Testsuite{
			Name:      title,
			Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"),
			Properties: []Property{
				{Name: "target", Value: r.Target.Name},
				{Name: "target.url", Value: r.Target.URL},
				{Name: "target.role", Value: r.Target.Role},
				{Name: "tool", Value: strings.TrimSpace(r.Tool.Name + " " + r.Tool.Version)},
			},
		})
	}
	for i := range r.Cases {
		c := &r.Cases[i]
		s := &doc.Suites[index[c.Section]]
		tc := buildCase(r, c, o)
		s.Cases = append(s.Cases, tc)
		s.Tests++
		s.Time += tc.Time
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
	}
	for i := range doc.Suites {
		s := &doc.Suites[i]
		s.Time = round3(s.Time)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Time += s.Time
	}
	doc.Time = round3(doc.Time)
	if r.DurationMs > 0 {
		doc.Time = round3(r.DurationMs / 1000)
	}
	return doc
}

func buildCase(r *reports.Results, c *reports.Case, o Options) Testcase {
	role := c.Role
	if role == "" {
		role = r.Target.Role
	}
	tc := Testcase{
		Name:      fmt.Sprintf("%s [%s]", c.ID, c.Version),
		Classname: "mqttspec." + role + ".section_" + strings.ReplaceAll(c.Section, ".", "_"),
		Time:      round3(c.DurationMs / 1000),
	}
	var out strings.Builder
	switch c.Status {
	case reports.Fail:
		tc.Failure = &Problem{Message: oneLine(c.Message), Type: levelOr(c.Level, "MUST"), Text: detail(c, o)}
	case reports.Warn:
		if o.WarnAsFailure {
			tc.Failure = &Problem{Message: oneLine(c.Message), Type: levelOr(c.Level, "SHOULD"), Text: detail(c, o)}
		} else {
			tc.Properties = append(tc.Properties, Property{Name: "mqttspec.status", Value: "warn"})
			fmt.Fprintf(&out, "WARN: %s\n%s\n", oneLine(c.Message), detail(c, o))
		}
	case reports.Skip:
		tc.Skipped = &Skipped{Message: oneLine(c.Message)}
	case reports.Error:
		tc.Error = &Problem{Message: oneLine(c.Message), Type: "error", Text: detail(c, o)}
	}
	if len(c.Transcript) > 0 {
		out.WriteString("transcript:\n")
		writeTranscript(&out, c.Transcript, o.MaxHexBytes)
	}
	tc.SystemOut = out.String()
	return tc
}

func levelOr(level, def string) string {
	if level == "" {
		return def
	}
	return level
}

func detail(c *reports.Case, o Options) string {
	var b strings.Builder
	if c.Message != "" {
		b.WriteString(c.Message)
		b.WriteByte('\n')
	}
	if c.Expected != "" {
		fmt.Fprintf(&b, "expected: %s\n", c.Expected)
	}
	if c.Actual != "" {
		fmt.Fprintf(&b, "actual:   %s\n", c.Actual)
	}
	for _, id := range c.Statements {
		fmt.Fprintf(&b, "statement %s", id)
		if o.Catalog != nil {
			if s, ok := o.Catalog.Statement(c.Version, id); ok && s.Summary != "" {
				fmt.Fprintf(&b, ": %s", s.Summary)
			}
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// writeTranscript prints each event as "+12.345ms c1 -> PUBLISH ..." then its bytes in hex
// groups of 16, indented.
func writeTranscript(b *strings.Builder, ev []reports.Event, maxHex int) {
	for _, e := range ev {
		arrow := "  "
		switch e.Dir {
		case "send":
			arrow = "->"
		case "recv":
			arrow = "<-"
		case "note":
			arrow = "--"
		}
		fmt.Fprintf(b, "+%9.3fms %-6s %s %s\n", e.TMs, e.Conn, arrow, e.Packet)
		h := e.Hex
		cut := false
		if len(h) > 2*maxHex {
			h, cut = h[:2*maxHex], true
		}
		for off := 0; off < len(h); off += 32 {
			line := h[off:min(off+32, len(h))]
			b.WriteString("            ")
			for k := 0; k < len(line); k += 2 {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(line[k:min(k+2, len(line))])
			}
			b.WriteByte('\n')
		}
		if cut {
			fmt.Fprintf(b, "            ... %d bytes in all, full bytes in results.json\n", len(e.Hex)/2)
		}
	}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}

func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Write encodes the document as indented XML with the XML declaration.
func Write(w io.Writer, r *reports.Results, o Options) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(Build(r, o)); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteFile writes the XML to path atomically (temp file, then rename).
func WriteFile(path string, r *reports.Results, o Options) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := Write(f, r, o); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
