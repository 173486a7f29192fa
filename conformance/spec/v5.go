package spec

// v5 lists every ID of MQTT 5.0 OS (7 March 2019) Appendix B: 251 IDs
// (chapter 1: 5, chapter 2: 7, chapter 3: 175, chapter 4: 60, chapter 6: 4).
// All are Level Must; a SHOULD or MAY inside a numbered statement does not
// change its level. Entries are in numeric order.
//
// Numbering notes:
//   - There is no MQTT-2.2.1-1 in the OS; section 2.2.1 starts at -2.
//   - MQTT-4.2.0-1 is tagged "[MQTT-4.2-1]" in the body of section 4.2; the
//     appendix lists it as MQTT-4.2.0-1, between MQTT-4.1.0-1 and -2.
//   - Chapter 7 of the OS has no numbered statements (the 3.1.1 MQTT-7.x IDs
//     still appear in committee-draft lists such as ckrey/mqttswift).
var v5 = []row{
	// 1.5 Data representation
	{"MQTT-1.5.4-1", Both, true, "", "UTF-8 string data must be well-formed UTF-8 and must not encode surrogate code points (U+D800..U+DFFF)."},
	{"MQTT-1.5.4-2", Both, true, "", "A UTF-8 encoded string must not encode the null character U+0000."},
	{"MQTT-1.5.4-3", Both, true, "", "The bytes EF BB BF always mean U+FEFF and a packet receiver must neither skip nor strip them."},
	{"MQTT-1.5.5-1", Both, true, "", "A Variable Byte Integer must be encoded in the fewest bytes that can hold its value."},
	{"MQTT-1.5.7-1", Both, true, "", "Both strings of a UTF-8 String Pair must satisfy the UTF-8 Encoded String rules."},

	// 2.1 Structure of an MQTT Control Packet
	{"MQTT-2.1.3-1", Both, true, "", "Fixed-header flag bits marked reserved must carry exactly the values listed for that packet type."},

	// 2.2 Variable Header
	{"MQTT-2.2.1-2", Both, true, "", "A QoS 0 PUBLISH must not contain a Packet Identifier."},
	{"MQTT-2.2.1-3", Client, true, "", "A client must give each new SUBSCRIBE, UNSUBSCRIBE or QoS>0 PUBLISH a non-zero Packet Identifier not currently in use."},
	{"MQTT-2.2.1-4", Server, true, "", "The server must give each new QoS>0 PUBLISH it sends a non-zero Packet Identifier not currently in use."},
	{"MQTT-2.2.1-5", Both, true, "", "PUBACK, PUBREC, PUBREL and PUBCOMP must carry the Packet Identifier of the original PUBLISH."},
	{"MQTT-2.2.1-6", Server, true, "", "SUBACK and UNSUBACK must carry the Packet Identifier of the SUBSCRIBE or UNSUBSCRIBE they answer."},
	{"MQTT-2.2.2-1", Both, true, "", "A packet without properties must still carry a Property Length of zero."},

	// 3.1 CONNECT
	{"MQTT-3.1.0-1", Client, true, "", "The first packet a client sends on a new network connection must be CONNECT."},
	{"MQTT-3.1.0-2", Server, true, "", "A second CONNECT from a client is a Protocol Error and the server must close the connection."},
	{"MQTT-3.1.2-1", Both, true, "", "The protocol name must be \"MQTT\"; a server refusing another name may send CONNACK 0x84 and must then close the connection."},
	{"MQTT-3.1.2-2", Server, true, "", "For a protocol version other than 5 the server may send CONNACK 0x84 (Unsupported Protocol Version) and must then close."},
	{"MQTT-3.1.2-3", Server, true, "", "The server must check that the reserved CONNECT flag (bit 0) is 0; otherwise the packet is malformed."},
	{"MQTT-3.1.2-4", Both, true, "", "On a CONNECT with Clean Start 1, client and server must discard any existing session and start a new one."},
	{"MQTT-3.1.2-5", Server, true, "", "On Clean Start 0 with an existing session for the ClientID, the server must resume from that session's state."},
	{"MQTT-3.1.2-6", Server, true, "", "On Clean Start 0 with no session for the ClientID, the server must create a new session."},
	{"MQTT-3.1.2-7", Server, true, "", "With Will Flag 1 the server must store the Will Message and associate it with the session."},
	{"MQTT-3.1.2-8", Server, true, "", "The will must be published after the connection closes once Will Delay passes or the session ends, unless DISCONNECT 0x00 or a reconnect removed it."},
	{"MQTT-3.1.2-9", Client, true, "", "With Will Flag 1 the payload must contain Will Properties, Will Topic and Will Payload."},
	{"MQTT-3.1.2-10", Server, true, "", "The Will Message must leave the stored session state once published or on DISCONNECT with reason 0x00."},
	{"MQTT-3.1.2-11", Client, true, "", "With Will Flag 0, Will QoS must be 0."},
	{"MQTT-3.1.2-12", Client, true, "", "With Will Flag 1, Will QoS may be 0, 1 or 2 but never 3."},
	{"MQTT-3.1.2-13", Client, true, "", "With Will Flag 0, Will Retain must be 0."},
	{"MQTT-3.1.2-14", Server, true, "", "Will Flag 1 with Will Retain 0: the server must publish the will as a non-retained message."},
	{"MQTT-3.1.2-15", Server, true, "", "Will Flag 1 with Will Retain 1: the server must publish the will as a retained message."},
	{"MQTT-3.1.2-16", Client, true, "", "User Name Flag 0 means the payload must not contain a User Name."},
	{"MQTT-3.1.2-17", Client, true, "", "User Name Flag 1 means the payload must contain a User Name."},
	{"MQTT-3.1.2-18", Client, true, "", "Password Flag 0 means the payload must not contain a Password."},
	{"MQTT-3.1.2-19", Client, true, "", "Password Flag 1 means the payload must contain a Password."},
	{"MQTT-3.1.2-20", Client, true, "", "With a non-zero Keep Alive and nothing else to send, the client must send PINGREQ in time."},
	{"MQTT-3.1.2-21", Client, true, "", "If CONNACK carries Server Keep Alive, the client must use it instead of the Keep Alive it sent."},
	{"MQTT-3.1.2-22", Server, true, "", "With a non-zero Keep Alive the server must close the connection if no packet arrives within 1.5 times the Keep Alive."},
	{"MQTT-3.1.2-23", Both, true, "", "Client and server must keep the session state after the connection closes when Session Expiry Interval is above 0."},
	{"MQTT-3.1.2-24", Server, true, "", "The server must not send a packet larger than the Maximum Packet Size the client announced."},
	{"MQTT-3.1.2-25", Server, true, "", "A packet too large for the client must be discarded unsent, and the server then behaves as if it had completed sending it."},
	{"MQTT-3.1.2-26", Server, true, "", "The server must not send a Topic Alias above the Topic Alias Maximum the client announced."},
	{"MQTT-3.1.2-27", Server, true, "", "If the client's Topic Alias Maximum is absent or 0, the server must send no Topic Alias."},
	{"MQTT-3.1.2-28", Server, true, "", "With Request Response Information 0 the server must not return Response Information."},
	{"MQTT-3.1.2-29", Server, true, "", "With Request Problem Information 0, Reason String and User Properties may appear only on PUBLISH, CONNACK and DISCONNECT."},
	{"MQTT-3.1.2-30", Client, true, "", "A client that sent an Authentication Method must send only AUTH or DISCONNECT until it receives CONNACK."},
	{"MQTT-3.1.3-1", Client, true, "", "Payload fields present must come in order: ClientID, Will Properties, Will Topic, Will Payload, User Name, Password."},
	{"MQTT-3.1.3-2", Both, true, "", "Client and server must use the ClientID to identify the session state they hold for each other."},
	{"MQTT-3.1.3-3", Client, true, "", "The ClientID must be present and be the first field of the CONNECT payload."},
	{"MQTT-3.1.3-4", Client, true, "", "The ClientID must be a UTF-8 Encoded String."},
	{"MQTT-3.1.3-5", Server, true, "", "The server must accept ClientIDs of 1 to 23 bytes made only of ASCII digits and letters."},
	{"MQTT-3.1.3-6", Server, true, "", "A server that accepts a zero-length ClientID must treat it specially and assign the client a unique ClientID."},
	{"MQTT-3.1.3-7", Server, true, "", "The server must then process the CONNECT with the assigned ClientID and return it as Assigned Client Identifier in CONNACK."},
	{"MQTT-3.1.3-8", Server, true, "", "A server rejecting the ClientID may answer CONNACK 0x85 (Client Identifier not valid) and must then close the connection."},
	{"MQTT-3.1.3-9", Server, true, "", "If a new connection to the session arrives before the Will Delay Interval ends, the server must not send the will."},
	{"MQTT-3.1.3-10", Server, true, "", "When publishing the Will Message the server must keep the order of its User Properties."},
	{"MQTT-3.1.3-11", Client, true, "", "The Will Topic must be a UTF-8 Encoded String."},
	{"MQTT-3.1.3-12", Client, true, "", "The User Name must be a UTF-8 Encoded String."},
	{"MQTT-3.1.4-1", Server, true, "", "The server must validate the CONNECT against section 3.1 and close the connection if it does not match."},
	{"MQTT-3.1.4-2", Server, true, "", "The server may apply further checks and should authenticate and authorize; if a check fails it must close the connection."},
	{"MQTT-3.1.4-3", Server, true, "", "If the ClientID is already connected, the server sends it DISCONNECT 0x8E (Session taken over) and must close that old connection."},
	{"MQTT-3.1.4-4", Server, true, "", "The server must carry out the Clean Start processing of section 3.1.2.4."},
	{"MQTT-3.1.4-5", Server, true, "", "An accepted CONNECT must be acknowledged with CONNACK reason code 0x00 (Success)."},
	{"MQTT-3.1.4-6", Server, true, "", "After rejecting a CONNECT the server must not process anything the client sent afterwards except AUTH."},

	// 3.2 CONNACK
	{"MQTT-3.2.0-1", Server, true, "", "Before sending any packet other than AUTH the server must send CONNACK with reason code 0x00."},
	{"MQTT-3.2.0-2", Server, true, "", "The server must not send more than one CONNACK on a network connection."},
	{"MQTT-3.2.2-1", Server, true, "", "CONNACK Acknowledge Flags bits 7-1 are reserved and must be 0."},
	{"MQTT-3.2.2-2", Server, true, "", "Accepting a Clean Start 1 connection: CONNACK must carry Session Present 0 and reason code 0x00."},
	{"MQTT-3.2.2-3", Server, true, "", "Accepting Clean Start 0: Session Present is 1 if state for the ClientID exists, else 0, with reason code 0x00 in both cases."},
	{"MQTT-3.2.2-4", Client, true, "", "A client without session state that receives Session Present 1 must close the connection."},
	{"MQTT-3.2.2-5", Client, true, "", "A client with session state that receives Session Present 0 must discard that state if it keeps the connection."},
	{"MQTT-3.2.2-6", Server, true, "", "A CONNACK with a non-zero reason code must carry Session Present 0."},
	{"MQTT-3.2.2-7", Server, true, "", "After sending a CONNACK with reason code 0x80 or above the server must close the connection."},
	{"MQTT-3.2.2-8", Server, true, "", "The server must use only the defined Connect Reason Code values in CONNACK."},
	{"MQTT-3.2.2-9", Server, true, "", "A server lacking QoS 1 or 2 support must announce the highest QoS it supports in Maximum QoS."},
	{"MQTT-3.2.2-10", Server, true, "", "A server lacking QoS 1 or 2 support must still accept SUBSCRIBE requesting QoS 0, 1 or 2."},
	{"MQTT-3.2.2-11", Client, true, "", "A client given Maximum QoS must not publish at a higher QoS."},
	{"MQTT-3.2.2-12", Server, true, "", "A Will QoS beyond the server's capability must be refused (CONNACK 0x9B should be used), and the connection closed."},
	{"MQTT-3.2.2-13", Server, true, "", "A Will with Retain 1 on a server without retain support must be refused (CONNACK 0x9A should be sent), and the connection closed."},
	{"MQTT-3.2.2-14", Client, true, "", "A client told Retain Available 0 must not send PUBLISH with RETAIN 1."},
	{"MQTT-3.2.2-15", Client, true, "", "The client must not send packets larger than the Maximum Packet Size the server announced."},
	{"MQTT-3.2.2-16", Server, true, "", "A zero-length ClientID must be answered with an Assigned Client Identifier not used by any other current session."},
	{"MQTT-3.2.2-17", Client, true, "", "The client must not send a Topic Alias above the server's Topic Alias Maximum."},
	{"MQTT-3.2.2-18", Client, true, "", "If the server's Topic Alias Maximum is absent or 0, the client must send no Topic Alias."},
	{"MQTT-3.2.2-19", Server, true, "", "The server must drop the CONNACK Reason String if it would push the packet past the client's Maximum Packet Size."},
	{"MQTT-3.2.2-20", Server, true, "", "The server must drop CONNACK User Properties if they would push the packet past the client's Maximum Packet Size."},
	{"MQTT-3.2.2-21", Client, true, "", "A client receiving Server Keep Alive in CONNACK must use it instead of the Keep Alive it sent."},
	{"MQTT-3.2.2-22", Server, true, "", "Without a Server Keep Alive in CONNACK, the server must use the Keep Alive the client sent."},

	// 3.3 PUBLISH
	{"MQTT-3.3.1-1", Both, true, "", "DUP must be 1 when a client or server re-delivers a PUBLISH."},
	{"MQTT-3.3.1-2", Both, true, "", "DUP must be 0 on every QoS 0 PUBLISH."},
	{"MQTT-3.3.1-3", Server, true, "", "The DUP flag of a forwarded PUBLISH depends only on whether that outgoing packet is a retransmission."},
	{"MQTT-3.3.1-4", Both, true, "", "A PUBLISH must not have both QoS bits set."},
	{"MQTT-3.3.1-5", Server, true, "", "A client PUBLISH with RETAIN 1 must replace the topic's retained message and be stored with its QoS."},
	{"MQTT-3.3.1-6", Server, true, "", "A retained PUBLISH with empty payload is processed normally and must remove the topic's retained message."},
	{"MQTT-3.3.1-7", Server, true, "", "A retained message with a zero-byte payload must not be stored on the server."},
	{"MQTT-3.3.1-8", Server, true, "", "A client PUBLISH with RETAIN 0 must not be stored as retained and must not remove or replace the retained message."},
	{"MQTT-3.3.1-9", Server, true, "", "Retain Handling 0: the server must send the retained messages matching the filter when the subscription is made."},
	{"MQTT-3.3.1-10", Server, true, "", "Retain Handling 1: retained messages are sent only if the subscription did not already exist; otherwise they must not be sent."},
	{"MQTT-3.3.1-11", Server, true, "", "Retain Handling 2: the server must not send retained messages when the subscription is made."},
	{"MQTT-3.3.1-12", Server, true, "", "Retain As Published 0: forwarded messages must carry RETAIN 0, whatever the publisher set."},
	{"MQTT-3.3.1-13", Server, true, "", "Retain As Published 1: forwarded messages must carry the RETAIN flag as the publisher set it."},
	{"MQTT-3.3.2-1", Both, true, "", "The Topic Name must be the first field of the PUBLISH variable header and be a UTF-8 Encoded String."},
	{"MQTT-3.3.2-2", Both, true, "", "The Topic Name of a PUBLISH must not contain wildcard characters."},
	{"MQTT-3.3.2-3", Server, true, "", "A PUBLISH sent to a subscriber must have a Topic Name matching that subscription's filter."},
	{"MQTT-3.3.2-4", Server, true, "", "The server must forward the Payload Format Indicator unaltered to every subscriber."},
	{"MQTT-3.3.2-5", Server, true, "", "A copy whose Message Expiry Interval passed before onward delivery started must be deleted for that subscriber."},
	{"MQTT-3.3.2-6", Server, true, "", "A forwarded PUBLISH must carry the Message Expiry Interval reduced by the time the message waited in the server."},
	{"MQTT-3.3.2-7", Both, true, "", "A receiver must not carry Topic Alias mappings over from one network connection to another."},
	{"MQTT-3.3.2-8", Both, true, "", "A sender must not send a PUBLISH with Topic Alias 0."},
	{"MQTT-3.3.2-9", Client, true, "", "A client must not send a Topic Alias above the Topic Alias Maximum returned in CONNACK."},
	{"MQTT-3.3.2-10", Client, true, "", "A client must accept every Topic Alias from 1 up to the Topic Alias Maximum it sent in CONNECT."},
	{"MQTT-3.3.2-11", Server, true, "", "A server must not send a Topic Alias above the Topic Alias Maximum the client sent in CONNECT."},
	{"MQTT-3.3.2-12", Server, true, "", "A server must accept every Topic Alias from 1 up to the Topic Alias Maximum it returned in CONNACK."},
	{"MQTT-3.3.2-13", Both, true, "", "The Response Topic must be a UTF-8 Encoded String."},
	{"MQTT-3.3.2-14", Both, true, "", "The Response Topic must not contain wildcard characters."},
	{"MQTT-3.3.2-15", Server, true, "", "The server must forward the Response Topic unaltered to every subscriber."},
	{"MQTT-3.3.2-16", Server, true, "", "The server must forward the Correlation Data unaltered to every subscriber."},
	{"MQTT-3.3.2-17", Server, true, "", "The server must forward all User Properties of a PUBLISH unaltered."},
	{"MQTT-3.3.2-18", Server, true, "", "The server must keep the order of User Properties when forwarding a message."},
	{"MQTT-3.3.2-19", Both, true, "", "The Content Type must be a UTF-8 Encoded String."},
	{"MQTT-3.3.2-20", Server, true, "", "The server must forward the Content Type unaltered to every subscriber."},
	{"MQTT-3.3.4-1", Both, true, "", "The receiver of a PUBLISH must answer as its QoS requires: nothing for 0, PUBACK for 1, PUBREC for 2."},
	{"MQTT-3.3.4-2", Server, true, "", "With overlapping subscriptions the server must deliver respecting the highest QoS among the matching ones."},
	{"MQTT-3.3.4-3", Server, true, "", "If any overlapping subscription has a Subscription Identifier, the resulting messages must carry those identifiers."},
	{"MQTT-3.3.4-4", Server, true, "", "A single copy for overlapping subscriptions must carry the Subscription Identifiers of all matching subscriptions, in any order."},
	{"MQTT-3.3.4-5", Server, true, "", "With one copy per matching subscription, each copy must carry its own subscription's identifier, if any."},
	{"MQTT-3.3.4-6", Client, true, "", "A PUBLISH from client to server must not contain a Subscription Identifier."},
	{"MQTT-3.3.4-7", Client, true, "", "The client must not have more than the server's Receive Maximum QoS 1/2 PUBLISH packets unacknowledged."},
	{"MQTT-3.3.4-8", Client, true, "", "A client at its Receive Maximum must not delay packets other than PUBLISH."},
	{"MQTT-3.3.4-9", Server, true, "", "The server must not have more than the client's Receive Maximum QoS 1/2 PUBLISH packets unacknowledged."},
	{"MQTT-3.3.4-10", Server, true, "", "A server at the client's Receive Maximum must not delay packets other than PUBLISH."},

	// 3.4 PUBACK
	{"MQTT-3.4.2-1", Both, true, "", "The sender of a PUBACK must use one of the PUBACK Reason Codes."},
	{"MQTT-3.4.2-2", Both, true, "", "A PUBACK sender must omit the Reason String if it would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.4.2-3", Both, true, "", "A PUBACK sender must omit User Properties if they would exceed the receiver's Maximum Packet Size."},

	// 3.5 PUBREC
	{"MQTT-3.5.2-1", Both, true, "", "The sender of a PUBREC must use one of the PUBREC Reason Codes."},
	{"MQTT-3.5.2-2", Both, true, "", "A PUBREC sender must omit the Reason String if it would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.5.2-3", Both, true, "", "A PUBREC sender must omit User Properties if they would exceed the receiver's Maximum Packet Size."},

	// 3.6 PUBREL
	{"MQTT-3.6.1-1", Both, true, "", "PUBREL fixed-header flags must be 0010; the server must treat any other value as malformed and close the connection."},
	{"MQTT-3.6.2-1", Both, true, "", "The sender of a PUBREL must use one of the PUBREL Reason Codes."},
	{"MQTT-3.6.2-2", Both, true, "", "A PUBREL sender must omit the Reason String if it would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.6.2-3", Both, true, "", "A PUBREL sender must omit User Properties if they would exceed the receiver's Maximum Packet Size."},

	// 3.7 PUBCOMP
	{"MQTT-3.7.2-1", Both, true, "", "The sender of a PUBCOMP must use one of the PUBCOMP Reason Codes."},
	{"MQTT-3.7.2-2", Both, true, "", "A PUBCOMP sender must omit the Reason String if it would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.7.2-3", Both, true, "", "A PUBCOMP sender must omit User Properties if they would exceed the receiver's Maximum Packet Size."},

	// 3.8 SUBSCRIBE
	{"MQTT-3.8.1-1", Both, true, "", "SUBSCRIBE fixed-header flags must be 0010; the server must treat any other value as malformed and close the connection."},
	{"MQTT-3.8.3-1", Client, true, "", "Topic Filters in a SUBSCRIBE must be UTF-8 Encoded Strings."},
	{"MQTT-3.8.3-2", Both, true, "", "A SUBSCRIBE payload must contain at least one Topic Filter and Subscription Options pair."},
	{"MQTT-3.8.3-3", Server, true, "", "No Local 1: messages must not be forwarded to a connection whose ClientID is the publisher's."},
	{"MQTT-3.8.3-4", Both, true, "", "Setting No Local to 1 on a Shared Subscription is a Protocol Error."},
	{"MQTT-3.8.3-5", Server, true, "", "Non-zero reserved bits in the Subscription Options must make the server treat the SUBSCRIBE as malformed."},
	{"MQTT-3.8.4-1", Server, true, "", "Every SUBSCRIBE must be answered with a SUBACK."},
	{"MQTT-3.8.4-2", Server, true, "", "The SUBACK must carry the Packet Identifier of the SUBSCRIBE it acknowledges."},
	{"MQTT-3.8.4-3", Server, true, "", "A filter identical to one of the session's non-shared subscriptions must replace that subscription."},
	{"MQTT-3.8.4-4", Server, true, "", "On replacement with Retain Handling 0, matching retained messages must be resent and no message may be lost."},
	{"MQTT-3.8.4-5", Server, true, "", "A SUBSCRIBE with several filters must be handled like a series of SUBSCRIBEs answered by one combined SUBACK."},
	{"MQTT-3.8.4-6", Server, true, "", "The SUBACK must carry one Reason Code per Topic Filter/Subscription Options pair."},
	{"MQTT-3.8.4-7", Server, true, "", "Each SUBACK Reason Code must give the granted maximum QoS or indicate that the subscription failed."},
	{"MQTT-3.8.4-8", Server, true, "", "Messages for a subscription must go out at the lower of the published QoS and the granted QoS."},

	// 3.9 SUBACK
	{"MQTT-3.9.2-1", Server, true, "", "The server must omit the SUBACK Reason String if it would exceed the client's Maximum Packet Size."},
	{"MQTT-3.9.2-2", Server, true, "", "The server must omit SUBACK User Properties if they would exceed the client's Maximum Packet Size."},
	{"MQTT-3.9.3-1", Server, true, "", "SUBACK Reason Codes must follow the order of the filters in the SUBSCRIBE."},
	{"MQTT-3.9.3-2", Server, true, "", "The server must use one of the Subscribe Reason Codes for each filter received."},

	// 3.10 UNSUBSCRIBE
	{"MQTT-3.10.1-1", Both, true, "", "UNSUBSCRIBE fixed-header flags must be 0010; the server must treat any other value as malformed and close the connection."},
	{"MQTT-3.10.3-1", Client, true, "", "Topic Filters in an UNSUBSCRIBE must be UTF-8 Encoded Strings."},
	{"MQTT-3.10.3-2", Both, true, "", "An UNSUBSCRIBE payload must contain at least one Topic Filter."},
	{"MQTT-3.10.4-1", Server, true, "", "UNSUBSCRIBE filters must be compared character by character with the client's filters; an exact match must delete the subscription."},
	{"MQTT-3.10.4-2", Server, true, "", "After UNSUBSCRIBE the server must stop adding new matching messages for delivery to the client."},
	{"MQTT-3.10.4-3", Server, true, "", "After UNSUBSCRIBE the server must complete QoS 1 and 2 deliveries for those filters that it had started."},
	{"MQTT-3.10.4-4", Server, true, "", "Every UNSUBSCRIBE must be answered with an UNSUBACK."},
	{"MQTT-3.10.4-5", Server, true, "", "The UNSUBACK must carry the UNSUBSCRIBE's Packet Identifier and is required even if nothing was deleted."},
	{"MQTT-3.10.4-6", Server, true, "", "An UNSUBSCRIBE with several filters must be handled like a series of UNSUBSCRIBEs answered by a single UNSUBACK."},

	// 3.11 UNSUBACK
	{"MQTT-3.11.2-1", Server, true, "", "The server must omit the UNSUBACK Reason String if it would exceed the client's Maximum Packet Size."},
	{"MQTT-3.11.2-2", Server, true, "", "The server must omit UNSUBACK User Properties if they would exceed the client's Maximum Packet Size."},
	{"MQTT-3.11.3-1", Server, true, "", "UNSUBACK Reason Codes must follow the order of the filters in the UNSUBSCRIBE."},
	{"MQTT-3.11.3-2", Server, true, "", "The server must use one of the Unsubscribe Reason Codes for each filter received."},

	// 3.12 PINGREQ
	{"MQTT-3.12.4-1", Server, true, "", "Every PINGREQ must be answered with a PINGRESP."},

	// 3.14 DISCONNECT
	{"MQTT-3.14.0-1", Server, true, "", "The server must not send DISCONNECT before it has sent a CONNACK with a reason code below 0x80."},
	{"MQTT-3.14.1-1", Both, true, "", "The receiver must check that DISCONNECT reserved bits are 0 and otherwise answer DISCONNECT 0x81 (Malformed Packet)."},
	{"MQTT-3.14.2-1", Both, true, "", "The sender of a DISCONNECT must use one of the DISCONNECT Reason Codes."},
	{"MQTT-3.14.2-2", Server, true, "", "The server must not send Session Expiry Interval in a DISCONNECT."},
	{"MQTT-3.14.2-3", Both, true, "", "A DISCONNECT sender must omit the Reason String if it would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.14.2-4", Both, true, "", "A DISCONNECT sender must omit User Properties if they would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.14.4-1", Both, true, "", "After sending DISCONNECT the sender must not send any further packet on that connection."},
	{"MQTT-3.14.4-2", Both, true, "", "After sending DISCONNECT the sender must close the network connection."},
	{"MQTT-3.14.4-3", Server, true, "", "On DISCONNECT with reason 0x00 the server must discard the connection's Will Message without publishing it."},

	// 3.15 AUTH
	{"MQTT-3.15.1-1", Both, true, "", "AUTH fixed-header flags must all be 0; the receiver must treat other values as malformed and close the connection."},
	{"MQTT-3.15.2-1", Both, true, "", "The sender of an AUTH must use one of the Authenticate Reason Codes."},
	{"MQTT-3.15.2-2", Both, true, "", "An AUTH sender must omit the Reason String if it would exceed the receiver's Maximum Packet Size."},
	{"MQTT-3.15.2-3", Both, true, "", "An AUTH sender must omit User Properties if they would exceed the receiver's Maximum Packet Size."},

	// 4.1 Session State
	{"MQTT-4.1.0-1", Both, true, "", "Client and server must not discard session state while the network connection is open."},
	{"MQTT-4.1.0-2", Server, true, "", "The server must discard session state once the connection is closed and the Session Expiry Interval has passed."},

	// 4.2 Network Connections
	{"MQTT-4.2.0-1", Both, true, "", "Client and server must support at least one transport giving an ordered, lossless byte stream both ways. (Body tag: MQTT-4.2-1.)"},

	// 4.3 Quality of Service levels and protocol flows
	{"MQTT-4.3.1-1", Both, true, "", "QoS 0 delivery: the sender must send a PUBLISH with QoS 0 and DUP 0."},
	{"MQTT-4.3.2-1", Both, true, "", "QoS 1 sender: each new message must get an unused Packet Identifier."},
	{"MQTT-4.3.2-2", Both, true, "", "QoS 1 sender: the PUBLISH must carry that identifier with QoS 1 and DUP 0."},
	{"MQTT-4.3.2-3", Both, true, "", "QoS 1 sender: the PUBLISH must be treated as unacknowledged until its PUBACK arrives."},
	{"MQTT-4.3.2-4", Both, true, "", "QoS 1 receiver: after taking ownership it must send PUBACK with the PUBLISH's Packet Identifier."},
	{"MQTT-4.3.2-5", Both, true, "", "QoS 1 receiver: after its PUBACK, a PUBLISH with the same identifier must be treated as a new message, whatever its DUP flag."},
	{"MQTT-4.3.3-1", Both, true, "", "QoS 2 sender: each new message must get an unused Packet Identifier."},
	{"MQTT-4.3.3-2", Both, true, "", "QoS 2 sender: the PUBLISH must carry that identifier with QoS 2 and DUP 0."},
	{"MQTT-4.3.3-3", Both, true, "", "QoS 2 sender: the PUBLISH must be treated as unacknowledged until its PUBREC arrives."},
	{"MQTT-4.3.3-4", Both, true, "", "QoS 2 sender: a PUBREC below 0x80 must be answered with a PUBREL carrying the original Packet Identifier."},
	{"MQTT-4.3.3-5", Both, true, "", "QoS 2 sender: the PUBREL must be treated as unacknowledged until its PUBCOMP arrives."},
	{"MQTT-4.3.3-6", Both, true, "", "QoS 2 sender: the PUBLISH must not be resent once its PUBREL has been sent."},
	{"MQTT-4.3.3-7", Both, true, "", "QoS 2 sender: message expiry must not be applied once the PUBLISH has been sent."},
	{"MQTT-4.3.3-8", Both, true, "", "QoS 2 receiver: after taking ownership it must send PUBREC with the PUBLISH's Packet Identifier."},
	{"MQTT-4.3.3-9", Both, true, "", "QoS 2 receiver: after a PUBREC of 0x80 or above, a PUBLISH with that identifier must be treated as a new message."},
	{"MQTT-4.3.3-10", Both, true, "", "QoS 2 receiver: until PUBREL, a repeated PUBLISH with that identifier must get PUBREC again and must not be delivered twice."},
	{"MQTT-4.3.3-11", Both, true, "", "QoS 2 receiver: a PUBREL must be answered with a PUBCOMP carrying the same Packet Identifier."},
	{"MQTT-4.3.3-12", Both, true, "", "QoS 2 receiver: after its PUBCOMP, a PUBLISH with that identifier must be treated as a new message."},
	{"MQTT-4.3.3-13", Both, true, "", "QoS 2 receiver: it must complete the acknowledgement sequence even if it has applied message expiry."},

	// 4.4 Message delivery retry
	{"MQTT-4.4.0-1", Both, true, "", "On reconnect with Clean Start 0 and a session present, unacknowledged PUBLISH and PUBREL are resent with original IDs, and at no other time."},
	{"MQTT-4.4.0-2", Both, true, "", "A PUBLISH answered by PUBACK or PUBREC of 0x80 or above counts as acknowledged and must not be retransmitted."},

	// 4.5 Message receipt
	{"MQTT-4.5.0-1", Server, true, "", "A message the server takes ownership of must be added to the session state of every client with a matching subscription."},
	{"MQTT-4.5.0-2", Client, true, "", "A client must acknowledge every PUBLISH as its QoS requires, whether or not it processes the message."},

	// 4.6 Message ordering
	{"MQTT-4.6.0-1", Client, true, "", "A client re-sending PUBLISH packets must resend them in their original order (QoS 1 and 2)."},
	{"MQTT-4.6.0-2", Client, true, "", "A client must send PUBACKs in the order the QoS 1 PUBLISH packets arrived."},
	{"MQTT-4.6.0-3", Client, true, "", "A client must send PUBRECs in the order the QoS 2 PUBLISH packets arrived."},
	{"MQTT-4.6.0-4", Client, true, "", "A client must send PUBRELs in the order the PUBRECs arrived."},
	{"MQTT-4.6.0-5", Server, true, "", "For an Ordered Topic the server must send one client's messages to consumers in the order received, per topic and QoS."},
	{"MQTT-4.6.0-6", Server, true, "", "By default the server must treat every topic as an Ordered Topic when forwarding on non-shared subscriptions."},

	// 4.7 Topic Names and Topic Filters
	{"MQTT-4.7.0-1", Both, true, "", "Wildcard characters may appear in Topic Filters but must not appear in Topic Names."},
	{"MQTT-4.7.1-1", Both, true, "", "The multi-level wildcard '#' must stand alone or follow '/', and must be the last character of the filter."},
	{"MQTT-4.7.1-2", Both, true, "", "The single-level wildcard '+' may be used at any level but must occupy the whole level."},
	{"MQTT-4.7.2-1", Server, true, "", "Filters starting with '#' or '+' must not match Topic Names that begin with '$'."},
	{"MQTT-4.7.3-1", Both, true, "", "Topic Names and Topic Filters must be at least one character long."},
	{"MQTT-4.7.3-2", Both, true, "", "Topic Names and Topic Filters must not contain U+0000."},
	{"MQTT-4.7.3-3", Both, true, "", "Topic Names and Topic Filters must not encode to more than 65535 bytes."},
	{"MQTT-4.7.3-4", Server, true, "", "Subscription matching must not normalize topics nor modify or substitute unrecognized characters."},

	// 4.8 Subscriptions
	{"MQTT-4.8.2-1", Both, true, "", "A Shared Subscription filter must start with \"$share/\" followed by a ShareName of at least one character."},
	{"MQTT-4.8.2-2", Both, true, "", "The ShareName must not contain '/', '+' or '#' and must be followed by '/' and then a Topic Filter."},
	{"MQTT-4.8.2-3", Server, true, "", "When delivering on a Shared Subscription the server must respect the QoS granted to the chosen client."},
	{"MQTT-4.8.2-4", Server, true, "", "A QoS 2 shared delivery interrupted by a lost connection must be completed to the same client when it reconnects."},
	{"MQTT-4.8.2-5", Server, true, "", "If that client's session ends before it reconnects, the server must not send the message to another subscriber."},
	{"MQTT-4.8.2-6", Server, true, "", "If the chosen client answers with PUBACK or PUBREC of 0x80 or above, the server must drop the message and not try other subscribers."},

	// 4.9 Flow Control
	{"MQTT-4.9.0-1", Both, true, "", "Client and server must start their send quota at a non-zero value no greater than the peer's Receive Maximum."},
	{"MQTT-4.9.0-2", Both, true, "", "When the send quota reaches zero, no further QoS>0 PUBLISH may be sent until the quota grows."},
	{"MQTT-4.9.0-3", Both, true, "", "Even with a zero send quota, client and server must keep processing and answering all other packets."},

	// 4.12 Enhanced authentication
	{"MQTT-4.12.0-1", Server, true, "", "An unsupported Authentication Method may get CONNACK 0x8C or 0x87, and the server must close the connection."},
	{"MQTT-4.12.0-2", Server, true, "", "A server AUTH asking for more authentication data must carry reason code 0x18 (Continue authentication)."},
	{"MQTT-4.12.0-3", Client, true, "", "A client answering a server AUTH must send an AUTH with reason code 0x18 (Continue authentication)."},
	{"MQTT-4.12.0-4", Server, true, "", "The server may reject authentication at any step, optionally with CONNACK 0x80 or above, and must close the connection."},
	{"MQTT-4.12.0-5", Both, true, "", "If CONNECT had an Authentication Method, every AUTH and a successful CONNACK must carry the same method."},
	{"MQTT-4.12.0-6", Server, true, "", "If CONNECT had no Authentication Method, the server must send no AUTH and no Authentication Method in CONNACK."},
	{"MQTT-4.12.0-7", Client, true, "", "A client that sent no Authentication Method in CONNECT must not send AUTH."},
	{"MQTT-4.12.1-1", Client, true, "", "A client starting re-authentication (AUTH 0x19) must use the Authentication Method the connection was authenticated with."},
	{"MQTT-4.12.1-2", Both, true, "", "If re-authentication fails, the side detecting it should send DISCONNECT with a reason code and must close the connection."},

	// 4.13 Handling errors
	{"MQTT-4.13.1-1", Server, true, "", "On a Malformed Packet or Protocol Error that has a defined Reason Code, the server must close the connection."},
	{"MQTT-4.13.2-1", Both, true, "", "After a CONNACK or DISCONNECT reason code of 0x80 or above, the connection must be closed, whether or not the packet was sent."},

	// 6 Using WebSocket as a network transport
	{"MQTT-6.0.0-1", Both, true, "", "Over WebSocket, MQTT packets must travel in binary frames; a receiver of any other frame type must close the connection."},
	{"MQTT-6.0.0-2", Both, true, "", "A receiver must not assume that MQTT packets are aligned with WebSocket frame boundaries."},
	{"MQTT-6.0.0-3", Client, true, "", "A WebSocket client must offer the 'mqtt' subprotocol."},
	{"MQTT-6.0.0-4", Server, true, "", "A WebSocket server must select and return the 'mqtt' subprotocol."},
}
