package fuzz

import "testing"

// FuzzPcapSession writes a capture of a generated MQTT connection, cut into TCP segments of
// drawn sizes with retransmissions, reordering and wrapping sequence numbers, and checks that
// pcap.Read gives back exactly what each side sent (see checkPcapSession). The pcap package has
// its own target for arbitrary capture bytes; this one checks reassembly and extraction.
func FuzzPcapSession(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkPcapSession(data); err != nil {
			if id := known(err); id != "" {
				t.Skipf("known issue %s (docs/findings.md): %v", id, err)
			}
			t.Fatal(err)
		}
	})
}
