// Package conformance is mqttspec's scenario runner: cases script packet exchanges with a target
// (a broker at host:port, or a client program when mqttspec plays the broker) and grade the
// outcome against the normative statements they cite.
//
// A Case's Run receives a *T. T hands out connections (Dial, Connect), each a *Conn that can Send
// packets or raw bytes and Expect packets, nothing, or a close within a deadline. Every byte in and
// out is logged in the case's transcript. A failed expectation ends the case like t.Fatal in the
// testing package; its message says what was expected and what arrived.
//
// The Runner executes cases in parallel (bounded), on every requested protocol version, each with
// a hard deadline, and produces a reports.Results document.
package conformance
