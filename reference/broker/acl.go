package broker

import (
	"strings"

	"github.com/mqttspec/mqttspec/reference/broker/topics"
)

// Access is what an ACL rule allows on matching topics.
type Access uint8

// Access values.
const (
	AccessRead      Access = 1 << iota // subscribe (and receive)
	AccessWrite                        // publish
	AccessReadWrite = AccessRead | AccessWrite
)

// String names the access as the config file spells it.
func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	case AccessReadWrite:
		return "readwrite"
	}
	return "none"
}

// ACLRule allows one kind of access to the topics a filter matches.
type ACLRule struct {
	// User is the user name the rule applies to; "" applies it to every client, anonymous ones
	// included.
	User string
	// Topic is a topic filter. %c stands for the client identifier and %u for the user name; a
	// rule whose substitution would be empty or would contain / + # does not apply.
	Topic  string
	Access Access
}

// ACL is a list of allow rules. An empty ACL allows everything; otherwise an operation is allowed
// only when a rule allows it: publishing to a topic the rule's filter matches, or subscribing to a
// filter that stays inside the rule's filter.
type ACL []ACLRule

func (a ACL) expand(r *ACLRule, clientID, user string) (string, bool) {
	if r.User != "" && r.User != user {
		return "", false
	}
	t := r.Topic
	if !strings.Contains(t, "%") {
		return t, true
	}
	for _, sub := range []struct{ key, val string }{{"%c", clientID}, {"%u", user}} {
		if !strings.Contains(t, sub.key) {
			continue
		}
		// A client named "#" must not gain the whole tree through a pattern.
		if sub.val == "" || strings.ContainsAny(sub.val, "/+#") {
			return "", false
		}
		t = strings.ReplaceAll(t, sub.key, sub.val)
	}
	return t, true
}

// CanPublish reports whether the client may publish to topic name topic.
func (a ACL) CanPublish(clientID, user, topic string) bool {
	if len(a) == 0 {
		return true
	}
	for i := range a {
		if a[i].Access&AccessWrite == 0 {
			continue
		}
		if f, ok := a.expand(&a[i], clientID, user); ok && topics.MatchFilter(f, topic) {
			return true
		}
	}
	return false
}

// CanSubscribe reports whether the client may subscribe to filter.
func (a ACL) CanSubscribe(clientID, user, filter string) bool {
	if len(a) == 0 {
		return true
	}
	for i := range a {
		if a[i].Access&AccessRead == 0 {
			continue
		}
		if f, ok := a.expand(&a[i], clientID, user); ok && topics.Covers(f, filter) {
			return true
		}
	}
	return false
}
