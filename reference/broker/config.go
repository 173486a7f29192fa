package broker

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/scram"
)

// LoadConfig reads a broker configuration file (YAML) for `mqttspec broker --config`: limits,
// features, users, ACL, enhanced authentication methods, TLS files and faults. Every error names
// the file and line. Example:
//
//	max_connections: 1000
//	max_packet_size: 1048576
//	connect_timeout: 5s
//	users:
//	  alice: secret
//	acl:
//	  - user: alice
//	    topic: sensors/#
//	    access: readwrite        # read | write | readwrite
//	  - topic: clients/%c/#      # every client, its own subtree
//	    access: readwrite
//	auth_methods: [SCRAM-SHA-256] # credentials from users
//
// Relative tls_cert and tls_key paths are resolved against the file's directory.
func LoadConfig(path string) (Options, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Options{}, fmt.Errorf("broker config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses configuration data; name is used in error messages and to resolve
// relative TLS paths.
func ParseConfig(data []byte, name string) (Options, error) {
	var o Options
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return o, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return o, nil // empty file: defaults
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return o, cfgErr(name, root, "the configuration must be a mapping of settings")
	}
	p := cfgParser{name: name, dir: filepath.Dir(name)}
	var methods []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		var err error
		switch k.Value {
		case "max_connections":
			o.MaxConnections, err = p.int(v, 0, math.MaxInt32)
		case "max_packet_size":
			var n int
			n, err = p.int(v, 0, codec.MaxPacketSize)
			if err == nil && n != 0 && n < 16 {
				err = cfgErr(name, v, fmt.Sprintf("max_packet_size %d is too small to carry a CONNECT (0 = no limit)", n))
			}
			o.MaxPacketSize = uint32(n)
		case "max_inflight":
			var n int
			n, err = p.int(v, 0, 65535)
			o.MaxInflight = uint16(n)
		case "max_queued":
			o.MaxQueued, err = p.int(v, 0, math.MaxInt32)
		case "connect_timeout":
			o.ConnectTimeout, err = p.duration(v)
		case "write_timeout":
			o.WriteTimeout, err = p.duration(v)
		case "max_keepalive":
			var n int
			n, err = p.int(v, 0, 65535)
			o.MaxKeepAlive = uint16(n)
		case "server_keepalive":
			var n int
			n, err = p.int(v, 0, 65535)
			o.ServerKeepAlive = uint16(n)
		case "topic_alias_maximum":
			var n int
			n, err = p.int(v, 0, 65535)
			o.TopicAliasMaximum = Ptr(uint16(n))
		case "maximum_qos":
			var n int
			n, err = p.int(v, 0, 2)
			o.MaximumQoS = Ptr(byte(n))
		case "retain_available":
			o.RetainAvailable, err = p.bool(v)
		case "wildcard_subscription_available":
			o.WildcardAvailable, err = p.bool(v)
		case "subscription_identifiers_available":
			o.SubIDAvailable, err = p.bool(v)
		case "shared_subscription_available":
			o.SharedAvailable, err = p.bool(v)
		case "tls_cert":
			o.TLSCertFile, err = p.path(v)
		case "tls_key":
			o.TLSKeyFile, err = p.path(v)
		case "users":
			o.Users, err = p.users(v)
		case "acl":
			o.ACL, err = p.acl(v)
		case "auth_methods":
			if v.Kind != yaml.SequenceNode {
				err = cfgErr(name, v, "auth_methods must be a list")
			}
			methods = v.Content
		case "faults":
			o.Faults, err = p.faults(v)
		default:
			err = cfgErr(name, k, fmt.Sprintf("unknown setting %q", k.Value))
		}
		if err != nil {
			return Options{}, err
		}
	}
	for _, m := range methods {
		switch m.Value {
		case scram.Method:
			if len(o.Users) == 0 {
				return Options{}, cfgErr(name, m, scram.Method+" takes its credentials from users, which is empty")
			}
			sm, err := SCRAMSHA256(o.Users)
			if err != nil {
				return Options{}, cfgErr(name, m, err.Error())
			}
			if o.AuthMethods == nil {
				o.AuthMethods = make(map[string]AuthMethod)
			}
			o.AuthMethods[scram.Method] = sm
		default:
			return Options{}, cfgErr(name, m, fmt.Sprintf("unknown authentication method %q (known: %s)", m.Value, scram.Method))
		}
	}
	if _, err := o.settings(); err != nil {
		return Options{}, fmt.Errorf("%s: %w", name, err)
	}
	return o, nil
}

func cfgErr(name string, n *yaml.Node, msg string) error {
	return fmt.Errorf("%s:%d: %s", name, n.Line, msg)
}

type cfgParser struct{ name, dir string }

func (p *cfgParser) scalar(v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode {
		return cfgErr(p.name, v, "expected a single value")
	}
	return nil
}

func (p *cfgParser) int(v *yaml.Node, lo, hi int) (int, error) {
	if err := p.scalar(v); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil || n < lo || n > hi {
		return 0, cfgErr(p.name, v, fmt.Sprintf("%q is not a whole number from %d to %d", v.Value, lo, hi))
	}
	return n, nil
}

func (p *cfgParser) duration(v *yaml.Node) (time.Duration, error) {
	if err := p.scalar(v); err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil || d < 0 {
		return 0, cfgErr(p.name, v, fmt.Sprintf("%q is not a duration such as 10s or 500ms", v.Value))
	}
	return d, nil
}

func (p *cfgParser) bool(v *yaml.Node) (*bool, error) {
	if err := p.scalar(v); err != nil {
		return nil, err
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		return nil, cfgErr(p.name, v, fmt.Sprintf("%q is not true or false", v.Value))
	}
	return &b, nil
}

func (p *cfgParser) path(v *yaml.Node) (string, error) {
	if err := p.scalar(v); err != nil {
		return "", err
	}
	if v.Value == "" {
		return "", cfgErr(p.name, v, "empty path")
	}
	if filepath.IsAbs(v.Value) {
		return v.Value, nil
	}
	return filepath.Join(p.dir, v.Value), nil
}

func (p *cfgParser) strings(v *yaml.Node) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, cfgErr(p.name, v, "expected a list")
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if err := p.scalar(e); err != nil {
			return nil, err
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func (p *cfgParser) users(v *yaml.Node) (map[string]string, error) {
	if v.Kind != yaml.MappingNode {
		return nil, cfgErr(p.name, v, "users must map user names to passwords")
	}
	users := make(map[string]string, len(v.Content)/2)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, pw := v.Content[i], v.Content[i+1]
		if err := p.scalar(pw); err != nil {
			return nil, err
		}
		if k.Value == "" || !codec.ValidUTF8(k.Value) {
			return nil, cfgErr(p.name, k, "user names must be non-empty UTF-8 strings")
		}
		users[k.Value] = pw.Value
	}
	return users, nil
}

func (p *cfgParser) acl(v *yaml.Node) (ACL, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, cfgErr(p.name, v, "acl must be a list of rules")
	}
	var acl ACL
	for _, e := range v.Content {
		if e.Kind != yaml.MappingNode {
			return nil, cfgErr(p.name, e, "an ACL rule is a mapping with topic, access and optionally user")
		}
		var r ACLRule
		hasTopic := false
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, x := e.Content[i], e.Content[i+1]
			if err := p.scalar(x); err != nil {
				return nil, err
			}
			switch k.Value {
			case "user":
				r.User = x.Value
			case "topic":
				if !codec.ValidTopicFilter(x.Value, codec.V311) {
					return nil, cfgErr(p.name, x, fmt.Sprintf("%q is not a valid topic filter", x.Value))
				}
				r.Topic, hasTopic = x.Value, true
			case "access":
				switch x.Value {
				case "read":
					r.Access = AccessRead
				case "write":
					r.Access = AccessWrite
				case "readwrite":
					r.Access = AccessReadWrite
				default:
					return nil, cfgErr(p.name, x, fmt.Sprintf("access %q must be read, write or readwrite", x.Value))
				}
			default:
				return nil, cfgErr(p.name, k, fmt.Sprintf("unknown ACL field %q (user, topic, access)", k.Value))
			}
		}
		if !hasTopic || r.Access == 0 {
			return nil, cfgErr(p.name, e, "an ACL rule needs topic and access")
		}
		acl = append(acl, r)
	}
	return acl, nil
}
