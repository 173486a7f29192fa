package spec

import (
	"sort"
	"strconv"
	"strings"
)

// Level is the RFC 2119 strength of a statement.
type Level int

// Levels. Every Appendix B statement is Must; Should and May are used only by
// the project's own IDs (see should.go).
const (
	Must Level = iota + 1
	Should
	May
)

// String returns "MUST", "SHOULD" or "MAY".
func (l Level) String() string {
	switch l {
	case Must:
		return "MUST"
	case Should:
		return "SHOULD"
	case May:
		return "MAY"
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// Role is the side a statement binds: the one whose behaviour is checked.
type Role int

// Roles. Both covers statements addressed to "the Client and Server", to any
// sender or receiver, and generic encoding rules.
const (
	Client Role = iota + 1
	Server
	Both
)

// String returns "client", "server" or "both".
func (r Role) String() string {
	switch r {
	case Client:
		return "client"
	case Server:
		return "server"
	case Both:
		return "both"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Version of the specification a statement belongs to: "3.1.1" or "5.0".
const (
	V311 = "3.1.1"
	V5   = "5.0"
)

// Number of distinct IDs in Appendix B of each final OASIS text. The statements
// with these IDs are the ones for which InAppendixB reports true; the
// project's own SHOULD/MAY IDs come on top.
const (
	// AppendixB311 counts MQTT 3.1.1 OS (2014) Appendix B: 141 rows, 141 IDs
	// (two of them printed malformed in the standard, see doc.go).
	AppendixB311 = 141
	// AppendixB5 counts MQTT 5.0 OS (2019) Appendix B: 251 IDs.
	AppendixB5 = 251
)

// Statement is one normative statement.
type Statement struct {
	ID       string // "MQTT-3.1.0-1", or "mqttspec-5.0-4.13.1-should-1" for our own
	Version  string // V311 or V5
	Section  string // "3.1.0" (the x.x.x part), also useful for grouping
	Chapter  string // e.g. "3.1 CONNECT" human title of the section group
	Level    Level
	Role     Role   // which side the statement binds (the one whose behaviour is checked)
	Testable bool   // can a test observe it on the wire (from the peer side)?
	WhyNot   string // when !Testable: short reason
	Summary  string // one-line paraphrase in our own words
}

// InAppendixB reports whether the statement carries an OASIS Appendix B ID
// (as opposed to one of the project's own mqttspec-... IDs).
func (s Statement) InAppendixB() bool { return strings.HasPrefix(s.ID, "MQTT-") }

// row is one Appendix B entry as written in v311.go and v5.go.
type row struct {
	id       string
	role     Role
	testable bool
	whyNot   string
	summary  string
}

// own is one of the project's SHOULD/MAY entries as written in should.go.
type own struct {
	version  string
	id       string
	level    Level
	role     Role
	testable bool
	whyNot   string
	summary  string
}

type vkey struct{ version, id string }

var (
	registry []Statement     // sorted, see less
	byKey    map[vkey]int    // (version, ID) -> index in registry
	aliasOf  map[vkey]string // (version, alternative spelling) -> ID
)

// aliases are spellings found in the standards or their copies that name a
// registry ID; Lookup and Exists accept them.
var aliases = []struct{ version, alias, id string }{
	{V311, "MQTT-3.1.2.7", "MQTT-3.1.2-7"}, // as printed in 3.1.1 Appendix B
	{V311, "MQTT-3-8.3-4", "MQTT-3.8.3-4"}, // as printed in 3.1.1 Appendix B
	{V5, "MQTT-4.2-1", "MQTT-4.2.0-1"},     // tag used in the body of 5.0 section 4.2
	{V5, "MQTT-3.1.2.7", "MQTT-3.1.2-7"},   // hui6075/mqtt_v5 translation
	{V5, "MQTT-3-8.3-4", "MQTT-3.8.3-4"},   // hui6075/mqtt_v5 translation
	{V5, "MQTT-3-8.3-5", "MQTT-3.8.3-5"},   // hui6075/mqtt_v5 translation
}

func init() {
	var list []Statement
	add := func(version string, rows []row) {
		for _, r := range rows {
			list = append(list, build(version, r.id, Must, r.role, r.testable, r.whyNot, r.summary))
		}
	}
	add(V311, v311)
	add(V5, v5)
	for _, o := range ownStatements {
		list = append(list, build(o.version, o.id, o.level, o.role, o.testable, o.whyNot, o.summary))
	}
	sort.SliceStable(list, func(i, j int) bool { return less(list[i], list[j]) })
	registry = list
	byKey = make(map[vkey]int, len(list))
	for i, s := range list {
		byKey[vkey{s.Version, s.ID}] = i
	}
	aliasOf = make(map[vkey]string, len(aliases))
	for _, a := range aliases {
		aliasOf[vkey{a.version, a.alias}] = a.id
	}
}

func build(version, id string, level Level, role Role, testable bool, whyNot, summary string) Statement {
	section := sectionOf(id)
	return Statement{
		ID:       id,
		Version:  version,
		Section:  section,
		Chapter:  chapterOf(version, section),
		Level:    level,
		Role:     role,
		Testable: testable,
		WhyNot:   whyNot,
		Summary:  summary,
	}
}

// sectionOf extracts the x.x.x part of an ID: "MQTT-3.1.0-1" -> "3.1.0",
// "mqttspec-5.0-4.13.1-should-1" -> "4.13.1". It returns "" for other forms.
func sectionOf(id string) string {
	switch {
	case strings.HasPrefix(id, "MQTT-"):
		rest := strings.TrimPrefix(id, "MQTT-")
		i := strings.LastIndexByte(rest, '-')
		if i < 0 {
			return ""
		}
		return rest[:i]
	case strings.HasPrefix(id, "mqttspec-"):
		// mqttspec-<version>-<section>-<kind>-<n>
		parts := strings.Split(id, "-")
		if len(parts) != 5 {
			return ""
		}
		return parts[2]
	}
	return ""
}

// sortKey orders IDs numerically: section components, then Appendix B before
// our SHOULD before our MAY IDs, then the trailing number.
type sortKey struct {
	version int
	section []int
	kind    int
	n       int
}

func keyOf(s Statement) sortKey {
	k := sortKey{version: versionRank(s.Version)}
	for _, p := range strings.Split(s.Section, ".") {
		v, _ := strconv.Atoi(p)
		k.section = append(k.section, v)
	}
	tail := s.ID[strings.LastIndexByte(s.ID, '-')+1:]
	k.n, _ = strconv.Atoi(tail)
	switch {
	case strings.Contains(s.ID, "-should-"):
		k.kind = 1
	case strings.Contains(s.ID, "-may-"):
		k.kind = 2
	}
	return k
}

func versionRank(v string) int {
	switch v {
	case V311:
		return 1
	case V5:
		return 2
	}
	return 3
}

func less(a, b Statement) bool {
	ka, kb := keyOf(a), keyOf(b)
	if ka.version != kb.version {
		return ka.version < kb.version
	}
	for i := 0; i < len(ka.section) && i < len(kb.section); i++ {
		if ka.section[i] != kb.section[i] {
			return ka.section[i] < kb.section[i]
		}
	}
	if len(ka.section) != len(kb.section) {
		return len(ka.section) < len(kb.section)
	}
	if ka.kind != kb.kind {
		return ka.kind < kb.kind
	}
	if ka.n != kb.n {
		return ka.n < kb.n
	}
	return a.ID < b.ID
}

// All returns every statement, both versions, sorted by version then numeric
// ID order (within a section: Appendix B IDs, then our SHOULD, then our MAY
// IDs). The slice is a fresh copy.
func All() []Statement {
	out := make([]Statement, len(registry))
	copy(out, registry)
	return out
}

// ByVersion returns the statements of one version (V311 or V5) in All order,
// including the project's own SHOULD/MAY IDs. Use InAppendixB to keep only the
// OASIS-numbered ones. It returns nil for an unknown version.
func ByVersion(version string) []Statement {
	var out []Statement
	for _, s := range registry {
		if s.Version == version {
			out = append(out, s)
		}
	}
	return out
}

// Lookup finds a statement by version and ID. Surrounding brackets are
// ignored ("[MQTT-3.1.0-1]" works), and the alternative spellings found in the
// standards (for example "MQTT-4.2-1" for 5.0 MQTT-4.2.0-1, or "MQTT-3.1.2.7"
// for MQTT-3.1.2-7) resolve to the registry ID; the returned Statement always
// carries the registry ID.
func Lookup(version, id string) (Statement, bool) {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "["), "]")
	if i, ok := byKey[vkey{version, id}]; ok {
		return registry[i], true
	}
	if canon, ok := aliasOf[vkey{version, id}]; ok {
		if i, ok := byKey[vkey{version, canon}]; ok {
			return registry[i], true
		}
	}
	return Statement{}, false
}

// Exists reports whether Lookup(version, id) succeeds.
func Exists(version, id string) bool {
	_, ok := Lookup(version, id)
	return ok
}

// Count returns the number of statements and of testable statements for a
// version and role, for coverage reports. Role 0 means all roles. The counts
// cover the same statements as ByVersion (Appendix B plus our own SHOULD/MAY
// IDs). An empty version counts both versions.
func Count(version string, role Role) (total, testable int) {
	for _, s := range registry {
		if version != "" && s.Version != version {
			continue
		}
		if role != 0 && s.Role != role {
			continue
		}
		total++
		if s.Testable {
			testable++
		}
	}
	return total, testable
}
