package client

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
)

// Section 4.7 (and 1.5 for the strings, 4.8.2 for shared subscriptions): topic names and filters
// the client must never send. The client is asked to publish to, or subscribe to, an invalid
// topic; it may refuse before connecting or after, but the packet must not reach the wire.
// The codec rejects every such packet as malformed, failing the case with the statement.

// surrogate is U+D800 encoded as UTF-8 would encode it: ill-formed (MQTT-1.5.3-1, MQTT-1.5.4-1).
const surrogate = "\xed\xa0\x80"

func init() {
	long := func(t *c.T) string { return t.Topic(strings.Repeat("x", 65536)) }
	for _, r := range []struct {
		id, what  string
		topic     func(t *c.T) string
		s311, s5  []string
		replaceOK bool // an application string the client cannot even hold (JavaScript): a replaced topic is not a violation
		willTopic bool // the invalid topic is the Will Topic
	}{
		{id: "publish-topic-plus", what: "a topic name with +", topic: func(t *c.T) string { return t.Topic("a/+/b") },
			s311: ids("MQTT-3.3.2-2", "MQTT-4.7.1-1"), s5: ids("MQTT-3.3.2-2", "MQTT-4.7.0-1")},
		{id: "publish-topic-hash", what: "a topic name with #", topic: func(t *c.T) string { return t.Topic("a/#") },
			s311: ids("MQTT-3.3.2-2", "MQTT-4.7.1-1"), s5: ids("MQTT-3.3.2-2", "MQTT-4.7.0-1")},
		{id: "publish-topic-empty", what: "an empty topic name", topic: func(*c.T) string { return "" },
			s311: ids("MQTT-4.7.3-1"), s5: ids("MQTT-4.7.3-1")},
		{id: "publish-topic-nul", what: "a topic name containing U+0000", topic: func(t *c.T) string { return t.Topic("a\x00b") },
			s311: ids("MQTT-4.7.3-2", "MQTT-1.5.3-2"), s5: ids("MQTT-4.7.3-2", "MQTT-1.5.4-2")},
		{id: "publish-topic-ill-formed-utf8", what: "a topic name with an encoded surrogate (ill-formed UTF-8)",
			topic: func(t *c.T) string { return t.Topic("a" + surrogate) }, replaceOK: true,
			s311: ids("MQTT-1.5.3-1", "MQTT-3.3.2-1"), s5: ids("MQTT-1.5.4-1", "MQTT-3.3.2-1")},
		{id: "publish-topic-too-long", what: "a topic name of more than 65535 bytes", topic: long,
			s311: ids("MQTT-4.7.3-3"), s5: ids("MQTT-4.7.3-3")},
		{id: "will-topic-wildcard", what: "a Will Topic with +", topic: func(t *c.T) string { return t.Topic("will/+") }, willTopic: true,
			s311: ids("MQTT-4.7.1-1"), s5: ids("MQTT-4.7.0-1")},
	} {
		register(c.Case{
			ID:       "4.7/" + r.id,
			Title:    "asked to publish to " + r.what + ", the client does not send it",
			Versions: c.Both,
			Level:    c.Must,
			Run: func(t *c.T) {
				topic := r.topic(t)
				a := c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m")}
				if r.willTopic {
					a.Topic = t.Topic("ok")
					a.Will = &c.Will{Topic: topic, Payload: []byte("w")}
				}
				var also c.Matcher
				if r.replaceOK {
					also = c.AnyPublish().Where("a well-formed topic other than the requested one", func(p codec.Packet) error {
						if p.(*codec.Publish).Topic == topic {
							return fmt.Errorf("the ill-formed topic itself")
						}
						return nil
					})
				}
				refuses(t, a, also)
			},
		}, r.s311, r.s5)
	}

	for _, r := range []struct {
		id, what  string
		filter    func(t *c.T) string
		versions  c.Versions
		s311, s5  []string
		replaceOK bool
	}{
		{id: "filter-hash-not-last", what: "a filter with # before its end", filter: func(t *c.T) string { return t.Topic("a/#/b") },
			versions: c.Both, s311: ids("MQTT-4.7.1-2"), s5: ids("MQTT-4.7.1-1")},
		{id: "filter-hash-in-level", what: "a filter with # inside a level", filter: func(t *c.T) string { return t.Topic("a#") },
			versions: c.Both, s311: ids("MQTT-4.7.1-2"), s5: ids("MQTT-4.7.1-1")},
		{id: "filter-plus-in-level", what: "a filter with + inside a level", filter: func(t *c.T) string { return t.Topic("a+/b") },
			versions: c.Both, s311: ids("MQTT-4.7.1-3"), s5: ids("MQTT-4.7.1-2")},
		{id: "filter-empty", what: "an empty filter", filter: func(*c.T) string { return "" },
			versions: c.Both, s311: ids("MQTT-4.7.3-1"), s5: ids("MQTT-4.7.3-1")},
		{id: "filter-nul", what: "a filter containing U+0000", filter: func(t *c.T) string { return t.Topic("a\x00/#") },
			versions: c.Both, s311: ids("MQTT-4.7.3-2", "MQTT-1.5.3-2"), s5: ids("MQTT-4.7.3-2", "MQTT-1.5.4-2")},
		{id: "filter-ill-formed-utf8", what: "a filter with an encoded surrogate (ill-formed UTF-8)", filter: func(t *c.T) string { return t.Topic(surrogate + "/#") },
			versions: c.Both, replaceOK: true, s311: ids("MQTT-1.5.3-1", "MQTT-3.8.3-1"), s5: ids("MQTT-1.5.4-1", "MQTT-3.8.3-1")},
		{id: "filter-too-long", what: "a filter of more than 65535 bytes", filter: long,
			versions: c.Both, s311: ids("MQTT-4.7.3-3"), s5: ids("MQTT-4.7.3-3")},
		{id: "shared-share-name-wildcard", what: "a shared subscription whose ShareName contains +", filter: func(t *c.T) string { return "$share/gr+oup/" + t.Topic("s") },
			versions: c.V5, s5: ids("MQTT-4.8.2-2")},
		{id: "shared-share-name-empty", what: "a shared subscription with an empty ShareName", filter: func(t *c.T) string { return "$share//" + t.Topic("s") },
			versions: c.V5, s5: ids("MQTT-4.8.2-1")},
		{id: "shared-no-filter", what: "a shared subscription without a topic filter", filter: func(*c.T) string { return "$share/group" },
			versions: c.V5, s5: ids("MQTT-4.8.2-2")},
	} {
		register(c.Case{
			ID:       "4.7/" + r.id,
			Title:    "asked to subscribe to " + r.what + ", the client does not send that SUBSCRIBE",
			Versions: r.versions,
			Level:    c.Must,
			Run: func(t *c.T) {
				filter := r.filter(t)
				var also c.Matcher
				if r.replaceOK {
					also = c.Type(codec.SUBSCRIBE).Where("a well-formed filter other than the requested one", func(p codec.Packet) error {
						for _, s := range p.(*codec.Subscribe).Subscriptions {
							if s.Filter == filter {
								return fmt.Errorf("the ill-formed filter itself")
							}
						}
						return nil
					})
				}
				refuses(t, c.Action{Op: c.OpSubscribe, Topic: filter, QoS: 1}, also)
			},
		}, r.s311, r.s5)
	}

	register(c.Case{
		ID:       "4.8/shared-subscription-no-local",
		Title:    "a shared subscription goes out with No Local 0 and its filter as given",
		Versions: c.V5,
		Level:    c.Must,
		Run: func(t *c.T) {
			filter := "$share/grp/" + t.Topic("shared")
			t.StartClient(c.Action{Op: c.OpSubscribe, Topic: filter, QoS: 1, Count: 2})
			conn, _ := connected(t, "")
			sub := subscribed(t, conn, filter, 1)
			t.Check(!sub.Subscriptions[0].NoLocal, "No Local 0", "No Local 1", "a shared subscription has No Local set: %s", sub)
			conn.Send(&codec.Publish{Topic: t.Topic("shared"), Payload: []byte("m"), QoS: 1, PacketID: 1})
			conn.Expect(c.Puback(1))
			lastMessage(t, conn, t.Topic("shared"))
		},
	}, nil, ids("MQTT-3.8.3-4", "MQTT-4.8.2-1", "MQTT-4.8.2-2"))
}

// refuses runs an action the client must refuse: it may end without connecting, or connect and
// leave — or stay idle — without sending the forbidden packet (the codec fails the case on it:
// every such packet is malformed). also, when set, accepts another packet meanwhile.
func refuses(t *c.T, a c.Action, also c.Matcher) {
	conn, _ := startOrRefuse(t, a, true)
	if conn == nil {
		return // the client refused before connecting
	}
	deadline := time.Now().Add(t.Timeouts.Step)
	for {
		p, closed := conn.Next(max(time.Until(deadline), time.Millisecond))
		switch {
		case closed:
			return
		case p == nil:
			t.Logf("the client stayed connected without sending the packet")
			return
		case c.Disconnect(codec.ReasonSuccess).Match(p) == nil:
			conn.ExpectClosed()
			return
		case also != nil && also.Match(p) == nil:
			t.Logf("the client sent a replacement: %s; not a violation of the statements checked here", p)
		default:
			t.Failf("no PUBLISH or SUBSCRIBE with the invalid topic", p.String(), "[%s] the client sent %s", conn.Label, p)
		}
	}
}
