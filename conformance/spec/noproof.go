package spec

// noProof records, for statements a peer could observe on the wire (Testable), why this suite
// has no case that proves them for one side: the stimulus needs something the suite cannot make
// the target do (restart, an application decision, a transport the drivers do not speak).
// Statements that are not Testable carry their reason in Statement.WhyNot instead. Side Both
// means the reason holds for broker and client runs alike. A test (cmd/mqttspec) keeps every
// wire-testable statement either cited by a case or listed here, and spec's own test keeps each
// entry naming a testable statement that binds the side.
var noProof = []struct {
	version, id string
	side        Role
	why         string
}{
	{V311, "MQTT-7.1.1-1", Server, "a precondition of every connection: a target without an ordered, lossless transport cannot be tested at all, so no case can fail on it while others pass"},
	{V5, "MQTT-4.2.0-1", Both, "a precondition of every connection: a target without an ordered, lossless transport cannot be tested at all, so no case can fail on it while others pass"},
	{V311, "MQTT-1.5.3-3", Client, "the client's decoded strings are visible only through its application output; the client drivers report payloads, not topic or property strings"},
	{V5, "MQTT-1.5.4-3", Client, "the client's decoded strings are visible only through its application output; the client drivers report payloads, not topic or property strings"},
	{V311, "MQTT-6.0.0-1", Client, "the client drivers connect over TCP only; no driver starts a client over WebSocket"},
	{V311, "MQTT-6.0.0-2", Client, "the client drivers connect over TCP only; no driver starts a client over WebSocket"},
	{V311, "MQTT-6.0.0-3", Client, "the client drivers connect over TCP only; no driver starts a client over WebSocket"},
	{V5, "MQTT-6.0.0-1", Client, "the client drivers connect over TCP only; no driver starts a client over WebSocket"},
	{V5, "MQTT-6.0.0-2", Client, "the client drivers connect over TCP only; no driver starts a client over WebSocket"},
	{V5, "MQTT-6.0.0-3", Client, "the client drivers connect over TCP only; no driver starts a client over WebSocket"},
	{V5, "MQTT-3.15.2-2", Client, "needs the client to send AUTH carrying a Reason String, which no driver can ask a client to add"},
	{V5, "MQTT-3.15.2-3", Client, "needs the client to send AUTH carrying User Properties, which no driver can ask a client to add"},
	{V5, "MQTT-4.3.3-9", Client, "needs the client's application to refuse a QoS 2 message (PUBREC 0x80 or above), which no driver can request"},
	{V5, "MQTT-4.12.1-1", Client, "needs the client to start re-authentication, which no driver can request"},
	{V5, "MQTT-4.12.1-2", Client, "needs the client to start re-authentication, which no driver can request"},
}

// Unprovable says why the suite has no case that can prove the wire-testable statement id of
// version for side (Server for broker runs, Client for client runs); ok is false when the
// registry gives no such reason. For statements that are not Testable, see Statement.WhyNot.
func Unprovable(version, id string, side Role) (why string, ok bool) {
	for _, n := range noProof {
		if n.version == version && n.id == id && (n.side == side || n.side == Both) {
			return n.why, true
		}
	}
	return "", false
}
