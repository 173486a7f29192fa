package spec

// v311 lists every ID of MQTT 3.1.1 OS (29 October 2014) Appendix B, in the
// order of the appendix: 141 IDs. All are Level Must.
//
// Numbering notes:
//   - The appendix prints "[MQTT-3.1.2.7]" and "[MQTT-3-8.3-4]"; the body and
//     the numbering sequence make them MQTT-3.1.2-7 and MQTT-3.8.3-4.
//   - MQTT-4.3.2-1/-2 and MQTT-4.3.3-1/-2 each bundle several sender or
//     receiver obligations of one QoS flow (5.0 later split them into
//     MQTT-4.3.2-1..5 and MQTT-4.3.3-1..13).
var v311 = []row{
	// 1.5 Data representations
	{"MQTT-1.5.3-1", Both, true, "", "UTF-8 string data must be well-formed, with no surrogate code points (U+D800..U+DFFF); a receiver of ill-formed UTF-8 must close the connection."},
	{"MQTT-1.5.3-2", Both, true, "", "UTF-8 strings must not encode U+0000; a receiver that gets one must close the connection."},
	{"MQTT-1.5.3-3", Both, true, "", "The bytes EF BB BF always mean U+FEFF and a receiver must neither skip nor strip them."},

	// 2.2 Fixed header
	{"MQTT-2.2.2-1", Both, true, "", "Fixed-header flag bits marked reserved must carry exactly the values given in the flags table."},
	{"MQTT-2.2.2-2", Both, true, "", "A receiver of invalid fixed-header flags must close the network connection."},

	// 2.3 Variable header
	{"MQTT-2.3.1-1", Both, true, "", "SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH packets must carry a non-zero Packet Identifier."},
	{"MQTT-2.3.1-2", Client, true, "", "A client must give each new SUBSCRIBE, UNSUBSCRIBE or QoS>0 PUBLISH a Packet Identifier not currently in use."},
	{"MQTT-2.3.1-3", Client, true, "", "A client re-sending a packet must reuse its Packet Identifier; the identifier is freed only once the matching acknowledgement is processed."},
	{"MQTT-2.3.1-4", Server, true, "", "The server follows the same identifier allocation and reuse rules for the QoS>0 PUBLISH packets it sends."},
	{"MQTT-2.3.1-5", Both, true, "", "A QoS 0 PUBLISH must not contain a Packet Identifier."},
	{"MQTT-2.3.1-6", Both, true, "", "PUBACK, PUBREC and PUBREL must carry the Packet Identifier of the PUBLISH they relate to."},
	{"MQTT-2.3.1-7", Server, true, "", "SUBACK and UNSUBACK must carry the Packet Identifier of the SUBSCRIBE or UNSUBSCRIBE they answer."},

	// 3.1 CONNECT
	{"MQTT-3.1.0-1", Client, true, "", "The first packet a client sends on a new network connection must be CONNECT."},
	{"MQTT-3.1.0-2", Server, true, "", "A second CONNECT on the same connection is a protocol violation and the server must disconnect the client."},
	{"MQTT-3.1.2-1", Server, true, "", "On a wrong protocol name the server may disconnect or follow another specification, but must not go on treating the CONNECT as MQTT 3.1.1."},
	{"MQTT-3.1.2-2", Server, true, "", "An unsupported protocol level must be answered with CONNACK return code 0x01, after which the server disconnects."},
	{"MQTT-3.1.2-3", Server, true, "", "The server must check that the reserved CONNECT flag (bit 0) is 0 and disconnect the client if it is not."},
	{"MQTT-3.1.2-4", Both, true, "", "With CleanSession 0 the server resumes the ClientId's session or creates one, and both sides keep the session after disconnecting."},
	{"MQTT-3.1.2-5", Server, true, "", "While a CleanSession 0 client is disconnected the server must keep QoS 1 and 2 messages matching its subscriptions as session state."},
	{"MQTT-3.1.2-6", Both, true, "", "With CleanSession 1 both sides discard any previous session and start one that lives as long as the connection; its state is never reused."},
	{"MQTT-3.1.2-7", Server, true, "", "Retained messages are not session state and must not be deleted when a session ends. (Printed as MQTT-3.1.2.7 in Appendix B.)"},
	{"MQTT-3.1.2-8", Server, true, "", "With Will Flag 1 the server must store the Will Message for the connection and publish it when the connection closes without a DISCONNECT."},
	{"MQTT-3.1.2-9", Client, true, "", "With Will Flag 1 the CONNECT payload must contain the Will Topic and Will Message fields."},
	{"MQTT-3.1.2-10", Server, true, "", "The stored Will Message must be removed once it is published or when the server receives DISCONNECT."},
	{"MQTT-3.1.2-11", Client, true, "", "With Will Flag 0, Will QoS and Will Retain must be 0 and the payload must not contain Will Topic or Will Message."},
	{"MQTT-3.1.2-12", Server, true, "", "With Will Flag 0 no Will Message must be published when the connection ends."},
	{"MQTT-3.1.2-13", Client, true, "", "With Will Flag 0, Will QoS must be 0."},
	{"MQTT-3.1.2-14", Client, true, "", "With Will Flag 1, Will QoS may be 0, 1 or 2 but must never be 3."},
	{"MQTT-3.1.2-15", Client, true, "", "With Will Flag 0, Will Retain must be 0."},
	{"MQTT-3.1.2-16", Server, true, "", "Will Flag 1 with Will Retain 0: the server must publish the will as a non-retained message."},
	{"MQTT-3.1.2-17", Server, true, "", "Will Flag 1 with Will Retain 1: the server must publish the will as a retained message."},
	{"MQTT-3.1.2-18", Client, true, "", "User Name Flag 0 means the payload must not contain a user name."},
	{"MQTT-3.1.2-19", Client, true, "", "User Name Flag 1 means the payload must contain a user name."},
	{"MQTT-3.1.2-20", Client, true, "", "Password Flag 0 means the payload must not contain a password."},
	{"MQTT-3.1.2-21", Client, true, "", "Password Flag 1 means the payload must contain a password."},
	{"MQTT-3.1.2-22", Client, true, "", "If the User Name Flag is 0 the Password Flag must be 0 too."},
	{"MQTT-3.1.2-23", Client, true, "", "The client must keep the gap between its packets within Keep Alive, sending PINGREQ when it has nothing else to send."},
	{"MQTT-3.1.2-24", Server, true, "", "With a non-zero Keep Alive the server must drop the connection if no packet arrives within 1.5 times the Keep Alive period."},
	{"MQTT-3.1.3-1", Client, true, "", "CONNECT payload fields that are present must come in the order ClientId, Will Topic, Will Message, User Name, Password."},
	{"MQTT-3.1.3-2", Both, true, "", "Client and server must use the ClientId to identify the session state they hold for each other."},
	{"MQTT-3.1.3-3", Client, true, "", "The ClientId must be present and be the first field of the CONNECT payload."},
	{"MQTT-3.1.3-4", Client, true, "", "The ClientId must be a UTF-8 encoded string."},
	{"MQTT-3.1.3-5", Server, true, "", "The server must accept ClientIds of 1 to 23 bytes made only of ASCII digits and letters."},
	{"MQTT-3.1.3-6", Server, true, "", "A server that accepts a zero-length ClientId must assign the client a unique ClientId and process the CONNECT as if it had been sent."},
	{"MQTT-3.1.3-7", Client, true, "", "A client that sends a zero-length ClientId must set CleanSession to 1."},
	{"MQTT-3.1.3-8", Server, true, "", "A zero-length ClientId with CleanSession 0 must get CONNACK return code 0x02, then the connection is closed."},
	{"MQTT-3.1.3-9", Server, true, "", "A ClientId the server rejects must get CONNACK return code 0x02, then the connection is closed."},
	{"MQTT-3.1.3-10", Client, true, "", "The Will Topic must be a UTF-8 encoded string."},
	{"MQTT-3.1.3-11", Client, true, "", "The User Name must be a UTF-8 encoded string."},
	{"MQTT-3.1.4-1", Server, true, "", "The server must validate the CONNECT against section 3.1 and close the connection without a CONNACK if it does not conform."},
	{"MQTT-3.1.4-2", Server, true, "", "If the ClientId is already connected, the server must disconnect the existing client."},
	{"MQTT-3.1.4-3", Server, true, "", "After a valid CONNECT the server must carry out the CleanSession processing of section 3.1.2.4."},
	{"MQTT-3.1.4-4", Server, true, "", "After a valid CONNECT the server must answer with a CONNACK carrying return code 0."},
	{"MQTT-3.1.4-5", Server, true, "", "After rejecting a CONNECT the server must not process anything else the client sent after it."},

	// 3.2 CONNACK
	{"MQTT-3.2.0-1", Server, true, "", "The first packet the server sends to a client must be CONNACK."},
	{"MQTT-3.2.2-1", Server, true, "", "Accepting a CleanSession 1 connection: the CONNACK must carry Session Present 0 and return code 0."},
	{"MQTT-3.2.2-2", Server, true, "", "Accepting a CleanSession 0 connection for which session state is stored: the CONNACK must carry Session Present 1."},
	{"MQTT-3.2.2-3", Server, true, "", "Accepting a CleanSession 0 connection without stored state: the CONNACK must carry Session Present 0 and return code 0."},
	{"MQTT-3.2.2-4", Server, true, "", "A CONNACK with a non-zero return code must carry Session Present 0."},
	{"MQTT-3.2.2-5", Server, true, "", "After sending a CONNACK with a non-zero return code the server must close the connection."},
	{"MQTT-3.2.2-6", Server, false, "implementation-defined: no stimulus is guaranteed to fall outside every defined return code", "If none of the defined return codes applies, the server must close the connection without sending CONNACK."},

	// 3.3 PUBLISH
	{"MQTT-3.3.1-1", Both, true, "", "DUP must be 1 when a client or server re-delivers a PUBLISH."},
	{"MQTT-3.3.1-2", Both, true, "", "DUP must be 0 on every QoS 0 PUBLISH."},
	{"MQTT-3.3.1-3", Server, true, "", "The DUP flag of a forwarded PUBLISH depends only on whether that outgoing packet is a retransmission, never on the inbound DUP."},
	{"MQTT-3.3.1-4", Both, true, "", "A PUBLISH must not have both QoS bits set; a receiver of such a packet must close the connection."},
	{"MQTT-3.3.1-5", Server, true, "", "For a client PUBLISH with RETAIN 1 the server must store the message and its QoS for future matching subscribers."},
	{"MQTT-3.3.1-6", Server, true, "", "When a subscription is made, the latest retained message of each matching topic must be sent to the subscriber."},
	{"MQTT-3.3.1-7", Server, true, "", "A retained QoS 0 PUBLISH must make the server discard any message previously retained for that topic."},
	{"MQTT-3.3.1-8", Server, true, "", "A message sent because a new subscription was made must carry RETAIN 1."},
	{"MQTT-3.3.1-9", Server, true, "", "A message forwarded to an established subscription must carry RETAIN 0, whatever the publisher set."},
	{"MQTT-3.3.1-10", Server, true, "", "A retained PUBLISH with an empty payload is delivered normally and must remove the topic's retained message."},
	{"MQTT-3.3.1-11", Server, true, "", "The server must never store a zero-byte retained message."},
	{"MQTT-3.3.1-12", Server, true, "", "A client PUBLISH with RETAIN 0 must neither be stored as retained nor remove or replace the existing retained message."},
	{"MQTT-3.3.2-1", Both, true, "", "The Topic Name must be the first field of the PUBLISH variable header and be a UTF-8 encoded string."},
	{"MQTT-3.3.2-2", Both, true, "", "The Topic Name of a PUBLISH must not contain wildcard characters."},
	{"MQTT-3.3.2-3", Server, true, "", "A PUBLISH sent to a subscriber must have a Topic Name that matches that subscription's Topic Filter."},
	{"MQTT-3.3.4-1", Both, true, "", "The receiver of a PUBLISH must answer as its QoS requires: nothing for 0, PUBACK for 1, PUBREC for 2."},
	{"MQTT-3.3.5-1", Server, true, "", "With overlapping subscriptions the server must deliver the message at the highest QoS among the matching ones."},
	{"MQTT-3.3.5-2", Server, true, "", "A PUBLISH the server does not authorize must still be acknowledged by the normal QoS rules, or the connection closed."},

	// 3.6 PUBREL
	{"MQTT-3.6.1-1", Both, true, "", "PUBREL fixed-header flags must be 0010; the server must treat any other value as malformed and close the connection."},

	// 3.8 SUBSCRIBE
	{"MQTT-3.8.1-1", Both, true, "", "SUBSCRIBE fixed-header flags must be 0010; the server must treat any other value as malformed and close the connection."},
	{"MQTT-3.8.3-1", Client, true, "", "Topic Filters in a SUBSCRIBE payload must be UTF-8 encoded strings."},
	{"MQTT-3.8.3-2", Server, true, "", "A server that does not support wildcard Topic Filters must reject subscriptions whose filter contains one."},
	{"MQTT-3.8.3-3", Both, true, "", "A SUBSCRIBE must contain at least one Topic Filter/QoS pair; one without payload is a protocol violation."},
	{"MQTT-3.8.3-4", Server, true, "", "Non-zero reserved bits or a QoS other than 0-2 in a SUBSCRIBE payload make it malformed; the server must close. (Printed MQTT-3-8.3-4.)"},
	{"MQTT-3.8.4-1", Server, true, "", "Every SUBSCRIBE must be answered with a SUBACK."},
	{"MQTT-3.8.4-2", Server, true, "", "The SUBACK must carry the Packet Identifier of the SUBSCRIBE it acknowledges."},
	{"MQTT-3.8.4-3", Server, true, "", "Subscribing again to an identical filter must replace the subscription and resend matching retained messages without interrupting the flow."},
	{"MQTT-3.8.4-4", Server, true, "", "A SUBSCRIBE with several filters must be handled like a series of SUBSCRIBEs whose answers are combined into one SUBACK."},
	{"MQTT-3.8.4-5", Server, true, "", "The SUBACK must hold one return code per filter, giving the granted maximum QoS or a failure."},
	{"MQTT-3.8.4-6", Server, true, "", "Messages for a subscription must go out at the lower of the published QoS and the granted QoS."},

	// 3.9 SUBACK
	{"MQTT-3.9.3-1", Server, true, "", "SUBACK return codes must follow the order of the filters in the SUBSCRIBE."},
	{"MQTT-3.9.3-2", Server, true, "", "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are reserved and must not be used."},

	// 3.10 UNSUBSCRIBE
	{"MQTT-3.10.1-1", Both, true, "", "UNSUBSCRIBE fixed-header flags must be 0010; the server must treat any other value as malformed and close the connection."},
	{"MQTT-3.10.3-1", Client, true, "", "Topic Filters in an UNSUBSCRIBE must be UTF-8 encoded strings packed one after another."},
	{"MQTT-3.10.3-2", Both, true, "", "An UNSUBSCRIBE must contain at least one Topic Filter; one without payload is a protocol violation."},
	{"MQTT-3.10.4-1", Server, true, "", "UNSUBSCRIBE filters must be compared character by character with the client's filters; an exact match deletes that subscription."},
	{"MQTT-3.10.4-2", Server, true, "", "Once a subscription is deleted the server must stop adding new messages for it."},
	{"MQTT-3.10.4-3", Server, true, "", "Once a subscription is deleted the server must still complete QoS 1 and 2 deliveries it had started."},
	{"MQTT-3.10.4-4", Server, true, "", "Every UNSUBSCRIBE must get an UNSUBACK carrying the same Packet Identifier."},
	{"MQTT-3.10.4-5", Server, true, "", "The server must send an UNSUBACK even when no subscription was deleted."},
	{"MQTT-3.10.4-6", Server, true, "", "An UNSUBSCRIBE with several filters must be handled like a series of UNSUBSCRIBEs answered by a single UNSUBACK."},

	// 3.12 PINGREQ
	{"MQTT-3.12.4-1", Server, true, "", "Every PINGREQ must be answered with a PINGRESP."},

	// 3.14 DISCONNECT
	{"MQTT-3.14.1-1", Server, true, "", "The server must check that the DISCONNECT reserved bits are 0 and disconnect the client if they are not."},
	{"MQTT-3.14.4-1", Client, true, "", "After sending DISCONNECT the client must close the network connection."},
	{"MQTT-3.14.4-2", Client, true, "", "After sending DISCONNECT the client must not send any further packet on that connection."},
	{"MQTT-3.14.4-3", Server, true, "", "On DISCONNECT the server must discard the connection's Will Message without publishing it."},

	// 4.1 Storing state
	{"MQTT-4.1.0-1", Both, true, "", "Client and server must keep session state for the whole life of the session."},
	{"MQTT-4.1.0-2", Both, true, "", "A session must last at least as long as its active network connection."},

	// 4.3 Quality of Service levels and protocol flows
	{"MQTT-4.3.1-1", Both, true, "", "QoS 0 delivery: the sender must send a PUBLISH with QoS 0 and DUP 0."},
	{"MQTT-4.3.2-1", Both, true, "", "QoS 1 sender: take an unused Packet Identifier, send PUBLISH with QoS 1 and DUP 0, treat it as unacknowledged until its PUBACK."},
	{"MQTT-4.3.2-2", Both, true, "", "QoS 1 receiver: PUBACK with the PUBLISH's identifier once it owns the message; afterwards that identifier starts a new publication."},
	{"MQTT-4.3.3-1", Both, true, "", "QoS 2 sender: unused identifier, QoS 2 DUP 0 PUBLISH held until PUBREC, then PUBREL held until PUBCOMP; no PUBLISH resend after PUBREL."},
	{"MQTT-4.3.3-2", Both, true, "", "QoS 2 receiver: PUBREC once it owns the message, PUBREC repeats without redelivery until PUBREL, PUBCOMP on PUBREL, then the ID is new."},

	// 4.4 Message delivery retry
	{"MQTT-4.4.0-1", Both, true, "", "On reconnect with CleanSession 0 both sides must resend unacknowledged QoS>0 PUBLISH and PUBREL packets with their original identifiers."},

	// 4.5 Message receipt
	{"MQTT-4.5.0-1", Server, true, "", "A message the server takes ownership of must be added to the session state of every client with a matching subscription."},
	{"MQTT-4.5.0-2", Client, true, "", "A client must acknowledge every PUBLISH as its QoS requires, whether or not it processes the message."},

	// 4.6 Message ordering
	{"MQTT-4.6.0-1", Client, true, "", "A client re-sending PUBLISH packets must resend them in their original order (QoS 1 and 2)."},
	{"MQTT-4.6.0-2", Client, true, "", "A client must send PUBACKs in the order the QoS 1 PUBLISH packets arrived."},
	{"MQTT-4.6.0-3", Client, true, "", "A client must send PUBRECs in the order the QoS 2 PUBLISH packets arrived."},
	{"MQTT-4.6.0-4", Client, true, "", "A client must send PUBRELs in the order the PUBRECs arrived."},
	{"MQTT-4.6.0-5", Server, true, "", "By default the server must treat every topic as an ordered topic (it may offer a way to mark topics unordered)."},
	{"MQTT-4.6.0-6", Server, true, "", "For an ordered topic the server must deliver one client's messages to each subscriber in the order received, per topic and QoS."},

	// 4.7 Topic Names and Topic Filters
	{"MQTT-4.7.1-1", Both, true, "", "Wildcard characters may appear in Topic Filters but must not appear in Topic Names."},
	{"MQTT-4.7.1-2", Both, true, "", "The multi-level wildcard '#' must stand alone or follow '/', and must be the last character of the filter."},
	{"MQTT-4.7.1-3", Both, true, "", "The single-level wildcard '+' may be used at any level but must occupy the whole level."},
	{"MQTT-4.7.2-1", Server, true, "", "Filters starting with '#' or '+' must not match Topic Names that begin with '$'."},
	{"MQTT-4.7.3-1", Both, true, "", "Topic Names and Topic Filters must be at least one character long."},
	{"MQTT-4.7.3-2", Both, true, "", "Topic Names and Topic Filters must not contain U+0000."},
	{"MQTT-4.7.3-3", Both, true, "", "Topic Names and Topic Filters must not encode to more than 65535 bytes."},
	{"MQTT-4.7.3-4", Server, true, "", "Subscription matching must not normalize topics nor modify or substitute unrecognized characters."},

	// 4.8 Handling errors
	{"MQTT-4.8.0-1", Both, true, "", "Unless stated otherwise, a protocol violation must make the receiver close the connection the offending packet arrived on."},
	{"MQTT-4.8.0-2", Both, false, "requires an internal transient error (e.g. full buffers) that the peer cannot provoke reliably", "A transient error while processing an inbound packet must make the receiver close that connection."},

	// 6 WebSocket
	{"MQTT-6.0.0-1", Both, true, "", "Over WebSocket, MQTT packets must travel in binary frames; a receiver of any other frame type must close the connection."},
	{"MQTT-6.0.0-2", Both, true, "", "A receiver must not assume that MQTT packets are aligned with WebSocket frame boundaries."},
	{"MQTT-6.0.0-3", Client, true, "", "A WebSocket client must offer the 'mqtt' subprotocol."},
	{"MQTT-6.0.0-4", Server, true, "", "A WebSocket server must select and return the 'mqtt' subprotocol."},

	// 7 Conformance
	{"MQTT-7.0.0-1", Server, false, "conformance-target rule for bridging servers, not a single wire behaviour", "A server that also opens connections to other servers must conform both as client and as server."},
	{"MQTT-7.0.0-2", Both, false, "interoperability requirement about extensions, not observable as one wire behaviour", "A conformant implementation must not need extensions defined outside the specification to interoperate."},
	{"MQTT-7.1.1-1", Server, true, "", "A server must support at least one transport offering an ordered, lossless byte stream in both directions."},
	{"MQTT-7.1.2-1", Client, true, "", "A client must support at least one transport offering an ordered, lossless byte stream in both directions."},
}
