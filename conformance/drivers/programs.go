package drivers

import (
	"context"
	"debug/buildinfo"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
)

// helperArgs turns an action into the flags of the driver programs (pahoclient and the MQTT.js
// script), all in --name=value form; byte strings go in hex.
func helperArgs(a conformance.Action) []string {
	v := "3.1.1"
	if a.Version == codec.V5 {
		v = "5"
	}
	args := []string{
		"--op=" + string(a.Op), "--host=" + a.Host, "--port=" + strconv.Itoa(a.Port), "--version=" + v,
		"--id=" + a.ClientID, "--topic-hex=" + hex.EncodeToString([]byte(a.Topic)), "--qos=" + strconv.Itoa(int(a.QoS)),
		"--message-hex=" + hex.EncodeToString(a.Message), "--retain=" + strconv.FormatBool(a.Retain),
		"--keepalive=" + strconv.Itoa(int(a.EffectiveKeepAlive())), "--clean=" + strconv.FormatBool(!a.KeepSession),
		"--count=" + strconv.Itoa(a.EffectiveCount()), "--duration-ms=" + strconv.FormatInt(a.Duration.Milliseconds(), 10),
		"--reconnect=" + strconv.FormatBool(a.Reconnect),
	}
	for _, f := range a.Unsubscribe {
		args = append(args, "--unsubscribe-hex="+hex.EncodeToString([]byte(f)))
	}
	if a.Version == codec.V5 {
		args = append(args, "--session-expiry="+strconv.FormatUint(uint64(a.EffectiveSessionExpiry()), 10))
		if a.ReceiveMaximum > 0 {
			args = append(args, "--receive-max="+strconv.Itoa(int(a.ReceiveMaximum)))
		}
		if a.TopicAliasMaximum > 0 {
			args = append(args, "--topic-alias-max="+strconv.Itoa(int(a.TopicAliasMaximum)))
		}
		if a.MaximumPacketSize > 0 {
			args = append(args, "--max-packet-size="+strconv.FormatUint(uint64(a.MaximumPacketSize), 10))
		}
		if a.AuthMethod != "" {
			// The programs answer challenges with AuthEcho, the only answer helperWhy accepts.
			args = append(args, "--auth-method="+a.AuthMethod)
			if a.AuthData != nil {
				args = append(args, "--auth-data-hex="+hex.EncodeToString(a.AuthData))
			}
		}
		if p := a.PublishProps; p != nil && a.Op == conformance.OpPublish {
			args = append(args, propertyArgs("", p)...)
		}
	}
	if a.Username != "" {
		args = append(args, "--username-hex="+hex.EncodeToString([]byte(a.Username)))
	}
	if a.Password != nil {
		args = append(args, "--password-hex="+hex.EncodeToString(a.Password))
	}
	if w := a.Will; w != nil {
		args = append(args, "--will-topic-hex="+hex.EncodeToString([]byte(w.Topic)), "--will-payload-hex="+hex.EncodeToString(w.Payload),
			"--will-qos="+strconv.Itoa(int(w.QoS)), "--will-retain="+strconv.FormatBool(w.Retain))
		if w.Properties != nil && a.Version == codec.V5 {
			args = append(args, propertyArgs("will-", w.Properties)...)
		}
	}
	return args
}

// propertyArgs are the flags of the PUBLISH (prefix "") or Will (prefix "will-") properties the
// driver programs take (helperPublishProps and helperWillProps).
func propertyArgs(prefix string, p *codec.Properties) []string {
	var args []string
	add := func(name, v string) { args = append(args, "--"+prefix+name+"="+v) }
	if p.Has(codec.PropWillDelay) {
		add("delay", strconv.FormatUint(uint64(p.WillDelay), 10))
	}
	if p.Has(codec.PropMessageExpiry) {
		add("message-expiry", strconv.FormatUint(uint64(p.MessageExpiry), 10))
	}
	if p.Has(codec.PropContentType) {
		add("content-type-hex", hex.EncodeToString([]byte(p.ContentType)))
	}
	if p.Has(codec.PropResponseTopic) {
		add("response-topic-hex", hex.EncodeToString([]byte(p.ResponseTopic)))
	}
	if p.Has(codec.PropCorrelationData) {
		add("correlation-hex", hex.EncodeToString(p.CorrelationData))
	}
	for _, u := range p.User {
		add("user-hex", hex.EncodeToString([]byte(u.Key))+":"+hex.EncodeToString([]byte(u.Value)))
	}
	return args
}

// helperPublishProps and helperWillProps list the properties the driver programs take as flags,
// for a PUBLISH and for a Will.
var (
	helperPublishProps = []codec.PropID{codec.PropMessageExpiry, codec.PropContentType, codec.PropResponseTopic,
		codec.PropCorrelationData, codec.PropUserProperty}
	helperWillProps = append([]codec.PropID{codec.PropWillDelay}, helperPublishProps...)
)

// onlyProps reports the first property of p not in allowed (0, false when there is none).
func onlyProps(p *codec.Properties, allowed []codec.PropID) (codec.PropID, bool) {
	if p == nil {
		return 0, false
	}
	for _, id := range p.IDs() {
		if !slices.Contains(allowed, id) {
			return id, true
		}
	}
	return 0, false
}

// helperWhy says why the driver programs cannot perform an action ("" when they can). lib names
// the library for the messages.
func helperWhy(lib string, a conformance.Action) string {
	switch {
	case a.Version != codec.V311 && a.Version != codec.V5:
		return "only MQTT 3.1.1 and 5.0"
	case a.AuthMethod != "" && a.AuthAnswer != conformance.AuthEcho:
		return "the " + lib + " program answers authentication challenges only with AuthEcho, not " + a.AuthAnswer.String()
	}
	if a.Op == conformance.OpPublish {
		if id, bad := onlyProps(a.PublishProps, helperPublishProps); bad {
			return "the " + lib + " program takes no " + id.String() + " for a PUBLISH"
		}
	}
	if a.Will != nil {
		if id, bad := onlyProps(a.Will.Properties, helperWillProps); bad {
			return "the " + lib + " program takes no " + id.String() + " for a Will"
		}
	}
	return ""
}

// helperRefusal reads how a driver program (pahoclient, the MQTT.js script) ended: both print
// "error …" (the MQTT.js script after the milliseconds since its start) and exit 1 when the
// library returned or threw an error for the action, which for a program that never connected
// is the library refusing the action. Exit status 2 (bad flags, and a Go panic), a signal, or
// exit 1 without that line (an uncaught Node.js exception prints its stack; "error event" lines
// are the library's events, not the program's end) are crashes.
func helperRefusal(code int, output string) string {
	if code != 1 {
		return ""
	}
	for _, l := range strings.Split(output, "\n") {
		rest := strings.TrimLeft(l, " 0123456789")
		if strings.HasPrefix(rest, "error ") && !strings.HasPrefix(rest, "error event") {
			return "exit status 1: " + strings.TrimSpace(l)
		}
	}
	return ""
}

// argsStdin is the action's flags for the driver programs, NUL-separated, written to their
// standard input: a topic of 64 KiB in hex would exceed the kernel's limit on one argument.
func argsStdin(a conformance.Action) []byte {
	return []byte(strings.Join(helperArgs(a), "\x00"))
}

// ModuleRoot finds the source tree of this module: $MQTTSPEC_SRC, or the nearest directory above
// the working directory whose go.mod declares github.com/mqttspec/mqttspec.
func ModuleRoot() (string, error) {
	if d := os.Getenv("MQTTSPEC_SRC"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/mqttspec/mqttspec\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the mqttspec source tree was not found above the working directory (set MQTTSPEC_SRC)")
		}
		dir = parent
	}
}

// Paho drives a small Go program over the Eclipse Paho libraries: paho.golang (autopaho) for
// MQTT 5.0 — paho.golang speaks only 5.0 — and paho.mqtt.golang for 3.1.1. The program
// (conformance/drivers/pahoclient) is built with go build on first use, which needs the Go
// toolchain and this module's source tree.
type Paho struct {
	// Src is the module's source tree (default: ModuleRoot); Go is the go command (default "go").
	Src, Go string

	once sync.Once
	bin  string
	tmp  string
	err  error
}

// Name implements conformance.Driver.
func (p *Paho) Name() string { return "paho" }

// Supports implements conformance.Driver.
func (p *Paho) Supports(a conformance.Action) bool { return p.Why(a) == "" }

// Why implements conformance.Explainer.
func (p *Paho) Why(a conformance.Action) string { return helperWhy("paho", a) }

// Describe implements conformance.Describer: the program and the library versions it was built
// with.
func (p *Paho) Describe() string {
	d := "pahoclient (conformance/drivers/pahoclient)"
	if p.bin == "" {
		return d
	}
	info, err := buildinfo.ReadFile(p.bin)
	if err != nil {
		return d
	}
	var libs []string
	for _, m := range info.Deps {
		switch m.Path {
		case "github.com/eclipse/paho.golang":
			libs = append(libs, m.Path+" "+m.Version+" (5.0)")
		case "github.com/eclipse/paho.mqtt.golang":
			libs = append(libs, m.Path+" "+m.Version+" (3.1.1)")
		}
	}
	if len(libs) == 0 {
		return d
	}
	return d + ": " + strings.Join(libs, ", ")
}

// Build compiles the program (once) and returns its path.
func (p *Paho) Build(ctx context.Context) (string, error) {
	p.once.Do(func() {
		src := p.Src
		if src == "" {
			if src, p.err = ModuleRoot(); p.err != nil {
				return
			}
		}
		gocmd := p.Go
		if gocmd == "" {
			gocmd = "go"
		}
		if p.tmp, p.err = os.MkdirTemp("", "mqttspec-paho-"); p.err != nil {
			return
		}
		p.bin = filepath.Join(p.tmp, "pahoclient")
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(bctx, gocmd, "build", "-o", p.bin, "./conformance/drivers/pahoclient")
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("paho driver: go build ./conformance/drivers/pahoclient: %w\n%s", err, out)
		}
	})
	return p.bin, p.err
}

// Start implements conformance.Driver.
func (p *Paho) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	bin, err := p.Build(ctx)
	if err != nil {
		return nil, err
	}
	proc, err := startProcess([]string{bin, "--args-stdin"}, nil, argsStdin(a), 0)
	if err != nil {
		return nil, err
	}
	proc.refusal = helperRefusal
	context.AfterFunc(ctx, proc.Stop)
	return proc.clientProcess(), nil
}

// Close removes the built program.
func (p *Paho) Close() error {
	if p.tmp == "" {
		return nil
	}
	return os.RemoveAll(p.tmp)
}

//go:embed mqttjs/client.js
var mqttjsScript []byte

// MQTTjs drives MQTT.js (the mqtt npm package) through a small script run with node
// (conformance/drivers/mqttjs/client.js, embedded in this package). MQTT.js itself is installed
// with npm: npm ci --prefix conformance/drivers/mqttjs.
//
// The script uses the library, not the package's mqtt pub/sub command-line tools: those publish
// again on every reconnection, never leave after a number of messages and take no protocol
// version flag, so they cannot perform most actions (the cmd driver can still run them).
type MQTTjs struct {
	// Modules is the node_modules directory holding mqtt (default: conformance/drivers/mqttjs/
	// node_modules under ModuleRoot, or $MQTTSPEC_MQTTJS_MODULES). Node is the node command.
	Modules, Node string

	once   sync.Once
	script string
	tmp    string
	err    error
}

// Name implements conformance.Driver.
func (m *MQTTjs) Name() string { return "mqttjs" }

func (m *MQTTjs) modules() (string, error) {
	if m.Modules != "" {
		return m.Modules, nil
	}
	if d := os.Getenv("MQTTSPEC_MQTTJS_MODULES"); d != "" {
		return d, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "conformance", "drivers", "mqttjs", "node_modules"), nil
}

// Available reports whether node and the mqtt package are installed.
func (m *MQTTjs) Available() error {
	node := m.Node
	if node == "" {
		node = "node"
	}
	if _, err := exec.LookPath(node); err != nil {
		return fmt.Errorf("mqttjs driver: node not found: %w", err)
	}
	mods, err := m.modules()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(mods, "mqtt", "package.json")); err != nil {
		return fmt.Errorf("mqttjs driver: the mqtt package is not installed in %s (npm ci --prefix conformance/drivers/mqttjs)", mods)
	}
	return nil
}

// Supports implements conformance.Driver.
func (m *MQTTjs) Supports(a conformance.Action) bool { return m.Why(a) == "" }

// Why implements conformance.Explainer.
func (m *MQTTjs) Why(a conformance.Action) string { return helperWhy("MQTT.js", a) }

// Describe implements conformance.Describer: node, the script and the mqtt package's version.
func (m *MQTTjs) Describe() string {
	d := "node conformance/drivers/mqttjs/client.js"
	mods, err := m.modules()
	if err != nil {
		return d
	}
	b, err := os.ReadFile(filepath.Join(mods, "mqtt", "package.json"))
	if err != nil {
		return d
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return d
	}
	return d + " (mqtt " + pkg.Version + ")"
}

// Start implements conformance.Driver.
func (m *MQTTjs) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	if err := m.Available(); err != nil {
		return nil, err
	}
	m.once.Do(func() {
		if m.tmp, m.err = os.MkdirTemp("", "mqttspec-mqttjs-"); m.err != nil {
			return
		}
		m.script = filepath.Join(m.tmp, "client.js")
		m.err = os.WriteFile(m.script, mqttjsScript, 0o644)
	})
	if m.err != nil {
		return nil, m.err
	}
	mods, _ := m.modules()
	node := m.Node
	if node == "" {
		node = "node"
	}
	proc, err := startProcess([]string{node, m.script, "--args-stdin"}, []string{"NODE_PATH=" + mods}, argsStdin(a), 0)
	if err != nil {
		return nil, err
	}
	proc.refusal = helperRefusal
	context.AfterFunc(ctx, proc.Stop)
	return proc.clientProcess(), nil
}

// Close removes the script's temporary copy.
func (m *MQTTjs) Close() error {
	if m.tmp == "" {
		return nil
	}
	return os.RemoveAll(m.tmp)
}
