package client

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
)

// connectFake dials the fake broker, reads the CONNECT, answers CONNACK (Session Present and
// properties as given) and returns the connected client.
func connectFake(t *testing.T, fb *fakeBroker, o Options, present bool, props func(*codec.Properties)) (*Client, *fakeConn, *codec.Connect) {
	t.Helper()
	v := o.Version
	if v == 0 {
		v = codec.V5
	}
	type result struct {
		c   *Client
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := Dial(ctxT(t, 10*time.Second), fb.URL(), o)
		res <- result{c, err}
	}()
	fc, cp := fb.accept(v)
	fc.connack(present, props)
	r := <-res
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	t.Cleanup(func() { closeClient(t, r.c) })
	return r.c, fc, cp
}

func TestConnectPacket(t *testing.T) {
	willProps := codec.Properties{}
	willProps.SetWillDelay(5).AddUser("w", "1")
	extra := codec.Properties{}
	extra.SetRequestProblemInfo(0).AddUser("k", "v")
	cases := []struct {
		name  string
		o     Options
		check func(t *testing.T, cp *codec.Connect)
	}{
		{"v5 defaults", Options{ClientID: "a"}, func(t *testing.T, cp *codec.Connect) {
			if cp.ProtocolName != "MQTT" || cp.ProtocolLevel != 5 || cp.CleanStart || cp.KeepAlive != 0 || cp.ClientID != "a" ||
				cp.WillFlag || cp.UsernameFlag || cp.PasswordFlag || !cp.Properties.Empty() {
				t.Fatalf("CONNECT %v", cp)
			}
		}},
		{"v311 all fields", Options{Version: codec.V311, ClientID: "b", CleanStart: true, KeepAlive: 30, Username: "u",
			Password: []byte("p"), Will: &Will{Topic: "w/t", Payload: []byte("bye"), QoS: 1, Retain: true}},
			func(t *testing.T, cp *codec.Connect) {
				if cp.ProtocolName != "MQTT" || cp.ProtocolLevel != 4 || !cp.CleanStart || cp.KeepAlive != 30 || cp.ClientID != "b" ||
					!cp.WillFlag || cp.Will.Topic != "w/t" || string(cp.Will.Payload) != "bye" || cp.Will.QoS != 1 || !cp.Will.Retain ||
					!cp.UsernameFlag || cp.Username != "u" || !cp.PasswordFlag || string(cp.Password) != "p" {
					t.Fatalf("CONNECT %v", cp)
				}
			}},
		{"v311 empty id with clean session", Options{Version: codec.V311, CleanStart: true}, func(t *testing.T, cp *codec.Connect) {
			if cp.ClientID != "" || !cp.CleanStart {
				t.Fatalf("CONNECT %v", cp)
			}
		}},
		{"v5 properties", Options{ClientID: "c", SessionExpiry: 60, ReceiveMaximum: 10, MaxPacketSize: 1000, TopicAliasMaximum: 5,
			ConnectProperties: extra, Will: &Will{Topic: "w", QoS: 2, Properties: willProps}, Password: []byte("only-password")},
			func(t *testing.T, cp *codec.Connect) {
				p := &cp.Properties
				if p.SessionExpiry != 60 || p.ReceiveMaximum != 10 || p.MaximumPacketSize != 1000 || p.TopicAliasMaximum != 5 ||
					!p.Has(codec.PropRequestProblemInfo) || p.RequestProblemInfo != 0 || len(p.User) != 1 || p.User[0].Key != "k" {
					t.Fatalf("CONNECT properties %v", p)
				}
				if !cp.Will.Properties.Has(codec.PropWillDelay) || cp.Will.Properties.WillDelay != 5 || len(cp.Will.Properties.User) != 1 {
					t.Fatalf("Will Properties %v", &cp.Will.Properties)
				}
				// 5.0 allows a password without a user name.
				if cp.UsernameFlag || !cp.PasswordFlag || string(cp.Password) != "only-password" {
					t.Fatalf("CONNECT %v", cp)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			_, _, cp := connectFake(t, fb, tc.o, false, nil)
			tc.check(t, cp)
			// The CONNECT is valid by the codec's strict client-side rules.
			v := codec.Version(cp.ProtocolLevel)
			if err := codec.Validate(cp, v, codec.SideClient); err != nil {
				t.Fatalf("CONNECT fails validation: %v", err)
			}
		})
	}
}

func TestOptionsRejected(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"v311 empty id without clean", Options{Version: codec.V311}, "MQTT-3.1.3-7"},
		{"v311 password without user", Options{Version: codec.V311, ClientID: "x", Password: []byte("p")}, "MQTT-3.1.2-22"},
		{"will qos 3", Options{ClientID: "x", Will: &Will{Topic: "t", QoS: 3}}, "will QoS 3"},
		{"will topic wildcard", Options{ClientID: "x", Will: &Will{Topic: "a/#"}}, "not a valid topic name"},
		{"session expiry in 3.1.1", Options{Version: codec.V311, ClientID: "x", SessionExpiry: 5}, "needs MQTT 5.0"},
		{"auth in 3.1.1", Options{Version: codec.V311, ClientID: "x", Auth: &Auth{Method: "m"}}, "needs MQTT 5.0"},
		{"auth without method", Options{ClientID: "x", Auth: &Auth{}}, "needs a Method"},
		{"bad version", Options{Version: 9}, "unsupported MQTT version"},
		{"client id not utf-8", Options{ClientID: "a\x00b"}, "MQTT-3.1.3-4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dial(ctxT(t, time.Second), "tcp://127.0.0.1:1", tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dial = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"tcp://127.0.0.1", "tcp://127.0.0.1:1883", ""},
		{"mqtt://localhost:1884", "tcp://localhost:1884", ""},
		{"tls://h", "tls://h:8883", ""},
		{"mqtts://h:1", "tls://h:1", ""},
		{"ws://h", "ws://h:80/mqtt", ""},
		{"wss://h:9443/custom", "wss://h:9443/custom", ""},
		{"tcp://[::1]:1883", "tcp://[::1]:1883", ""},
		{"tcp://u:p@h", "tcp://u:p@h:1883", ""},
		{"http://h", "", "unsupported scheme"},
		{"localhost:1883", "", "unsupported scheme"},
		{"tcp://", "", "no host"},
	}
	for _, tc := range cases {
		u, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) = %v, %v; want error %q", tc.in, u, err, tc.err)
			}
			continue
		}
		if err != nil || u.String() != tc.want {
			t.Errorf("ParseURL(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
		}
	}
}

func TestConnackRefused(t *testing.T) {
	cases := []struct {
		name    string
		v       codec.Version
		code    codec.ReasonCode
		reason  string
		wantErr string
		notAuth bool
	}{
		{"v5 not authorized", codec.V5, 0x87, "", "connection refused: 0x87 Not authorized", true},
		{"v5 bad credentials", codec.V5, 0x86, "", "connection refused: 0x86 Bad User Name or Password", true},
		{"v5 with reason string", codec.V5, 0x85, "too long", "connection refused: 0x85 Client Identifier not valid (too long)", false},
		{"v311 not authorized", codec.V311, 5, "", "connection refused: return code 5, Not authorized", true},
		{"v311 identifier rejected", codec.V311, 2, "", "connection refused: return code 2, Identifier rejected", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			res := make(chan error, 1)
			go func() {
				_, err := Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "x", Version: tc.v})
				res <- err
			}()
			fc, _ := fb.accept(tc.v)
			ack := &codec.Connack{ReasonCode: tc.code}
			if tc.reason != "" {
				ack.Properties.SetReasonString(tc.reason)
			}
			fc.send(ack)
			err := <-res
			var ce *ConnackError
			if !errors.As(err, &ce) {
				t.Fatalf("Dial = %v, want *ConnackError", err)
			}
			if err.Error() != tc.wantErr || ce.Code != tc.code || ce.NotAuthorized() != tc.notAuth {
				t.Fatalf("error %q (code 0x%02X, not authorized %t); want %q", err, byte(ce.Code), ce.NotAuthorized(), tc.wantErr)
			}
			fc.expectClosed(2 * time.Second) // MQTT-4.13.2-1
		})
	}
}

// TestSessionPresentAfterCleanStart: MQTT-3.2.2-4, the client closes (5.0: DISCONNECT 0x82 first).
func TestSessionPresentAfterCleanStart(t *testing.T) {
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			res := make(chan error, 1)
			go func() {
				_, err := Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "x", Version: ver.v, CleanStart: true})
				res <- err
			}()
			fc, _ := fb.accept(ver.v)
			fc.connack(true, nil)
			got := fc.expectClosed(2 * time.Second)
			err := <-res
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "MQTT-3.2.2-4") {
				t.Fatalf("Dial = %v, want a *ProtocolError citing MQTT-3.2.2-4", err)
			}
			checkDisconnect(t, ver.v, got, codec.ReasonProtocolError)
		})
	}
}

// checkDisconnect asserts what a client sent before closing: in 5.0 exactly one DISCONNECT with
// the reason; in 3.1.1 nothing.
func checkDisconnect(t *testing.T, v codec.Version, got []codec.Packet, reason codec.ReasonCode) {
	t.Helper()
	if v != codec.V5 {
		if len(got) != 0 {
			t.Fatalf("3.1.1 client sent %v before closing, want nothing", got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("client sent %v before closing, want one DISCONNECT 0x%02X", got, byte(reason))
	}
	d, ok := got[0].(*codec.Disconnect)
	if !ok || d.ReasonCode != reason {
		t.Fatalf("client sent %v, want DISCONNECT 0x%02X", got[0], byte(reason))
	}
}

func TestAssignedClientID(t *testing.T) {
	fb := newFakeBroker(t)
	c, fc, cp := connectFake(t, fb, Options{SessionExpiry: 60, AutoReconnect: true, ReconnectMin: 10 * time.Millisecond}, false,
		func(p *codec.Properties) { p.SetAssignedClientID("given-by-server") })
	if cp.ClientID != "" {
		t.Fatalf("CONNECT client id %q, want empty", cp.ClientID)
	}
	if c.ClientID() != "given-by-server" {
		t.Fatalf("ClientID() = %q", c.ClientID())
	}
	fc.nc.Close()
	fc2, cp2 := fb.accept(codec.V5)
	if cp2.ClientID != "given-by-server" || cp2.CleanStart {
		t.Fatalf("reconnect CONNECT %v, want the assigned id and Clean Start 0", cp2)
	}
	fc2.connack(true, nil)
}

func TestEnhancedAuth(t *testing.T) {
	fb := newFakeBroker(t)
	var challenges [][]byte
	auth := &Auth{Method: "TEST-1", Data: []byte("hello"), Respond: func(ch []byte) ([]byte, error) {
		challenges = append(challenges, ch)
		return append([]byte("re:"), ch...), nil
	}}
	res := make(chan error, 1)
	var c *Client
	go func() {
		var err error
		c, err = Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "a", Auth: auth})
		res <- err
	}()
	fc, cp := fb.accept(codec.V5)
	if cp.Properties.AuthMethod != "TEST-1" || string(cp.Properties.AuthData) != "hello" {
		t.Fatalf("CONNECT auth properties %v", &cp.Properties)
	}
	for _, ch := range []string{"c1", "c2"} {
		a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
		a.Properties.SetAuthMethod("TEST-1").SetAuthData([]byte(ch))
		fc.send(a)
		got := fc.expect(codec.AUTH).(*codec.Auth)
		if got.ReasonCode != codec.ReasonContinueAuthentication || got.Properties.AuthMethod != "TEST-1" || string(got.Properties.AuthData) != "re:"+ch {
			t.Fatalf("client AUTH %v", got) // MQTT-4.12.0-3, MQTT-4.12.0-5
		}
	}
	fc.connack(false, func(p *codec.Properties) { p.SetAuthMethod("TEST-1") })
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClient(t, c) })
	if len(challenges) != 2 || string(challenges[1]) != "c2" {
		t.Fatalf("challenges %q", challenges)
	}

	// Re-authentication.
	done := make(chan error, 1)
	go func() { done <- c.Reauthenticate(ctxT(t, 5*time.Second)) }()
	got := fc.expect(codec.AUTH).(*codec.Auth)
	if got.ReasonCode != codec.ReasonReAuthenticate || got.Properties.AuthMethod != "TEST-1" || string(got.Properties.AuthData) != "hello" {
		t.Fatalf("re-authentication AUTH %v (MQTT-4.12.1-1)", got)
	}
	a := &codec.Auth{ReasonCode: codec.ReasonContinueAuthentication}
	a.Properties.SetAuthMethod("TEST-1").SetAuthData([]byte("c3"))
	fc.send(a)
	if got := fc.expect(codec.AUTH).(*codec.Auth); string(got.Properties.AuthData) != "re:c3" {
		t.Fatalf("client AUTH %v", got)
	}
	ok := &codec.Auth{ReasonCode: codec.ReasonSuccess}
	ok.Properties.SetAuthMethod("TEST-1")
	fc.send(ok)
	if err := <-done; err != nil {
		t.Fatalf("Reauthenticate: %v", err)
	}
}

// TestAuthWithoutMethod: an AUTH to a client that sent no Authentication Method is a protocol
// error.
func TestAuthWithoutMethod(t *testing.T) {
	fb := newFakeBroker(t)
	res := make(chan error, 1)
	go func() {
		_, err := Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "a"})
		res <- err
	}()
	fc, _ := fb.accept(codec.V5)
	fc.send(&codec.Auth{ReasonCode: codec.ReasonContinueAuthentication})
	got := fc.expectClosed(2 * time.Second)
	checkDisconnect(t, codec.V5, got, codec.ReasonProtocolError)
	var pe *ProtocolError
	if err := <-res; !errors.As(err, &pe) {
		t.Fatalf("Dial = %v, want *ProtocolError", err)
	}
}

func TestDisconnectPacket(t *testing.T) {
	zero := uint32(0)
	ten := uint32(10)
	cases := []struct {
		name   string
		o      Options
		d      DisconnectOptions
		want   *codec.Disconnect // nil: no DISCONNECT at all
		errHas string
	}{
		{"v5 normal", Options{ClientID: "a"}, DisconnectOptions{}, &codec.Disconnect{}, ""},
		{"v5 keep will", Options{ClientID: "a"}, DisconnectOptions{KeepWill: true}, &codec.Disconnect{ReasonCode: 0x04}, ""},
		{"v5 properties", Options{ClientID: "a", SessionExpiry: 100}, DisconnectOptions{Reason: 0x80, SessionExpiry: &zero,
			ReasonString: "bye", User: []codec.UserProperty{{Key: "k", Value: "v"}}}, func() *codec.Disconnect {
			d := &codec.Disconnect{ReasonCode: 0x80}
			d.Properties.SetSessionExpiry(0).SetReasonString("bye").AddUser("k", "v")
			return d
		}(), ""},
		{"v5 expiry from zero", Options{ClientID: "a"}, DisconnectOptions{SessionExpiry: &ten}, nil, "MQTT-3.14.2-2"},
		{"v5 bad reason", Options{ClientID: "a"}, DisconnectOptions{Reason: 0x01}, nil, "not a DISCONNECT reason code"},
		{"v311", Options{ClientID: "a", Version: codec.V311}, DisconnectOptions{}, &codec.Disconnect{}, ""},
		{"v311 keep will", Options{ClientID: "a", Version: codec.V311}, DisconnectOptions{KeepWill: true}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			c, fc, _ := connectFake(t, fb, tc.o, false, nil)
			err := c.DisconnectWith(ctxT(t, 5*time.Second), tc.d)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("DisconnectWith = %v, want error containing %q", err, tc.errHas)
				}
				fc.expectNothing(100 * time.Millisecond)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fc.expectClosed(2 * time.Second) // MQTT-3.14.4-2: closed after DISCONNECT
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("sent %v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("sent %v, want one DISCONNECT", got)
			}
			v := tc.o.Version
			if v == 0 {
				v = codec.V5
			}
			want, _ := codec.Encode(tc.want, v)
			have, _ := codec.Encode(got[0], v)
			if !bytes.Equal(want, have) {
				t.Fatalf("sent %v, want %v", got[0], tc.want)
			}
			if err := c.Publish(ctxT(t, time.Second), &Message{Topic: "t"}); !errors.Is(err, ErrClosed) {
				t.Fatalf("Publish after Disconnect = %v, want ErrClosed", err)
			}
		})
	}
}

func TestServerDisconnect(t *testing.T) {
	fb := newFakeBroker(t)
	lostCh := make(chan error, 1)
	c, fc, _ := connectFake(t, fb, Options{ClientID: "a", OnConnectionLost: func(_ *Client, err error) { lostCh <- err }}, false, nil)
	d := &codec.Disconnect{ReasonCode: codec.ReasonSessionTakenOver}
	d.Properties.SetReasonString("another client")
	fc.send(d)
	fc.expectClosed(2 * time.Second)
	err := <-lostCh
	var de *DisconnectError
	if !errors.As(err, &de) || de.Code != codec.ReasonSessionTakenOver ||
		err.Error() != "server disconnected: 0x8E Session taken over (another client)" {
		t.Fatalf("OnConnectionLost(%v)", err)
	}
	<-c.Done() // no AutoReconnect: the client ends
	if !errors.Is(c.Err(), ErrConnectionLost) || !errors.As(c.Err(), &de) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

// TestMalformedBeforeConnack: a malformed packet in place of the CONNACK closes the connection,
// in 5.0 after a DISCONNECT whose reason code DISCONNECT may carry (MQTT-3.14.2-1) even when
// the decode error's code is a CONNACK-only one (a CONNECT from the server with a bad protocol
// level gives 0x84; FuzzClientSession found the client sending DISCONNECT 0x84).
func TestMalformedBeforeConnack(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		want codec.ReasonCode
	}{
		{"connect with bad level", []byte{0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x09, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x00}, codec.ReasonProtocolError},
		{"connect with no name and level 0", []byte{0x10, 0x03, 0x00, 0x00, 0x00}, codec.ReasonProtocolError},
		{"publish qos 3", []byte{0x36, 0x06, 0x00, 0x01, 'a', 0x00, 0x01, 0x00}, codec.ReasonMalformedPacket},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBroker(t)
			res := make(chan error, 1)
			go func() {
				_, err := Dial(ctxT(t, 5*time.Second), fb.URL(), Options{ClientID: "x", Version: codec.V5, CleanStart: true})
				res <- err
			}()
			fc, _ := fb.accept(codec.V5)
			fc.w.WriteRaw(tc.raw)
			got := fc.expectClosed(2 * time.Second)
			if err := <-res; err == nil {
				t.Fatal("Dial succeeded")
			}
			for _, p := range got {
				if d, ok := p.(*codec.Disconnect); ok && !d.ReasonCode.ValidFor(codec.DISCONNECT) {
					t.Fatalf("client sent DISCONNECT 0x%02X, not a DISCONNECT reason code", byte(d.ReasonCode))
				}
			}
			checkDisconnect(t, codec.V5, got, tc.want)
		})
	}
}

// TestDialRefusesInvalidOptions checks that options which would break the protocol fail before
// any connection (the address is never dialled) with an error that is ErrInvalidOptions and
// names the rule; a dial failure is not ErrInvalidOptions.
func TestDialRefusesInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		rule string // in the message; "" for a valid option set
	}{
		{"password without user name", Options{Version: codec.V311, ClientID: "c", CleanStart: true, Password: []byte("pw")}, "MQTT-3.1.2-22"},
		{"empty id, persistent session", Options{Version: codec.V311, CleanStart: false}, "MQTT-3.1.3-7"},
		{"will QoS 3", Options{Version: codec.V5, CleanStart: true, Will: &Will{Topic: "w", QoS: 3}}, "MQTT-3.1.2-12"},
		{"valid, nothing listening", Options{Version: codec.V5, ClientID: "c", CleanStart: true, DialTimeout: time.Second}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dial(t.Context(), "tcp://127.0.0.1:1", tc.o)
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			if got := errors.Is(err, ErrInvalidOptions); got != (tc.rule != "") {
				t.Errorf("errors.Is(%v, ErrInvalidOptions) = %v", err, got)
			}
			if tc.rule != "" && !strings.Contains(err.Error(), tc.rule) {
				t.Errorf("error %q does not name %s", err, tc.rule)
			}
		})
	}
}
