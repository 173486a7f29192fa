package gen

import (
	"bytes"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// Token is one dictionary entry: a named byte string a mutation-based fuzzer (libFuzzer, AFL++)
// splices into inputs.
type Token struct {
	Name  string
	Value []byte
}

// Dictionary returns MQTT tokens for libFuzzer and AFL++: protocol names and levels, fixed-header
// first bytes of every packet type, remaining lengths at their edges, every property identifier
// with a value, reason codes, CONNECT flag and subscription option bytes, topic syntax and UTF-8
// edge cases.
func Dictionary() []Token {
	var ts []Token
	add := func(name string, v ...byte) { ts = append(ts, Token{name, v}) }
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

	add("proto_mqtt", str("MQTT")...)
	add("proto_mqisdp", str("MQIsdp")...)
	add("proto_mqtt_v311", append(str("MQTT"), 4)...)
	add("proto_mqtt_v5", append(str("MQTT"), 5)...)
	add("proto_mqisdp_v31", append(str("MQIsdp"), 3)...)
	add("name_mqtt", []byte("MQTT")...)

	for t := codec.CONNECT; t <= codec.AUTH; t++ {
		flags := byte(0)
		if t == codec.PUBREL || t == codec.SUBSCRIBE || t == codec.UNSUBSCRIBE {
			flags = 2
		}
		add(fmt.Sprintf("hdr_%s", lower(t.String())), byte(t)<<4|flags)
	}
	for f := byte(1); f < 16; f++ {
		add(fmt.Sprintf("hdr_publish_%x", f), 0x30|f)
	}
	add("pingreq", 0xC0, 0)
	add("pingresp", 0xD0, 0)
	add("disconnect", 0xE0, 0)

	for _, l := range []struct {
		name string
		v    []byte
	}{{"len_127", []byte{0x7F}}, {"len_128", []byte{0x80, 0x01}}, {"len_16383", []byte{0xFF, 0x7F}},
		{"len_16384", []byte{0x80, 0x80, 0x01}}, {"len_2097151", []byte{0xFF, 0xFF, 0x7F}},
		{"len_2097152", []byte{0x80, 0x80, 0x80, 0x01}}, {"len_max", []byte{0xFF, 0xFF, 0xFF, 0x7F}},
		{"len_five_bytes", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x7F}}, {"len_zero_long", []byte{0x80, 0x80, 0x80, 0x00}}} {
		add(l.name, l.v...)
	}

	for _, id := range codec.PropIDs() {
		name := "prop_" + lower(id.String())
		i := byte(id)
		switch id {
		case codec.PropPayloadFormat, codec.PropRequestProblemInfo, codec.PropRequestResponseInfo,
			codec.PropMaximumQoS, codec.PropRetainAvailable, codec.PropWildcardSubAvailable,
			codec.PropSubIDAvailable, codec.PropSharedSubAvailable:
			add(name, i, 1)
			add(name+"_2", i, 2)
		case codec.PropServerKeepAlive, codec.PropTopicAliasMaximum, codec.PropReceiveMaximum, codec.PropTopicAlias:
			add(name, i, 0, 10)
			add(name+"_0", i, 0, 0)
			add(name+"_max", i, 0xFF, 0xFF)
		case codec.PropMessageExpiry, codec.PropSessionExpiry, codec.PropWillDelay, codec.PropMaximumPacketSize:
			add(name, i, 0, 0, 0, 60)
			add(name+"_0", i, 0, 0, 0, 0)
			add(name+"_max", i, 0xFF, 0xFF, 0xFF, 0xFF)
		case codec.PropSubscriptionID:
			add(name, i, 1)
			add(name+"_0", i, 0)
			add(name+"_max", i, 0xFF, 0xFF, 0xFF, 0x7F)
		case codec.PropUserProperty:
			add(name, append(append([]byte{i}, str("k")...), str("v")...)...)
		case codec.PropCorrelationData, codec.PropAuthData:
			add(name, append([]byte{i}, 0, 2, 0xDE, 0xAD)...)
		case codec.PropResponseTopic:
			add(name, append([]byte{i}, str("r/t")...)...)
		default:
			add(name, append([]byte{i}, str("x")...)...)
		}
	}

	for _, rc := range []codec.ReasonCode{0x00, 0x04, 0x10, 0x11, 0x18, 0x19, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
		0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
		0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2} {
		add(fmt.Sprintf("rc_%02x_%s", byte(rc), lower(rc.NameFor(codec.PUBACK, codec.V5))), byte(rc))
	}

	for _, f := range []struct {
		name string
		b    byte
	}{{"connflags_clean", 0x02}, {"connflags_user_pass", 0xC2}, {"connflags_will_qos1_retain", 0x2E},
		{"connflags_will_qos2", 0x16}, {"connflags_reserved", 0x01}, {"connflags_will_qos3", 0x1E},
		{"connflags_qos_without_will", 0x08}, {"connflags_password_only", 0x42},
		{"subopts_qos1", 0x01}, {"subopts_qos2", 0x02}, {"subopts_qos3", 0x03}, {"subopts_nl_rap_rh2", 0x2E},
		{"subopts_rh3", 0x30}, {"subopts_reserved", 0xC0}, {"connack_session_present", 0x01}} {
		add(f.name, f.b)
	}

	for _, s := range []struct{ name, v string }{{"topic_sep", "/"}, {"wild_plus", "+"}, {"wild_hash", "#"},
		{"multi_level", "/#"}, {"single_level", "/+/"}, {"sys", "$SYS/"}, {"share", "$share/"},
		{"share_group", "$share/g/"}, {"topic", "sport/tennis/player1"}} {
		add(s.name, []byte(s.v)...)
	}
	add("str_topic", str("a/b")...)
	add("str_empty", 0, 0)
	add("str_max_len", 0xFF, 0xFF)
	add("utf8_bom", 0xEF, 0xBB, 0xBF)
	add("utf8_surrogate", 0xED, 0xA0, 0x80)
	add("utf8_overlong_nul", 0xC0, 0x80)
	add("utf8_nul", 0)
	add("utf8_max", 0xF4, 0x8F, 0xBF, 0xBF)
	add("packet_id_max", 0xFF, 0xFF)
	add("packet_id_zero", 0, 0)
	return ts
}

// DictionaryText renders the dictionary in the AFL/libFuzzer format: name="value" per line, with
// bytes outside printable ASCII written as \xHH.
func DictionaryText() []byte {
	var b bytes.Buffer
	b.WriteString("# MQTT 3.1.1 / 5.0 tokens for libFuzzer (-dict=) and AFL++ (-x), from mqttspec.\n")
	for _, t := range Dictionary() {
		b.WriteString(t.Name)
		b.WriteString(`="`)
		for _, c := range t.Value {
			if c >= 0x20 && c < 0x7F && c != '"' && c != '\\' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02X`, c)
			}
		}
		b.WriteString("\"\n")
	}
	return b.Bytes()
}

// lower turns a name into a dictionary identifier: lower case, [a-z0-9_] only.
func lower(s string) string {
	var b []byte
	for _, c := range []byte(s) {
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+32)
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case len(b) > 0 && b[len(b)-1] != '_':
			b = append(b, '_')
		}
	}
	for len(b) > 0 && b[len(b)-1] == '_' {
		b = b[:len(b)-1]
	}
	return string(b)
}
