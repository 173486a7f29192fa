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
// What the programs cannot do, Supports refuses (Why says which): reconnecting after a lost
// connection (mosquitto_pub exits), a keep alive between 1 and 4 s (both programs refuse it), a
// NUL byte in a topic, user name, password, will or property string (command-line arguments
// cannot carry one), answering enhanced-authentication challenges, an UNSUBSCRIBE after the
// messages (-U unsubscribes once, right after subscribing), and the PUBLISH and Will properties
// -D has no name for. The 5.0 CONNECT, PUBLISH and Will properties of the action go in -D
// options.
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
func (m *Mosquitto) Supports(a conformance.Action) bool { return m.Why(a) == "" }

// Why implements conformance.Explainer: why the programs cannot perform the action ("" when they
// can).
func (m *Mosquitto) Why(a conformance.Action) string {
	switch {
	case a.Version != codec.V311 && a.Version != codec.V5:
		return "only MQTT 3.1.1 and 5.0"
	case a.KeepAlive != 0 && a.KeepAlive < 5:
		return "mosquitto_pub/sub refuse a keep alive below 5 s"
	case a.Reconnect && a.Op != conformance.OpSubscribe:
		return "mosquitto_pub does not reconnect"
	case strings.ContainsRune(a.Topic, 0) || strings.ContainsRune(a.Username, 0) || bytes.IndexByte(a.Password, 0) >= 0:
		return "a command-line argument cannot carry a NUL byte"
	case a.Will != nil && (strings.ContainsRune(a.Will.Topic, 0) || bytes.IndexByte(a.Will.Payload, 0) >= 0):
		return "a command-line argument cannot carry a NUL byte"
	case a.AuthMethod != "":
		return "mosquitto_pub/sub cannot answer AUTH challenges"
	case a.Unsubscribe != nil:
		return "mosquitto_sub -U unsubscribes right after subscribing, not after the messages"
	case a.Version != codec.V5 && (a.TopicAliasMaximum != 0 || a.MaximumPacketSize != 0 || a.ReceiveMaximum != 0 || a.PublishProps != nil):
		return "5.0 properties on a 3.1.1 connection"
	case a.PublishProps != nil && a.Op == conformance.OpPublish && !mappable(a.PublishProps, publishPropNames):
		return "a publish property that -D cannot express"
	case a.Will != nil && a.Will.Properties != nil && !mappable(a.Will.Properties, willPropNames):
		return "a will property that -D cannot express"
	}
	return ""
}

// Describe implements conformance.Describer.
func (m *Mosquitto) Describe() string {
	pub, sub := m.programs()
	d := pub + ", " + sub
	// --help exits 1; its second line names the version.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, pub, "--help").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " version ") {
			return d + " (" + strings.TrimSuffix(strings.TrimSpace(l), ".") + ")"
		}
	}
	return d
}

// Start implements conformance.Driver.
func (m *Mosquitto) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	if why := m.Why(a); why != "" {
		return nil, errors.New("mosquitto driver: " + why)
	}
	argv, stdin, hold := m.command(a)
	p, err := startProcess(argv, nil, stdin, hold)
	if err != nil {
		return nil, err
	}
	p.refusal = mosquittoRefusal
	context.AfterFunc(ctx, p.Stop)
	return p.clientProcess(), nil
}

// mosquittoRefusal reads how mosquitto_pub or mosquitto_sub ended: they check their options
// before connecting and, for one they refuse, print "Error: Invalid …" (an identifier, a topic,
// a will topic), "Error: Malformed UTF-8 in …" (an ill-formed or over-long -t argument) or
// "Error: Problem setting username and/or password" (a password without a user name) and exit 1. Exit 1 with another message ("Error: Connection refused", a protocol error)
// or any other end is not a refusal of the action.
func mosquittoRefusal(code int, output string) string {
	if code != 1 {
		return ""
	}
	if l := lineWithPrefix(output, "Error: Invalid ", "Error: Malformed UTF-8 in ", "Error: Problem setting username and/or password"); l != "" {
		return "exit status 1: " + l
	}
	return ""
}

// command builds the program's arguments and standard input; hold is how long standard input
// stays open after it is written (OpConnect).
func (m *Mosquitto) command(a conformance.Action) (argv []string, stdin []byte, hold time.Duration) {
	pub, sub := m.programs()
	v := "mqttv311"
	if a.Version == codec.V5 {
		v = "mqttv5"
	}
	// A zero-length identifier (EmptyClientID) goes in as -i "": the programs refuse it
	// ("Invalid id"), which is their answer to the action.
	common := []string{"-h", a.Host, "-p", strconv.Itoa(a.Port), "-V", v, "-i", a.ClientID,
		"-k", strconv.Itoa(int(a.EffectiveKeepAlive())), "-t", a.Topic, "-q", strconv.Itoa(int(a.QoS))}
	if a.KeepSession {
		common = append(common, "-c")
	}
	if a.Version == codec.V5 {
		common = append(common, "-x", strconv.FormatUint(uint64(a.EffectiveSessionExpiry()), 10))
	}
	if a.Username != "" {
		common = append(common, "-u", a.Username)
	}
	if a.Password != nil {
		// Without -u the programs refuse -P ("Problem setting username and/or password"): their
		// answer to a password without a user name.
		common = append(common, "-P", string(a.Password))
	}
	if w := a.Will; w != nil {
		common = append(common, "--will-topic", w.Topic, "--will-payload", string(w.Payload), "--will-qos", strconv.Itoa(int(w.QoS)))
		if w.Retain {
			common = append(common, "--will-retain")
		}
	}
	if a.Version == codec.V5 {
		d := func(cmd, id, v string) { common = append(common, "-D", cmd, id, v) }
		if a.ReceiveMaximum != 0 {
			d("connect", "receive-maximum", strconv.Itoa(int(a.ReceiveMaximum)))
		}
		if a.TopicAliasMaximum != 0 {
			d("connect", "topic-alias-maximum", strconv.Itoa(int(a.TopicAliasMaximum)))
		}
		if a.MaximumPacketSize != 0 {
			d("connect", "maximum-packet-size", strconv.FormatUint(uint64(a.MaximumPacketSize), 10))
		}
		if p := a.PublishProps; p != nil && a.Op == conformance.OpPublish {
			common = append(common, propertyOptions("publish", p)...)
		}
		if w := a.Will; w != nil && w.Properties != nil {
			common = append(common, propertyOptions("will", w.Properties)...)
		}
	}
	switch a.Op {
	case conformance.OpPublish:
		argv = append([]string{pub}, common...)
		argv = append(argv, "-s", "--repeat", strconv.Itoa(a.EffectiveCount()))
		if a.Retain {
			argv = append(argv, "-r")
		}
		return argv, append([]byte{}, a.Message...), 0
	case conformance.OpSubscribe:
		argv = append([]string{sub}, common...)
		return append(argv, "-v", "-C", strconv.Itoa(a.EffectiveCount())), nil, 0
	default: // OpConnect: -l publishes each line of standard input; there is none before EOF.
		argv = append([]string{pub}, common...)
		return append(argv, "-l"), []byte{}, a.Duration
	}
}

// The -D names of the PUBLISH and Will properties the drivers pass (mosquitto_pub and
// mosquitto_sub name them as the specification does, with '-' between words).
var (
	publishPropNames = map[codec.PropID]string{
		codec.PropMessageExpiry: "message-expiry-interval", codec.PropContentType: "content-type",
		codec.PropResponseTopic: "response-topic", codec.PropCorrelationData: "correlation-data",
		codec.PropUserProperty: "user-property",
	}
	willPropNames = map[codec.PropID]string{
		codec.PropWillDelay: "will-delay-interval", codec.PropMessageExpiry: "message-expiry-interval",
		codec.PropContentType: "content-type", codec.PropResponseTopic: "response-topic",
		codec.PropCorrelationData: "correlation-data", codec.PropUserProperty: "user-property",
	}
)

// propertyOptions are the -D options of the properties for a command ("publish" or "will").
func propertyOptions(cmd string, p *codec.Properties) []string {
	var out []string
	d := func(id, v string) { out = append(out, "-D", cmd, id, v) }
	if p.Has(codec.PropWillDelay) {
		d("will-delay-interval", strconv.FormatUint(uint64(p.WillDelay), 10))
	}
	if p.Has(codec.PropMessageExpiry) {
		d("message-expiry-interval", strconv.FormatUint(uint64(p.MessageExpiry), 10))
	}
	if p.Has(codec.PropContentType) {
		d("content-type", p.ContentType)
	}
	if p.Has(codec.PropResponseTopic) {
		d("response-topic", p.ResponseTopic)
	}
	if p.Has(codec.PropCorrelationData) {
		d("correlation-data", string(p.CorrelationData))
	}
	for _, u := range p.User {
		out = append(out, "-D", cmd, "user-property", u.Key, u.Value)
	}
	return out
}

// mappable reports whether -D options can carry the properties: only those names lists, and no
// NUL bytes (command-line arguments cannot carry them).
func mappable(p *codec.Properties, names map[codec.PropID]string) bool {
	for _, id := range p.IDs() {
		if _, ok := names[id]; !ok {
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
