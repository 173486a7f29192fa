package fuzz

import "testing"

func BenchmarkCheckDecode(b *testing.B) {
	var inputs [][]byte
	for _, s := range decodeSeeds() {
		if len(s.data) < 4096 {
			inputs = append(inputs, s.data)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := checkDecode(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
}
