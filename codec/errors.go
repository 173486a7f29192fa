package codec

import (
	"errors"
	"fmt"
	"strings"
)

// Rule is one validation rule of the codec: what it checks, the statement it enforces in each
// version, and the v5 reason code a receiver reports when the rule is broken.
type Rule struct {
	Name       string     // stable short name, e.g. "publish-qos3"
	V311       string     // statement ID in MQTT 3.1.1 ("" when 3.1.1 numbers no statement for it)
	V5         string     // statement ID in MQTT 5.0 ("" when 5.0 numbers no statement for it)
	Section311 string     // section of 3.1.1 where the rule is stated
	Section5   string     // section of 5.0 where the rule is stated
	Reason     ReasonCode // what a v5 receiver answers with (0x81 Malformed, 0x82 Protocol Error, …)
	Summary    string     // the rule in our own words
}

// Statement returns the rule's statement ID for a version (3.1 uses the 3.1.1 numbering: the 3.1
// specification numbers no statements).
func (r *Rule) Statement(v Version) string {
	if v == V5 {
		return r.V5
	}
	return r.V311
}

// Section returns the section that states the rule in a version.
func (r *Rule) Section(v Version) string {
	if v == V5 {
		return r.Section5
	}
	return r.Section311
}

const (
	malformed = ReasonMalformedPacket
	protocol  = ReasonProtocolError
)

// The codec's rules. Sections are given even where the specification numbers no statement, so an
// error always points at the text that decides it.
var (
	ruleTruncated        = &Rule{"truncated", "", "", "2.2.3", "2.1.4", malformed, "a field runs past the end of the packet"}
	ruleTrailing         = &Rule{"trailing-bytes", "", "", "2.2.3", "2.1.4", malformed, "bytes remain after the last field of the packet"}
	ruleVarintLong       = &Rule{"varint-too-long", "", "", "2.2.3", "1.5.5", malformed, "a variable byte integer uses more than four bytes"}
	ruleVarintMinimal    = &Rule{"varint-non-minimal", "", "MQTT-1.5.5-1", "2.2.3", "1.5.5", malformed, "a variable byte integer is not encoded in the fewest bytes"}
	rulePacketType       = &Rule{"packet-type-reserved", "", "", "2.2.1", "2.1.2", malformed, "the packet type is reserved (0, or 15 before 5.0)"}
	ruleReservedFlags    = &Rule{"reserved-flags", "MQTT-2.2.2-2", "MQTT-2.1.3-1", "2.2.2", "2.1.3", malformed, "fixed-header flags differ from the values the packet type requires"}
	rulePubrelFlags      = &Rule{"pubrel-flags", "MQTT-3.6.1-1", "MQTT-3.6.1-1", "3.6.1", "3.6.1", malformed, "PUBREL fixed-header flags must be 0010"}
	ruleSubscribeFlags   = &Rule{"subscribe-flags", "MQTT-3.8.1-1", "MQTT-3.8.1-1", "3.8.1", "3.8.1", malformed, "SUBSCRIBE fixed-header flags must be 0010"}
	ruleUnsubscribeFlags = &Rule{"unsubscribe-flags", "MQTT-3.10.1-1", "MQTT-3.10.1-1", "3.10.1", "3.10.1", malformed, "UNSUBSCRIBE fixed-header flags must be 0010"}
	ruleDisconnectFlags  = &Rule{"disconnect-flags", "MQTT-3.14.1-1", "MQTT-3.14.1-1", "3.14.1", "3.14.1", malformed, "DISCONNECT fixed-header flags must be zero"}
	ruleAuthFlags        = &Rule{"auth-flags", "", "MQTT-3.15.1-1", "", "3.15.1", malformed, "AUTH fixed-header flags must be zero"}
	rulePublishQoS3      = &Rule{"publish-qos3", "MQTT-3.3.1-4", "MQTT-3.3.1-4", "3.3.1.2", "3.3.1.2", malformed, "a PUBLISH must not have both QoS bits set"}
	rulePublishDupQoS0   = &Rule{"publish-dup-qos0", "MQTT-3.3.1-2", "MQTT-3.3.1-2", "3.3.1.1", "3.3.1.1", malformed, "a QoS 0 PUBLISH must have DUP 0"}
	rulePacketIDZero     = &Rule{"packet-id-zero", "MQTT-2.3.1-1", "MQTT-2.2.1-3", "2.3.1", "2.2.1", protocol, "SUBSCRIBE, UNSUBSCRIBE and QoS>0 PUBLISH need a non-zero packet identifier"}
	rulePacketIDZeroSrv  = &Rule{"packet-id-zero-server", "MQTT-2.3.1-1", "MQTT-2.2.1-4", "2.3.1", "2.2.1", protocol, "a QoS>0 PUBLISH sent by the server needs a non-zero packet identifier"}
	ruleAckIDZero        = &Rule{"ack-packet-id-zero", "MQTT-2.3.1-6", "MQTT-2.2.1-5", "2.3.1", "2.2.1", protocol, "PUBACK, PUBREC, PUBREL and PUBCOMP carry the (non-zero) identifier of the PUBLISH they answer"}
	ruleSubAckIDZero     = &Rule{"suback-packet-id-zero", "MQTT-2.3.1-7", "MQTT-2.2.1-6", "2.3.1", "2.2.1", protocol, "SUBACK and UNSUBACK carry the (non-zero) identifier of the request they answer"}
	ruleUTF8Invalid      = &Rule{"utf8-invalid", "MQTT-1.5.3-1", "MQTT-1.5.4-1", "1.5.3", "1.5.4", malformed, "a UTF-8 string is ill-formed or encodes a surrogate"}
	ruleUTF8Null         = &Rule{"utf8-null", "MQTT-1.5.3-2", "MQTT-1.5.4-2", "1.5.3", "1.5.4", malformed, "a UTF-8 string contains U+0000"}
	ruleTopicWildcard    = &Rule{"topic-name-wildcard", "MQTT-3.3.2-2", "MQTT-3.3.2-2", "3.3.2.1", "3.3.2.1", malformed, "a topic name must not contain + or #"}
	ruleWillTopicWild    = &Rule{"will-topic-wildcard", "MQTT-4.7.1-1", "MQTT-4.7.0-1", "4.7.1", "4.7.0", malformed, "a Will Topic is a topic name: it must not contain + or #"}
	ruleTopicEmpty       = &Rule{"topic-empty", "MQTT-4.7.3-1", "MQTT-4.7.3-1", "4.7.3", "4.7.3", protocol, "topic names and filters are at least one character long"}
	ruleTopicNoAlias     = &Rule{"topic-empty-no-alias", "", "", "", "3.3.2.3.4", protocol, "an empty topic name needs a Topic Alias"}
	ruleFilterHash       = &Rule{"filter-hash", "MQTT-4.7.1-2", "MQTT-4.7.1-1", "4.7.1.2", "4.7.1.2", protocol, "# must stand alone or after /, and be the last character of a filter"}
	ruleFilterPlus       = &Rule{"filter-plus", "MQTT-4.7.1-3", "MQTT-4.7.1-2", "4.7.1.3", "4.7.1.3", protocol, "+ must occupy a whole level of a filter"}
	ruleSharedInvalid    = &Rule{"shared-filter-invalid", "", "MQTT-4.8.2-2", "", "4.8.2", protocol, "$share/ needs a share name without / + #, followed by / and a filter"}
	ruleSharedEmptyName  = &Rule{"shared-name-empty", "", "MQTT-4.8.2-1", "", "4.8.2", protocol, "a shared subscription's share name is at least one character"}
	ruleSharedNoLocal    = &Rule{"shared-no-local", "", "MQTT-3.8.3-4", "", "3.8.3.1", protocol, "No Local must not be set on a shared subscription"}
	ruleSubscribeEmpty   = &Rule{"subscribe-empty", "MQTT-3.8.3-3", "MQTT-3.8.3-2", "3.8.3", "3.8.3", protocol, "a SUBSCRIBE carries at least one topic filter"}
	// 3.1.1 prints this statement's ID as "MQTT-3-8.3-4" (a typo in the OASIS text); we use the
	// well-formed spelling.
	ruleSubOptsReserved  = &Rule{"subscribe-options-reserved", "MQTT-3.8.3-4", "MQTT-3.8.3-5", "3.8.3", "3.8.3.1", malformed, "reserved bits of the subscription options byte must be zero"}
	ruleSubQoS3          = &Rule{"subscribe-qos3", "MQTT-3.8.3-4", "", "3.8.3", "3.8.3.1", protocol, "a requested QoS of 3 is not allowed (5.0 calls it a Protocol Error)"}
	ruleRetainHandling3  = &Rule{"retain-handling-3", "", "", "", "3.8.3.1", protocol, "Retain Handling 3 is not allowed"}
	ruleUnsubscribeEmpty = &Rule{"unsubscribe-empty", "MQTT-3.10.3-2", "MQTT-3.10.3-2", "3.10.3", "3.10.3", protocol, "an UNSUBSCRIBE carries at least one topic filter"}
	ruleProtocolName     = &Rule{"connect-protocol-name", "MQTT-3.1.2-1", "MQTT-3.1.2-1", "3.1.2.1", "3.1.2.1", ReasonUnsupportedProtocolVersion, "the protocol name must be MQTT (MQIsdp for 3.1)"}
	ruleProtocolLevel    = &Rule{"connect-protocol-level", "MQTT-3.1.2-2", "MQTT-3.1.2-2", "3.1.2.2", "3.1.2.2", ReasonUnsupportedProtocolVersion, "the protocol level is not one this receiver supports"}
	ruleConnectReserved  = &Rule{"connect-reserved-flag", "MQTT-3.1.2-3", "MQTT-3.1.2-3", "3.1.2.3", "3.1.2.3", malformed, "the reserved bit of the CONNECT flags must be zero"}
	ruleWillQoSNoWill    = &Rule{"will-qos-without-will", "MQTT-3.1.2-13", "MQTT-3.1.2-11", "3.1.2.6", "3.1.2.6", malformed, "Will QoS must be 0 when the Will Flag is 0"}
	ruleWillQoS3         = &Rule{"will-qos3", "MQTT-3.1.2-14", "MQTT-3.1.2-12", "3.1.2.6", "3.1.2.6", malformed, "Will QoS must not be 3"}
	ruleWillRetainNoWill = &Rule{"will-retain-without-will", "MQTT-3.1.2-15", "MQTT-3.1.2-13", "3.1.2.7", "3.1.2.7", malformed, "Will Retain must be 0 when the Will Flag is 0"}
	rulePasswordNoUser   = &Rule{"password-without-username", "MQTT-3.1.2-22", "", "3.1.2.9", "", malformed, "3.1.1 forbids a password without a user name"}
	ruleConnackFlags     = &Rule{"connack-reserved-flags", "", "MQTT-3.2.2-1", "3.2.2.1", "3.2.2.1", malformed, "bits 7-1 of the CONNACK acknowledge flags must be zero"}
	ruleConnackPresent   = &Rule{"connack-session-present-on-error", "MQTT-3.2.2-4", "MQTT-3.2.2-6", "3.2.2.2", "3.2.2.1.1", protocol, "a refusing CONNACK must have Session Present 0"}
	rulePropUnknown      = &Rule{"property-unknown", "", "", "", "2.2.2.2", malformed, "unknown property identifier"}
	rulePropNotAllowed   = &Rule{"property-not-allowed", "", "", "", "2.2.2.2", malformed, "the property is not allowed in this packet"}
	rulePropDuplicate    = &Rule{"property-duplicate", "", "", "", "2.2.2.2", protocol, "the property may appear only once"}
	rulePropValue        = &Rule{"property-value", "", "", "", "2.2.2.2", protocol, "the property has a value the specification forbids"}
	rulePropLength       = &Rule{"property-length", "", "", "", "2.2.2.1", malformed, "the property length disagrees with the properties present"}
	ruleTopicAliasZero   = &Rule{"topic-alias-zero", "", "MQTT-3.3.2-8", "", "3.3.2.3.4", ReasonTopicAliasInvalid, "a Topic Alias of 0 is not allowed"}
	ruleSubIDZero        = &Rule{"subscription-id-zero", "", "", "", "3.3.2.3.8", protocol, "a Subscription Identifier of 0 is not allowed"}
	ruleResponseWildcard = &Rule{"response-topic-wildcard", "", "MQTT-3.3.2-14", "", "3.3.2.3.5", protocol, "a Response Topic must not contain wildcards"}
	ruleSubIDFromClient  = &Rule{"publish-subscription-id-from-client", "", "MQTT-3.3.4-6", "", "3.3.4", protocol, "a client's PUBLISH must not carry a Subscription Identifier"}
	ruleDiscExpiryServer = &Rule{"disconnect-session-expiry-from-server", "", "MQTT-3.14.2-2", "", "3.14.2.2.2", protocol, "a server's DISCONNECT must not carry Session Expiry Interval"}
	ruleAuthDataNoMethod = &Rule{"auth-data-without-method", "", "", "", "3.1.2.11.10", protocol, "Authentication Data needs an Authentication Method"}
	rulePacketTooLarge   = &Rule{"packet-too-large", "", "", "", "3.1.2.11.4", ReasonPacketTooLarge, "the packet exceeds the receiver's maximum packet size"}
	ruleWrongVersionPkt  = &Rule{"packet-needs-v5", "", "", "2.2.1", "2.1.2", malformed, "AUTH exists only in MQTT 5.0"}
)

// reasonRules cite, per packet type, the statement that limits the reason codes a sender may use.
var reasonRules = map[PacketType]*Rule{
	CONNACK:    {"connack-reason-code", "", "MQTT-3.2.2-8", "3.2.2.3", "3.2.2.2", protocol, "CONNACK must use a defined connect reason/return code"},
	PUBACK:     {"puback-reason-code", "", "MQTT-3.4.2-1", "", "3.4.2.1", protocol, "PUBACK must use a PUBACK reason code"},
	PUBREC:     {"pubrec-reason-code", "", "MQTT-3.5.2-1", "", "3.5.2.1", protocol, "PUBREC must use a PUBREC reason code"},
	PUBREL:     {"pubrel-reason-code", "", "MQTT-3.6.2-1", "", "3.6.2.1", protocol, "PUBREL must use a PUBREL reason code"},
	PUBCOMP:    {"pubcomp-reason-code", "", "MQTT-3.7.2-1", "", "3.7.2.1", protocol, "PUBCOMP must use a PUBCOMP reason code"},
	SUBACK:     {"suback-reason-code", "MQTT-3.9.3-2", "MQTT-3.9.3-2", "3.9.3", "3.9.3", protocol, "SUBACK must use a subscribe reason/return code"},
	UNSUBACK:   {"unsuback-reason-code", "", "MQTT-3.11.3-2", "", "3.11.3", protocol, "UNSUBACK must use an unsubscribe reason code"},
	DISCONNECT: {"disconnect-reason-code", "", "MQTT-3.14.2-1", "", "3.14.2.1", protocol, "DISCONNECT must use a disconnect reason code"},
	AUTH:       {"auth-reason-code", "", "MQTT-3.15.2-1", "", "3.15.2.1", protocol, "AUTH must use an authenticate reason code"},
}

var allRules = []*Rule{ruleTruncated, ruleTrailing, ruleVarintLong, ruleVarintMinimal, rulePacketType,
	ruleReservedFlags, rulePubrelFlags, ruleSubscribeFlags, ruleUnsubscribeFlags, ruleDisconnectFlags,
	ruleAuthFlags, rulePublishQoS3, rulePublishDupQoS0, rulePacketIDZero, rulePacketIDZeroSrv, ruleAckIDZero,
	ruleSubAckIDZero, ruleUTF8Invalid, ruleUTF8Null,
	ruleTopicWildcard, ruleWillTopicWild, ruleTopicEmpty, ruleTopicNoAlias, ruleFilterHash, ruleFilterPlus, ruleSharedInvalid,
	ruleSharedEmptyName, ruleSharedNoLocal, ruleSubscribeEmpty, ruleSubOptsReserved, ruleSubQoS3,
	ruleRetainHandling3, ruleUnsubscribeEmpty, ruleProtocolName, ruleProtocolLevel, ruleConnectReserved,
	ruleWillQoSNoWill, ruleWillQoS3, ruleWillRetainNoWill, rulePasswordNoUser, ruleConnackFlags,
	ruleConnackPresent, rulePropUnknown, rulePropNotAllowed, rulePropDuplicate,
	rulePropValue, rulePropLength, ruleTopicAliasZero, ruleSubIDZero, ruleResponseWildcard,
	ruleSubIDFromClient, ruleDiscExpiryServer, ruleAuthDataNoMethod, rulePacketTooLarge, ruleWrongVersionPkt}

// Rules returns every validation rule of the codec, for documentation and for cross-checking the
// cited statement IDs against the statement registry.
func Rules() []Rule {
	out := make([]Rule, 0, len(allRules)+len(reasonRules))
	for _, r := range allRules {
		out = append(out, *r)
	}
	for _, t := range []PacketType{CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH} {
		out = append(out, *reasonRules[t])
	}
	return out
}

// Error is a violation found while decoding (or validating) a packet.
type Error struct {
	Rule      string     // the rule's stable short name
	Statement string     // normative statement ID for Version, "" when the specification numbers none
	Section   string     // section of the specification that states the rule
	Version   Version    // version the packet was decoded as
	Packet    PacketType // packet being decoded (0 before the type is known)
	Reason    ReasonCode // v5 reason code the receiver answers with
	Field     string     // the field that broke the rule, e.g. "topic name"
	Offset    int        // byte offset from the start of the packet, -1 when unknown
	Detail    string     // what was found
}

// Error renders as "PUBLISH topic name: QoS 3 [MQTT-3.3.1-4]".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Packet != 0 {
		b.WriteString(e.Packet.String())
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " (at byte %d)", e.Offset)
	}
	b.WriteString(" [")
	b.WriteString(e.Cite())
	b.WriteByte(']')
	return b.String()
}

// Cite returns the statement ID, or "§section" when the specification numbers no statement.
func (e *Error) Cite() string {
	if e.Statement != "" {
		return e.Statement
	}
	if e.Section != "" {
		return "MQTT " + e.Version.String() + " §" + e.Section
	}
	return e.Rule
}

// Sentinel errors that a *Error matches with errors.Is, by the reason code it carries.
var (
	ErrMalformed      = errors.New("malformed packet")
	ErrProtocol       = errors.New("protocol error")
	ErrPacketTooLarge = errors.New("packet too large")
)

// Is lets errors.Is(err, ErrMalformed) and friends classify a decode error.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrMalformed:
		return e.Reason == ReasonMalformedPacket
	case ErrProtocol:
		return e.Reason != ReasonMalformedPacket && e.Reason != ReasonPacketTooLarge
	case ErrPacketTooLarge:
		return e.Reason == ReasonPacketTooLarge
	}
	return false
}

func newError(r *Rule, v Version, t PacketType, field string, off int, detail string) *Error {
	if detail == "" {
		detail = r.Summary
	}
	return &Error{Rule: r.Name, Statement: r.Statement(v), Section: r.Section(v), Version: v, Packet: t,
		Reason: r.Reason, Field: field, Offset: off, Detail: detail}
}
