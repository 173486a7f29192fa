package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 4.7 topic names and topic filters: wildcard matching, topics starting with $, exact
// character comparison, and filters or names that break the syntax rules.
//
// Delivery on a match is the obligation of MQTT-4.5.0-1 (the message goes to every matching
// subscription) and no delivery on a non-match that of MQTT-3.3.2-3 (a forwarded PUBLISH's topic
// matches the subscription); both have the same number and meaning in 3.1.1 and 5.0.

// matching describes one matching case. In filter and topics "{p}" stands for the case's unique
// topic prefix and "{r}" for that prefix without its first level (so "+/{r}" is a filter whose
// first level is a wildcard but that still matches only this case's topics).
type matching struct {
	id, title string
	filter    string
	match     []string // topics that must be delivered
	noMatch   []string // topics that must not be delivered
	extra     []string // statements beyond MQTT-4.5.0-1 / MQTT-3.3.2-3
}

func (m matching) register() {
	stmts := slices.Clone(m.extra)
	if len(m.match) > 0 {
		stmts = append(stmts, "MQTT-4.5.0-1")
	}
	if len(m.noMatch) > 0 {
		stmts = append(stmts, "MQTT-3.3.2-3")
	}
	var req []c.Feature
	if strings.ContainsAny(m.filter, "+#") {
		req = append(req, c.FeatureWildcard)
	}
	catalog.Broker(c.Case{
		ID:         m.id,
		Title:      m.title,
		Statements: stmts,
		Versions:   c.Both,
		Level:      c.Must,
		Requires:   req,
		Run: func(t *c.T) {
			expand := func(s string) string {
				r := strings.TrimPrefix(t.TopicPrefix(), "mqttspec/")
				return strings.ReplaceAll(strings.ReplaceAll(s, "{p}", t.TopicPrefix()), "{r}", r)
			}
			sub := t.ConnectLabel("sub", t.DefaultConnect())
			sub.Subscribe(expand(m.filter), 0)
			pub := t.Pub("pub")
			// Non-matching topics first: a wrongly delivered one arrives before the matching ones.
			for i, topic := range m.noMatch {
				pub.PublishMsg(expand(topic), fmt.Sprintf("must not arrive %d", i), 0, false)
			}
			var want []c.Matcher
			for i, topic := range m.match {
				pub.PublishMsg(expand(topic), fmt.Sprintf("must arrive %d", i), 0, false)
				want = append(want, publishOn(expand(topic), fmt.Sprintf("must arrive %d", i), 0))
			}
			if len(want) > 0 {
				sub.ExpectUnordered(want...)
			}
			sub.ExpectNothing(0)
		},
	})
}

var _ = func() int {
	for _, m := range []matching{
		{id: "4.7/hash-matches-parent-level", filter: "{p}/sport/#",
			title: "\"sport/#\" matches \"sport\" itself and \"sport/x\", but not \"sports\"",
			match: []string{"{p}/sport", "{p}/sport/x"}, noMatch: []string{"{p}/sports"}},
		{id: "4.7/hash-matches-many-levels", filter: "{p}/#",
			title: "\"#\" after a level matches any number of levels below it",
			match: []string{"{p}/a", "{p}/a/b/c/d/e"}},
		{id: "4.7/plus-matches-one-level", filter: "{p}/+",
			title: "\"+\" matches exactly one level: not two levels, not the parent level",
			match: []string{"{p}/a"}, noMatch: []string{"{p}/a/b", "{p}"}},
		{id: "4.7/plus-matches-empty-level", filter: "{p}/+/x",
			title: "\"+\" matches an empty level (\"a//x\") but a level cannot be skipped (\"a/x\")",
			match: []string{"{p}//x"}, noMatch: []string{"{p}/x"}},
		{id: "4.7/plus-then-hash", filter: "{p}/+/b/#",
			title: "\"+/b/#\" matches \"a/b\" and \"a/b/c\" but not \"a/c/b\"",
			match: []string{"{p}/a/b", "{p}/a/b/c"}, noMatch: []string{"{p}/a/c/b"}},
		{id: "4.7/plus-matches-empty-last-level", filter: "{p}/a/+",
			title: "a trailing slash makes an empty last level: \"a/+\" matches \"a/\"",
			match: []string{"{p}/a/"}},
		{id: "4.7/trailing-slash-distinct", filter: "{p}/a",
			title: "\"a\" and \"a/\" are different topics: the filter \"a\" does not match \"a/\"",
			match: []string{"{p}/a"}, noMatch: []string{"{p}/a/"}, extra: []string{"MQTT-4.7.3-4"}},
		{id: "4.7/leading-slash-empty-level", filter: "+/{p}/x",
			title: "a leading slash makes an empty first level: \"+/a/x\" matches \"/a/x\"",
			match: []string{"/{p}/x"}},
		{id: "4.7/leading-slash-distinct", filter: "{p}/x",
			title: "\"/a/x\" is not \"a/x\": the filter \"a/x\" does not match \"/a/x\"",
			match: []string{"{p}/x"}, noMatch: []string{"/{p}/x"}, extra: []string{"MQTT-4.7.3-4"}},
		{id: "4.7/empty-levels-kept", filter: "{p}/a//b",
			title: "empty levels are significant: \"a//b\" matches \"a//b\" but not \"a/b\"",
			match: []string{"{p}/a//b"}, noMatch: []string{"{p}/a/b"}, extra: []string{"MQTT-4.7.3-4"}},
		{id: "4.7/case-sensitive", filter: "{p}/ABC",
			title: "matching is case sensitive: \"ABC\" does not match \"abc\" or \"Abc\"",
			match: []string{"{p}/ABC"}, noMatch: []string{"{p}/abc", "{p}/Abc"}, extra: []string{"MQTT-4.7.3-4"}},
		{id: "4.7/no-unicode-normalisation", filter: "{p}/caf\u00e9",
			title: "topics are not normalised: \"café\" with U+00E9 does not match \"café\" with e + U+0301",
			match: []string{"{p}/caf\u00e9"}, noMatch: []string{"{p}/cafe\u0301"}, extra: []string{"MQTT-4.7.3-4"}},
		{id: "4.7/spaces-allowed", filter: "{p}/a b",
			title: "spaces are ordinary characters: \"a b\" matches \"a b\" but not \"ab\" or \"a\"",
			match: []string{"{p}/a b"}, noMatch: []string{"{p}/ab", "{p}/a"}, extra: []string{"MQTT-4.7.3-4"}},
		{id: "4.7/plus-not-across-levels-in-middle", filter: "{p}/+/z",
			title: "\"+/z\" does not match \"a/b/z\": one \"+\" never spans two levels",
			match: []string{"{p}/a/z"}, noMatch: []string{"{p}/a/b/z"}},
	} {
		m.register()
	}
	return 0
}()

// dollarTopic returns a topic name starting with "$" that only this case uses, and the same
// name without its first level (for a "+/…" filter).
func dollarTopic(t *c.T, name string) (topic, rest string) {
	rest = strings.TrimPrefix(t.Topic(name), "mqttspec/")
	return "$mqttspec/" + rest, rest
}

// dollarControl connects a control client subscribed to the $ topic itself and to the sentinel.
// What it receives tells whether the server routes client messages on $ topics at all (it may
// refuse to: section 4.7.2); when it does not, a case about $ topics cannot judge and skips.
func dollarControl(t *c.T, topic, sentinel string) *c.Conn {
	ctl := t.ConnectLabel("control", t.DefaultConnect())
	id := subscribeMany(ctl, nil, codec.Subscription{Filter: topic}, codec.Subscription{Filter: sentinel})
	ctl.Expect(c.Suback(id, 0, 0))
	return ctl
}

var _ = catalog.Broker(c.Case{
	ID:         "4.7/dollar-topic-not-matched-by-plus",
	Title:      "a filter starting with \"+\" does not match a topic starting with \"$\" (\"+/x\" and \"$y/x\")",
	Statements: []string{"MQTT-4.7.2-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard},
	Run: func(t *c.T) {
		topic, rest := dollarTopic(t, "x")
		sentinel := t.Topic("sentinel")
		ctl := dollarControl(t, topic, sentinel)
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, nil, codec.Subscription{Filter: "+/" + rest}, codec.Subscription{Filter: sentinel})
		sub.Expect(c.Suback(id, 0, 0))
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "dollar", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		if got := collectUntil(t, ctl, sentinel, nil); len(got) == 0 {
			t.Skipf("the server does not deliver messages clients publish on %q even to an exact subscription", topic)
		}
		if got := collectUntil(t, sub, sentinel, nil); len(got) > 0 {
			t.Failf("nothing before the sentinel", got[0].String(), "[sub] the filter %q received %s", "+/"+rest, got[0])
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.7/dollar-topic-not-matched-by-hash",
	Title:      "the filter \"#\" does not match a topic starting with \"$\"",
	Statements: []string{"MQTT-4.7.2-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureWildcard},
	Run: func(t *c.T) {
		topic, _ := dollarTopic(t, "x")
		sentinel := t.Topic("sentinel")
		ctl := dollarControl(t, topic, sentinel)
		// "#" also receives every other case's traffic and every retained message on the
		// server, possibly before the SUBACK: skip everything but this case's two topics.
		sub := t.ConnectLabel("sub", t.DefaultConnect())
		id := subscribeMany(sub, nil, codec.Subscription{Filter: "#"})
		noDollar := func(p codec.Packet) {
			if pp, ok := p.(*codec.Publish); ok && strings.HasPrefix(pp.Topic, "$") {
				t.Failf("no topic starting with $", pp.String(), "[sub] the filter \"#\" received %s", pp)
			}
		}
		for n := 0; ; n++ {
			p := sub.Expect(anyPacket{})
			if p.Type() == codec.SUBACK {
				if err := c.Suback(id, 0).Match(p); err != nil {
					t.Failf("SUBACK granting \"#\" at QoS 0", p.String(), "[sub] %v", err)
				}
				break
			}
			noDollar(p) // a retained message sent before the SUBACK
			if n > 100000 {
				t.Fatalf("[sub] no SUBACK after 100000 packets")
			}
		}
		pub := t.Pub("pub")
		pub.PublishMsg(topic, "dollar", 0, false)
		pub.PublishMsg(sentinel, "end", 0, false)
		if got := collectUntil(t, ctl, sentinel, nil); len(got) == 0 {
			t.Skipf("the server does not deliver messages clients publish on %q even to an exact subscription", topic)
		}
		for _, p := range collectUntil(t, sub, sentinel, nil) {
			noDollar(p)
		}
	},
})

// Topic filter syntax (section 4.7.1): a filter breaking the wildcard rules is refused with a
// SUBACK failure code (5.0: 0x8F Topic Filter invalid) or the connection is closed.
var _ = func() int {
	// The "#" rule is 3.1.1 MQTT-4.7.1-2 and 5.0 MQTT-4.7.1-1, the "+" rule 3.1.1 MQTT-4.7.1-3
	// and 5.0 MQTT-4.7.1-2: the same numbers name different rules.
	hash := []string{"3.1.1:MQTT-4.7.1-2", "5.0:MQTT-4.7.1-1"}
	plus := []string{"MQTT-4.7.1-3", "5.0:MQTT-4.7.1-2"}
	for _, v := range []struct {
		id, filter, why string
		statements      []string
	}{
		{"4.7/invalid-filter-hash-not-last-level", "{p}/a/#/b", "\"#\" is not the last level", hash},
		{"4.7/invalid-filter-hash-inside-level", "{p}/a#", "\"#\" shares its level with other characters", hash},
		{"4.7/invalid-filter-hash-before-characters", "{p}/#a", "\"#\" is followed by other characters", hash},
		{"4.7/invalid-filter-plus-inside-level-after", "{p}/a+", "\"+\" does not occupy its whole level", plus},
		{"4.7/invalid-filter-plus-inside-level-before", "{p}/+a/b", "\"+\" does not occupy its whole level", plus},
	} {
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      fmt.Sprintf("a filter in which %s (%q) is refused (SUBACK 0x80, 5.0: 0x8F) or the connection is closed", v.why, strings.ReplaceAll(v.filter, "{p}/", "")),
			Level:      c.Must,
			Versions:   c.Both,
			Statements: append(slices.Clone(v.statements), "MQTT-4.8.0-1", "MQTT-4.13.1-1"),
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				f := strings.ReplaceAll(v.filter, "{p}", t.TopicPrefix())
				sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: f}}}
				expectRefusedOrClosed(t, conn, sub, rejectCodes(t), []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicFilterInvalid})
			},
		})
	}

	catalog.Broker(c.Case{
		ID:         "4.7/valid-wildcard-filters-accepted",
		Title:      "filters using the wildcards correctly (\"+\", \"+/+\", \"a/+/b\", \"a/#\", \"+/#\") are all granted",
		Level:      c.Must,
		Requires:   []c.Feature{c.FeatureWildcard},
		Versions:   c.Both,
		Statements: append(slices.Clone(hash), plus...),
		Run: func(t *c.T) {
			conn := t.Connect(t.DefaultConnect())
			p := t.TopicPrefix()
			_, rest := dollarTopic(t, "x")
			id := subscribeMany(conn, nil,
				codec.Subscription{Filter: p + "/+"},
				codec.Subscription{Filter: p + "/+/+"},
				codec.Subscription{Filter: p + "/a/+/b"},
				codec.Subscription{Filter: p + "/a/#"},
				codec.Subscription{Filter: "+/" + rest + "/#"})
			conn.Expect(c.Suback(id, 0, 0, 0, 0, 0))
		},
	})

	for _, v := range []struct{ id, w string }{
		{"4.7/wildcard-in-topic-name-plus-closes", "+"},
		{"4.7/wildcard-in-topic-name-hash-closes", "#"},
	} {
		w := v.w
		catalog.Broker(c.Case{
			ID:         v.id,
			Title:      fmt.Sprintf("a PUBLISH whose topic name contains %q is a protocol violation: the server closes the connection", w),
			Level:      c.Must,
			Statements: []string{"3.1.1:MQTT-4.7.1-1", "MQTT-3.3.2-2", "MQTT-4.8.0-1", "MQTT-4.7.0-1", "MQTT-4.13.1-1"},
			Versions:   c.Both,
			Run: func(t *c.T) {
				conn := t.Connect(t.DefaultConnect())
				conn.Send(&codec.Publish{Topic: t.TopicPrefix() + "/" + w, Payload: []byte("x")})
				conn.ExpectErrorClose(codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicNameInvalid)
			},
		})
	}
	return 0
}()

var _ = catalog.Broker(c.Case{
	ID:         "4.7/empty-filter-refused",
	Title:      "a zero-length topic filter is refused (SUBACK 0x80, 5.0: 0x8F) or the connection is closed",
	Statements: []string{"MQTT-4.7.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		sub := &codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: ""}}}
		expectRefusedOrClosed(t, conn, sub, rejectCodes(t), []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicFilterInvalid})
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.7/empty-topic-name-closes",
	Title:      "a PUBLISH with a zero-length topic name (5.0: and no Topic Alias) is a protocol violation: the server closes the connection",
	Statements: []string{"MQTT-4.7.3-1", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: "", Payload: []byte("x")})
		conn.ExpectErrorClose(codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicNameInvalid)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.7/null-character-in-filter-closes",
	Title:      "a topic filter containing U+0000 makes the SUBSCRIBE malformed: the server closes the connection",
	Statements: []string{"MQTT-4.7.3-2", "MQTT-1.5.3-2", "MQTT-1.5.4-2", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Subscribe{PacketID: conn.NextID(), Subscriptions: []codec.Subscription{{Filter: t.Topic("a\x00b")}}})
		conn.ExpectErrorClose(codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicFilterInvalid)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.7/null-character-in-topic-name-closes",
	Title:      "a topic name containing U+0000 makes the PUBLISH malformed: the server closes the connection",
	Statements: []string{"MQTT-4.7.3-2", "MQTT-1.5.3-2", "MQTT-1.5.4-2", "MQTT-4.8.0-1", "MQTT-4.13.1-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		conn := t.Connect(t.DefaultConnect())
		conn.Send(&codec.Publish{Topic: t.Topic("a\x00b"), Payload: []byte("x")})
		conn.ExpectErrorClose(codec.ReasonMalformedPacket, codec.ReasonProtocolError, codec.ReasonTopicNameInvalid)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "4.7/longest-topic-delivered",
	Title:      "a topic name and filter of 65535 bytes, the longest encodable, are accepted and match",
	Statements: []string{"MQTT-4.7.3-3", "MQTT-4.5.0-1"},
	Versions:   c.Both,
	Level:      c.Must,
	Run: func(t *c.T) {
		if mps := t.Caps.MaximumPacketSize; mps != 0 && mps < 65535+64 {
			t.Skipf("the target's Maximum Packet Size %d cannot carry a 65535-byte topic", mps)
		}
		topic := t.TopicPrefix() + "/"
		topic += strings.Repeat("x", 65535-len(topic))
		sub := t.Sub("sub", topic, 0)
		t.Pub("pub").PublishMsg(topic, "long", 0, false)
		sub.Expect(publishOn(topic, "long", 0))
	},
})
