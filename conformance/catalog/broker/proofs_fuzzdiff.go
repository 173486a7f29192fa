package broker

// fuzzdiffFaultCases are the FaultCases entries of the reference broker's faults behind the
// differential fuzzer's findings (reference/broker/faults_fuzzdiff.go).
var fuzzdiffFaultCases = map[string][]string{
	"publish-dup-qos0-accepted":          {"3.3/dup-on-qos0-closes"},
	"suback-0x91-for-server-inflight-id": {"3.9/return-code-valid-for-server-inflight-id"},
	"qos2-second-retransmission-closes":  {"4.3/qos2-retransmitted-twice-before-pubrel"},
	"retained-uses-subscribe-id":         {"2.3/retained-deliveries-distinct-packet-ids"},
}

// The table joins FaultCases here, not in proofs.go's list, so that this file stays the fuzz diff
// helper's own. A package-level initialiser runs after FaultCases' (it depends on it) and before
// every init function, so proofs.go's registration of the proofs sees the entries.
var _ = func() bool {
	for name, ids := range fuzzdiffFaultCases {
		if _, dup := FaultCases[name]; dup {
			panic("FaultCases: fault " + name + " in two area tables")
		}
		FaultCases[name] = ids
	}
	return true
}()
