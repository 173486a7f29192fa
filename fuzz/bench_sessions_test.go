package fuzz

import (
	"path/filepath"
	"testing"
)

// seedInputs returns the committed seed inputs of a target.
func seedInputs(b *testing.B, target string) [][]byte {
	b.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	var inputs [][]byte
	for _, f := range files {
		if data, err := readSeed(f); err == nil && len(data) > 0 {
			inputs = append(inputs, data)
		}
	}
	if len(inputs) == 0 {
		b.Fatalf("no seeds for %s", target)
	}
	return inputs
}

// BenchmarkCheckSessions measures the slower checkers on their seed corpora: what one input of
// the session, stream, capture and generator targets costs without any fuzzing engine.
func BenchmarkCheckSessions(b *testing.B) {
	for _, c := range []struct {
		target string
		check  func([]byte) error
	}{
		{"BrokerSession", checkBrokerSession},
		{"ClientSession", checkClientSession},
		{"Stream", checkStream},
		{"RoundTrip", checkRoundTrip},
		{"Generator", checkGenerator},
		{"PcapSession", checkPcapSession},
	} {
		b.Run(c.target, func(b *testing.B) {
			inputs := seedInputs(b, "Fuzz"+c.target) // spelt apart: TestOSSFuzzLayout
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := c.check(inputs[i%len(inputs)]); err != nil && known(err) == "" {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
		})
	}
}
