package codec

import "fmt"

// ReasonCode is an MQTT 5.0 reason code (or, in 3.1.1, a CONNACK return code / SUBACK return
// code, which share the byte).
type ReasonCode byte

// MQTT 5.0 reason codes (section 2.4). Several codes share a value; the name used depends on the
// packet (see ReasonCode.NameFor).
const (
	ReasonSuccess                     ReasonCode = 0x00
	ReasonNormalDisconnection         ReasonCode = 0x00
	ReasonGrantedQoS0                 ReasonCode = 0x00
	ReasonGrantedQoS1                 ReasonCode = 0x01
	ReasonGrantedQoS2                 ReasonCode = 0x02
	ReasonDisconnectWithWill          ReasonCode = 0x04
	ReasonNoMatchingSubscribers       ReasonCode = 0x10
	ReasonNoSubscriptionExisted       ReasonCode = 0x11
	ReasonContinueAuthentication      ReasonCode = 0x18
	ReasonReAuthenticate              ReasonCode = 0x19
	ReasonUnspecifiedError            ReasonCode = 0x80
	ReasonMalformedPacket             ReasonCode = 0x81
	ReasonProtocolError               ReasonCode = 0x82
	ReasonImplementationSpecific      ReasonCode = 0x83
	ReasonUnsupportedProtocolVersion  ReasonCode = 0x84
	ReasonClientIDNotValid            ReasonCode = 0x85
	ReasonBadUsernameOrPassword       ReasonCode = 0x86
	ReasonNotAuthorized               ReasonCode = 0x87
	ReasonServerUnavailable           ReasonCode = 0x88
	ReasonServerBusy                  ReasonCode = 0x89
	ReasonBanned                      ReasonCode = 0x8A
	ReasonServerShuttingDown          ReasonCode = 0x8B
	ReasonBadAuthenticationMethod     ReasonCode = 0x8C
	ReasonKeepAliveTimeout            ReasonCode = 0x8D
	ReasonSessionTakenOver            ReasonCode = 0x8E
	ReasonTopicFilterInvalid          ReasonCode = 0x8F
	ReasonTopicNameInvalid            ReasonCode = 0x90
	ReasonPacketIDInUse               ReasonCode = 0x91
	ReasonPacketIDNotFound            ReasonCode = 0x92
	ReasonReceiveMaximumExceeded      ReasonCode = 0x93
	ReasonTopicAliasInvalid           ReasonCode = 0x94
	ReasonPacketTooLarge              ReasonCode = 0x95
	ReasonMessageRateTooHigh          ReasonCode = 0x96
	ReasonQuotaExceeded               ReasonCode = 0x97
	ReasonAdministrativeAction        ReasonCode = 0x98
	ReasonPayloadFormatInvalid        ReasonCode = 0x99
	ReasonRetainNotSupported          ReasonCode = 0x9A
	ReasonQoSNotSupported             ReasonCode = 0x9B
	ReasonUseAnotherServer            ReasonCode = 0x9C
	ReasonServerMoved                 ReasonCode = 0x9D
	ReasonSharedSubsNotSupported      ReasonCode = 0x9E
	ReasonConnectionRateExceeded      ReasonCode = 0x9F
	ReasonMaximumConnectTime          ReasonCode = 0xA0
	ReasonSubscriptionIDsNotSupported ReasonCode = 0xA1
	ReasonWildcardSubsNotSupported    ReasonCode = 0xA2
)

// MQTT 3.1 / 3.1.1 CONNACK return codes (section 3.2.2.3 of 3.1.1).
const (
	ConnAccepted                   ReasonCode = 0x00
	ConnRefusedProtocolVersion     ReasonCode = 0x01
	ConnRefusedIdentifierRejected  ReasonCode = 0x02
	ConnRefusedServerUnavailable   ReasonCode = 0x03
	ConnRefusedBadUsernamePassword ReasonCode = 0x04
	ConnRefusedNotAuthorized       ReasonCode = 0x05
	// SubackFailure is the 3.1.1 SUBACK return code for a refused subscription.
	SubackFailure ReasonCode = 0x80
)

var reasonNames = map[ReasonCode]string{
	0x00: "Success", 0x01: "Granted QoS 1", 0x02: "Granted QoS 2", 0x04: "Disconnect with Will Message",
	0x10: "No matching subscribers", 0x11: "No subscription existed", 0x18: "Continue authentication",
	0x19: "Re-authenticate", 0x80: "Unspecified error", 0x81: "Malformed Packet", 0x82: "Protocol Error",
	0x83: "Implementation specific error", 0x84: "Unsupported Protocol Version",
	0x85: "Client Identifier not valid", 0x86: "Bad User Name or Password", 0x87: "Not authorized",
	0x88: "Server unavailable", 0x89: "Server busy", 0x8A: "Banned", 0x8B: "Server shutting down",
	0x8C: "Bad authentication method", 0x8D: "Keep Alive timeout", 0x8E: "Session taken over",
	0x8F: "Topic Filter invalid", 0x90: "Topic Name invalid", 0x91: "Packet Identifier in use",
	0x92: "Packet Identifier not found", 0x93: "Receive Maximum exceeded", 0x94: "Topic Alias invalid",
	0x95: "Packet too large", 0x96: "Message rate too high", 0x97: "Quota exceeded",
	0x98: "Administrative action", 0x99: "Payload format invalid", 0x9A: "Retain not supported",
	0x9B: "QoS not supported", 0x9C: "Use another server", 0x9D: "Server moved",
	0x9E: "Shared Subscriptions not supported", 0x9F: "Connection rate exceeded",
	0xA0: "Maximum connect time", 0xA1: "Subscription Identifiers not supported",
	0xA2: "Wildcard Subscriptions not supported",
}

var connackV3Names = [...]string{"Connection Accepted", "Unacceptable protocol version", "Identifier rejected",
	"Server unavailable", "Bad user name or password", "Not authorized"}

// String returns the v5 name of the code, with its value in hex.
func (r ReasonCode) String() string {
	if n, ok := reasonNames[r]; ok {
		return fmt.Sprintf("0x%02X %s", byte(r), n)
	}
	return fmt.Sprintf("0x%02X (unassigned)", byte(r))
}

// NameFor names the code as the given packet type and version use it ("Normal disconnection" for
// DISCONNECT 0x00, "Granted QoS 0" for SUBACK 0x00, "Identifier rejected" for a 3.1.1 CONNACK 2).
func (r ReasonCode) NameFor(t PacketType, v Version) string {
	if v != V5 {
		switch t {
		case CONNACK:
			if int(r) < len(connackV3Names) {
				return connackV3Names[r]
			}
			return "reserved return code"
		case SUBACK:
			switch r {
			case 0, 1, 2:
				return fmt.Sprintf("Success - Maximum QoS %d", r)
			case 0x80:
				return "Failure"
			}
			return "reserved return code"
		}
	}
	if r == 0 {
		switch t {
		case DISCONNECT:
			return "Normal disconnection"
		case SUBACK:
			return "Granted QoS 0"
		}
	}
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return "unassigned"
}

// IsError reports whether the code signals failure (0x80 and above).
func (r ReasonCode) IsError() bool { return r >= 0x80 }

// reasonSets lists, per packet type, the v5 reason codes a sender may use (sections 3.2.2.2,
// 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1).
var reasonSets = map[PacketType][]ReasonCode{
	CONNACK: {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95,
		0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F},
	PUBACK:   {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99},
	PUBREC:   {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99},
	PUBREL:   {0x00, 0x92},
	PUBCOMP:  {0x00, 0x92},
	SUBACK:   {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2},
	UNSUBACK: {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91},
	DISCONNECT: {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
		0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2},
	AUTH: {0x00, 0x18, 0x19},
}

// reasonAllowed is reasonSets as a bitmap for the hot path: reasonAllowed[t][code>>6] bit code&63.
var reasonAllowed [16][4]uint64

func init() {
	for t, codes := range reasonSets {
		for _, c := range codes {
			reasonAllowed[t][c>>6] |= 1 << (c & 63)
		}
	}
}

// ReasonCodesFor returns the v5 reason codes a sender of packet type t may use.
func ReasonCodesFor(t PacketType) []ReasonCode {
	return append([]ReasonCode(nil), reasonSets[t]...)
}

// ValidFor reports whether the code is one the given v5 packet type may carry.
func (r ReasonCode) ValidFor(t PacketType) bool {
	return t < 16 && reasonAllowed[t][r>>6]&(1<<(r&63)) != 0
}
