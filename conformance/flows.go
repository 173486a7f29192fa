package conformance

import (
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// DefaultConnect returns a CONNECT for the case's version: a fresh client identifier, clean
// start, keep alive 60 s and the target's credentials.
func (t *T) DefaultConnect() *codec.Connect {
	c := &codec.Connect{ProtocolLevel: byte(t.Version), CleanStart: true, KeepAlive: 60, ClientID: t.ClientID()}
	if t.Version == codec.V31 {
		c.ProtocolName = "MQIsdp"
	} else {
		c.ProtocolName = "MQTT"
	}
	if t.Target.Username != "" {
		c.UsernameFlag, c.Username = true, t.Target.Username
		c.PasswordFlag, c.Password = true, []byte(t.Target.Password)
	}
	return c
}

// Connect dials, sends c and expects a successful CONNACK (reason 0, Session Present 0 for a clean
// start). The CONNACK is kept in Conn.Connack.
func (t *T) Connect(c *codec.Connect) *Conn {
	return t.ConnectLabel("", c)
}

// ConnectLabel is Connect with a connection label for the transcript.
func (t *T) ConnectLabel(label string, c *codec.Connect) *Conn {
	conn := t.Dial(label)
	conn.Send(c)
	m := Connack(0)
	if !c.CleanStart {
		m = (&M{typ: codec.CONNACK}).Reason(0)
	}
	conn.Connack = conn.Expect(m).(*codec.Connack)
	return conn
}

// ConnectResume connects with clean start 0 (v5: with session expiry) and expects the CONNACK
// Session Present flag to be present.
func (t *T) ConnectResume(label string, c *codec.Connect, present bool) *Conn {
	conn := t.Dial(label)
	conn.Send(c)
	conn.Connack = conn.Expect((&M{typ: codec.CONNACK}).Reason(0).SessionPresent(present)).(*codec.Connack)
	return conn
}

// Subscribe sends a SUBSCRIBE for one filter at min(qos, the target's maximum QoS) and expects a
// SUBACK granting exactly that. It returns the granted QoS.
func (c *Conn) Subscribe(filter string, qos byte) byte {
	return c.SubscribeOpts(codec.Subscription{Filter: filter, QoS: qos}, nil)
}

// SubscribeOpts sends a SUBSCRIBE with full options (and v5 properties) and expects the grant.
// It asks for no more than the target's maximum QoS (Capabilities.MaximumQoS, lowered by a
// disabled qos1/qos2): a subscription is set-up for the case, and what a server grants to a
// request above its maximum is judged by the cases about grants (3.2/maximum-qos-…), not by
// every case that subscribes.
func (c *Conn) SubscribeOpts(sub codec.Subscription, props *codec.Properties) byte {
	id := c.NextID()
	sub.QoS = min(sub.QoS, c.t.Caps.MaximumQoS)
	s := &codec.Subscribe{PacketID: id, Subscriptions: []codec.Subscription{sub}}
	if props != nil {
		s.Properties = *props
	}
	c.Send(s)
	c.Expect(Suback(id, codec.ReasonCode(sub.QoS)))
	return sub.QoS
}

// Unsubscribe sends an UNSUBSCRIBE for filters and expects the UNSUBACK (v5: Success for each).
func (c *Conn) Unsubscribe(filters ...string) {
	id := c.NextID()
	c.Send(&codec.Unsubscribe{PacketID: id, Filters: filters})
	var codes []codec.ReasonCode
	if c.Version() == codec.V5 {
		codes = make([]codec.ReasonCode, len(filters))
	}
	c.Expect(Unsuback(id, codes...))
}

// Publish sends a PUBLISH and completes its QoS flow as the sender: PUBACK for QoS 1,
// PUBREC → PUBREL → PUBCOMP for QoS 2, each with the right packet identifier and reason 0
// (v5 also accepts 0x10 No matching subscribers on PUBACK/PUBREC).
func (c *Conn) Publish(p *codec.Publish) {
	if p.QoS > 0 && p.PacketID == 0 {
		p.PacketID = c.NextID()
	}
	c.Send(p)
	okCodes := []codec.ReasonCode{0}
	if c.Version() == codec.V5 {
		okCodes = append(okCodes, codec.ReasonNoMatchingSubscribers)
	}
	switch p.QoS {
	case 1:
		c.Expect((&M{typ: codec.PUBACK}).ID(p.PacketID).ReasonIn(okCodes...))
	case 2:
		c.Expect((&M{typ: codec.PUBREC}).ID(p.PacketID).ReasonIn(okCodes...))
		c.Send(&codec.Pubrel{PacketID: p.PacketID})
		c.Expect(Pubcomp(p.PacketID))
	}
}

// PublishMsg is Publish for the common case: topic, payload, QoS, retain.
func (c *Conn) PublishMsg(topic string, payload string, qos byte, retain bool) {
	c.Publish(&codec.Publish{Topic: topic, Payload: []byte(payload), QoS: qos, Retain: retain})
}

// ExpectPublish waits for a PUBLISH matching m and returns it.
func (c *Conn) ExpectPublish(m Matcher) *codec.Publish {
	p := c.Expect(m)
	pub, ok := p.(*codec.Publish)
	if !ok {
		c.t.Fatalf("[%s] matcher %s accepted a %v", c.Label, m, p.Type())
	}
	return pub
}

// Ack completes the receiver side of a QoS flow for a PUBLISH that arrived: PUBACK for QoS 1;
// PUBREC, then expect PUBREL, then PUBCOMP for QoS 2.
func (c *Conn) Ack(p *codec.Publish) {
	switch p.QoS {
	case 1:
		c.Send(&codec.Puback{PacketID: p.PacketID})
	case 2:
		c.Send(&codec.Pubrec{PacketID: p.PacketID})
		c.Expect(Pubrel(p.PacketID))
		c.Send(&codec.Pubcomp{PacketID: p.PacketID})
	}
}

// Receive expects a PUBLISH matching m and acknowledges it.
func (c *Conn) Receive(m Matcher) *codec.Publish {
	p := c.ExpectPublish(m)
	c.Ack(p)
	return p
}

// Sub is a convenient subscriber: connects a fresh client and subscribes to filter at qos.
func (t *T) Sub(label, filter string, qos byte) *Conn {
	c := t.ConnectLabel(label, t.DefaultConnect())
	c.Subscribe(filter, qos)
	return c
}

// Pub is a convenient publisher connection.
func (t *T) Pub(label string) *Conn { return t.ConnectLabel(label, t.DefaultConnect()) }

// Check fails the case when cond is false.
func (t *T) Check(cond bool, expected, actual string, format string, args ...any) {
	if !cond {
		t.Failf(expected, actual, format, args...)
	}
}

// Equal fails the case when got != want.
func Equal[V comparable](t *T, what string, got, want V) {
	if got != want {
		t.Failf(fmt.Sprint(want), fmt.Sprint(got), "%s is %v, want %v", what, got, want)
	}
}

// ExpectErrorClose is the reaction to a malformed packet or protocol error after the CONNACK: the
// connection closes, on v5 optionally after a DISCONNECT with one of the codes (section 4.13;
// default 0x81 Malformed Packet or 0x82 Protocol Error).
func (c *Conn) ExpectErrorClose(codes ...codec.ReasonCode) {
	if len(codes) == 0 {
		codes = []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError}
	}
	c.ExpectClosed(OrDisconnect(codes...))
}

// ExpectConnectRefused is the reaction to a bad CONNECT: the connection closes. 3.1.1 allows only
// a CONNACK with one of v311 first (nil: none — MQTT-3.1.4-1 closes without CONNACK). v5 allows
// a refusing CONNACK first (a MAY, section 4.13.1) with any Connect Reason Code of 0x80 or above
// (MQTT-3.2.2-8; Session Present 0, MQTT-3.2.2-6): the statements these cases cite require the
// close, and which code the CONNACK carries is judged on its own, at MAY level, by
// 3.1/malformed-connect-refusal-code. v5 lists the codes section 4.13 names for the error
// (default 0x81 Malformed Packet or 0x82 Protocol Error); a refusal with another code is noted in
// the transcript, not judged here, so a MUST case never ends as a warning.
func (c *Conn) ExpectConnectRefused(v311, v5 []codec.ReasonCode) {
	if c.Version() != codec.V5 {
		c.ExpectClosed(OrConnack(v311...))
		return
	}
	if v5 == nil {
		v5 = []codec.ReasonCode{codec.ReasonMalformedPacket, codec.ReasonProtocolError}
	}
	var refusals []codec.ReasonCode
	for _, rc := range codec.ReasonCodesFor(codec.CONNACK) {
		if rc.IsError() {
			refusals = append(refusals, rc)
		}
	}
	for _, p := range c.ExpectClosed(OrConnack(refusals...)) {
		if ack, ok := p.(*codec.Connack); ok && !containsCode(v5, ack.ReasonCode) && ack.ReasonCode != codec.ReasonUnspecifiedError {
			c.t.Logf("[%s] the refusing CONNACK has reason %s; section 4.13 names %s for this error (judged by 3.1/malformed-connect-refusal-code, not here)", c.Label, ack.ReasonCode, codesString(v5))
		}
	}
}

// PersistentConnect returns a CONNECT for client id that keeps its session after the connection
// closes: clean start 0 and, on v5, a Session Expiry Interval of 60 s.
func (t *T) PersistentConnect(id string) *codec.Connect {
	p := t.DefaultConnect()
	p.ClientID = id
	p.CleanStart = false
	if t.V5() {
		p.Properties.SetSessionExpiry(60)
	}
	return p
}

// StartAuth begins an enhanced-authentication exchange of the case with the target's method
// and returns the Authentication Data for the CONNECT (or AUTH 0x19) that starts it; AuthAnswer
// answers that exchange's challenges. A new StartAuth (re-authentication) starts a new exchange,
// which stateful methods such as SCRAM need.
func (t *T) StartAuth() []byte {
	initial, step := t.AuthExchange()
	t.mu.Lock()
	t.authStep = step
	t.mu.Unlock()
	return initial
}

// AuthAnswer computes the client's response to a challenge of the exchange StartAuth began; a
// method that cannot answer ends the case as an error (the target descriptor is incomplete).
func (t *T) AuthAnswer(challenge []byte) []byte {
	t.mu.Lock()
	step := t.authStep
	t.mu.Unlock()
	if step == nil {
		t.Errorf("the server sent an authentication challenge but no exchange was started, or the method has no step")
	}
	resp, err := step(challenge)
	if err != nil {
		t.Errorf("authentication step of %s: %v", t.Target.AuthMethod, err)
	}
	return resp
}

// AuthExchange starts one client side of the target's enhanced-authentication method: the data
// for the CONNECT (or AUTH 0x19) and the function answering each challenge. It ends the case as
// an error when the descriptor describes no method.
func (t *T) AuthExchange() (initial []byte, step func(challenge []byte) ([]byte, error)) {
	tg := t.Target
	if tg.AuthMethod == "" {
		t.Errorf("the target descriptor names no authentication method")
	}
	if tg.NewAuth != nil {
		init, st, err := tg.NewAuth()
		if err != nil {
			t.Errorf("start an authentication exchange: %v", err)
		}
		return init, st
	}
	if tg.AuthStep == nil {
		t.Errorf("the target descriptor has no AuthStep for %s", tg.AuthMethod)
	}
	return tg.AuthInitial, tg.AuthStep
}
