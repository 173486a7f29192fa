// Package check judges captured MQTT traffic against the normative statements that can be
// decided from the packets alone (passive conformance), and reports in the results.json model.
//
// Each Check is a function over one stream (a Conv) that reports Findings, each naming the side
// that broke the rule and the statement it broke. The table is in checks.go; Run applies it to a
// capture and turns it into one reports.Case per check, role and protocol version.
package check

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/pcap"
	"github.com/mqttspec/mqttspec/reports"
)

// Role is the side a finding blames: the one that broke the rule.
type Role string

// Roles, spelt as in reports.Case.Role.
const (
	Client Role = "client"
	Broker Role = "broker"
)

// Cite lists the statements a check judges for one role, per version.
type Cite struct {
	V311 []string
	V5   []string
}

func (c Cite) of(v codec.Version) []string {
	if v == codec.V5 {
		return c.V5
	}
	return c.V311
}

// Check is one passive check.
type Check struct {
	ID      string // stable, "section/short-name"; the role is appended when a check judges both sides
	Title   string // one line
	Section string // specification section
	Level   string // "MUST"; findings marked Warn are inconclusive rather than weaker
	// Cites gives, per role the check can blame, the statements it judges.
	Cites map[Role]Cite
	// Applies says whether a stream lets the check judge it (nil: every stream). Checks that
	// need the whole conversation use FromStart.
	Applies func(c *Conv) bool
	// Conditional checks judge a role only where something happened (a second CONNECT, a
	// refused connection…); they call Reporter.Judged. Others judge every stream they apply to.
	Conditional bool
	Run         func(c *Conv, r *Reporter)
}

// Finding is one violation (or, with Warn, one inconclusive observation).
type Finding struct {
	Role      Role
	Statement string // "" when the specification numbers no statement for it
	Rec       int    // index in Conv.Recs of the packet concerned, -1 for none
	Frame     int    // frame, when Rec is -1
	Warn      bool
	Text      string
}

// Reporter collects what a check finds on one stream.
type Reporter struct {
	check    *Check
	findings []Finding
	judged   map[Role]bool
}

// Fail reports a violation by role at record i.
func (r *Reporter) Fail(role Role, stmt string, i int, format string, a ...any) {
	r.findings = append(r.findings, Finding{Role: role, Statement: stmt, Rec: i, Text: fmt.Sprintf(format, a...)})
}

// Warn reports something the capture cannot decide (typically: it ended too early).
func (r *Reporter) Warn(role Role, stmt string, i int, format string, a ...any) {
	r.findings = append(r.findings, Finding{Role: role, Statement: stmt, Rec: i, Warn: true, Text: fmt.Sprintf(format, a...)})
}

// FailFrame reports a violation tied to a frame rather than an MQTT packet.
func (r *Reporter) FailFrame(role Role, stmt string, frame int, format string, a ...any) {
	r.findings = append(r.findings, Finding{Role: role, Statement: stmt, Rec: -1, Frame: frame, Text: fmt.Sprintf(format, a...)})
}

// Judged records that the stream let the check judge role (for Conditional checks).
func (r *Reporter) Judged(role Role) { r.judged[role] = true }

// Options describe the run for the report.
type Options struct {
	File        string // the capture's path, for the report's target
	ToolVersion string
	// Checks replaces the built-in table (tests); nil means Checks().
	Checks []*Check
}

// key identifies one reported case.
type key struct {
	check   *Check
	role    Role
	version codec.Version
}

type tally struct {
	judged   int // streams judged
	findings []located
}

type located struct {
	Finding
	conv *Conv
}

// Run checks every stream of a capture and returns the results document.
func Run(cp *pcap.Capture, o Options) *reports.Results {
	checks := o.Checks
	if checks == nil {
		checks = Checks()
	}
	start := time.Now()
	convs := Convs(cp)
	tallies := map[key]*tally{}
	seen := map[codec.Version]bool{}
	for _, c := range convs {
		if len(c.Recs) == 0 {
			continue
		}
		seen[c.Version] = true
		for _, ch := range checks {
			if !ch.hasVersion(c.Version) || (ch.Applies != nil && !ch.Applies(c)) {
				continue
			}
			r := &Reporter{check: ch, judged: map[Role]bool{}}
			ch.Run(c, r)
			for role := range ch.Cites {
				if len(ch.Cites[role].of(c.Version)) == 0 {
					continue
				}
				k := key{ch, role, c.Version}
				t := tallies[k]
				if t == nil {
					t = &tally{}
					tallies[k] = t
				}
				if !ch.Conditional || r.judged[role] {
					t.judged++
				}
				for _, f := range r.findings {
					if f.Role == role {
						t.findings = append(t.findings, located{f, c})
					}
				}
			}
		}
	}
	res := &reports.Results{
		Schema:  reports.Schema,
		Tool:    reports.Tool{Name: "mqttspec", Version: o.ToolVersion},
		Started: start.UTC(),
		Target: reports.Target{Name: filepath.Base(o.File), URL: o.File, Role: "broker", Transport: "pcap",
			Info: targetInfo(cp)},
	}
	var first time.Time
	if cp.Summary != nil {
		first = cp.Summary.First
	}
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		if !seen[v] {
			continue
		}
		for _, ch := range checks {
			for _, role := range []Role{Client, Broker} {
				cite, ok := ch.Cites[role]
				if !ok || len(cite.of(v)) == 0 {
					continue
				}
				res.Cases = append(res.Cases, caseFor(ch, role, v, tallies[key{ch, role, v}], first))
			}
		}
	}
	res.Sort()
	res.Recount()
	res.DurationMs = float64(time.Since(start).Microseconds()) / 1000
	return res
}

func (ch *Check) hasVersion(v codec.Version) bool {
	for _, c := range ch.Cites {
		if len(c.of(v)) > 0 {
			return true
		}
	}
	return false
}

func targetInfo(cp *pcap.Capture) map[string]string {
	info := map[string]string{}
	if s := cp.Summary; s != nil {
		info["format"] = s.Format.String()
		info["frames"] = fmt.Sprint(s.Frames)
		info["streams"] = fmt.Sprint(len(s.Streams))
		info["mqtt_packets"] = fmt.Sprint(s.Packets)
		if s.MissingBytes > 0 {
			info["missing_bytes"] = fmt.Sprint(s.MissingBytes)
		}
	}
	return info
}

const maxListed = 10

func caseFor(ch *Check, role Role, v codec.Version, t *tally, first time.Time) reports.Case {
	id := ch.ID
	title := ch.Title
	if len(ch.Cites) > 1 {
		id += "/" + string(role)
		title += " (" + string(role) + ")"
	}
	cs := reports.Case{
		ID: id, Title: title, Section: ch.Section, Statements: ch.Cites[role].of(v), Version: v.String(),
		Role: string(role), Level: ch.Level, Labels: []string{"pcap"},
	}
	if t == nil {
		t = &tally{}
	}
	fails, warns := 0, 0
	for _, f := range t.findings {
		if f.Warn {
			warns++
		} else {
			fails++
		}
	}
	switch {
	case fails > 0:
		cs.Status = reports.Fail
	case warns > 0:
		cs.Status = reports.Warn
	case t.judged > 0:
		cs.Status = reports.Pass
		cs.Message = fmt.Sprintf("%d stream(s) judged, no violation", t.judged)
		return cs
	default:
		cs.Status = reports.Skip
		cs.Message = "no stream in the capture let this be judged"
		return cs
	}
	// Failures first, then warnings, each in capture order.
	fs := slices.Clone(t.findings)
	slices.SortStableFunc(fs, func(a, b located) int {
		if a.Warn != b.Warn {
			if a.Warn {
				return 1
			}
			return -1
		}
		return 0
	})
	var lines []string
	for i, f := range fs {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("… and %d more", len(fs)-maxListed))
			break
		}
		lines = append(lines, f.line())
	}
	kind := "violation(s)"
	if fails == 0 {
		kind = "inconclusive observation(s)"
	}
	cs.Message = fmt.Sprintf("%d %s:\n%s", len(fs), kind, strings.Join(lines, "\n"))
	cs.Actual = fs[0].Text
	for i, f := range fs {
		if i == 5 {
			break
		}
		cs.Transcript = append(cs.Transcript, f.transcript(first)...)
	}
	return cs
}

// line renders a finding for the case message: "stream 2 frame 17 [MQTT-2.2.1-3]: …".
func (f *located) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stream %d", f.conv.Stream.ID)
	if fr := f.frame(); fr > 0 {
		fmt.Fprintf(&b, " frame %d", fr)
	}
	if f.Statement != "" {
		fmt.Fprintf(&b, " [%s]", f.Statement)
	}
	b.WriteString(": ")
	b.WriteString(f.Text)
	return b.String()
}

func (f *located) frame() int {
	if f.Rec >= 0 && f.Rec < len(f.conv.Recs) {
		return f.conv.Recs[f.Rec].Frame
	}
	return f.Frame
}

// transcript shows the offending packet with the two before it on its stream, and the finding.
func (f *located) transcript(first time.Time) []reports.Event {
	c := f.conv
	conn := fmt.Sprintf("stream %d", c.Stream.ID)
	var ev []reports.Event
	var at time.Time
	if f.Rec >= 0 && f.Rec < len(c.Recs) {
		for i := max(0, f.Rec-2); i <= f.Rec; i++ {
			ev = append(ev, recEvent(&c.Recs[i], conn, first))
		}
		at = c.Recs[f.Rec].Time
	} else {
		at = c.Stream.End
	}
	ev = append(ev, reports.Event{TMs: ms(at, first), Conn: conn, Dir: "note", Packet: f.line()})
	return ev
}

func recEvent(r *Rec, conn string, first time.Time) reports.Event {
	dir := "send" // from the client to the broker under test
	if r.Dir == pcap.FromServer {
		dir = "recv"
	}
	e := reports.Event{TMs: ms(r.Time, first), Conn: conn, Dir: dir}
	raw := r.Raw
	if len(raw) > 256 {
		raw = raw[:256]
	}
	e.Hex = hex.EncodeToString(raw)
	switch {
	case r.Packet != nil:
		e.Packet = fmt.Sprintf("frame %d: %v", r.Frame, r.Packet)
	case r.Err != nil:
		e.Packet = fmt.Sprintf("frame %d: %v: %v", r.Frame, r.Type, r.Err)
	}
	return e
}

func ms(t, first time.Time) float64 {
	if first.IsZero() || t.IsZero() {
		return 0
	}
	return float64(t.Sub(first).Microseconds()) / 1000
}
