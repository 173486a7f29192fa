package broker

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	c "github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/catalog"
)

// Section 3.3.2.3: the v5 PUBLISH properties a server forwards unaltered, Message Expiry, and
// the malformed ones it must refuse.

var (
	corrData  = []byte{0x00, 0xff, 0x10, 'c', 'o', 'r', 'r', 0x00}
	userProps = []codec.UserProperty{{Key: "z", Value: "first"}, {Key: "a", Value: "second"}, {Key: "z", Value: "third"}, {Key: "dup", Value: "same"}, {Key: "dup", Value: "same"}}
)

// propsPublish returns a PUBLISH carrying every forwardable property.
func propsPublish(topic string, qos byte, retain bool, expiry uint32) *codec.Publish {
	p := &codec.Publish{Topic: topic, QoS: qos, Retain: retain, Payload: b("{\"v\":\"é\"}")}
	p.Properties.SetPayloadFormat(1).SetContentType("application/json; charset=utf-8").
		SetResponseTopic(topic + "/reply").SetCorrelationData(corrData).SetMessageExpiry(expiry)
	p.Properties.User = append([]codec.UserProperty(nil), userProps...)
	return p
}

// checkAllProps verifies what propsPublish set arrived unaltered; the expiry must lie in
// [minExpiry, maxExpiry].
func checkAllProps(topic string, minExpiry, maxExpiry uint32) func(*codec.Properties) error {
	return func(pr *codec.Properties) error {
		var errs []string
		if !pr.Has(codec.PropPayloadFormat) || pr.PayloadFormat != 1 {
			errs = append(errs, fmt.Sprintf("Payload Format Indicator present=%t value=%d, want 1", pr.Has(codec.PropPayloadFormat), pr.PayloadFormat))
		}
		if !pr.Has(codec.PropContentType) || pr.ContentType != "application/json; charset=utf-8" {
			errs = append(errs, fmt.Sprintf("Content Type %q", pr.ContentType))
		}
		if !pr.Has(codec.PropResponseTopic) || pr.ResponseTopic != topic+"/reply" {
			errs = append(errs, fmt.Sprintf("Response Topic %q", pr.ResponseTopic))
		}
		if !pr.Has(codec.PropCorrelationData) || !bytes.Equal(pr.CorrelationData, corrData) {
			errs = append(errs, fmt.Sprintf("Correlation Data %x, want %x", pr.CorrelationData, corrData))
		}
		if err := userEqual(pr.User, userProps); err != nil {
			errs = append(errs, err.Error())
		}
		if !pr.Has(codec.PropMessageExpiry) || pr.MessageExpiry < minExpiry || pr.MessageExpiry > maxExpiry {
			errs = append(errs, fmt.Sprintf("Message Expiry Interval present=%t value=%d, want %d..%d", pr.Has(codec.PropMessageExpiry), pr.MessageExpiry, minExpiry, maxExpiry))
		}
		if len(errs) > 0 {
			return fmt.Errorf("%v", errs)
		}
		return nil
	}
}

func userEqual(got, want []codec.UserProperty) error {
	if len(got) != len(want) {
		return fmt.Errorf("user properties are %v, want %v (same order)", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("user properties are %v, want %v (same order)", got, want)
		}
	}
	return nil
}

// expiryWindow returns the Message Expiry Interval a message sent with interval sent must carry
// after waiting elapsed in the server: the interval less the wait, allowing whole-second
// rounding either way.
func expiryWindow(sent uint32, elapsed time.Duration) (lo, hi uint32) {
	s := elapsed.Seconds()
	l := float64(sent) - math.Ceil(s) - 1
	h := math.Ceil(float64(sent) - s + 0.2)
	if l < 0 {
		l = 0
	}
	return uint32(l), uint32(math.Min(h, float64(sent)))
}

var _ = catalog.Broker(c.Case{
	ID:         "3.3/payload-format-indicator-forwarded",
	Title:      "a Payload Format Indicator of 1 reaches the subscriber unaltered",
	Statements: []string{"MQTT-3.3.2-4"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("pfi")
		sub := t.Sub("sub", topic, 0)
		p := &codec.Publish{Topic: topic, Payload: b("utf-8 text: ünïcödé")}
		p.Properties.SetPayloadFormat(1)
		t.Pub("pub").Publish(p)
		sub.Expect(c.Publish(topic, p.Payload, 0).Props("Payload Format Indicator=1", func(pr *codec.Properties) error {
			if !pr.Has(codec.PropPayloadFormat) || pr.PayloadFormat != 1 {
				return fmt.Errorf("Payload Format Indicator present=%t value=%d, want 1", pr.Has(codec.PropPayloadFormat), pr.PayloadFormat)
			}
			return nil
		}))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/response-topic-forwarded",
	Title:      "the Response Topic reaches the subscriber unaltered",
	Statements: []string{"MQTT-3.3.2-15"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("rt")
		sub := t.Sub("sub", topic, 0)
		p := &codec.Publish{Topic: topic, Payload: b("request")}
		p.Properties.SetResponseTopic(t.Topic("responses/Ünïcode client"))
		t.Pub("pub").Publish(p)
		sub.Expect(c.Publish(topic, p.Payload, 0).Props("Response Topic unaltered", func(pr *codec.Properties) error {
			if !pr.Has(codec.PropResponseTopic) || pr.ResponseTopic != p.Properties.ResponseTopic {
				return fmt.Errorf("Response Topic is %q (present=%t), want %q", pr.ResponseTopic, pr.Has(codec.PropResponseTopic), p.Properties.ResponseTopic)
			}
			return nil
		}))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/correlation-data-forwarded",
	Title:      "binary Correlation Data (with zero and 0xFF bytes) reaches the subscriber byte for byte",
	Statements: []string{"MQTT-3.3.2-16"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("cd")
		sub := t.Sub("sub", topic, 0)
		p := &codec.Publish{Topic: topic, Payload: b("request")}
		p.Properties.SetCorrelationData(corrData)
		t.Pub("pub").Publish(p)
		sub.Expect(c.Publish(topic, p.Payload, 0).Props("Correlation Data unaltered", func(pr *codec.Properties) error {
			if !pr.Has(codec.PropCorrelationData) || !bytes.Equal(pr.CorrelationData, corrData) {
				return fmt.Errorf("Correlation Data is %x (present=%t), want %x", pr.CorrelationData, pr.Has(codec.PropCorrelationData), corrData)
			}
			return nil
		}))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/user-properties-forwarded-in-order",
	Title:      "user properties reach the subscriber unaltered and in order, repeated keys and duplicate pairs included",
	Statements: []string{"MQTT-3.3.2-17", "MQTT-3.3.2-18"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("up")
		sub := t.Sub("sub", topic, 0)
		p := &codec.Publish{Topic: topic, Payload: b("with user properties")}
		p.Properties.User = append([]codec.UserProperty(nil), userProps...)
		t.Pub("pub").Publish(p)
		sub.Expect(c.Publish(topic, p.Payload, 0).User(userProps...))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/content-type-forwarded",
	Title:      "the Content Type reaches the subscriber unaltered",
	Statements: []string{"MQTT-3.3.2-20"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("ct")
		sub := t.Sub("sub", topic, 0)
		p := &codec.Publish{Topic: topic, Payload: b("{}")}
		p.Properties.SetContentType("application/json; charset=utf-8")
		t.Pub("pub").Publish(p)
		sub.Expect(c.Publish(topic, p.Payload, 0).Props("Content Type unaltered", func(pr *codec.Properties) error {
			if !pr.Has(codec.PropContentType) || pr.ContentType != p.Properties.ContentType {
				return fmt.Errorf("Content Type is %q (present=%t), want %q", pr.ContentType, pr.Has(codec.PropContentType), p.Properties.ContentType)
			}
			return nil
		}))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/properties-kept-for-retained-message",
	Title:      "a retained message sent to a new subscriber keeps every property it was published with",
	Statements: []string{"MQTT-3.3.2-4", "MQTT-3.3.2-15", "MQTT-3.3.2-16", "MQTT-3.3.2-17", "MQTT-3.3.2-18", "MQTT-3.3.2-20"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("rp")
		p := propsPublish(topic, 1, true, 300)
		t.Pub("pub").Publish(p)
		sent := time.Now()
		// The retained message may come before the SUBACK (section 3.8.4); the expiry window is
		// computed when it arrives.
		subRetained(t, "sub", topic, 1, retained(topic, string(p.Payload), 1).Props("every property unaltered", func(pr *codec.Properties) error {
			lo, hi := expiryWindow(300, time.Since(sent))
			return checkAllProps(topic, lo, hi)(pr)
		}))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/properties-kept-for-stored-session",
	Title:      "a message queued for an offline session is delivered on reconnect with every property it was published with",
	Statements: []string{"MQTT-3.3.2-4", "MQTT-3.3.2-15", "MQTT-3.3.2-16", "MQTT-3.3.2-17", "MQTT-3.3.2-18", "MQTT-3.3.2-20", "MQTT-4.5.0-1"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, id := t.Topic("sp"), t.ClientID()
		offline(t, persistentSub(t, "sub1", id, topic, 1))
		p := propsPublish(topic, 1, false, 300)
		t.Pub("pub").Publish(p)
		sent := time.Now()
		sub := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		got := sub.ExpectPublish(c.Publish(topic, p.Payload, 1))
		lo, hi := expiryWindow(300, time.Since(sent))
		if err := checkAllProps(topic, lo, hi)(&got.Properties); err != nil {
			t.Failf("every property unaltered", got.String(), "the queued message lost or changed properties: %v", err)
		}
	},
})

// ---- Message Expiry Interval ----

var _ = catalog.Broker(c.Case{
	ID:         "3.3/message-expiry-forwarded",
	Title:      "a message published with Message Expiry Interval 30 reaches an online subscriber with the interval present (29 or 30)",
	Statements: []string{"MQTT-3.3.2-6"},
	Versions:   c.V5,
	Level:      c.Must,
	Run: func(t *c.T) {
		topic := t.Topic("me")
		sub := t.Sub("sub", topic, 0)
		p := &codec.Publish{Topic: topic, Payload: b("expires in 30s")}
		p.Properties.SetMessageExpiry(30)
		t.Pub("pub").Publish(p)
		sub.Expect(c.Publish(topic, p.Payload, 0).Props("Message Expiry Interval 29..30", func(pr *codec.Properties) error {
			if !pr.Has(codec.PropMessageExpiry) || pr.MessageExpiry < 29 || pr.MessageExpiry > 30 {
				return fmt.Errorf("Message Expiry Interval present=%t value=%d, want 29..30", pr.Has(codec.PropMessageExpiry), pr.MessageExpiry)
			}
			return nil
		}))
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/message-expiry-decremented",
	Title:      "a message with Message Expiry Interval 10 that waited about 2 s for an offline session is delivered with the interval reduced by the wait",
	Statements: []string{"MQTT-3.3.2-6"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, id := t.Topic("me"), t.ClientID()
		offline(t, persistentSub(t, "sub1", id, topic, 1))
		p := &codec.Publish{Topic: topic, QoS: 1, Payload: b("waits")}
		p.Properties.SetMessageExpiry(10)
		t.Pub("pub").Publish(p)
		sent := time.Now()
		t.Sleep(2100 * time.Millisecond)
		sub := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		// DUP is 4.5/offline-session-receives-queued's claim, not this case's.
		got := sub.ExpectPublish(c.Publish(topic, p.Payload, 1).AnyDup())
		lo, hi := expiryWindow(10, time.Since(sent))
		if !got.Properties.Has(codec.PropMessageExpiry) || got.Properties.MessageExpiry < lo || got.Properties.MessageExpiry > hi {
			t.Failf(fmt.Sprintf("Message Expiry Interval %d..%d", lo, hi), got.String(),
				"after %.1fs in the server the Message Expiry Interval is %d (present=%t); sent 10", time.Since(sent).Seconds(), got.Properties.MessageExpiry, got.Properties.Has(codec.PropMessageExpiry))
		}
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/message-expiry-expired-not-delivered",
	Title:      "a message whose 1 s Message Expiry Interval passed while the session was offline is not delivered on reconnect at 1 s plus the timing tolerance; the 2 s one after it is",
	Statements: []string{"MQTT-3.3.2-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureQoS1},
	Run: func(t *c.T) {
		topic, id := t.Topic("me"), t.ClientID()
		offline(t, persistentSub(t, "sub1", id, topic, 1))
		pub := t.Pub("pub")
		p := &codec.Publish{Topic: topic, QoS: 1, Payload: b("expires")}
		p.Properties.SetMessageExpiry(1)
		// The interval starts when the server receives the message, after this clock starts.
		sent := time.Now()
		pub.Publish(p)
		// The marker's interval has not passed at the reconnect, so a server that expires
		// messages early (or all queued ones) fails too.
		marker := &codec.Publish{Topic: topic, QoS: 1, Payload: b("marker")}
		marker.Properties.SetMessageExpiry(2)
		pub.Publish(marker)
		t.Sleep(max(time.Until(sent.Add(time.Second+t.Tolerance())), 0))
		sub := t.ConnectResume("sub2", t.PersistentConnect(id), true)
		timing := fmt.Sprintf("reconnected %s after the message was sent; Message Expiry Interval 1.00 s, tolerance %s",
			c.Seconds(sub.LastSent().Sub(sent)), c.Seconds(t.Tolerance()))
		// Same topic and QoS, so the expired message would come before the marker.
		got := sub.ExpectPublish(c.AnyPublish().Topic(topic).QoS(1).Retain(false))
		if string(got.Payload) == "expires" {
			t.Failf("the marker only", got.String(), "the expired message was delivered: %s", timing)
		}
		c.Equal(t, "payload of the first message delivered", string(got.Payload), "marker")
		sub.Ack(got)
		t.Logf("timing: %s: not delivered", timing)
	},
})

var _ = catalog.Broker(c.Case{
	ID:         "3.3/message-expiry-retained-expired",
	Title:      "a retained message whose 1 s Message Expiry Interval has passed is not sent to a new subscriber",
	Statements: []string{"MQTT-3.3.2-5"},
	Versions:   c.V5,
	Level:      c.Must,
	Requires:   []c.Feature{c.FeatureRetain, c.FeatureQoS1},
	Run: func(t *c.T) {
		topic := t.Topic("me")
		p := &codec.Publish{Topic: topic, QoS: 1, Retain: true, Payload: b("expires")}
		p.Properties.SetMessageExpiry(1)
		sent := time.Now()
		t.Pub("pub").Publish(p)
		t.Sleep(max(time.Until(sent.Add(time.Second+t.Tolerance())), 0))
		sub := t.Sub("sub", topic, 1)
		t.Logf("timing: subscribed %s after the retained message was sent; Message Expiry Interval 1.00 s, tolerance %s",
			c.Seconds(sub.LastSent().Sub(sent)), c.Seconds(t.Tolerance()))
		sub.ExpectNothing(0)
	},
})

// ---- malformed properties from the client ----

func badPropCase(id, title string, stmts []string, set func(t *c.T, p *codec.Properties)) c.Case {
	return catalog.Broker(c.Case{
		ID:         id,
		Title:      title,
		Statements: stmts,
		Versions:   c.V5,
		Level:      c.Must,
		Run: func(t *c.T) {
			topic := t.Topic("bad")
			sub := t.Sub("sub", topic, 0)
			pub := t.Pub("pub")
			p := &codec.Publish{Topic: topic, Payload: b("bad property")}
			set(t, &p.Properties)
			pub.Send(p)
			pub.ExpectErrorClose()
			sub.ExpectNothing(0)
		},
	})
}

var (
	_ = badPropCase("3.3/response-topic-wildcard-closes",
		"a PUBLISH whose Response Topic contains a wildcard is not forwarded and the server closes the connection",
		[]string{"MQTT-3.3.2-14", "MQTT-4.13.1-1"},
		func(t *c.T, p *codec.Properties) { p.SetResponseTopic(t.Topic("replies/#")) })
	_ = badPropCase("3.3/response-topic-invalid-utf8-closes",
		"a PUBLISH whose Response Topic is not well-formed UTF-8 is not forwarded and the server closes the connection",
		[]string{"MQTT-3.3.2-13", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
		func(t *c.T, p *codec.Properties) { p.SetResponseTopic(t.Topic("bad\xc3\x28utf8")) })
	_ = badPropCase("3.3/content-type-invalid-utf8-closes",
		"a PUBLISH whose Content Type is not well-formed UTF-8 is not forwarded and the server closes the connection",
		[]string{"MQTT-3.3.2-19", "MQTT-1.5.4-1", "MQTT-4.13.1-1"},
		func(t *c.T, p *codec.Properties) { p.SetContentType("text/\xff\xfe") })
)
