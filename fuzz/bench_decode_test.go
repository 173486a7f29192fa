package fuzz

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCheckDecode measures the decode target's checker alone (strict and lenient decode
// plus every check), on the seed corpus and, when present, on the inputs the fuzzing engine
// kept in its cache: the throughput a libFuzzer build would approach, without the native
// engine's per-input coordination.
func BenchmarkCheckDecode(b *testing.B) {
	var inputs [][]byte
	for _, s := range decodeSeeds() {
		inputs = append(inputs, s.data)
	}
	cache := os.Getenv("GOCACHE")
	if dir, err := os.UserCacheDir(); cache == "" && err == nil {
		cache = filepath.Join(dir, "go-build")
	}
	if cache != "" {
		files, _ := filepath.Glob(filepath.Join(cache, "fuzz", "github.com", "mqttspec", "mqttspec", "fuzz", "Fuzz"+"StrictLenient", "*"))
		for _, f := range files {
			if data, err := readSeed(f); err == nil {
				inputs = append(inputs, data)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := checkDecode(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
}
