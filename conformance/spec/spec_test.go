package spec

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var (
	oasisID = regexp.MustCompile(`^MQTT-\d+\.\d+\.\d+-\d+$`)
	ownID   = regexp.MustCompile(`^mqttspec-(3\.1\.1|5\.0)-\d+\.\d+\.\d+-(should|may)-\d+$`)
)

// Expected number of Appendix B IDs per section, an independent tally of the
// appendices (3.1.1 OS 2014; 5.0 OS 2019) used to cross-check the tables.
var wantPerSection = map[string]map[string]int{
	V311: {
		"1.5.3": 3, "2.2.2": 2, "2.3.1": 7,
		"3.1.0": 2, "3.1.2": 24, "3.1.3": 11, "3.1.4": 5,
		"3.2.0": 1, "3.2.2": 6,
		"3.3.1": 12, "3.3.2": 3, "3.3.4": 1, "3.3.5": 2,
		"3.6.1": 1, "3.8.1": 1, "3.8.3": 4, "3.8.4": 6, "3.9.3": 2,
		"3.10.1": 1, "3.10.3": 2, "3.10.4": 6, "3.12.4": 1,
		"3.14.1": 1, "3.14.4": 3,
		"4.1.0": 2, "4.3.1": 1, "4.3.2": 2, "4.3.3": 2, "4.4.0": 1, "4.5.0": 2,
		"4.6.0": 6, "4.7.1": 3, "4.7.2": 1, "4.7.3": 4, "4.8.0": 2,
		"6.0.0": 4, "7.0.0": 2, "7.1.1": 1, "7.1.2": 1,
	},
	V5: {
		"1.5.4": 3, "1.5.5": 1, "1.5.7": 1,
		"2.1.3": 1, "2.2.1": 5, "2.2.2": 1,
		"3.1.0": 2, "3.1.2": 30, "3.1.3": 12, "3.1.4": 6,
		"3.2.0": 2, "3.2.2": 22,
		"3.3.1": 13, "3.3.2": 20, "3.3.4": 10,
		"3.4.2": 3, "3.5.2": 3, "3.6.1": 1, "3.6.2": 3, "3.7.2": 3,
		"3.8.1": 1, "3.8.3": 5, "3.8.4": 8, "3.9.2": 2, "3.9.3": 2,
		"3.10.1": 1, "3.10.3": 2, "3.10.4": 6, "3.11.2": 2, "3.11.3": 2,
		"3.12.4": 1, "3.14.0": 1, "3.14.1": 1, "3.14.2": 4, "3.14.4": 3,
		"3.15.1": 1, "3.15.2": 3,
		"4.1.0": 2, "4.2.0": 1, "4.3.1": 1, "4.3.2": 5, "4.3.3": 13,
		"4.4.0": 2, "4.5.0": 2, "4.6.0": 6, "4.7.0": 1, "4.7.1": 2,
		"4.7.2": 1, "4.7.3": 4, "4.8.2": 6, "4.9.0": 3,
		"4.12.0": 7, "4.12.1": 2, "4.13.1": 1, "4.13.2": 1,
		"6.0.0": 4,
	},
}

func appendixB(version string) []Statement {
	var out []Statement
	for _, s := range ByVersion(version) {
		if s.InAppendixB() {
			out = append(out, s)
		}
	}
	return out
}

func TestAppendixBCounts(t *testing.T) {
	tests := []struct {
		version string
		want    int
		table   int
	}{
		// 3.1.1 OS Appendix B: 141 rows, 141 distinct IDs.
		{V311, AppendixB311, len(v311)},
		// 5.0 OS Appendix B: 251 IDs (5 + 7 + 175 + 60 + 4 by chapter).
		{V5, AppendixB5, len(v5)},
	}
	if AppendixB311 != 141 || AppendixB5 != 251 {
		t.Fatalf("constants changed: AppendixB311=%d AppendixB5=%d", AppendixB311, AppendixB5)
	}
	for _, tt := range tests {
		got := appendixB(tt.version)
		if len(got) != tt.want {
			t.Errorf("%s: %d Appendix B statements, want %d", tt.version, len(got), tt.want)
		}
		if tt.table != tt.want {
			t.Errorf("%s: table has %d rows, want %d", tt.version, tt.table, tt.want)
		}
		uniq := map[string]bool{}
		for _, s := range got {
			uniq[s.ID] = true
		}
		if len(uniq) != tt.want {
			t.Errorf("%s: %d unique IDs, want %d", tt.version, len(uniq), tt.want)
		}
	}
}

func TestPerSectionCounts(t *testing.T) {
	for version, want := range wantPerSection {
		got := map[string]int{}
		for _, s := range appendixB(version) {
			got[s.Section]++
		}
		for sec, n := range want {
			if got[sec] != n {
				t.Errorf("%s section %s: %d IDs, want %d", version, sec, got[sec], n)
			}
		}
		for sec, n := range got {
			if _, ok := want[sec]; !ok {
				t.Errorf("%s section %s: %d unexpected IDs", version, sec, n)
			}
		}
	}
}

func TestV5ChapterTotals(t *testing.T) {
	want := map[string]int{"1": 5, "2": 7, "3": 175, "4": 60, "6": 4}
	got := map[string]int{}
	for _, s := range appendixB(V5) {
		got[strings.SplitN(s.Section, ".", 2)[0]]++
	}
	for ch, n := range want {
		if got[ch] != n {
			t.Errorf("5.0 chapter %s: %d IDs, want %d", ch, got[ch], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("5.0 chapters present: %v, want %v", got, want)
	}
}

// Within a section the Appendix B numbers run without gaps. 5.0 has no
// MQTT-2.2.1-1, so that section starts at 2.
func TestContiguousNumbering(t *testing.T) {
	firstNumber := map[string]int{V5 + " 2.2.1": 2}
	for _, version := range []string{V311, V5} {
		nums := map[string][]int{}
		for _, s := range appendixB(version) {
			n, err := strconv.Atoi(s.ID[strings.LastIndexByte(s.ID, '-')+1:])
			if err != nil {
				t.Fatalf("%s %s: bad number: %v", version, s.ID, err)
			}
			nums[s.Section] = append(nums[s.Section], n)
		}
		for sec, ns := range nums {
			sort.Ints(ns)
			start := 1
			if f, ok := firstNumber[version+" "+sec]; ok {
				start = f
			}
			for i, n := range ns {
				if n != start+i {
					t.Errorf("%s section %s: numbers %v, want %d..%d", version, sec, ns, start, start+len(ns)-1)
					break
				}
			}
		}
	}
}

func TestNoDuplicates(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range All() {
		k := s.Version + " " + s.ID
		if seen[k] {
			t.Errorf("duplicate (version, ID): %s", k)
		}
		seen[k] = true
	}
}

func TestFields(t *testing.T) {
	for _, s := range All() {
		t.Run(s.Version+"/"+s.ID, func(t *testing.T) {
			if s.Version != V311 && s.Version != V5 {
				t.Errorf("version %q", s.Version)
			}
			if s.InAppendixB() {
				if !oasisID.MatchString(s.ID) {
					t.Errorf("ID %q does not match %s", s.ID, oasisID)
				}
				if s.Level != Must {
					t.Errorf("Appendix B statement has level %v, want MUST", s.Level)
				}
			} else {
				if !ownID.MatchString(s.ID) {
					t.Errorf("ID %q does not match %s", s.ID, ownID)
				}
				if !strings.HasPrefix(s.ID, "mqttspec-"+s.Version+"-") {
					t.Errorf("ID %q does not carry version %s", s.ID, s.Version)
				}
				kind := "-should-"
				if s.Level == May {
					kind = "-may-"
				}
				if s.Level != Should && s.Level != May {
					t.Errorf("own statement has level %v, want SHOULD or MAY", s.Level)
				} else if !strings.Contains(s.ID, kind) {
					t.Errorf("ID %q does not match level %v", s.ID, s.Level)
				}
			}
			if s.Role != Client && s.Role != Server && s.Role != Both {
				t.Errorf("role %d", s.Role)
			}
			if strings.TrimSpace(s.Summary) == "" {
				t.Error("empty summary")
			}
			if n := len([]rune(s.Summary)); n > 200 {
				t.Errorf("summary is %d characters, max 200", n)
			}
			if s.Summary != strings.TrimSpace(s.Summary) || strings.Contains(s.Summary, "\n") {
				t.Errorf("summary has stray whitespace: %q", s.Summary)
			}
			if !s.Testable && strings.TrimSpace(s.WhyNot) == "" {
				t.Error("not testable but WhyNot is empty")
			}
			if s.Testable && s.WhyNot != "" {
				t.Errorf("testable but WhyNot is %q", s.WhyNot)
			}
			if s.Section == "" || !strings.Contains(s.ID, "-"+s.Section+"-") {
				t.Errorf("section %q not derived from ID", s.Section)
			}
			parts := strings.Split(s.Section, ".")
			if s.Chapter == "" {
				t.Errorf("no chapter title for section %s", s.Section)
			} else if want := parts[0] + "." + parts[1] + " "; parts[1] != "0" && !strings.HasPrefix(s.Chapter, want) {
				t.Errorf("chapter %q does not start with %q", s.Chapter, want)
			} else if parts[1] == "0" && !strings.HasPrefix(s.Chapter, parts[0]+" ") {
				t.Errorf("chapter %q does not start with %q", s.Chapter, parts[0]+" ")
			}
		})
	}
}

func TestSectionOf(t *testing.T) {
	tests := []struct{ id, want string }{
		{"MQTT-3.1.0-1", "3.1.0"},
		{"MQTT-3.10.4-6", "3.10.4"},
		{"MQTT-4.13.2-1", "4.13.2"},
		{"MQTT-1.5.3-3", "1.5.3"},
		{"mqttspec-5.0-4.13.1-should-1", "4.13.1"},
		{"mqttspec-3.1.1-3.1.4-should-1", "3.1.4"},
		{"mqttspec-5.0-3.3.2-may-1", "3.3.2"},
		{"nonsense", ""},
		{"MQTT-", ""},
	}
	for _, tt := range tests {
		if got := sectionOf(tt.id); got != tt.want {
			t.Errorf("sectionOf(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		version, id string
		ok          bool
		wantID      string
		section     string
		role        Role
	}{
		{V311, "MQTT-3.1.0-1", true, "MQTT-3.1.0-1", "3.1.0", Client},
		{V311, "[MQTT-3.1.0-2]", true, "MQTT-3.1.0-2", "3.1.0", Server},
		{V311, "MQTT-3.1.2-7", true, "MQTT-3.1.2-7", "3.1.2", Server},
		{V311, "MQTT-3.1.2.7", true, "MQTT-3.1.2-7", "3.1.2", Server}, // as printed in Appendix B
		{V311, "MQTT-3-8.3-4", true, "MQTT-3.8.3-4", "3.8.3", Server}, // as printed in Appendix B
		{V311, "MQTT-7.1.2-1", true, "MQTT-7.1.2-1", "7.1.2", Client},
		{V311, "MQTT-3.15.1-1", false, "", "", 0}, // AUTH is 5.0 only
		{V311, "MQTT-3.1.2-25", false, "", "", 0},
		{V311, "mqttspec-3.1.1-3.1.4-should-1", true, "mqttspec-3.1.1-3.1.4-should-1", "3.1.4", Server},
		{V5, "MQTT-3.15.1-1", true, "MQTT-3.15.1-1", "3.15.1", Both},
		{V5, "MQTT-4.2.0-1", true, "MQTT-4.2.0-1", "4.2.0", Both},
		{V5, "MQTT-4.2-1", true, "MQTT-4.2.0-1", "4.2.0", Both}, // tag used in the 5.0 body
		{V5, "MQTT-3.1.2-30", true, "MQTT-3.1.2-30", "3.1.2", Client},
		{V5, "MQTT-3.1.2-31", false, "", "", 0}, // draft numbering only
		{V5, "MQTT-3.1.3-12", true, "MQTT-3.1.3-12", "3.1.3", Client},
		{V5, "MQTT-2.2.1-1", false, "", "", 0},
		{V5, "MQTT-7.0.0-1", false, "", "", 0}, // not numbered in 5.0
		{V5, "MQTT-4.13.2-1", true, "MQTT-4.13.2-1", "4.13.2", Both},
		{V5, "mqttspec-5.0-4.13.1-should-1", true, "mqttspec-5.0-4.13.1-should-1", "4.13.1", Server},
		{V5, "mqttspec-3.1.1-3.1.4-should-1", false, "", "", 0}, // wrong version
		{"4.0", "MQTT-3.1.0-1", false, "", "", 0},
		{V5, "", false, "", "", 0},
	}
	for _, tt := range tests {
		s, ok := Lookup(tt.version, tt.id)
		if ok != tt.ok {
			t.Errorf("Lookup(%q, %q) ok = %v, want %v", tt.version, tt.id, ok, tt.ok)
			continue
		}
		if Exists(tt.version, tt.id) != tt.ok {
			t.Errorf("Exists(%q, %q) != %v", tt.version, tt.id, tt.ok)
		}
		if !ok {
			if s != (Statement{}) {
				t.Errorf("Lookup(%q, %q) returned %+v on failure", tt.version, tt.id, s)
			}
			continue
		}
		if s.ID != tt.wantID || s.Version != tt.version || s.Section != tt.section || s.Role != tt.role {
			t.Errorf("Lookup(%q, %q) = {%s %s %s %v}, want {%s %s %s %v}",
				tt.version, tt.id, s.ID, s.Version, s.Section, s.Role,
				tt.wantID, tt.version, tt.section, tt.role)
		}
	}
	for _, s := range All() {
		got, ok := Lookup(s.Version, s.ID)
		if !ok || got != s {
			t.Errorf("Lookup(%q, %q) does not round-trip", s.Version, s.ID)
		}
	}
}

func TestAliasesResolve(t *testing.T) {
	for _, a := range aliases {
		if _, ok := byKey[vkey{a.version, a.id}]; !ok {
			t.Errorf("alias %s %s points at missing ID %s", a.version, a.alias, a.id)
		}
		if _, ok := byKey[vkey{a.version, a.alias}]; ok {
			t.Errorf("alias %s %s shadows a registry ID", a.version, a.alias)
		}
	}
}

func TestOrder(t *testing.T) {
	all := All()
	if !sort.SliceIsSorted(all, func(i, j int) bool { return less(all[i], all[j]) }) {
		t.Fatal("All() is not sorted")
	}
	// Versions come in order, and numeric order beats string order.
	pos := map[string]int{}
	for i, s := range all {
		pos[s.Version+" "+s.ID] = i
	}
	before := [][2]string{
		{V311 + " MQTT-7.1.2-1", V5 + " MQTT-1.5.4-1"},
		{V311 + " MQTT-3.1.2-9", V311 + " MQTT-3.1.2-10"},
		{V311 + " MQTT-3.9.3-2", V311 + " MQTT-3.10.1-1"},
		{V5 + " MQTT-4.1.0-2", V5 + " MQTT-4.2.0-1"},
		{V5 + " MQTT-4.9.0-3", V5 + " MQTT-4.12.0-1"},
		{V5 + " MQTT-4.13.1-1", V5 + " mqttspec-5.0-4.13.1-should-1"},
		{V5 + " mqttspec-5.0-4.13.1-should-2", V5 + " mqttspec-5.0-4.13.1-may-1"},
		{V5 + " mqttspec-5.0-4.13.1-may-1", V5 + " MQTT-4.13.2-1"},
	}
	for _, b := range before {
		i, ok1 := pos[b[0]]
		j, ok2 := pos[b[1]]
		if !ok1 || !ok2 {
			t.Errorf("missing %q or %q", b[0], b[1])
			continue
		}
		if i >= j {
			t.Errorf("%q (at %d) should sort before %q (at %d)", b[0], i, b[1], j)
		}
	}
}

func TestByVersionAndCopies(t *testing.T) {
	all := All()
	n := 0
	for _, v := range []string{V311, V5} {
		list := ByVersion(v)
		n += len(list)
		for _, s := range list {
			if s.Version != v {
				t.Errorf("ByVersion(%s) returned %s %s", v, s.Version, s.ID)
			}
		}
	}
	if n != len(all) {
		t.Errorf("ByVersion covers %d statements, All has %d", n, len(all))
	}
	if ByVersion("4.0") != nil {
		t.Error("ByVersion of an unknown version is not nil")
	}
	all[0].Summary = "changed"
	if All()[0].Summary == "changed" {
		t.Error("All() exposes the registry")
	}
}

func TestCount(t *testing.T) {
	for _, v := range []string{V311, V5} {
		list := ByVersion(v)
		total, testable := Count(v, 0)
		if total != len(list) {
			t.Errorf("Count(%s, 0) total = %d, want %d", v, total, len(list))
		}
		sumT, sumX := 0, 0
		for _, r := range []Role{Client, Server, Both} {
			rt, rx := Count(v, r)
			want, wantX := 0, 0
			for _, s := range list {
				if s.Role == r {
					want++
					if s.Testable {
						wantX++
					}
				}
			}
			if rt != want || rx != wantX {
				t.Errorf("Count(%s, %v) = %d, %d; want %d, %d", v, r, rt, rx, want, wantX)
			}
			if rx > rt {
				t.Errorf("Count(%s, %v): testable %d > total %d", v, r, rx, rt)
			}
			sumT += rt
			sumX += rx
		}
		if sumT != total || sumX != testable {
			t.Errorf("%s: role counts sum to %d/%d, want %d/%d", v, sumT, sumX, total, testable)
		}
	}
	t311, _ := Count(V311, 0)
	t5, _ := Count(V5, 0)
	if all, _ := Count("", 0); all != t311+t5 {
		t.Errorf("Count(\"\", 0) = %d, want %d", all, t311+t5)
	}
	if got, _ := Count("4.0", 0); got != 0 {
		t.Errorf("Count(unknown) = %d", got)
	}
	// Appendix B part of the counts stays exact.
	for _, tt := range []struct {
		v    string
		want int
	}{{V311, AppendixB311}, {V5, AppendixB5}} {
		total, _ := Count(tt.v, 0)
		own := 0
		for _, o := range ownStatements {
			if o.version == tt.v {
				own++
			}
		}
		if total-own != tt.want {
			t.Errorf("%s: %d statements minus %d own = %d, want %d", tt.v, total, own, total-own, tt.want)
		}
	}
}

func TestStrings(t *testing.T) {
	levels := []struct {
		l    Level
		want string
	}{{Must, "MUST"}, {Should, "SHOULD"}, {May, "MAY"}, {Level(0), "Level(0)"}}
	for _, tt := range levels {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("Level(%d).String() = %q, want %q", int(tt.l), got, tt.want)
		}
	}
	roles := []struct {
		r    Role
		want string
	}{{Client, "client"}, {Server, "server"}, {Both, "both"}, {Role(9), "Role(9)"}}
	for _, tt := range roles {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Role(%d).String() = %q, want %q", int(tt.r), got, tt.want)
		}
	}
}

// Summaries are paraphrases: they must not be copies of each other across a
// version's table, which would hint at a pasting mistake.
func TestSummariesDistinctWithinVersion(t *testing.T) {
	for _, v := range []string{V311, V5} {
		seen := map[string]string{}
		for _, s := range ByVersion(v) {
			if prev, ok := seen[s.Summary]; ok {
				t.Errorf("%s: %s and %s share the summary %q", v, prev, s.ID, s.Summary)
			}
			seen[s.Summary] = s.ID
		}
	}
}
