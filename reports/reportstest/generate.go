// Package reportstest makes deterministic, realistic results documents for testing the
// renderers before (and besides) real conformance runs: cases over real sections and statement
// IDs, every status, both versions, and transcripts of packets encoded by the codec.
package reportstest

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// Options shape a generated document. The zero value gives 100 cases of a broker run.
type Options struct {
	Cases    int      // number of case results (default 100)
	Versions []string // default 3.1.1 and 5.0
	Role     string   // "broker" (default) or "client"
	Target   string   // target name (default "generated broker")
	// Seed fixes the case set (IDs, titles, statements, transcripts' shape); OutcomeSeed fixes
	// the statuses. Runs with one Seed and different OutcomeSeeds have the same cases with
	// different results, as several brokers would.
	Seed        uint64
	OutcomeSeed uint64
	// FailPercent, WarnPercent, SkipPercent, ErrorPercent: chances of each status
	// (defaults 8, 5, 6, 1; the rest pass).
	FailPercent, WarnPercent, SkipPercent, ErrorPercent int
	MaxEvents                                           int // transcript length bound (default 24)
	MaxPayload                                          int // PUBLISH payload bound in bytes (default 200)
	Catalog                                             reports.Catalog
	// Started is the run's start (default 2026-01-02 03:04:05 UTC).
	Started time.Time
}

// Generate returns a valid, sorted and counted results document.
func Generate(o Options) *reports.Results {
	if o.Cases <= 0 {
		o.Cases = 100
	}
	if len(o.Versions) == 0 {
		o.Versions = []string{"3.1.1", "5.0"}
	}
	if o.Role == "" {
		o.Role = "broker"
	}
	if o.Target == "" {
		o.Target = "generated " + o.Role
	}
	if o.FailPercent == 0 && o.WarnPercent == 0 && o.SkipPercent == 0 && o.ErrorPercent == 0 {
		o.FailPercent, o.WarnPercent, o.SkipPercent, o.ErrorPercent = 8, 5, 6, 1
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 24
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 200
	}
	if o.Catalog == nil {
		o.Catalog = reports.SpecCatalog()
	}
	if o.Started.IsZero() {
		o.Started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	// Testable statements binding the role, per version.
	pool := map[string][]reports.StatementInfo{}
	for _, v := range o.Versions {
		for _, s := range o.Catalog.Statements(v) {
			if s.Testable && s.Binds(o.Role) {
				pool[v] = append(pool[v], s)
			}
		}
	}

	r := &reports.Results{
		Schema: reports.Schema,
		Tool:   reports.Tool{Name: "mqttspec", Version: "0.1.0-test"},
		Target: reports.Target{
			Name: o.Target, URL: "tcp://127.0.0.1:18830", Role: o.Role, Transport: "tcp",
			Info: map[string]string{"generated": "reportstest"},
		},
		Started: o.Started,
	}
	cited := map[string]map[string]bool{}
	var total float64
	for i := 0; i < o.Cases; i++ {
		// One generator per case for its shape and one for its outcome, so that runs with the
		// same Seed have the same cases whatever their outcomes.
		shape := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		outcome := rand.New(rand.NewPCG(o.OutcomeSeed^0x0c0e, uint64(i)))
		v := o.Versions[i%len(o.Versions)]
		n := i / len(o.Versions) // the same case number runs on each version
		c := reports.Case{
			Version: v,
			Role:    o.Role,
			Level:   "MUST",
		}
		ps := pool[v]
		if len(ps) > 0 {
			s := ps[shape.IntN(len(ps))]
			c.Section = chapterOf(s.Section)
			c.Statements = []string{s.ID}
			if shape.IntN(4) == 0 {
				c.Statements = append(c.Statements, ps[shape.IntN(len(ps))].ID)
			}
			c.Level = s.Level
			c.Title = titleOf(s.Summary)
		} else {
			c.Section = fmt.Sprintf("3.%d", 1+shape.IntN(14))
			c.Title = "generated case"
		}
		c.ID = fmt.Sprintf("%s/case-%04d", c.Section, n)
		if shape.IntN(10) == 0 {
			c.Labels = []string{"slow"}
		}
		// Targets mostly agree: the case's own difficulty decides, sometimes the target's luck.
		x := shape.IntN(100)
		if outcome.IntN(100) < 25 {
			x = outcome.IntN(100)
		}
		c.Status = pickStatus(x, o, c.Level)
		switch c.Status {
		case reports.Fail, reports.Warn:
			c.Expected = "CONNACK reason 0x00 (Success) and the connection open"
			c.Actual = "DISCONNECT reason 0x82 (Protocol Error), then the connection closed"
			c.Message = fmt.Sprintf("%s: expected %s, got %s", c.Statements[0], c.Expected, c.Actual)
		case reports.Skip:
			c.Message = "target does not support retained messages (Retain Available=0)"
		case reports.Error:
			c.Message = "dial tcp 127.0.0.1:18830: connection refused"
		}
		c.DurationMs = float64(1+shape.IntN(2000)) / 10
		c.Transcript = transcript(shape, v, 4+shape.IntN(max(1, o.MaxEvents-3)), o.MaxPayload)
		if c.Status == reports.Skip || c.Status == reports.Error {
			c.Transcript = nil
		}
		total += c.DurationMs
		if c.Judged() {
			if cited[v] == nil {
				cited[v] = map[string]bool{}
			}
			for _, id := range c.Statements {
				cited[v][id] = true
			}
		}
		r.Cases = append(r.Cases, c)
	}
	r.DurationMs = total
	r.Coverage = map[string]reports.Coverage{}
	for _, v := range o.Versions {
		// As the runner counts: OASIS-numbered statements only, cited by a case that ran to a
		// verdict.
		var cov reports.Coverage
		for _, s := range pool[v] {
			if !s.AppendixB {
				continue
			}
			cov.Testable++
			if cited[v][s.ID] {
				cov.Tested++
			} else {
				cov.Missing = append(cov.Missing, s.ID)
			}
		}
		r.Coverage[v] = cov
	}
	r.Sort()
	r.Recount()
	return r
}

// pickStatus maps x in [0, 100) to a status with the options' percentages.
func pickStatus(x int, o Options, level string) reports.Status {
	switch {
	case x < o.FailPercent:
		if level != "MUST" {
			return reports.Warn
		}
		return reports.Fail
	case x < o.FailPercent+o.WarnPercent:
		if level == "MUST" && o.FailPercent > 0 {
			return reports.Fail
		}
		return reports.Warn
	case x < o.FailPercent+o.WarnPercent+o.SkipPercent:
		return reports.Skip
	case x < o.FailPercent+o.WarnPercent+o.SkipPercent+o.ErrorPercent:
		return reports.Error
	}
	return reports.Pass
}

func chapterOf(section string) string {
	parts := strings.SplitN(section, ".", 3)
	if len(parts) < 2 {
		return section
	}
	if parts[1] == "0" && parts[0] != "3" && parts[0] != "4" {
		return parts[0]
	}
	return parts[0] + "." + parts[1]
}

func titleOf(summary string) string {
	t := strings.TrimSuffix(summary, ".")
	if len(t) > 90 {
		t = t[:87] + "..."
	}
	if t == "" {
		return "generated case"
	}
	return t
}

// transcript builds n events of a plausible exchange: CONNECT/CONNACK, a subscription, some
// publishes with acknowledgements, and an ending.
func transcript(rnd *rand.Rand, version string, n, maxPayload int) []reports.Event {
	v := codec.V5
	if version == "3.1.1" {
		v = codec.V311
	}
	var ev []reports.Event
	t := 0.0
	add := func(conn, dir string, p codec.Packet) {
		t += float64(rnd.IntN(3000)) / 1000
		b, err := codec.Encode(p, v)
		e := reports.Event{TMs: t, Conn: conn, Dir: dir, Hex: hex.EncodeToString(b), Packet: p.String()}
		if err != nil {
			e = reports.Event{TMs: t, Conn: conn, Dir: "note", Packet: "encode: " + err.Error()}
		}
		ev = append(ev, e)
	}
	connect := &codec.Connect{ProtocolName: "MQTT", ProtocolLevel: byte(v), ClientID: fmt.Sprintf("mqttspec-%06x", rnd.Uint32()&0xffffff), CleanStart: true, KeepAlive: 30}
	if v == codec.V5 {
		connect.Properties.SetSessionExpiry(uint32(rnd.IntN(100)))
	}
	add("c1", "send", connect)
	add("c1", "recv", &codec.Connack{})
	topic := fmt.Sprintf("mqttspec/%06x/t", rnd.Uint32()&0xffffff)
	add("c1", "send", &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: topic, QoS: 1}}})
	add("c1", "recv", &codec.Suback{PacketID: 1, ReasonCodes: []codec.ReasonCode{1}})
	id := uint16(2)
	for len(ev) < n-1 {
		payload := make([]byte, rnd.IntN(maxPayload+1))
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 {}\":,"
		for i := range payload {
			payload[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		add("c1", "send", &codec.Publish{QoS: 1, Topic: topic, PacketID: id, Payload: payload})
		if len(ev) < n-1 {
			add("c1", "recv", &codec.Puback{PacketID: id})
		}
		id++
	}
	if rnd.IntN(2) == 0 {
		add("c1", "send", &codec.Disconnect{})
	} else {
		t += 1
		ev = append(ev, reports.Event{TMs: t, Conn: "c1", Dir: "note", Packet: "connection closed by peer"})
	}
	return ev
}
