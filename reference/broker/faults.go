package broker

import (
	"fmt"
	"sort"
	"strings"
)

// Fault is a deliberate specification violation the broker can be switched into with
// Options.Faults. Each fault is a realistic bug that changes exactly one behaviour, so that a
// conformance case covering that behaviour must fail when it is on: a case that still passes
// does not test what it claims (mutation testing of the suite).
type Fault struct {
	Name       string   // the name used in Options.Faults and --fault
	Statements []string // statements the fault breaks: 5.0 IDs, 3.1.1 IDs marked "3.1.1:", "§x.y" for a section without one
	Summary    string   // what the broker does wrong
}

// fault indexes Faults; the order of the constants is the order of the table.
type fault uint8

const (
	fNoSecondConnectCheck fault = iota
	fSessionPresentAlways0
	fCleanStartIgnored
	fAssignedIDMissing
	fRetainEmptyNotDeleted
	fRetainFlagAlwaysSet
	fRetainedNotSentOnSubscribe
	fDupOnFirstDelivery
	fNoDupOnRedelivery
	fQoSNotDowngraded
	fSubackWrongOrder
	fWrongPacketIDInPuback
	fKeepAliveNotEnforced
	fWillOnNormalDisconnect
	fWillDelayIgnored
	fWillRetainIgnored
	fDollarTopicsMatchWildcards
	fNoLocalIgnored
	fTopicAliasNotResolved
	fReceiveMaxIgnored
	fMaxPacketSizeIgnored
	fMessageExpiryNotDecremented
	fExpiredMessageDelivered
	fUserPropertiesReordered
	fSubscriptionIDDropped
	fSharedSubDeliversToAll
	fReservedFlagsAccepted
	fUnsubscribeNoUnsuback
	fPingreqIgnored
	fQoS2DuplicateDelivery
	fPlusMatchesManyLevels
	fHashSkipsParentLevel
	fGrantedQoSAboveRequested
	fWrongPacketIDInPubrec
	fOverlappingLowestQoS
	fUnsubscribeKeepsSubscription
	fRetainedSentWithoutRetain
	fRetainedExactMatchOnly
	fRetainHandlingIgnored
	fSessionExpiryIgnored
	fNoLocalDropsAll
	fWillQoSIgnored
	fPubrelNotResent
	fInflightNotResent
	fQueueLIFO
	fEmptyIDPersistentAccepted
	fCorrelationDataDropped
	fPacketIDsPerConnection
	fSessionKeptWithoutExpiry
	fDisconnectExpiryIgnored
	fTopicAliasKeptAcrossConnections
	numFaults
)

// Faults lists every fault the broker implements.
var Faults = [numFaults]Fault{
	fNoSecondConnectCheck: {"no-second-connect-check", []string{"MQTT-3.1.0-2"},
		"a second CONNECT on a connection is answered with another CONNACK instead of closing the connection"},
	fSessionPresentAlways0: {"session-present-always-0", []string{"MQTT-3.2.2-3", "3.1.1:MQTT-3.2.2-2"},
		"CONNACK always carries Session Present 0, even when a stored session is resumed"},
	fCleanStartIgnored: {"clean-start-ignored", []string{"MQTT-3.1.2-4", "3.1.1:MQTT-3.1.2-6"},
		"Clean Start / Clean Session 1 resumes an existing session instead of discarding it"},
	fAssignedIDMissing: {"assigned-client-id-missing", []string{"MQTT-3.2.2-16", "MQTT-3.1.3-7"},
		"a v5 client connecting with an empty Client Identifier gets no Assigned Client Identifier in CONNACK"},
	fRetainEmptyNotDeleted: {"retain-empty-not-deleted", []string{"MQTT-3.3.1-6", "3.1.1:MQTT-3.3.1-10"},
		"a retained PUBLISH with an empty payload leaves the existing retained message in place"},
	fRetainFlagAlwaysSet: {"retain-flag-always-set", []string{"MQTT-3.3.1-12", "3.1.1:MQTT-3.3.1-9"},
		"messages forwarded to established subscriptions keep their RETAIN flag (Retain As Published ignored)"},
	fRetainedNotSentOnSubscribe: {"retained-not-sent-on-subscribe", []string{"MQTT-3.3.1-9", "3.1.1:MQTT-3.3.1-6"},
		"a new subscription does not receive the matching retained messages"},
	fDupOnFirstDelivery: {"dup-on-first-delivery", []string{"MQTT-3.3.1-3", "MQTT-4.3.2-2", "MQTT-4.3.3-2", "3.1.1:MQTT-3.3.1-3"},
		"the first transmission of a QoS 1/2 PUBLISH to a subscriber has DUP 1"},
	fNoDupOnRedelivery: {"no-dup-on-redelivery", []string{"MQTT-3.3.1-1", "3.1.1:MQTT-3.3.1-1"},
		"PUBLISH packets re-sent on session resumption have DUP 0"},
	fQoSNotDowngraded: {"qos-not-downgraded", []string{"MQTT-3.8.4-8", "3.1.1:MQTT-3.8.4-6"},
		"messages are delivered at the published QoS, ignoring the QoS granted to the subscription"},
	fSubackWrongOrder: {"suback-wrong-order", []string{"MQTT-3.9.3-1", "3.1.1:MQTT-3.9.3-1"},
		"SUBACK reason codes are in the reverse order of the topic filters"},
	fWrongPacketIDInPuback: {"wrong-packet-id-in-puback", []string{"MQTT-2.2.1-5", "3.1.1:MQTT-2.3.1-6"},
		"PUBACK carries the packet identifier of the PUBLISH plus one"},
	fKeepAliveNotEnforced: {"keepalive-not-enforced", []string{"MQTT-3.1.2-22", "3.1.1:MQTT-3.1.2-24"},
		"a client silent for more than 1.5 times its keep alive is not disconnected"},
	fWillOnNormalDisconnect: {"will-on-normal-disconnect", []string{"MQTT-3.14.4-3", "3.1.1:MQTT-3.14.4-3"},
		"the Will Message is published even after a normal DISCONNECT"},
	fWillDelayIgnored: {"will-delay-ignored", []string{"MQTT-3.1.3-9", "MQTT-3.1.2-8"},
		"the Will Message is published at once, ignoring the Will Delay Interval"},
	fWillRetainIgnored: {"will-retain-ignored", []string{"MQTT-3.1.2-15", "3.1.1:MQTT-3.1.2-17"},
		"a Will Message with Will Retain 1 is published as a non-retained message"},
	fDollarTopicsMatchWildcards: {"dollar-topics-match-wildcards", []string{"MQTT-4.7.2-1", "3.1.1:MQTT-4.7.2-1"},
		"filters starting with + or # match topic names starting with $"},
	fNoLocalIgnored: {"no-local-ignored", []string{"MQTT-3.8.3-3"},
		"messages are delivered back to their publisher on No Local subscriptions"},
	fTopicAliasNotResolved: {"topic-alias-not-resolved", []string{"MQTT-3.3.2-12"},
		"a PUBLISH with an empty topic and a known Topic Alias is acknowledged but never routed"},
	fReceiveMaxIgnored: {"receive-max-ignored", []string{"MQTT-3.3.4-9", "MQTT-4.9.0-2"},
		"the broker sends more unacknowledged QoS 1/2 PUBLISH packets than the client's Receive Maximum"},
	fMaxPacketSizeIgnored: {"max-packet-size-ignored", []string{"MQTT-3.1.2-24", "MQTT-3.1.2-25"},
		"the broker sends packets larger than the client's Maximum Packet Size"},
	fMessageExpiryNotDecremented: {"message-expiry-not-decremented", []string{"MQTT-3.3.2-6"},
		"forwarded messages carry the Message Expiry Interval as received, not minus the time waited"},
	fExpiredMessageDelivered: {"expired-message-delivered", []string{"MQTT-3.3.2-5"},
		"queued and retained messages are delivered after their Message Expiry Interval has passed"},
	fUserPropertiesReordered: {"user-properties-reordered", []string{"MQTT-3.3.2-18", "MQTT-3.3.2-17"},
		"User Properties of forwarded messages are sent in reverse order"},
	fSubscriptionIDDropped: {"subscription-id-dropped", []string{"MQTT-3.3.4-3"},
		"forwarded messages carry no Subscription Identifier"},
	fSharedSubDeliversToAll: {"shared-sub-delivers-to-all", []string{"§4.8.2"},
		"each message matching a shared subscription goes to every member of the group instead of one"},
	fReservedFlagsAccepted: {"reserved-flags-accepted", []string{"MQTT-2.1.3-1", "MQTT-3.6.1-1", "MQTT-3.8.1-1", "MQTT-3.10.1-1", "3.1.1:MQTT-2.2.2-2"},
		"packets whose fixed-header flags differ from the required values are processed as if they were right"},
	fUnsubscribeNoUnsuback: {"unsubscribe-no-unsuback", []string{"MQTT-3.10.4-4", "MQTT-3.10.4-5", "3.1.1:MQTT-3.10.4-4"},
		"UNSUBSCRIBE is processed but never acknowledged"},
	fPingreqIgnored: {"pingreq-ignored", []string{"MQTT-3.12.4-1", "3.1.1:MQTT-3.12.4-1"},
		"PINGREQ is accepted (it resets keep alive) but no PINGRESP is sent"},
	fQoS2DuplicateDelivery: {"qos2-duplicate-delivery", []string{"MQTT-4.3.3-10", "3.1.1:MQTT-4.3.3-2"},
		"a QoS 2 PUBLISH re-sent before PUBREL is delivered to subscribers a second time"},
	fPlusMatchesManyLevels: {"plus-matches-many-levels", []string{"MQTT-3.3.2-3", "§4.7.1"},
		"a + in a filter matches one or more topic levels, like # (\"a/+\" matches \"a/b/c\")"},
	fHashSkipsParentLevel: {"hash-skips-parent-level", []string{"§4.7.1"},
		"a filter ending in /# does not match its parent level (\"a/#\" does not match \"a\")"},
	fGrantedQoSAboveRequested: {"granted-qos-above-requested", []string{"MQTT-3.8.4-7", "MQTT-3.8.4-8", "3.1.1:MQTT-3.8.4-5", "3.1.1:MQTT-3.8.4-6"},
		"SUBACK grants the server's maximum QoS whatever the client requested, and messages go out at that QoS"},
	fWrongPacketIDInPubrec: {"wrong-packet-id-in-pubrec", []string{"MQTT-2.2.1-5", "3.1.1:MQTT-2.3.1-6"},
		"PUBREC carries the packet identifier of the QoS 2 PUBLISH plus one"},
	fOverlappingLowestQoS: {"overlapping-lowest-qos", []string{"MQTT-3.3.4-2", "3.1.1:MQTT-3.3.5-1"},
		"a message matching overlapping subscriptions of one client goes out once at the lowest QoS among them, not the highest"},
	fUnsubscribeKeepsSubscription: {"unsubscribe-keeps-subscription", []string{"MQTT-3.10.4-1", "MQTT-3.10.4-2", "3.1.1:MQTT-3.10.4-1", "3.1.1:MQTT-3.10.4-2"},
		"UNSUBSCRIBE is acknowledged as if the subscription were deleted, but messages keep being delivered for it"},
	fRetainedSentWithoutRetain: {"retained-sent-without-retain", []string{"MQTT-3.3.1-9", "3.1.1:MQTT-3.3.1-8"},
		"retained messages sent because of a new subscription carry RETAIN 0"},
	fRetainedExactMatchOnly: {"retained-exact-match-only", []string{"MQTT-3.3.1-9", "3.1.1:MQTT-3.3.1-6"},
		"retained messages are sent only to subscriptions whose filter has no wildcard and equals the topic"},
	fRetainHandlingIgnored: {"retain-handling-ignored", []string{"MQTT-3.3.1-10", "MQTT-3.3.1-11"},
		"every subscription is treated as Retain Handling 0: retained messages are sent even for Retain Handling 1 on an existing subscription and for 2"},
	fSessionExpiryIgnored: {"session-expiry-ignored", []string{"MQTT-4.1.0-2", "MQTT-3.1.2-23"},
		"a v5 session with a non-zero Session Expiry Interval never expires"},
	fNoLocalDropsAll: {"no-local-drops-all", []string{"MQTT-3.8.3-3"},
		"a No Local subscription receives no messages at all, not only none of its own"},
	fWillQoSIgnored: {"will-qos-ignored", []string{"§3.1.2.6"},
		"the Will Message is published at QoS 0 whatever the Will QoS"},
	fPubrelNotResent: {"pubrel-not-resent", []string{"MQTT-4.4.0-1", "3.1.1:MQTT-4.4.0-1"},
		"on session resumption, PUBRELs of QoS 2 deliveries waiting for PUBCOMP are not re-sent"},
	fInflightNotResent: {"inflight-not-resent", []string{"MQTT-4.4.0-1", "3.1.1:MQTT-4.4.0-1"},
		"on session resumption, unacknowledged QoS 1/2 PUBLISH packets are dropped instead of re-sent"},
	fQueueLIFO: {"queue-lifo", []string{"MQTT-4.6.0-5", "MQTT-4.6.0-6", "3.1.1:MQTT-4.6.0-6"},
		"messages queued for a session (offline or beyond the in-flight window) are sent newest first"},
	fEmptyIDPersistentAccepted: {"empty-id-persistent-accepted", []string{"3.1.1:MQTT-3.1.3-8"},
		"a 3.1.1 CONNECT with an empty Client Identifier and Clean Session 0 is accepted with an assigned identifier"},
	fCorrelationDataDropped: {"correlation-data-dropped", []string{"MQTT-3.3.2-16"},
		"forwarded messages lose their Correlation Data"},
	fPacketIDsPerConnection: {"packet-ids-restart-per-connection", []string{"MQTT-2.2.1-4", "3.1.1:MQTT-2.3.1-4"},
		"outbound packet identifiers restart at 1 on every connection without skipping those still in flight from a resumed session"},
	fSessionKeptWithoutExpiry: {"session-kept-without-expiry", []string{"MQTT-4.1.0-2", "3.1.1:MQTT-3.1.2-6"},
		"a session with Session Expiry Interval 0 (3.1.1: Clean Session 1) outlives its connection and is resumed by a later Clean Start 0"},
	fDisconnectExpiryIgnored: {"disconnect-session-expiry-ignored", []string{"MQTT-4.1.0-2", "MQTT-3.1.2-23"},
		"a Session Expiry Interval in the client's DISCONNECT is ignored; the CONNECT's value stays in force"},
	fTopicAliasKeptAcrossConnections: {"topic-alias-kept-across-connections", []string{"MQTT-3.3.2-7"},
		"Topic Alias mappings a client set are kept in its session and resolved on its next network connection"},
}

// faultSet is the set of faults switched on.
type faultSet uint64

func (f faultSet) has(x fault) bool { return f&(1<<x) != 0 }

func parseFaults(names []string) (faultSet, error) {
	var set faultSet
	for _, n := range names {
		found := false
		for i := range Faults {
			if Faults[i].Name == n {
				set |= 1 << uint(i)
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown fault %q (known: %s)", n, strings.Join(FaultNames(), ", "))
		}
	}
	return set, nil
}

// FaultNames returns the names of every fault, sorted.
func FaultNames() []string {
	names := make([]string, 0, len(Faults))
	for _, f := range Faults {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}
