package netfuzz

import (
	"context"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/internal/mosquittotest"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
)

// campaign fuzzes target for at most d (and n inputs when n > 0) and reports the findings.
func campaign(tb testing.TB, target string, d time.Duration, n int) *Report {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Target: target, Version: codec.VersionUnknown, Duration: d, MaxExecs: n, Seed: 7,
		OutDir: tb.TempDir(), ProbeTimeout: 5 * time.Second}) // generous: CI runs every package at once on 2 cores
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestReferenceBrokerSurvives runs the network fuzzer against the reference broker for a few
// seconds: every input must leave it serving.
func TestReferenceBrokerSurvives(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	rep := campaign(t, "tcp://"+addr, 3*time.Second, 0)
	t.Logf("reference broker: %d inputs in %v (%.0f/s), %d answer signatures, %d stalls", rep.Execs, rep.Elapsed.Round(time.Millisecond),
		rep.ExecsPerSec(), rep.Signatures, rep.Stalls)
	if rep.Execs < 10 {
		t.Errorf("only %d inputs in 3s", rep.Execs)
	}
	for _, f := range rep.Findings {
		t.Errorf("reference broker %s: %s (reproducer %s, steps %+v)", f.Found.Kind, f.Found.Detail, f.File, f.Found.Steps)
	}
}

// TestMosquittoCampaign runs the network fuzzer against mosquitto for a few seconds. What it finds
// in mosquitto is logged (and belongs in docs/findings.md), not a failure of this suite.
func TestMosquittoCampaign(t *testing.T) {
	b := mosquittotest.Start(t)
	rep := campaign(t, "tcp://"+b.Addr, 3*time.Second, 0)
	t.Logf("mosquitto %s: %d inputs in %v (%.0f/s), %d answer signatures, %d stalls", b.Version, rep.Execs,
		rep.Elapsed.Round(time.Millisecond), rep.ExecsPerSec(), rep.Signatures, rep.Stalls)
	if rep.Execs < 10 {
		t.Errorf("only %d inputs in 3s", rep.Execs)
	}
	for _, f := range rep.Findings {
		t.Logf("mosquitto %s: %s (reproducer %s)", f.Found.Kind, f.Found.Detail, f.File)
	}
}

// BenchmarkCampaign is the bounded, benchmark-style campaign against the reference broker and
// mosquitto: b.N inputs (at most 60 s), reporting inputs per second and findings.
func BenchmarkCampaign(b *testing.B) {
	b.Run("reference", func(b *testing.B) {
		addr := brokertest.Start(b, broker.Options{})
		rep := campaign(b, "tcp://"+addr, 60*time.Second, b.N)
		report(b, rep)
	})
	b.Run("mosquitto", func(b *testing.B) {
		mb := mosquittotest.Start(b)
		rep := campaign(b, "tcp://"+mb.Addr, 60*time.Second, b.N)
		report(b, rep)
	})
}

func report(b *testing.B, rep *Report) {
	b.ReportMetric(rep.ExecsPerSec(), "inputs/s")
	b.ReportMetric(float64(rep.Crashes), "crashes")
	b.ReportMetric(float64(rep.Hangs), "hangs")
	b.ReportMetric(float64(rep.Signatures), "signatures")
	for _, f := range rep.Findings {
		b.Logf("%s: %s (%s)", f.Found.Kind, f.Found.Detail, f.File)
	}
}
