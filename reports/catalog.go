package reports

import (
	"strings"

	"github.com/mqttspec/mqttspec/conformance/spec"
)

// StatementInfo is what a report shows about one normative statement: its ID, where it sits
// in the specification and our one-line paraphrase of it (never the OASIS wording).
type StatementInfo struct {
	ID       string
	Version  string // "3.1.1" or "5.0"
	Section  string // "3.1.2"
	Chapter  string // "3.1 CONNECT"
	Level    string // "MUST", "SHOULD", "MAY"
	Role     string // side the statement binds: "client", "server" or "both"
	Testable bool   // observable on the wire by a peer
	WhyNot   string // when not testable: why
	Summary  string // paraphrase
	// AppendixB is set for the statements numbered by OASIS (Appendix B of each standard);
	// the others are the project's own IDs for SHOULD/MAY sentences. Coverage counts only
	// the former.
	AppendixB bool
}

// Binds reports whether the statement constrains the kind of target a run tested: role is
// the Target.Role of a results document ("broker" or "client").
func (s StatementInfo) Binds(role string) bool {
	switch s.Role {
	case "both", "":
		return true
	case "server":
		return role == "broker"
	case "client":
		return role == "client"
	}
	return false
}

// Catalog answers the questions renderers have about statements. SpecCatalog is the real one;
// tests may pass their own.
type Catalog interface {
	// Statement looks one statement up; ok is false for an unknown ID.
	Statement(version, id string) (StatementInfo, bool)
	// Statements lists every statement of a version in specification order.
	Statements(version string) []StatementInfo
	// SectionTitle names a section group ("3.1" -> "3.1 CONNECT"), or "" when unknown.
	SectionTitle(version, section string) string
}

// SpecCatalog returns the catalog backed by the statement registry (package conformance/spec).
func SpecCatalog() Catalog { return specCatalog{} }

type specCatalog struct{}

func infoOf(s spec.Statement) StatementInfo {
	return StatementInfo{
		ID: s.ID, Version: s.Version, Section: s.Section, Chapter: s.Chapter,
		Level: s.Level.String(), Role: s.Role.String(), Testable: s.Testable,
		WhyNot: s.WhyNot, Summary: s.Summary, AppendixB: s.InAppendixB(),
	}
}

func (specCatalog) Statement(version, id string) (StatementInfo, bool) {
	s, ok := spec.Lookup(version, id)
	if !ok {
		return StatementInfo{}, false
	}
	return infoOf(s), true
}

func (specCatalog) Statements(version string) []StatementInfo {
	all := spec.ByVersion(version)
	out := make([]StatementInfo, len(all))
	for i, s := range all {
		out[i] = infoOf(s)
	}
	return out
}

func (specCatalog) SectionTitle(version, section string) string {
	key := chapterKey(section)
	for _, s := range spec.ByVersion(version) {
		if chapterKey(s.Section) == key && s.Chapter != "" {
			return s.Chapter
		}
	}
	return ""
}

// chapterKey reduces a section to its first two components, the granularity of the chapter
// titles: "3.1.2" -> "3.1", "6" -> "6.0".
func chapterKey(section string) string {
	parts := strings.SplitN(section, ".", 3)
	if len(parts) == 1 {
		return parts[0] + ".0"
	}
	return parts[0] + "." + parts[1]
}

// SectionTitleAny asks the catalog for a section title in any of the versions, falling back to
// the section number itself. A nil catalog yields the number.
func SectionTitleAny(cat Catalog, section string, versions ...string) string {
	if cat != nil {
		for _, v := range versions {
			if t := cat.SectionTitle(v, section); t != "" {
				return t
			}
		}
	}
	return section
}
