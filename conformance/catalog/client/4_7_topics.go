package client

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.7 (and 1.5 for the strings, 4.8.2 for shared subscriptions): topic names and filters
// the client must never send. The client is asked to publish to, or subscribe to, an invalid
// topic; it may refuse before connecting or after, but the packet must not reach the wire.
// The codec rejects every such packet as malformed, failing the case with the statement.

func init() {
	long := func(t *c.T) string { return t.Topic(strings.Repeat("x", 65536)) }
	for _, r := range []struct {
		id, what   string
		topic      func(t *c.T) string
		statements []string
		replaceOK  bool // an application string the client cannot even hold (JavaScript): a replaced topic is not a violation
		truncateOK bool // a name too long for its length prefix: one cut to fit is not a violation
		willTopic  bool // the invalid topic is the Will Topic
	}{
		{id: "4.7/publish-topic-plus", what: "a topic name with +", topic: func(t *c.T) string { return t.Topic("a/+/b") },
			statements: []string{"MQTT-3.3.2-2", "3.1.1:MQTT-4.7.1-1", "5.0:MQTT-4.7.0-1"}},
		{id: "4.7/publish-topic-hash", what: "a topic name with #", topic: func(t *c.T) string { return t.Topic("a/#") },
			statements: []string{"MQTT-3.3.2-2", "3.1.1:MQTT-4.7.1-1", "5.0:MQTT-4.7.0-1"}},
		{id: "4.7/publish-topic-empty", what: "an empty topic name", topic: func(*c.T) string { return "" },
			statements: []string{"MQTT-4.7.3-1"}},
		{id: "4.7/publish-topic-nul", what: "a topic name containing U+0000", topic: func(t *c.T) string { return t.Topic("a\x00b") },
			statements: []string{"MQTT-4.7.3-2", "3.1.1:MQTT-1.5.3-2", "5.0:MQTT-1.5.4-2"}},
		{id: "4.7/publish-topic-ill-formed-utf8", what: "a topic name with an encoded surrogate (ill-formed UTF-8)",
			topic: func(t *c.T) string { return t.Topic("a" + surrogate) }, replaceOK: true,
			statements: []string{"3.1.1:MQTT-1.5.3-1", "MQTT-3.3.2-1", "5.0:MQTT-1.5.4-1"}},
		{id: "4.7/publish-topic-too-long", what: "a topic name of more than 65535 bytes", topic: long, truncateOK: true,
			statements: []string{"MQTT-4.7.3-3"}},
		{id: "4.7/will-topic-wildcard", what: "a Will Topic with +", topic: func(t *c.T) string { return t.Topic("will/+") }, willTopic: true,
			statements: []string{"3.1.1:MQTT-4.7.1-1", "5.0:MQTT-4.7.0-1"}},
	} {
		catalog.Client(c.Case{
			ID:         r.id,
			Title:      "asked to publish to " + r.what + ", the client does not send it",
			Versions:   c.Both,
			Level:      c.Must,
			Statements: r.statements,
			Run: func(t *c.T) {
				topic := r.topic(t)
				a := c.Action{Op: c.OpPublish, Topic: topic, Message: []byte("m")}
				if r.willTopic {
					a.Topic = t.Topic("ok")
					a.Will = &c.Will{Topic: topic, Payload: []byte("w")}
				}
				var also c.Matcher
				switch {
				case r.replaceOK:
					also = c.AnyPublish().Where("a well-formed topic other than the requested one", func(p codec.Packet) error {
						if p.(*codec.Publish).Topic == topic {
							return fmt.Errorf("the ill-formed topic itself")
						}
						return nil
					})
				case r.truncateOK:
					also = truncated(topic, a.Message)
				}
				refuses(t, a, also)
			},
		})
	}

	for _, r := range []struct {
		id, what   string
		filter     func(t *c.T) string
		versions   c.Versions
		statements []string
		replaceOK  bool
		truncateOK bool // as for topic names
	}{
		{id: "4.7/filter-hash-not-last", what: "a filter with # before its end", filter: func(t *c.T) string { return t.Topic("a/#/b") },
			versions: c.Both, statements: []string{"3.1.1:MQTT-4.7.1-2", "5.0:MQTT-4.7.1-1"}},
		{id: "4.7/filter-hash-in-level", what: "a filter with # inside a level", filter: func(t *c.T) string { return t.Topic("a#") },
			versions: c.Both, statements: []string{"3.1.1:MQTT-4.7.1-2", "5.0:MQTT-4.7.1-1"}},
		{id: "4.7/filter-plus-in-level", what: "a filter with + inside a level", filter: func(t *c.T) string { return t.Topic("a+/b") },
			versions: c.Both, statements: []string{"3.1.1:MQTT-4.7.1-3", "5.0:MQTT-4.7.1-2"}},
		{id: "4.7/filter-empty", what: "an empty filter", filter: func(*c.T) string { return "" },
			versions: c.Both, statements: []string{"MQTT-4.7.3-1"}},
		{id: "4.7/filter-nul", what: "a filter containing U+0000", filter: func(t *c.T) string { return t.Topic("a\x00/#") },
			versions: c.Both, statements: []string{"MQTT-4.7.3-2", "3.1.1:MQTT-1.5.3-2", "5.0:MQTT-1.5.4-2"}},
		{id: "4.7/filter-ill-formed-utf8", what: "a filter with an encoded surrogate (ill-formed UTF-8)", filter: func(t *c.T) string { return t.Topic(surrogate + "/#") },
			versions: c.Both, replaceOK: true, statements: []string{"3.1.1:MQTT-1.5.3-1", "MQTT-3.8.3-1", "5.0:MQTT-1.5.4-1"}},
		{id: "4.7/filter-too-long", what: "a filter of more than 65535 bytes", filter: long, truncateOK: true,
			versions: c.Both, statements: []string{"MQTT-4.7.3-3"}},
		{id: "4.7/shared-share-name-wildcard", what: "a shared subscription whose ShareName contains +", filter: func(t *c.T) string { return "$share/gr+oup/" + t.Topic("s") },
			versions: c.V5, statements: []string{"MQTT-4.8.2-2"}},
		{id: "4.7/shared-share-name-empty", what: "a shared subscription with an empty ShareName", filter: func(t *c.T) string { return "$share//" + t.Topic("s") },
			versions: c.V5, statements: []string{"MQTT-4.8.2-1"}},
		{id: "4.7/shared-no-filter", what: "a shared subscription without a topic filter", filter: func(*c.T) string { return "$share/group" },
			versions: c.V5, statements: []string{"MQTT-4.8.2-2"}},
	} {
		catalog.Client(c.Case{
			ID:         r.id,
			Title:      "asked to subscribe to " + r.what + ", the client does not send that SUBSCRIBE",
			Versions:   r.versions,
			Level:      c.Must,
			Statements: r.statements,
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
				if r.truncateOK {
					also = truncated(filter, nil)
				}
				refuses(t, c.Action{Op: c.OpSubscribe, Topic: filter, QoS: 1}, also)
			},
		})
	}
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

// truncated accepts, for a requested topic name or filter too long for its 16-bit length
// prefix, a PUBLISH of the requested message (message non-nil) or a SUBSCRIBE whose name is a
// shorter prefix of it: the client cut the string to fit (paho.golang's writeString and
// paho.mqtt.golang's encodeBytes cut at 65,535 bytes). MQTT-4.7.3-3 forbids only encoding more
// than 65,535 bytes, which such a packet does not (the codec has checked it), so it is not a
// violation of what the case claims. A client whose length prefix wraps instead sends the first
// bytes of the name as the whole name and the rest as payload or further fields: its PUBLISH
// carries another payload, its SUBSCRIBE reads as malformed, and both still fail.
func truncated(name string, message []byte) c.Matcher {
	prefix := func(got string) error {
		if len(got) >= len(name) || !strings.HasPrefix(name, got) {
			return fmt.Errorf("not a shortened prefix of the requested name (%d bytes, requested %d)", len(got), len(name))
		}
		return nil
	}
	if message != nil {
		return c.AnyPublish().Where("the requested message to the topic name cut to fit its length prefix", func(p codec.Packet) error {
			pub := p.(*codec.Publish)
			if !bytes.Equal(pub.Payload, message) {
				return fmt.Errorf("payload of %d bytes, not the requested message", len(pub.Payload))
			}
			return prefix(pub.Topic)
		})
	}
	return c.Type(codec.SUBSCRIBE).Where("a SUBSCRIBE for the filter cut to fit its length prefix", func(p codec.Packet) error {
		for _, s := range p.(*codec.Subscribe).Subscriptions {
			if err := prefix(s.Filter); err != nil {
				return err
			}
		}
		return nil
	})
}
