package spec

import (
	"slices"
	"strings"
	"sync"
)

// Proof records one deliberate fault of a reference implementation (the reference broker for
// the Server side, the reference client for the Client side): the statements the fault breaks
// and the catalog cases shown to fail while it is switched on (the mutation tests of the
// catalogs keep the mapping true). A statement of a version is proven when a proof claims it
// and one of the proof's cases on that version cites it: that case is known to fail on a target
// breaking the statement, so its pass means something.
type Proof struct {
	Fault string // the fault's name (--fault for the reference broker)
	// Statements the fault breaks: 5.0 IDs bare or as "5.0:MQTT-…", 3.1.1 IDs as
	// "3.1.1:MQTT-…"; anything else (a "§x.y" section reference) names no statement.
	Statements []string
	// Cases are the case IDs that fail under the fault, on every version they run on, or as
	// "ID@5.0" / "ID@3.1.1" on that version only.
	Cases []string
}

// Breaks reports whether the fault claims statement id of version.
func (p Proof) Breaks(version, id string) bool {
	for _, s := range p.Statements {
		v, bare := V5, s
		if rest, ok := strings.CutPrefix(s, V311+":"); ok {
			v, bare = V311, rest
		} else if rest, ok := strings.CutPrefix(s, V5+":"); ok {
			bare = rest
		}
		if v == version && bare == id {
			return true
		}
	}
	return false
}

// CasesOn returns the IDs of the proof's cases that are mapped for version (those without a
// version suffix and those with this one), without the suffix.
func (p Proof) CasesOn(version string) []string {
	var out []string
	for _, c := range p.Cases {
		id, v, qualified := strings.Cut(c, "@")
		if qualified && v != version {
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Proves reports whether the proof proves statement id of version: the fault breaks it and
// cites(caseID) holds for one of its cases on version. cites is the caller's question about a
// case — "does it cite id on version" for the catalog, and in addition "did it run to a verdict"
// for a run.
func (p Proof) Proves(version, id string, cites func(caseID string) bool) bool {
	if !p.Breaks(version, id) {
		return false
	}
	return slices.ContainsFunc(p.CasesOn(version), cites)
}

var (
	proofsMu sync.Mutex
	proofs   = map[Role][]Proof{}
)

// RegisterProofs adds the proofs of one side (Server for reference-broker faults, Client for
// reference-client faults). The catalog packages call it at init, so importing a catalog makes
// its proofs known to coverage, as it makes its cases known to the runner.
func RegisterProofs(side Role, ps ...Proof) {
	proofsMu.Lock()
	defer proofsMu.Unlock()
	proofs[side] = append(proofs[side], ps...)
}

// Proofs returns the registered proofs of a side, in registration order (a fresh copy).
func Proofs(side Role) []Proof {
	proofsMu.Lock()
	defer proofsMu.Unlock()
	return slices.Clone(proofs[side])
}
