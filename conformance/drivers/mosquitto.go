package drivers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// Mosquitto drives the mosquitto command-line clients: mosquitto_pub for OpPublish and OpConnect
// (with -l and a standard input held open for the action's Duration), mosquitto_sub for
// OpSubscribe.
//
// What the programs cannot do, Supports refuses: reconnecting after a lost connection
// (mosquitto_pub exits), a keep alive between 1 and 4 s (both programs refuse it), a NUL byte in
// a topic, user name, password or will field (command-line arguments cannot carry one),
// enhanced authentication, and an
// UNSUBSCRIBE after the messages (-U unsubscribes once, right after subscribing). 5.0 CONNECT and
// PUBLISH properties of the Extra go in -D options.
type Mosquitto struct {
	// Pub and Sub are the programs (default: mosquitto_pub and mosquitto_sub from PATH).
	Pub, Sub string
}

// Name implements conformance.Driver.
func (m *Mosquitto) Name() string { return "mosquitto" }

func (m *Mosquitto) programs() (pub, sub string) {
	pub, sub = m.Pub, m.Sub
	if pub == "" {
		pub = "mosquitto_pub"
	}
	if sub == "" {
		sub = "mosquitto_sub"
	}
	return pub, sub
}

// Available reports whether both programs are installed.
func (m *Mosquitto) Available() error {
	pub, sub := m.programs()
	for _, p := range []string{pub, sub} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("mosquitto driver: %s not found (apt-get install mosquitto-clients): %w", p, err)
		}
	}
	return nil
}

// Supports implements conformance.Driver.
func (m *Mosquitto) Supports(a conformance.Action) bool { return m.why(a) == "" }

// why returns why the programs cannot perform the action ("" when they can).
func (m *Mosquitto) why(a conformance.Action) string {
	e := ExtraFor(a)
	switch {
	case a.Version != codec.V311 && a.Version != codec.V5:
		return "only MQTT 3.1.1 and 5.0"
	case a.KeepAlive != 0 && a.KeepAlive < 5:
		return "mosquitto_pub/sub refuse a keep alive below 5 s"
	case a.Reconnect && a.Op != conformance.OpSubscribe:
		return "mosquitto_pub does not reconnect"
	case strings.ContainsRune(a.Topic, 0) || strings.ContainsRune(e.Username, 0) || bytes.IndexByte(e.Password, 0) >= 0:
		return "a command-line argument cannot carry a NUL byte"
	case e.Will != nil && (strings.ContainsRune(e.Will.Topic, 0) || bytes.IndexByte(e.Will.Payload, 0) >= 0):
		return "a command-line argument cannot carry a NUL byte"
	case e.AuthMethod != "":
		return "mosquitto_pub/sub cannot answer AUTH challenges"
	case e.Unsubscribe:
		return "mosquitto_sub -U unsubscribes right after subscribing, not after the messages"
	case a.Version != codec.V5 && (e.TopicAliasMaximum != 0 || e.MaximumPacketSize != 0 || e.ReceiveMaximum != 0 || e.PublishProps != nil):
		return "5.0 properties on a 3.1.1 connection"
	case e.PublishProps != nil && !mappable(e.PublishProps):
		return "a publish property that -D cannot express"
	}
	return ""
}

// Start implements conformance.Driver.
func (m *Mosquitto) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	if why := m.why(a); why != "" {
		return nil, errors.New("mosquitto driver: " + why)
	}
	argv, stdin, hold := m.command(a)
	p, err := startProcess(argv, nil, stdin, hold)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, p.Stop)
	return p, nil
}

// command builds the program's arguments and standard input; hold is how long standard input
// stays open after it is written (OpConnect).
func (m *Mosquitto) command(a conformance.Action) (argv []string, stdin []byte, hold time.Duration) {
	e := ExtraFor(a)
	pub, sub := m.programs()
	v := "mqttv311"
	if a.Version == codec.V5 {
		v = "mqttv5"
	}
	ka := a.KeepAlive
	if ka == 0 {
		ka = DefaultKeepAlive
	}
	// A zero-length identifier goes in as -i "": the programs refuse it ("Invalid id"), which is
	// their answer to the action.
	common := []string{"-h", a.Host, "-p", strconv.Itoa(a.Port), "-V", v, "-i", clientID(a, e),
		"-k", strconv.Itoa(int(ka)), "-t", a.Topic, "-q", strconv.Itoa(int(a.QoS))}
	if !a.CleanStart {
		common = append(common, "-c")
	}
	if a.Version == codec.V5 {
		common = append(common, "-x", strconv.FormatUint(uint64(sessionExpiry(a, e)), 10))
	}
	if e.Username != "" {
		common = append(common, "-u", e.Username)
		if e.Password != nil {
			common = append(common, "-P", string(e.Password))
		}
	}
	if w := e.Will; w != nil {
		common = append(common, "--will-topic", w.Topic, "--will-payload", string(w.Payload), "--will-qos", strconv.Itoa(int(w.QoS)))
		if w.Retain {
			common = append(common, "--will-retain")
		}
	}
	if a.Version == codec.V5 {
		d := func(cmd, id, v string) { common = append(common, "-D", cmd, id, v) }
		if e.ReceiveMaximum != 0 {
			d("connect", "receive-maximum", strconv.Itoa(int(e.ReceiveMaximum)))
		}
		if e.TopicAliasMaximum != 0 {
			d("connect", "topic-alias-maximum", strconv.Itoa(int(e.TopicAliasMaximum)))
		}
		if e.MaximumPacketSize != 0 {
			d("connect", "maximum-packet-size", strconv.FormatUint(uint64(e.MaximumPacketSize), 10))
		}
		if p := e.PublishProps; p != nil && a.Op == conformance.OpPublish {
			if p.Has(codec.PropMessageExpiry) {
				d("publish", "message-expiry-interval", strconv.FormatUint(uint64(p.MessageExpiry), 10))
			}
			if p.Has(codec.PropContentType) {
				d("publish", "content-type", p.ContentType)
			}
			if p.Has(codec.PropResponseTopic) {
				d("publish", "response-topic", p.ResponseTopic)
			}
			if p.Has(codec.PropCorrelationData) {
				d("publish", "correlation-data", string(p.CorrelationData))
			}
			for _, u := range p.User {
				common = append(common, "-D", "publish", "user-property", u.Key, u.Value)
			}
		}
	}
	switch a.Op {
	case conformance.OpPublish:
		argv = append([]string{pub}, common...)
		argv = append(argv, "-s", "--repeat", strconv.Itoa(count(a)))
		if a.Retain {
			argv = append(argv, "-r")
		}
		return argv, append([]byte{}, a.Message...), 0
	case conformance.OpSubscribe:
		argv = append([]string{sub}, common...)
		return append(argv, "-v", "-C", strconv.Itoa(count(a))), nil, 0
	default: // OpConnect: -l publishes each line of standard input; there is none before EOF.
		argv = append([]string{pub}, common...)
		return append(argv, "-l"), []byte{}, a.Duration
	}
}

// mappable reports whether -D options can carry the publish properties: the ones mosquitto_pub
// knows, without NUL bytes (command-line arguments cannot carry them).
func mappable(p *codec.Properties) bool {
	for _, id := range []codec.PropID{codec.PropPayloadFormat, codec.PropTopicAlias, codec.PropSubscriptionID} {
		if p.Has(id) {
			return false
		}
	}
	strs := []string{p.ContentType, p.ResponseTopic, string(p.CorrelationData)}
	for _, u := range p.User {
		strs = append(strs, u.Key, u.Value)
	}
	for _, s := range strs {
		if strings.ContainsRune(s, 0) {
			return false
		}
	}
	return true
}
