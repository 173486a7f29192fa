package broker_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker"
	"github.com/mqttspec/mqttspec/reference/broker/brokertest"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

func TestFirstPacketMustBeConnect(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, p := range []codec.Packet{&codec.Pingreq{}, &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: "a"}}}, &codec.Publish{Topic: "a"}} {
		c := dial(t, addr, codec.V311)
		c.send(p)
		c.expectClosed(wait) // MQTT-3.1.0-1: no CONNACK, just the close
	}
}

func TestSecondConnectIsProtocolError(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		c, _ := connect(t, addr, v)
		c.send(connectPacket())
		c.expectDisconnect(codec.ReasonProtocolError) // MQTT-3.1.0-2
	}
}

func TestConnectRefusals(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	tests := []struct {
		name   string
		v      codec.Version
		raw    []byte
		cp     *codec.Connect
		want   codec.ReasonCode // CONNACK code; 0xFF = closed without CONNACK
		v311ok bool             // the CONNACK is in the 3.1.1 layout
	}{
		{name: "unsupported level 6", v: codec.V311, cp: &codec.Connect{ProtocolLevel: 6, ClientID: "x", CleanStart: true}, want: codec.ConnRefusedProtocolVersion},
		{name: "unsupported level 2", v: codec.V311, cp: &codec.Connect{ProtocolLevel: 2, ProtocolName: "MQTT", ClientID: "x", CleanStart: true}, want: codec.ConnRefusedProtocolVersion},
		{name: "wrong protocol name", v: codec.V311, cp: &codec.Connect{ProtocolName: "MQTX", ClientID: "x", CleanStart: true}, want: 0xFF},
		{name: "3.1.1 empty id without clean session", v: codec.V311, cp: &codec.Connect{ClientID: ""}, want: codec.ConnRefusedIdentifierRejected},
		{name: "3.1 id longer than 23", v: codec.V31, cp: &codec.Connect{ClientID: "abcdefghijklmnopqrstuvwxyz", CleanStart: true}, want: codec.ConnRefusedIdentifierRejected},
		{name: "3.1 empty id", v: codec.V31, cp: &codec.Connect{ClientID: "", CleanStart: true}, want: codec.ConnRefusedIdentifierRejected},
		{name: "3.1.1 reserved flag", v: codec.V311, cp: &codec.Connect{ClientID: "x", ReservedFlag: true}, want: 0xFF},
		{name: "v5 reserved flag", v: codec.V5, cp: &codec.Connect{ClientID: "x", ReservedFlag: true}, want: codec.ReasonMalformedPacket},
		{name: "v5 will QoS 3", v: codec.V5, cp: &codec.Connect{ClientID: "x", WillFlag: true, Will: codec.Will{QoS: 3, Topic: "w"}}, want: codec.ReasonMalformedPacket},
		{name: "v5 unknown auth method", v: codec.V5, cp: func() *codec.Connect {
			c := &codec.Connect{ClientID: "x"}
			c.Properties.SetAuthMethod("NOPE")
			return c
		}(), want: codec.ReasonBadAuthenticationMethod},
		{name: "v5 receive maximum 0", v: codec.V5, cp: func() *codec.Connect {
			c := &codec.Connect{ClientID: "x"}
			c.Properties.SetReceiveMaximum(0)
			return c
		}(), want: codec.ReasonProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, tc.v)
			c.send(tc.cp)
			if tc.want == 0xFF {
				c.expectClosed(wait)
				return
			}
			if tc.cp.ProtocolLevel != 0 {
				c.r.SetVersion(codec.V311)
			}
			ack := expectP[*codec.Connack](c)
			if ack.ReasonCode != tc.want || ack.SessionPresent {
				t.Fatalf("CONNACK %v, want reason 0x%02X and Session Present 0", ack, byte(tc.want))
			}
			c.expectClosed(wait) // MQTT-3.2.2-7
		})
	}
}

func TestAssignedClientIdentifier(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	_, ack := connect(t, addr, codec.V5, clientID(""))
	id := ack.Properties.AssignedClientID
	if !ack.Properties.Has(codec.PropAssignedClientID) || id == "" {
		t.Fatalf("CONNACK without Assigned Client Identifier: %v", ack)
	}
	_, ack2 := connect(t, addr, codec.V5, clientID(""))
	if ack2.Properties.AssignedClientID == id {
		t.Fatalf("two clients got the same assigned identifier %q (MQTT-3.2.2-16)", id)
	}
	// 3.1.1 with Clean Session 1 is accepted without telling the client its identifier.
	_, ack3 := connect(t, addr, codec.V311, clientID(""))
	if !ack3.Properties.Empty() {
		t.Fatalf("3.1.1 CONNACK with properties: %v", ack3)
	}
}

func TestDefaultConnackProperties(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	// No Request Problem Information in the CONNECT means 1: the CONNACK says what the client got.
	_, ack := connect(t, addr, codec.V5)
	got := ack.Properties.IDs()
	want := []codec.PropID{codec.PropReceiveMaximum, codec.PropTopicAliasMaximum, codec.PropReasonString}
	if !slices.Equal(sortedIDs(got), sortedIDs(want)) {
		t.Fatalf("default CONNACK properties %v, want %v", ack.Properties.String(), want)
	}
	if ack.Properties.ReceiveMaximum != 256 || ack.Properties.TopicAliasMaximum != 100 || ack.Properties.ReasonString != "new session" {
		t.Fatalf("defaults: %v", ack.Properties.String())
	}
}

func TestConfiguredConnackProperties(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{
		MaxInflight: 10, MaxPacketSize: 4096, TopicAliasMaximum: broker.Ptr[uint16](0), MaximumQoS: broker.Ptr[byte](1),
		RetainAvailable: broker.Ptr(false), WildcardAvailable: broker.Ptr(false), SubIDAvailable: broker.Ptr(false),
		SharedAvailable: broker.Ptr(false), ServerKeepAlive: 30,
	})
	_, ack := connect(t, addr, codec.V5)
	p := ack.Properties
	checks := []struct {
		id   codec.PropID
		ok   bool
		desc string
	}{
		{codec.PropReceiveMaximum, p.ReceiveMaximum == 10, "Receive Maximum 10"},
		{codec.PropMaximumPacketSize, p.MaximumPacketSize == 4096, "Maximum Packet Size 4096"},
		{codec.PropMaximumQoS, p.MaximumQoS == 1, "Maximum QoS 1"},
		{codec.PropRetainAvailable, p.RetainAvailable == 0, "Retain Available 0"},
		{codec.PropWildcardSubAvailable, p.WildcardSubAvailable == 0, "Wildcard Subscription Available 0"},
		{codec.PropSubIDAvailable, p.SubIDAvailable == 0, "Subscription Identifiers Available 0"},
		{codec.PropSharedSubAvailable, p.SharedSubAvailable == 0, "Shared Subscription Available 0"},
		{codec.PropServerKeepAlive, p.ServerKeepAlive == 30, "Server Keep Alive 30"},
	}
	for _, c := range checks {
		if !p.Has(c.id) || !c.ok {
			t.Errorf("want %s in %v", c.desc, p.String())
		}
	}
	if p.Has(codec.PropTopicAliasMaximum) {
		t.Errorf("Topic Alias Maximum 0 must be absent: %v", p.String())
	}
}

func TestSessionPresent(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	t.Run("5.0", func(t *testing.T) {
		id := uniq("sp")
		se := props(func(p *codec.Properties) { p.SetSessionExpiry(60) })
		c, ack := connect(t, addr, codec.V5, clientID(id), notClean(), se)
		if ack.SessionPresent {
			t.Fatal("Session Present 1 without a stored session (MQTT-3.2.2-3)")
		}
		c.disconnect()
		c, ack = connect(t, addr, codec.V5, clientID(id), notClean(), se)
		if !ack.SessionPresent {
			t.Fatal("Session Present 0 for a stored session (MQTT-3.2.2-3)")
		}
		c.disconnect()
		_, ack = connect(t, addr, codec.V5, clientID(id), se)
		if ack.SessionPresent {
			t.Fatal("Session Present 1 with Clean Start 1 (MQTT-3.2.2-2)")
		}
	})
	t.Run("5.0 session expiry 0", func(t *testing.T) {
		id := uniq("sp")
		c, _ := connect(t, addr, codec.V5, clientID(id), notClean())
		c.disconnect()
		_, ack := connect(t, addr, codec.V5, clientID(id), notClean())
		if ack.SessionPresent {
			t.Fatal("a session with expiry 0 survived its connection")
		}
	})
	t.Run("3.1.1", func(t *testing.T) {
		id := uniq("sp")
		c, ack := connect(t, addr, codec.V311, clientID(id), notClean())
		if ack.SessionPresent {
			t.Fatal("Session Present 1 on first connect")
		}
		c.disconnect()
		c, ack = connect(t, addr, codec.V311, clientID(id), notClean())
		if !ack.SessionPresent {
			t.Fatal("Session Present 0 for a stored session (MQTT-3.2.2-2)")
		}
		c.disconnect()
		_, ack = connect(t, addr, codec.V311, clientID(id))
		if ack.SessionPresent {
			t.Fatal("Session Present 1 with Clean Session 1 (MQTT-3.2.2-1)")
		}
	})
}

func TestKeepAliveEnforced(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			c, _ := connect(t, addr, v, keepAlive(1))
			start := time.Now()
			// Activity keeps the connection alive past 1.5 s.
			for i := 0; i < 3; i++ {
				time.Sleep(700 * time.Millisecond)
				c.ping()
			}
			start = time.Now()
			c.expectDisconnect(codec.ReasonKeepAliveTimeout)
			if el := time.Since(start); el < 1400*time.Millisecond || el > 2600*time.Millisecond {
				t.Fatalf("closed after %v of silence, want 1.5 s (MQTT-3.1.2-22)", el)
			}
		})
	}
}

func TestServerKeepAlive(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{MaxKeepAlive: 1})
	c, ack := connect(t, addr, codec.V5, keepAlive(0))
	if !ack.Properties.Has(codec.PropServerKeepAlive) || ack.Properties.ServerKeepAlive != 1 {
		t.Fatalf("want Server Keep Alive 1, got %v", ack)
	}
	start := time.Now()
	c.expectDisconnect(codec.ReasonKeepAliveTimeout)
	if el := time.Since(start); el < 1400*time.Millisecond || el > 2600*time.Millisecond {
		t.Fatalf("closed after %v, want 1.5 s of the server's keep alive (MQTT-3.2.2-21)", el)
	}
	// 3.1.1 cannot be told: a keep alive above the maximum is refused.
	c3 := dial(t, addr, codec.V311)
	c3.send(connectPacket(keepAlive(60)))
	if ack := expectP[*codec.Connack](c3); ack.ReasonCode != codec.ConnRefusedIdentifierRejected {
		t.Fatalf("3.1.1 keep alive above the maximum: %v", ack)
	}
}

func TestConnectTimeout(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{ConnectTimeout: 300 * time.Millisecond})
	c := dial(t, addr, codec.V311)
	b, _ := codec.Encode(connectPacket(), codec.V311)
	// Slowloris: half a CONNECT, then silence.
	c.sendRaw(b[:len(b)/2])
	start := time.Now()
	c.expectClosed(wait)
	if el := time.Since(start); el > time.Second {
		t.Fatalf("closed after %v, want about 300ms", el)
	}
}

func TestUserPasswordAuth(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{Users: map[string]string{"alice": "secret"}})
	tests := []struct {
		name string
		v    codec.Version
		opts []connOpt
		want codec.ReasonCode
	}{
		{"3.1.1 good", codec.V311, []connOpt{creds("alice", "secret")}, 0},
		{"3.1.1 wrong password", codec.V311, []connOpt{creds("alice", "nope")}, codec.ConnRefusedBadUsernamePassword},
		{"3.1.1 anonymous", codec.V311, nil, codec.ConnRefusedBadUsernamePassword},
		{"5.0 good", codec.V5, []connOpt{creds("alice", "secret")}, 0},
		{"5.0 unknown user", codec.V5, []connOpt{creds("bob", "secret")}, codec.ReasonBadUsernameOrPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, tc.v)
			c.send(connectPacket(tc.opts...))
			ack := expectP[*codec.Connack](c)
			if ack.ReasonCode != tc.want {
				t.Fatalf("CONNACK %v, want 0x%02X", ack, byte(tc.want))
			}
			if tc.want != 0 {
				c.expectClosed(wait)
			}
		})
	}
}

func TestEnhancedAuthSCRAM(t *testing.T) {
	m, err := broker.SCRAMSHA256(map[string]string{"alice": "wonderland"})
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, broker.Options{
		AuthMethods: map[string]broker.AuthMethod{scram.Method: m},
		ACL:         broker.ACL{{User: "alice", Topic: "alice/#", Access: broker.AccessReadWrite}},
	})
	run := func(t *testing.T, user, pass string) (*tconn, *codec.Connack) {
		cl := &scram.Client{User: user, Password: pass}
		c := dial(t, addr, codec.V5)
		c.send(connectPacket(props(func(p *codec.Properties) { p.SetAuthMethod(scram.Method).SetAuthData(cl.First()) })))
		a := expectP[*codec.Auth](c)
		if a.ReasonCode != codec.ReasonContinueAuthentication || a.Properties.AuthMethod != scram.Method {
			t.Fatalf("want AUTH 0x18 with the method (MQTT-4.12.0-2/5), got %v", a)
		}
		final, err := cl.Final(a.Properties.AuthData)
		if err != nil {
			t.Fatal(err)
		}
		resp := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
		resp.Properties.SetAuthMethod(scram.Method).SetAuthData(final)
		c.send(resp)
		ack := expectP[*codec.Connack](c)
		if ack.ReasonCode == 0 {
			if ack.Properties.AuthMethod != scram.Method {
				t.Fatalf("success CONNACK without the Authentication Method (MQTT-4.12.0-5): %v", ack)
			}
			if err := cl.Verify(ack.Properties.AuthData); err != nil {
				t.Fatalf("server-final does not verify: %v", err)
			}
		}
		return c, ack
	}
	t.Run("success, ACL by authenticated user, re-authentication", func(t *testing.T) {
		c, _ := run(t, "alice", "wonderland")
		if ack := c.subscribe(1, codec.Subscription{Filter: "alice/x", QoS: 1}); ack.ReasonCodes[0] != 1 {
			t.Fatalf("SUBACK %v: the ACL must see the SCRAM user", ack)
		}
		cl := &scram.Client{User: "alice", Password: "wonderland"}
		re := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
		re.Properties.SetAuthMethod(scram.Method).SetAuthData(cl.First())
		c.send(re)
		a := expectP[*codec.Auth](c)
		final, err := cl.Final(a.Properties.AuthData)
		if err != nil {
			t.Fatal(err)
		}
		resp := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
		resp.Properties.SetAuthMethod(scram.Method).SetAuthData(final)
		c.send(resp)
		ok := expectP[*codec.Auth](c)
		if ok.ReasonCode != codec.ReasonSuccess || cl.Verify(ok.Properties.AuthData) != nil {
			t.Fatalf("re-authentication: %v", ok)
		}
		c.ping()
	})
	t.Run("wrong password", func(t *testing.T) {
		c, ack := run(t, "alice", "nope")
		if ack.ReasonCode != codec.ReasonBadUsernameOrPassword {
			t.Fatalf("CONNACK %v, want 0x86", ack)
		}
		c.expectClosed(wait)
	})
	t.Run("AUTH without an authentication method in CONNECT", func(t *testing.T) {
		c, _ := connect(t, addr, codec.V5)
		a := &codec.Auth{ReasonCode: codec.ReasonReAuthenticate}
		a.Properties.SetAuthMethod(scram.Method)
		c.send(a)
		c.expectDisconnect(codec.ReasonProtocolError)
	})
	t.Run("PUBLISH during authentication", func(t *testing.T) {
		cl := &scram.Client{User: "alice", Password: "wonderland"}
		c := dial(t, addr, codec.V5)
		c.send(connectPacket(props(func(p *codec.Properties) { p.SetAuthMethod(scram.Method).SetAuthData(cl.First()) })))
		expectP[*codec.Auth](c)
		c.send(&codec.Publish{Topic: "alice/x"})
		if ack := expectP[*codec.Connack](c); ack.ReasonCode != codec.ReasonProtocolError {
			t.Fatalf("CONNACK %v, want 0x82 (MQTT-3.1.2-30)", ack)
		}
		c.expectClosed(wait)
	})
}

func TestMaxConnections(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{MaxConnections: 2})
	a, _ := connect(t, addr, codec.V5)
	connect(t, addr, codec.V311)
	c := dial(t, addr, codec.V5)
	c.send(connectPacket())
	if ack := expectP[*codec.Connack](c); ack.ReasonCode != codec.ReasonQuotaExceeded {
		t.Fatalf("third connection: %v, want 0x97", ack)
	}
	c3 := dial(t, addr, codec.V311)
	c3.send(connectPacket())
	if ack := expectP[*codec.Connack](c3); ack.ReasonCode != codec.ConnRefusedServerUnavailable {
		t.Fatalf("third 3.1.1 connection: %v, want 0x03", ack)
	}
	a.disconnect()
	deadline := time.Now().Add(wait)
	for {
		c := dial(t, addr, codec.V5)
		c.send(connectPacket())
		if ack := expectP[*codec.Connack](c); ack.ReasonCode == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a slot freed by a disconnect was not reused")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSessionTakeover(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		t.Run(v.String(), func(t *testing.T) {
			id := uniq("take")
			old, _ := connect(t, addr, v, clientID(id))
			connect(t, addr, v, clientID(id))
			old.expectDisconnect(codec.ReasonSessionTakenOver) // MQTT-3.1.4-3
		})
	}
}

func sortedIDs(ids []codec.PropID) []codec.PropID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// A CONNACK that cannot fit the client's Maximum Packet Size is not sent, and there is no
// connection without it: the broker closes at once, with nothing sent (no DISCONNECT before a
// CONNACK, MQTT-3.14.0-1) and no will armed. A limit the CONNACK fits gets it as usual.
func TestConnackTooLargeCloses(t *testing.T) {
	addr := brokertest.Start(t, broker.Options{})
	for _, tc := range []struct {
		name     string
		max      uint32
		clientID string
		closed   bool
	}{
		{"assigned identifier does not fit", 7, "", true},
		{"bare CONNACK does not fit", 4, uniq("c"), true},
		{"fits once the diagnostics are left out", 11, uniq("c"), false}, // Receive Maximum and Topic Alias Maximum: 11 bytes
	} {
		t.Run(tc.name, func(t *testing.T) {
			wt := uniq("will/")
			watcher, _ := connect(t, addr, codec.V5)
			watcher.subscribe(1, codec.Subscription{Filter: wt})
			c := dial(t, addr, codec.V5)
			cp := connectPacket(clientID(tc.clientID), props(func(p *codec.Properties) { p.SetMaximumPacketSize(tc.max) }),
				withWill(wt, "w", 0, false, nil))
			c.send(cp)
			if !tc.closed {
				if _, ok := c.expect(2 * time.Second).(*codec.Connack); !ok {
					t.Fatal("no CONNACK within the limit")
				}
				return
			}
			c.expectClosed(2 * time.Second)
			watcher.expectNothing(300 * time.Millisecond) // no will: there was no connection
		})
	}
}
