// Command pahoclient is the client program of mqttspec's paho driver: it performs one client
// conformance action with github.com/eclipse/paho.golang (MQTT 5.0, through autopaho) or
// github.com/eclipse/paho.mqtt.golang (MQTT 3.1.1), as a user of those libraries would.
//
// The driver builds it with go build on first use; flags mirror conformance.Action. Byte strings (topic, payload, will, password, authentication data) are given in
// hex so that any byte, NUL included, reaches the library. It prints one line per event
// ("connected", "received TOPIC PAYLOAD", "error …") and exits 0 when the action completed.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// action is what the driver asks for.
type action struct {
	op            string
	host          string
	port          int
	version       string
	id            string
	topic         string
	qos           int
	message       []byte
	retain        bool
	keepAlive     int
	clean         bool
	sessionExpiry uint
	count         int
	duration      time.Duration
	reconnect     bool
	username      string
	password      []byte
	hasPassword   bool
	willTopic     string
	willPayload   []byte
	willQoS       int
	willRetain    bool
	hasWill       bool
	will          props // 5.0 Will Properties
	unsubscribe   []string
	authMethod    string
	authData      []byte
	hasAuthData   bool
	aliasMax      int
	receiveMax    int
	maxPacket     uint
	publish       props // 5.0 PUBLISH properties
}

// props are the 5.0 PUBLISH or Will properties the driver passes.
type props struct {
	willDelay     uint32
	hasWillDelay  bool
	messageExpiry uint32
	hasExpiry     bool
	contentType   string
	responseTopic string
	correlation   []byte
	user          [][2]string
}

// flags defines the flags of the properties with the prefix ("" for PUBLISH, "will-" for the
// Will); strings are set by finish.
func (p *props) flags(fs *flag.FlagSet, prefix string) (finish func()) {
	var contentType, responseTopic []byte
	u32 := func(v *uint32, set *bool) func(string) error {
		return func(s string) error {
			n, err := strconv.ParseUint(s, 10, 32)
			*v, *set = uint32(n), true
			return err
		}
	}
	if prefix == "will-" {
		fs.Func("will-delay", "Will Delay Interval (5.0)", u32(&p.willDelay, &p.hasWillDelay))
	}
	fs.Func(prefix+"message-expiry", "Message Expiry Interval (5.0)", u32(&p.messageExpiry, &p.hasExpiry))
	fs.Var(hexFlag{b: &contentType}, prefix+"content-type-hex", "Content Type (hex)")
	fs.Var(hexFlag{b: &responseTopic}, prefix+"response-topic-hex", "Response Topic (hex)")
	fs.Var(hexFlag{b: &p.correlation}, prefix+"correlation-hex", "Correlation Data (hex)")
	fs.Func(prefix+"user-hex", "User Property KEY:VALUE, both hex (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, ":")
		kb, err1 := hex.DecodeString(k)
		vb, err2 := hex.DecodeString(v)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("want HEXKEY:HEXVALUE")
		}
		p.user = append(p.user, [2]string{string(kb), string(vb)})
		return nil
	})
	return func() { p.contentType, p.responseTopic = string(contentType), string(responseTopic) }
}

func main() {
	args := os.Args[1:]
	if len(args) == 1 && args[0] == "--args-stdin" {
		// The driver writes the flags, NUL-separated, to standard input (a 64 KiB topic in hex
		// is longer than one command-line argument may be).
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
		if err != nil {
			fmt.Fprintln(os.Stderr, "pahoclient: read flags:", err)
			os.Exit(2)
		}
		args = strings.Split(string(b), "\x00")
	}
	a, err := parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pahoclient:", err)
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if a.version == "5" {
		err = runV5(ctx, a)
	} else {
		err = runV311(ctx, a)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
}

type hexFlag struct {
	b   *[]byte
	set *bool
}

func (h hexFlag) String() string { return "" }
func (h hexFlag) Set(s string) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h.b = b
	if h.set != nil {
		*h.set = true
	}
	return nil
}

func parse(args []string) (*action, error) {
	a := &action{}
	var topic, willTopic, username []byte
	var durationMS int
	fs := flag.NewFlagSet("pahoclient", flag.ContinueOnError)
	fs.StringVar(&a.op, "op", "connect", "connect, publish or subscribe")
	fs.StringVar(&a.host, "host", "127.0.0.1", "server host")
	fs.IntVar(&a.port, "port", 1883, "server port")
	fs.StringVar(&a.version, "version", "5", "3.1.1 or 5")
	fs.StringVar(&a.id, "id", "", "client identifier")
	fs.Var(hexFlag{b: &topic}, "topic-hex", "topic (hex)")
	fs.IntVar(&a.qos, "qos", 0, "QoS")
	fs.Var(hexFlag{b: &a.message}, "message-hex", "payload (hex)")
	fs.BoolVar(&a.retain, "retain", false, "RETAIN")
	fs.IntVar(&a.keepAlive, "keepalive", 60, "keep alive (s)")
	fs.BoolVar(&a.clean, "clean", true, "clean start / clean session")
	fs.UintVar(&a.sessionExpiry, "session-expiry", 0, "session expiry interval (5.0)")
	fs.IntVar(&a.count, "count", 1, "messages to publish or receive")
	fs.IntVar(&durationMS, "duration-ms", 0, "connect: how long to stay connected")
	fs.BoolVar(&a.reconnect, "reconnect", false, "reconnect after a lost connection")
	fs.Var(hexFlag{b: &username}, "username-hex", "user name (hex)")
	fs.Var(hexFlag{b: &a.password, set: &a.hasPassword}, "password-hex", "password (hex)")
	fs.Var(hexFlag{b: &willTopic, set: &a.hasWill}, "will-topic-hex", "will topic (hex)")
	fs.Var(hexFlag{b: &a.willPayload}, "will-payload-hex", "will payload (hex)")
	fs.IntVar(&a.willQoS, "will-qos", 0, "will QoS")
	fs.BoolVar(&a.willRetain, "will-retain", false, "will RETAIN")
	fs.Func("unsubscribe-hex", "subscribe: a filter (hex) to unsubscribe from before disconnecting (repeatable)", func(s string) error {
		b, err := hex.DecodeString(s)
		a.unsubscribe = append(a.unsubscribe, string(b))
		return err
	})
	fs.StringVar(&a.authMethod, "auth-method", "", "enhanced authentication method (5.0)")
	fs.Var(hexFlag{b: &a.authData, set: &a.hasAuthData}, "auth-data-hex", "authentication data (hex)")
	fs.IntVar(&a.aliasMax, "topic-alias-max", 0, "Topic Alias Maximum to announce (5.0)")
	fs.IntVar(&a.receiveMax, "receive-max", 0, "Receive Maximum to announce (5.0)")
	fs.UintVar(&a.maxPacket, "max-packet-size", 0, "Maximum Packet Size to announce (5.0)")
	finishPublish := a.publish.flags(fs, "")
	finishWill := a.will.flags(fs, "will-")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	finishPublish()
	finishWill()
	if a.version != "5" && a.version != "3.1.1" {
		return nil, fmt.Errorf("-version %q: want 3.1.1 or 5", a.version)
	}
	a.topic, a.willTopic, a.username = string(topic), string(willTopic), string(username)
	a.duration = time.Duration(durationMS) * time.Millisecond
	a.count = max(a.count, 1)
	return a, nil
}
