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
	ruleTruncated        = &Rule{Name: "truncated", Section311: "2.2.3", Section5: "2.1.4", Reason: malformed, Summary: "a field runs past the end of the packet"}
	ruleTrailing         = &Rule{Name: "trailing-bytes", Section311: "2.2.3", Section5: "2.1.4", Reason: malformed, Summary: "bytes remain after the last field of the packet"}
	ruleVarintLong       = &Rule{Name: "varint-too-long", Section311: "2.2.3", Section5: "1.5.5", Reason: malformed, Summary: "a variable byte integer uses more than four bytes"}
	ruleVarintMinimal    = &Rule{Name: "varint-non-minimal", V5: "MQTT-1.5.5-1", Section311: "2.2.3", Section5: "1.5.5", Reason: malformed, Summary: "a variable byte integer is not encoded in the fewest bytes"}
	rulePacketType       = &Rule{Name: "packet-type-reserved", Section311: "2.2.1", Section5: "2.1.2", Reason: malformed, Summary: "the packet type is reserved (0, or 15 before 5.0)"}
	ruleReservedFlags    = &Rule{Name: "reserved-flags", V311: "MQTT-2.2.2-2", V5: "MQTT-2.1.3-1", Section311: "2.2.2", Section5: "2.1.3", Reason: malformed, Summary: "fixed-header flags differ from the values the packet type requires"}
	rulePubrelFlags      = &Rule{Name: "pubrel-flags", V311: "MQTT-3.6.1-1", V5: "MQTT-3.6.1-1", Section311: "3.6.1", Section5: "3.6.1", Reason: malformed, Summary: "PUBREL fixed-header flags must be 0010"}
	ruleSubscribeFlags   = &Rule{Name: "subscribe-flags", V311: "MQTT-3.8.1-1", V5: "MQTT-3.8.1-1", Section311: "3.8.1", Section5: "3.8.1", Reason: malformed, Summary: "SUBSCRIBE fixed-header flags must be 0010"}
	ruleUnsubscribeFlags = &Rule{Name: "unsubscribe-flags", V311: "MQTT-3.10.1-1", V5: "MQTT-3.10.1-1", Section311: "3.10.1", Section5: "3.10.1", Reason: malformed, Summary: "UNSUBSCRIBE fixed-header flags must be 0010"}
	ruleDisconnectFlags  = &Rule{Name: "disconnect-flags", V311: "MQTT-3.14.1-1", V5: "MQTT-3.14.1-1", Section311: "3.14.1", Section5: "3.14.1", Reason: malformed, Summary: "DISCONNECT fixed-header flags must be zero"}
	ruleAuthFlags        = &Rule{Name: "auth-flags", V5: "MQTT-3.15.1-1", Section5: "3.15.1", Reason: malformed, Summary: "AUTH fixed-header flags must be zero"}
	rulePublishQoS3      = &Rule{Name: "publish-qos3", V311: "MQTT-3.3.1-4", V5: "MQTT-3.3.1-4", Section311: "3.3.1.2", Section5: "3.3.1.2", Reason: malformed, Summary: "a PUBLISH must not have both QoS bits set"}
	rulePublishDupQoS0   = &Rule{Name: "publish-dup-qos0", V311: "MQTT-3.3.1-2", V5: "MQTT-3.3.1-2", Section311: "3.3.1.1", Section5: "3.3.1.1", Reason: malformed, Summary: "a QoS 0 PUBLISH must have DUP 0"}
	rulePacketIDZero     = &Rule{Name: "packet-id-zero", V311: "MQTT-2.3.1-1", V5: "MQTT-2.2.1-3", Section311: "2.3.1", Section5: "2.2.1", Reason: protocol, Summary: "SUBSCRIBE, UNSUBSCRIBE and QoS>0 PUBLISH need a non-zero packet identifier"}
	rulePacketIDZeroSrv  = &Rule{Name: "packet-id-zero-server", V311: "MQTT-2.3.1-1", V5: "MQTT-2.2.1-4", Section311: "2.3.1", Section5: "2.2.1", Reason: protocol, Summary: "a QoS>0 PUBLISH sent by the server needs a non-zero packet identifier"}
	ruleAckIDZero        = &Rule{Name: "ack-packet-id-zero", V311: "MQTT-2.3.1-6", V5: "MQTT-2.2.1-5", Section311: "2.3.1", Section5: "2.2.1", Reason: protocol, Summary: "PUBACK, PUBREC, PUBREL and PUBCOMP carry the (non-zero) identifier of the PUBLISH they answer"}
	ruleSubAckIDZero     = &Rule{Name: "suback-packet-id-zero", V311: "MQTT-2.3.1-7", V5: "MQTT-2.2.1-6", Section311: "2.3.1", Section5: "2.2.1", Reason: protocol, Summary: "SUBACK and UNSUBACK carry the (non-zero) identifier of the request they answer"}
	ruleUTF8Invalid      = &Rule{Name: "utf8-invalid", V311: "MQTT-1.5.3-1", V5: "MQTT-1.5.4-1", Section311: "1.5.3", Section5: "1.5.4", Reason: malformed, Summary: "a UTF-8 string is ill-formed or encodes a surrogate"}
	ruleUTF8Null         = &Rule{Name: "utf8-null", V311: "MQTT-1.5.3-2", V5: "MQTT-1.5.4-2", Section311: "1.5.3", Section5: "1.5.4", Reason: malformed, Summary: "a UTF-8 string contains U+0000"}
	ruleTopicWildcard    = &Rule{Name: "topic-name-wildcard", V311: "MQTT-3.3.2-2", V5: "MQTT-3.3.2-2", Section311: "3.3.2.1", Section5: "3.3.2.1", Reason: malformed, Summary: "a topic name must not contain + or #"}
	ruleWillTopicWild    = &Rule{Name: "will-topic-wildcard", V311: "MQTT-4.7.1-1", V5: "MQTT-4.7.0-1", Section311: "4.7.1", Section5: "4.7.0", Reason: malformed, Summary: "a Will Topic is a topic name: it must not contain + or #"}
	ruleTopicEmpty       = &Rule{Name: "topic-empty", V311: "MQTT-4.7.3-1", V5: "MQTT-4.7.3-1", Section311: "4.7.3", Section5: "4.7.3", Reason: protocol, Summary: "topic names and filters are at least one character long"}
	ruleTopicNoAlias     = &Rule{Name: "topic-empty-no-alias", Section5: "3.3.2.3.4", Reason: protocol, Summary: "an empty topic name needs a Topic Alias"}
	ruleFilterHash       = &Rule{Name: "filter-hash", V311: "MQTT-4.7.1-2", V5: "MQTT-4.7.1-1", Section311: "4.7.1.2", Section5: "4.7.1.2", Reason: protocol, Summary: "# must stand alone or after /, and be the last character of a filter"}
	ruleFilterPlus       = &Rule{Name: "filter-plus", V311: "MQTT-4.7.1-3", V5: "MQTT-4.7.1-2", Section311: "4.7.1.3", Section5: "4.7.1.3", Reason: protocol, Summary: "+ must occupy a whole level of a filter"}
	ruleSharedInvalid    = &Rule{Name: "shared-filter-invalid", V5: "MQTT-4.8.2-2", Section5: "4.8.2", Reason: protocol, Summary: "$share/ needs a share name without / + #, followed by / and a filter"}
	ruleSharedEmptyName  = &Rule{Name: "shared-name-empty", V5: "MQTT-4.8.2-1", Section5: "4.8.2", Reason: protocol, Summary: "a shared subscription's share name is at least one character"}
	ruleSharedNoLocal    = &Rule{Name: "shared-no-local", V5: "MQTT-3.8.3-4", Section5: "3.8.3.1", Reason: protocol, Summary: "No Local must not be set on a shared subscription"}
	ruleSubscribeEmpty   = &Rule{Name: "subscribe-empty", V311: "MQTT-3.8.3-3", V5: "MQTT-3.8.3-2", Section311: "3.8.3", Section5: "3.8.3", Reason: protocol, Summary: "a SUBSCRIBE carries at least one topic filter"}
	// 3.1.1 prints this statement's ID as "MQTT-3-8.3-4" (a typo in the OASIS text); we use the
	// well-formed spelling.
	ruleSubOptsReserved  = &Rule{Name: "subscribe-options-reserved", V311: "MQTT-3.8.3-4", V5: "MQTT-3.8.3-5", Section311: "3.8.3", Section5: "3.8.3.1", Reason: malformed, Summary: "reserved bits of the subscription options byte must be zero"}
	ruleSubQoS3          = &Rule{Name: "subscribe-qos3", V311: "MQTT-3.8.3-4", Section311: "3.8.3", Section5: "3.8.3.1", Reason: protocol, Summary: "a requested QoS of 3 is not allowed (5.0 calls it a Protocol Error)"}
	ruleRetainHandling3  = &Rule{Name: "retain-handling-3", Section5: "3.8.3.1", Reason: protocol, Summary: "Retain Handling 3 is not allowed"}
	ruleUnsubscribeEmpty = &Rule{Name: "unsubscribe-empty", V311: "MQTT-3.10.3-2", V5: "MQTT-3.10.3-2", Section311: "3.10.3", Section5: "3.10.3", Reason: protocol, Summary: "an UNSUBSCRIBE carries at least one topic filter"}
	ruleProtocolName     = &Rule{Name: "connect-protocol-name", V311: "MQTT-3.1.2-1", V5: "MQTT-3.1.2-1", Section311: "3.1.2.1", Section5: "3.1.2.1", Reason: ReasonUnsupportedProtocolVersion, Summary: "the protocol name must be MQTT (MQIsdp for 3.1)"}
	ruleProtocolLevel    = &Rule{Name: "connect-protocol-level", V311: "MQTT-3.1.2-2", V5: "MQTT-3.1.2-2", Section311: "3.1.2.2", Section5: "3.1.2.2", Reason: ReasonUnsupportedProtocolVersion, Summary: "the protocol level is not one this receiver supports"}
	ruleConnectReserved  = &Rule{Name: "connect-reserved-flag", V311: "MQTT-3.1.2-3", V5: "MQTT-3.1.2-3", Section311: "3.1.2.3", Section5: "3.1.2.3", Reason: malformed, Summary: "the reserved bit of the CONNECT flags must be zero"}
	ruleWillQoSNoWill    = &Rule{Name: "will-qos-without-will", V311: "MQTT-3.1.2-13", V5: "MQTT-3.1.2-11", Section311: "3.1.2.6", Section5: "3.1.2.6", Reason: malformed, Summary: "Will QoS must be 0 when the Will Flag is 0"}
	ruleWillQoS3         = &Rule{Name: "will-qos3", V311: "MQTT-3.1.2-14", V5: "MQTT-3.1.2-12", Section311: "3.1.2.6", Section5: "3.1.2.6", Reason: malformed, Summary: "Will QoS must not be 3"}
	ruleWillRetainNoWill = &Rule{Name: "will-retain-without-will", V311: "MQTT-3.1.2-15", V5: "MQTT-3.1.2-13", Section311: "3.1.2.7", Section5: "3.1.2.7", Reason: malformed, Summary: "Will Retain must be 0 when the Will Flag is 0"}
	rulePasswordNoUser   = &Rule{Name: "password-without-username", V311: "MQTT-3.1.2-22", Section311: "3.1.2.9", Reason: malformed, Summary: "3.1.1 forbids a password without a user name"}
	ruleConnackFlags     = &Rule{Name: "connack-reserved-flags", V5: "MQTT-3.2.2-1", Section311: "3.2.2.1", Section5: "3.2.2.1", Reason: malformed, Summary: "bits 7-1 of the CONNACK acknowledge flags must be zero"}
	ruleConnackPresent   = &Rule{Name: "connack-session-present-on-error", V311: "MQTT-3.2.2-4", V5: "MQTT-3.2.2-6", Section311: "3.2.2.2", Section5: "3.2.2.1.1", Reason: protocol, Summary: "a refusing CONNACK must have Session Present 0"}
	rulePropUnknown      = &Rule{Name: "property-unknown", Section5: "2.2.2.2", Reason: malformed, Summary: "unknown property identifier"}
	rulePropNotAllowed   = &Rule{Name: "property-not-allowed", Section5: "2.2.2.2", Reason: malformed, Summary: "the property is not allowed in this packet"}
	rulePropDuplicate    = &Rule{Name: "property-duplicate", Section5: "2.2.2.2", Reason: protocol, Summary: "the property may appear only once"}
	rulePropValue        = &Rule{Name: "property-value", Section5: "2.2.2.2", Reason: protocol, Summary: "the property has a value the specification forbids"}
	rulePropLength       = &Rule{Name: "property-length", Section5: "2.2.2.1", Reason: malformed, Summary: "the property length disagrees with the properties present"}
	ruleTopicAliasZero   = &Rule{Name: "topic-alias-zero", V5: "MQTT-3.3.2-8", Section5: "3.3.2.3.4", Reason: ReasonTopicAliasInvalid, Summary: "a Topic Alias of 0 is not allowed"}
	ruleSubIDZero        = &Rule{Name: "subscription-id-zero", Section5: "3.3.2.3.8", Reason: protocol, Summary: "a Subscription Identifier of 0 is not allowed"}
	ruleResponseWildcard = &Rule{Name: "response-topic-wildcard", V5: "MQTT-3.3.2-14", Section5: "3.3.2.3.5", Reason: protocol, Summary: "a Response Topic must not contain wildcards"}
	ruleSubIDFromClient  = &Rule{Name: "publish-subscription-id-from-client", V5: "MQTT-3.3.4-6", Section5: "3.3.4", Reason: protocol, Summary: "a client's PUBLISH must not carry a Subscription Identifier"}
	ruleDiscExpiryServer = &Rule{Name: "disconnect-session-expiry-from-server", V5: "MQTT-3.14.2-2", Section5: "3.14.2.2.2", Reason: protocol, Summary: "a server's DISCONNECT must not carry Session Expiry Interval"}
	ruleAuthDataNoMethod = &Rule{Name: "auth-data-without-method", Section5: "3.1.2.11.10", Reason: protocol, Summary: "Authentication Data needs an Authentication Method"}
	rulePacketTooLarge   = &Rule{Name: "packet-too-large", Section5: "3.1.2.11.4", Reason: ReasonPacketTooLarge, Summary: "the packet exceeds the receiver's maximum packet size"}
	ruleWrongVersionPkt  = &Rule{Name: "packet-needs-v5", Section311: "2.2.1", Section5: "2.1.2", Reason: malformed, Summary: "AUTH exists only in MQTT 5.0"}
)

// reasonRules cite, per packet type, the statement that limits the reason codes a sender may use.
var reasonRules = map[PacketType]*Rule{
	CONNACK:    {Name: "connack-reason-code", V5: "MQTT-3.2.2-8", Section311: "3.2.2.3", Section5: "3.2.2.2", Reason: protocol, Summary: "CONNACK must use a defined connect reason/return code"},
	PUBACK:     {Name: "puback-reason-code", V5: "MQTT-3.4.2-1", Section5: "3.4.2.1", Reason: protocol, Summary: "PUBACK must use a PUBACK reason code"},
	PUBREC:     {Name: "pubrec-reason-code", V5: "MQTT-3.5.2-1", Section5: "3.5.2.1", Reason: protocol, Summary: "PUBREC must use a PUBREC reason code"},
	PUBREL:     {Name: "pubrel-reason-code", V5: "MQTT-3.6.2-1", Section5: "3.6.2.1", Reason: protocol, Summary: "PUBREL must use a PUBREL reason code"},
	PUBCOMP:    {Name: "pubcomp-reason-code", V5: "MQTT-3.7.2-1", Section5: "3.7.2.1", Reason: protocol, Summary: "PUBCOMP must use a PUBCOMP reason code"},
	SUBACK:     {Name: "suback-reason-code", V311: "MQTT-3.9.3-2", V5: "MQTT-3.9.3-2", Section311: "3.9.3", Section5: "3.9.3", Reason: protocol, Summary: "SUBACK must use a subscribe reason/return code"},
	UNSUBACK:   {Name: "unsuback-reason-code", V5: "MQTT-3.11.3-2", Section5: "3.11.3", Reason: protocol, Summary: "UNSUBACK must use an unsubscribe reason code"},
	DISCONNECT: {Name: "disconnect-reason-code", V5: "MQTT-3.14.2-1", Section5: "3.14.2.1", Reason: protocol, Summary: "DISCONNECT must use a disconnect reason code"},
	AUTH:       {Name: "auth-reason-code", V5: "MQTT-3.15.2-1", Section5: "3.15.2.1", Reason: protocol, Summary: "AUTH must use an authenticate reason code"},
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
