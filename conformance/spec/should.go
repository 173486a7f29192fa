package spec

// ownStatements are SHOULD and MAY sentences of the final texts that carry no
// Appendix B number but that a conformance suite wants to check or report.
// Their IDs are ours and stable:
//
//	mqttspec-<version>-<section>-should-<n>
//	mqttspec-<version>-<section>-may-<n>
//
// where <section> is the x.y.z section the sentence appears in (x.y.0 for
// text directly under a two-level heading). They are kept in this separate
// table so that the Appendix B counts (AppendixB311, AppendixB5) stay exact;
// Statement.InAppendixB tells them apart. Never renumber an entry: append new
// ones with the next free number.
var ownStatements = []own{
	// MQTT 3.1.1
	{V311, "mqttspec-3.1.1-1.5.3-should-1", Should, Both, true, "", "UTF-8 strings should not contain control characters (U+0001..U+001F, U+007F..U+009F) or Unicode non-characters; a receiver may close on them."},
	{V311, "mqttspec-3.1.1-3.1.2-should-1", Should, Client, true, "", "A client that gets no PINGRESP within a reasonable time after PINGREQ should close the connection."},
	{V311, "mqttspec-3.1.1-3.1.2-should-2", Should, Server, true, "", "The server should leave a silent client the full one and a half times its Keep Alive before disconnecting it (the period MQTT-3.1.2-24 grants)."},
	{V311, "mqttspec-3.1.1-3.1.3-may-1", May, Server, true, "", "The server may accept ClientIds longer than 23 bytes or using characters outside 0-9, a-z, A-Z."},
	{V311, "mqttspec-3.1.1-3.1.4-should-1", Should, Server, true, "", "When further CONNECT checks (authentication, authorization) fail, the server should send CONNACK with a non-zero return code before closing."},
	{V311, "mqttspec-3.1.1-3.3.1-should-1", Should, Server, true, "", "A retained QoS 0 PUBLISH should become the topic's new retained message (the server may drop it later)."},
	{V311, "mqttspec-3.1.1-3.14.4-should-1", Should, Server, true, "", "On DISCONNECT the server should close the network connection if the client has not already done so."},
	{V311, "mqttspec-3.1.1-4.7.2-should-1", Should, Server, true, "", "The server should stop clients from exchanging messages with each other on Topic Names that begin with '$'."},
	{V311, "mqttspec-3.1.1-4.8.0-should-1", Should, Server, false, "requires an internal transient error that the peer cannot provoke reliably", "A transient error on one connection should not disconnect or otherwise affect the server's other clients."},

	// MQTT 5.0
	{V5, "mqttspec-5.0-1.5.4-should-1", Should, Both, true, "", "UTF-8 strings should not contain the Disallowed Unicode code points (controls, non-characters); a receiver may treat them as malformed."},
	{V5, "mqttspec-5.0-3.1.2-should-1", Should, Client, true, "", "A client that gets no PINGRESP within a reasonable time after PINGREQ should close the connection."},
	{V5, "mqttspec-5.0-3.1.2-should-2", Should, Server, true, "", "The server should leave a silent client the full one and a half times the Keep Alive in force before disconnecting it (the period MQTT-3.1.2-22 grants)."},
	{V5, "mqttspec-5.0-3.1.3-may-1", May, Server, true, "", "The server may accept ClientIDs longer than 23 bytes or using characters outside 0-9, a-z, A-Z."},
	{V5, "mqttspec-5.0-3.1.4-should-1", Should, Server, true, "", "The server should perform authentication and authorization checks on CONNECT before accepting it."},
	{V5, "mqttspec-5.0-3.2.2-should-1", Should, Server, true, "", "A CONNECT whose Will QoS exceeds the server's maximum should be refused with CONNACK 0x9B (QoS not supported)."},
	{V5, "mqttspec-5.0-3.2.2-should-2", Should, Server, true, "", "A CONNECT with Will Retain 1 to a server without retain support should be refused with CONNACK 0x9A (Retain not supported)."},
	{V5, "mqttspec-5.0-3.3.1-should-1", Should, Server, true, "", "A retained QoS 0 PUBLISH should become the topic's new retained message (the server may drop it later)."},
	{V5, "mqttspec-5.0-3.3.2-may-1", May, Both, true, "", "A receiver may check the payload against the Payload Format Indicator and answer a mismatch with reason code 0x99."},
	{V5, "mqttspec-5.0-3.14.4-should-1", Should, Server, true, "", "On DISCONNECT with reason 0x00 the server should close the network connection if the client has not already done so."},
	{V5, "mqttspec-5.0-4.7.2-should-1", Should, Server, true, "", "The server should stop clients from exchanging messages with each other on Topic Names that begin with '$'."},
	{V5, "mqttspec-5.0-4.8.2-should-1", Should, Server, true, "", "If a shared-subscription client's session ends before a QoS 1 message is acknowledged, the server should send it to another member."},
	{V5, "mqttspec-5.0-4.11.0-should-1", Should, Client, true, "", "A client told 0x9C (Use another server) or 0x9D (Server moved) should switch to another server, temporarily or permanently."},
	{V5, "mqttspec-5.0-4.12.1-should-1", Should, Both, true, "", "When re-authentication fails, the detecting side should send DISCONNECT with a fitting reason code before closing."},
	{V5, "mqttspec-5.0-4.13.1-should-1", Should, Server, true, "", "On a malformed packet or protocol error after CONNECT, the server should send DISCONNECT with the reason code before closing."},
	{V5, "mqttspec-5.0-4.13.1-should-2", Should, Client, true, "", "On a malformed packet or protocol error the client should close the connection, sending DISCONNECT with the reason code first (except for AUTH errors)."},
	{V5, "mqttspec-5.0-4.13.1-may-1", May, Server, true, "", "On an error in CONNECT the server may send CONNACK with the reason code before closing the connection."},
}
