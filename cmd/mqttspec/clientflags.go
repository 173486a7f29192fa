package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client"
)

// clientFlags are the connection flags mqttspec pub and sub share, named as in mosquitto_pub and
// mosquitto_sub.
type clientFlags struct {
	host      string
	port      int
	url       string
	id        string
	idPrefix  string
	user      string
	password  string
	version   string
	keepAlive uint16
	noClean   bool
	expiry    uint32
	props     []string // -D: command [identifier value…], completed from the positional arguments
	timeout   float64

	willTopic   string
	willPayload string
	willQoS     int
	willRetain  bool

	cafile   string
	cert     string
	key      string
	insecure bool

	debug bool
	quiet bool
}

func (f *clientFlags) register(fs *pflag.FlagSet, tool string) {
	fs.Bool("help", false, "help for "+tool) // no -h: it is the host, as in mosquitto_pub/sub
	fs.StringVarP(&f.host, "host", "h", "localhost", "broker host")
	fs.IntVarP(&f.port, "port", "p", 0, "broker port (default 1883, 8883 with TLS)")
	fs.StringVarP(&f.url, "url", "L", "", "broker URL: tcp://, tls://, ws://, wss:// (mqtt:// and mqtts:// may carry the topic as path); replaces -h and -p")
	fs.StringVarP(&f.id, "id", "i", "", "client identifier (default: generated)")
	fs.StringVarP(&f.idPrefix, "id-prefix", "I", "", "prefix of the generated client identifier")
	fs.StringVarP(&f.user, "username", "u", "", "user name")
	fs.StringVarP(&f.password, "pw", "P", "", "password")
	fs.StringVarP(&f.version, "protocol-version", "V", "5", "MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)")
	fs.Uint16VarP(&f.keepAlive, "keepalive", "k", 60, "keep alive in seconds (0 disables)")
	fs.BoolVarP(&f.noClean, "disable-clean-session", "c", false, "keep the session: Clean Start 0 (needs -i)")
	fs.Uint32VarP(&f.expiry, "session-expiry-interval", "x", 0, "MQTT 5 session expiry interval in seconds (with -c)")
	fs.StringArrayVarP(&f.props, "property", "D", nil, "MQTT 5 property: -D command identifier value (command: connect, publish, subscribe, unsubscribe, disconnect, will)")
	fs.Float64Var(&f.timeout, "connect-timeout", 10, "seconds to wait for the connection and CONNACK")
	fs.StringVar(&f.willTopic, "will-topic", "", "topic of the Will message")
	fs.StringVar(&f.willPayload, "will-payload", "", "payload of the Will message")
	fs.IntVar(&f.willQoS, "will-qos", 0, "QoS of the Will message")
	fs.BoolVar(&f.willRetain, "will-retain", false, "retain the Will message")
	fs.StringVar(&f.cafile, "cafile", "", "PEM file of trusted CA certificates (enables TLS)")
	fs.StringVar(&f.cert, "cert", "", "PEM client certificate (enables TLS; needs --key)")
	fs.StringVar(&f.key, "key", "", "PEM private key of --cert")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the server certificate (enables TLS)")
	fs.BoolVarP(&f.debug, "debug", "d", false, "print every packet sent and received on stderr")
	fs.BoolVar(&f.quiet, "quiet", false, "print no error messages")
}

// propCommands are the -D commands each tool accepts (as in mosquitto_pub / mosquitto_sub).
var propCommands = map[string][]string{
	"pub": {"connect", "publish", "disconnect", "will"},
	"sub": {"connect", "subscribe", "unsubscribe", "disconnect", "will"},
}

// propPacket is the packet whose properties a -D command sets; the codec's table says which
// properties a client may put there.
var propPacket = map[string]codec.PacketType{
	"connect": codec.CONNECT, "publish": codec.PUBLISH, "subscribe": codec.SUBSCRIBE,
	"unsubscribe": codec.UNSUBSCRIBE, "disconnect": codec.DISCONNECT, "will": codec.WillProperties,
}

// Errors of -D parsing. A bad value is the codec's *codec.PropertyError, an unknown name
// codec.ErrUnknownProperty, both wrapped with the -D words.
var (
	errPropCommand    = errors.New("not a command")
	errPropNotAllowed = errors.New("not allowed")
	errPropMissing    = errors.New("missing identifier or value")
	errPropUnexpected = errors.New("unexpected")
)

// cliProps are the -D properties, by command.
type cliProps map[string]*codec.Properties

func (p cliProps) get(cmd string) *codec.Properties {
	if p[cmd] == nil {
		p[cmd] = &codec.Properties{}
	}
	return p[cmd]
}

// parseProps reads the -D flags. pflag gives each -D only its next word (the command); the
// identifier and value(s) arrive as positional arguments, in order, and are taken from args here,
// so `-D publish user-property key value` works as in mosquitto_pub. A quoted
// "-D 'connect receive-maximum 10'" works too. Arguments left over are an error. Identifiers are
// the specification's property names spelled as mosquitto spells them (content-type).
func parseProps(tool string, ds []string, args []string) (cliProps, error) {
	out := cliProps{}
	for _, d := range ds {
		words := strings.Fields(d)
		if len(words) == 0 {
			return nil, fmt.Errorf("-D: %w (want a command, an identifier and a value)", errPropMissing)
		}
		cmd := words[0]
		if !slices.Contains(propCommands[tool], cmd) {
			return nil, fmt.Errorf("-D %s: %w for %s (want one of %s)", cmd, errPropCommand, tool, strings.Join(propCommands[tool], ", "))
		}
		rest := words[1:]
		take := func(n int) ([]string, error) {
			for len(rest) < n {
				if len(args) == 0 {
					return nil, fmt.Errorf("-D %s: %w", d, errPropMissing)
				}
				rest = append(rest, args[0])
				args = args[1:]
			}
			got := rest[:n]
			rest = rest[n:]
			return got, nil
		}
		idw, err := take(1)
		if err != nil {
			return nil, err
		}
		name := idw[0]
		id, ok := codec.PropertyByName(name)
		if !ok {
			return nil, fmt.Errorf("-D %s %s: %w", cmd, name, codec.ErrUnknownProperty)
		}
		if !id.AllowedFrom(propPacket[cmd], codec.SideClient) {
			return nil, fmt.Errorf("-D %s %s: %v is %w in %s", cmd, name, id, errPropNotAllowed, cmd)
		}
		n := 1
		if id.Kind() == codec.KindPair {
			n = 2
		}
		vals, err := take(n)
		if err != nil {
			return nil, err
		}
		if len(rest) > 0 {
			return nil, fmt.Errorf("-D %s: %w %q", d, errPropUnexpected, strings.Join(rest, " "))
		}
		if err := out.get(cmd).SetText(id, vals...); err != nil {
			return nil, fmt.Errorf("-D %s %s: %w", cmd, name, err)
		}
	}
	if len(args) > 0 {
		return nil, fmt.Errorf("%w argument %q", errPropUnexpected, args[0])
	}
	return out, nil
}

func parseCLIVersion(s string) (codec.Version, error) {
	switch strings.ToLower(s) {
	case "5", "5.0", "mqttv5", "50":
		return codec.V5, nil
	case "311", "3.1.1", "mqttv311", "4":
		return codec.V311, nil
	case "31", "3.1", "mqttv31", "3":
		return codec.V31, nil
	}
	return 0, fmt.Errorf("-V %s: unknown MQTT version (want 5, 311 or 31)", s)
}

// clientSetup is what the flags resolve to.
type clientSetup struct {
	url   string
	topic string // from an mqtt(s):// URL path
	opts  client.Options
	props cliProps
	disc  client.DisconnectOptions
}

// setup turns the flags into a server URL and client options. tool is "pub" or "sub".
func (f *clientFlags) setup(cmd *cobra.Command, tool string, args []string) (*clientSetup, error) {
	v, err := parseCLIVersion(f.version)
	if err != nil {
		return nil, err
	}
	props, err := parseProps(tool, f.props, args)
	if err != nil {
		return nil, err
	}
	if v != codec.V5 && len(props) > 0 {
		return nil, errors.New("-D properties need MQTT 5 (-V 5)")
	}
	s := &clientSetup{props: props}
	useTLS := f.cafile != "" || f.cert != "" || f.insecure
	if f.url != "" {
		if cmd.Flags().Changed("host") || cmd.Flags().Changed("port") {
			return nil, errors.New("use either --url or -h/-p")
		}
		u, err := url.Parse(f.url)
		if err != nil {
			return nil, fmt.Errorf("--url %s: %w", f.url, err)
		}
		if sch := strings.ToLower(u.Scheme); (sch == "mqtt" || sch == "mqtts") && strings.Trim(u.Path, "/") != "" {
			s.topic = strings.TrimPrefix(u.Path, "/")
			u.Path = ""
		}
		if _, err := client.ParseURL(u.String()); err != nil {
			return nil, fmt.Errorf("--url: %w", err)
		}
		s.url = u.String()
	} else {
		port := f.port
		if port == 0 {
			port = 1883
			if useTLS {
				port = 8883
			}
		}
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("-p %d: not a TCP port", port)
		}
		scheme := "tcp"
		if useTLS {
			scheme = "tls"
		}
		s.url = scheme + "://" + net.JoinHostPort(f.host, strconv.Itoa(port))
	}

	o := &s.opts
	o.Version = v
	o.KeepAlive = f.keepAlive
	o.CleanStart = !f.noClean
	o.ClientID = f.id
	if o.ClientID == "" {
		if f.noClean {
			return nil, errors.New("-c (keep the session) needs a client identifier: -i")
		}
		prefix := f.idPrefix
		if prefix == "" {
			prefix = "mqttspec-" + tool + "-"
		}
		var b [4]byte
		rand.Read(b[:])
		o.ClientID = prefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	}
	o.Username = f.user
	if cmd.Flags().Changed("pw") {
		o.Password = []byte(f.password)
	}
	if f.expiry != 0 {
		if v != codec.V5 {
			return nil, errors.New("-x needs MQTT 5 (-V 5)")
		}
		o.SessionExpiry = f.expiry
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--connect-timeout %v: must be positive", f.timeout)
	}
	o.DialTimeout = secondsDuration(f.timeout)

	if cp := props["connect"]; cp != nil {
		if cp.Has(codec.PropSessionExpiry) {
			o.SessionExpiry = cp.SessionExpiry
			cp.Clear(codec.PropSessionExpiry)
		}
		if cp.Has(codec.PropReceiveMaximum) {
			o.ReceiveMaximum = cp.ReceiveMaximum
			cp.Clear(codec.PropReceiveMaximum)
		}
		if cp.Has(codec.PropMaximumPacketSize) {
			o.MaxPacketSize = cp.MaximumPacketSize
			cp.Clear(codec.PropMaximumPacketSize)
		}
		if cp.Has(codec.PropTopicAliasMaximum) {
			o.TopicAliasMaximum = cp.TopicAliasMaximum
			cp.Clear(codec.PropTopicAliasMaximum)
		}
		if cp.Has(codec.PropAuthMethod) {
			o.Auth = &client.Auth{Method: cp.AuthMethod}
			if cp.Has(codec.PropAuthData) {
				o.Auth.Data = cp.AuthData
			}
			cp.Clear(codec.PropAuthMethod)
			cp.Clear(codec.PropAuthData)
		} else if cp.Has(codec.PropAuthData) {
			return nil, errors.New("-D connect authentication-data needs authentication-method")
		}
		o.ConnectProperties = *cp
	}
	if pp := props["publish"]; pp != nil && pp.Has(codec.PropTopicAlias) {
		// The client assigns aliases itself; asking for one switches that on.
		o.UseTopicAliases = true
		pp.Clear(codec.PropTopicAlias)
	}
	if f.willTopic != "" {
		if f.willQoS < 0 || f.willQoS > 2 {
			return nil, fmt.Errorf("--will-qos %d: must be 0, 1 or 2", f.willQoS)
		}
		o.Will = &client.Will{Topic: f.willTopic, Payload: []byte(f.willPayload), QoS: byte(f.willQoS), Retain: f.willRetain}
		if wp := props["will"]; wp != nil {
			o.Will.Properties = *wp
		}
	} else if f.willPayload != "" || f.willRetain || f.willQoS != 0 || props["will"] != nil {
		return nil, errors.New("the Will options need --will-topic")
	}
	if dp := props["disconnect"]; dp != nil {
		for _, id := range dp.IDs() {
			switch id {
			case codec.PropSessionExpiry:
				x := dp.SessionExpiry
				s.disc.SessionExpiry = &x
			case codec.PropReasonString:
				s.disc.ReasonString = dp.ReasonString
			case codec.PropUserProperty:
				s.disc.User = dp.User
			default:
				// Server Reference: the specification allows it in any DISCONNECT, but it
				// means something only from a server, and the client has no way to send it.
				return nil, fmt.Errorf("-D disconnect: %v is %w: only a server sends it", id, errPropNotAllowed)
			}
		}
	}
	if useTLS || strings.HasPrefix(s.url, "tls") || strings.HasPrefix(s.url, "wss") || strings.HasPrefix(s.url, "mqtts") || strings.HasPrefix(s.url, "ssl") {
		tc, err := tlsConfig(tlsSettings{caFile: f.cafile, certFile: f.cert, keyFile: f.key, insecure: f.insecure,
			caFlag: "--cafile", certFlag: "--cert", keyFlag: "--key"})
		if err != nil {
			return nil, err
		}
		o.TLSConfig = tc
	}
	if f.debug {
		errOut := cmd.ErrOrStderr()
		o.Trace = func(dir string, p codec.Packet) { fmt.Fprintf(errOut, "%s %s\n", dir, p) }
		o.Logger = slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return s, nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// clientExit maps a client error to the exit code: 1 when the broker answered with a refusal
// (CONNACK, PUBACK/PUBREC or SUBACK reason, a DISCONNECT with a reason, a server limit), 2 for
// usage, network and protocol failures. --quiet keeps the code and drops the message.
func clientExit(f *clientFlags, url string, err error) error {
	if err == nil {
		return nil
	}
	code := exitUsage
	var ce *client.ConnackError
	var re *client.ReasonError
	var de *client.DisconnectError
	switch {
	case errors.As(err, &ce):
		code = exitFailures
		msg := fmt.Sprintf("%s: %v", url, err)
		if ce.NotAuthorized() {
			msg += " (check -u/-P and the broker's access rules)"
		}
		err = errors.New(msg)
	case errors.As(err, &re), errors.As(err, &de), errors.Is(err, client.ErrPacketTooLarge), errors.Is(err, client.ErrQoSNotSupported),
		errors.Is(err, client.ErrRetainNotSupported), errors.Is(err, client.ErrSessionLost):
		code = exitFailures
	case errors.Is(err, context.Canceled):
		return nil // interrupted by a signal: a normal end
	}
	if f.quiet {
		return failWith(code, errors.New(""))
	}
	return failWith(code, err)
}
