package drivers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// Command drives any client program through command templates. A template is split into words
// like a shell would (single and double quotes, backslash escapes; no variables, globbing or
// pipes), then placeholders are replaced inside each word, so a value never becomes several
// arguments and never reaches a shell:
//
//	{op} connect|publish|subscribe  {host} {port}  {version} 3.1.1|5  {version_compact} 311|5
//	{level} 4|5 (protocol level)  {client_id}
//	{topic} {qos} {message} {retain} true|false  {count}  {keepalive}  {clean} true|false
//	{duration} seconds  {duration_ms}  {reconnect} true|false  {session_expiry}
//	{username} {password}  {will_topic} {will_payload} {will_qos} {will_retain}
//
// A template that does not mention a placeholder cannot honour that option: an action that needs
// it (a keep alive, a persistent session, several messages, a will…) is not supported and its
// case is skipped, with the missing placeholder as the reason (Why). Every action names a client
// identifier, so every template needs {client_id}. Options no placeholder carries (Will
// properties, enhanced authentication, an UNSUBSCRIBE, the client's 5.0 limits, PUBLISH
// properties) are never supported. The template for an operation is Templates[op], or Default.
type Command struct {
	Default   string
	Templates map[conformance.Op]string
	// RefusalExitCodes are the exit statuses by which the program says it refused an action
	// (an invalid topic, a forbidden combination of options) before connecting. Empty: the
	// driver cannot tell a refusal from a crash, and cases where a client may refuse skip when
	// the program ends without connecting.
	RefusalExitCodes []int
}

// Name implements conformance.Driver.
func (c *Command) Name() string { return "cmd" }

func (c *Command) template(op conformance.Op) string {
	if t, ok := c.Templates[op]; ok {
		return t
	}
	return c.Default
}

// Check validates the templates: they split into words and name only known placeholders.
func (c *Command) Check() error {
	if c.Default == "" && len(c.Templates) == 0 {
		return errors.New("cmd driver: no command template")
	}
	for _, t := range append([]string{c.Default}, mapValues(c.Templates)...) {
		if t == "" {
			continue
		}
		words, err := splitWords(t)
		if err != nil {
			return fmt.Errorf("cmd driver: template %q: %w", t, err)
		}
		if len(words) == 0 {
			return fmt.Errorf("cmd driver: template %q is empty", t)
		}
		for _, w := range words {
			for _, name := range placeholdersIn(w) {
				if _, ok := knownPlaceholders[name]; !ok {
					return fmt.Errorf("cmd driver: template %q: unknown placeholder {%s}", t, name)
				}
			}
		}
	}
	return nil
}

func mapValues(m map[conformance.Op]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

var knownPlaceholders = map[string]struct{}{
	"op": {}, "host": {}, "port": {}, "version": {}, "version_compact": {}, "level": {}, "client_id": {}, "topic": {}, "qos": {}, "message": {},
	"retain": {}, "count": {}, "keepalive": {}, "clean": {}, "duration": {}, "duration_ms": {}, "reconnect": {},
	"session_expiry": {}, "username": {}, "password": {}, "will_topic": {}, "will_payload": {}, "will_qos": {},
	"will_retain": {},
}

// Supports implements conformance.Driver.
func (c *Command) Supports(a conformance.Action) bool { return c.Why(a) == "" }

// Why implements conformance.Explainer.
func (c *Command) Why(a conformance.Action) string {
	t := c.template(a.Op)
	if t == "" {
		return "no template for " + string(a.Op)
	}
	has := func(name string) bool { return strings.Contains(t, "{"+name+"}") }
	switch {
	case a.Version != codec.V311 && a.Version != codec.V5:
		return "only 3.1.1 and 5"
	case !has("version") && !has("version_compact") && !has("level") && a.Version != codec.V311:
		return "the template has no {version}, {version_compact} or {level}"
	case !has("client_id"):
		return "the template has no {client_id}: the program would choose its own client identifier"
	case a.KeepAlive != 0 && !has("keepalive"):
		return "the template has no {keepalive}"
	case a.KeepSession && !has("clean"):
		return "the template has no {clean}"
	case a.Reconnect && !has("reconnect"):
		return "the template has no {reconnect}"
	case a.EffectiveCount() > 1 && !has("count"):
		return "the template has no {count}"
	case a.Retain && !has("retain"):
		return "the template has no {retain}"
	case a.Op == conformance.OpConnect && a.Duration > 0 && !has("duration") && !has("duration_ms"):
		return "the template has no {duration}"
	case a.Will != nil && !has("will_topic"):
		return "the template has no {will_topic}"
	case a.Will != nil && len(a.Will.Payload) > 0 && !has("will_payload"):
		return "the template has no {will_payload}"
	case a.Will != nil && a.Will.QoS != 0 && !has("will_qos"):
		return "the template has no {will_qos}"
	case a.Will != nil && a.Will.Retain && !has("will_retain"):
		return "the template has no {will_retain}"
	case a.Will != nil && a.Will.Properties != nil && !a.Will.Properties.Empty():
		return "the cmd driver has no placeholder for Will properties"
	case a.Username != "" && !has("username"):
		return "the template has no {username}"
	case a.Password != nil && !has("password"):
		return "the template has no {password}"
	case a.SessionExpiry != 0 && !has("session_expiry"):
		return "the template has no {session_expiry}"
	case a.AuthMethod != "":
		return "the cmd driver has no placeholder for enhanced authentication"
	case a.Unsubscribe != nil:
		return "the cmd driver has no placeholder for an UNSUBSCRIBE"
	case a.TopicAliasMaximum != 0 || a.ReceiveMaximum != 0 || a.MaximumPacketSize != 0:
		return "the cmd driver has no placeholder for the client's Receive Maximum, Topic Alias Maximum or Maximum Packet Size"
	case a.PublishProps != nil && !a.PublishProps.Empty():
		return "the cmd driver has no placeholder for PUBLISH properties"
	case strings.ContainsRune(a.Topic, 0) || bytes.IndexByte(a.Message, 0) >= 0 || strings.ContainsRune(a.Username, 0) || bytes.IndexByte(a.Password, 0) >= 0:
		return "a command-line argument cannot carry a NUL byte"
	case a.Will != nil && (strings.ContainsRune(a.Will.Topic, 0) || bytes.IndexByte(a.Will.Payload, 0) >= 0):
		return "a command-line argument cannot carry a NUL byte"
	}
	return ""
}

// Describe implements conformance.Describer: the templates.
func (c *Command) Describe() string {
	var parts []string
	if c.Default != "" {
		parts = append(parts, c.Default)
	}
	for _, op := range []conformance.Op{conformance.OpConnect, conformance.OpPublish, conformance.OpSubscribe} {
		if t, ok := c.Templates[op]; ok && t != "" {
			parts = append(parts, string(op)+": "+t)
		}
	}
	return strings.Join(parts, " | ")
}

// Start implements conformance.Driver.
func (c *Command) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	if why := c.Why(a); why != "" {
		return nil, errors.New("cmd driver: " + why)
	}
	words, err := splitWords(c.template(a.Op))
	if err != nil {
		return nil, fmt.Errorf("cmd driver: %w", err)
	}
	vals := placeholderValues(a)
	argv := make([]string, len(words))
	for i, w := range words {
		argv[i] = expand(w, vals)
	}
	p, err := startProcess(argv, nil, nil, 0)
	if err != nil {
		return nil, err
	}
	if codes := c.RefusalExitCodes; len(codes) > 0 {
		p.refusal = func(code int, _ string) string {
			if slices.Contains(codes, code) {
				return "exit status " + strconv.Itoa(code) + " (a refusal, as configured)"
			}
			return ""
		}
	}
	context.AfterFunc(ctx, p.Stop)
	return p.clientProcess(), nil
}

func placeholderValues(a conformance.Action) map[string]string {
	v := "3.1.1"
	if a.Version == codec.V5 {
		v = "5"
	}
	vals := map[string]string{
		"op": string(a.Op), "host": a.Host, "port": strconv.Itoa(a.Port), "version": v, "client_id": a.ClientID,
		"version_compact": strings.ReplaceAll(v, ".", ""), "level": strconv.Itoa(int(a.Version)),
		"topic": a.Topic, "qos": strconv.Itoa(int(a.QoS)), "message": string(a.Message), "retain": strconv.FormatBool(a.Retain),
		"count": strconv.Itoa(a.EffectiveCount()), "keepalive": strconv.Itoa(int(a.EffectiveKeepAlive())), "clean": strconv.FormatBool(!a.KeepSession),
		"duration": strconv.FormatFloat(a.Duration.Seconds(), 'f', -1, 64), "duration_ms": strconv.FormatInt(a.Duration.Milliseconds(), 10),
		"reconnect": strconv.FormatBool(a.Reconnect), "session_expiry": strconv.FormatUint(uint64(a.EffectiveSessionExpiry()), 10),
		"username": a.Username, "password": string(a.Password),
	}
	if w := a.Will; w != nil {
		vals["will_topic"], vals["will_payload"] = w.Topic, string(w.Payload)
		vals["will_qos"], vals["will_retain"] = strconv.Itoa(int(w.QoS)), strconv.FormatBool(w.Retain)
	}
	return vals
}

// placeholdersIn lists the {name} placeholders of a word.
func placeholdersIn(w string) []string {
	var out []string
	for {
		i := strings.IndexByte(w, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(w[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, w[i+1:i+j])
		w = w[i+j+1:]
	}
}

// expand replaces the known placeholders of a word; other braces stay as they are.
func expand(w string, vals map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(w, '{')
		if i < 0 {
			b.WriteString(w)
			return b.String()
		}
		j := strings.IndexByte(w[i:], '}')
		if j < 0 {
			b.WriteString(w)
			return b.String()
		}
		name := w[i+1 : i+j]
		b.WriteString(w[:i])
		if v, ok := vals[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(w[i : i+j+1])
		}
		w = w[i+j+1:]
	}
}

// splitWords splits a template into words: blanks separate words; single quotes keep everything
// literally; double quotes keep blanks, and a backslash in them escapes " and \; outside quotes a
// backslash escapes the next character.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case unicode.IsSpace(rune(ch)):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
