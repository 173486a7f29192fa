package drivers

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/conformance"
)

//go:embed pahopython/client.py
var pahoPythonScript []byte

// DefaultPython is the interpreter of the pahopython driver: Debian's python3-paho-mqtt installs
// the module for the system interpreter, which need not be the python3 first on PATH (a pyenv
// or virtualenv one).
const DefaultPython = "/usr/bin/python3"

// PahoPython drives Eclipse Paho Python (the paho-mqtt module, Debian python3-paho-mqtt) through
// a small program (conformance/drivers/pahopython/client.py, embedded in this package) that
// takes the same flags as the MQTT.js driver's script and performs the action with the
// library's network thread, reconnection and acknowledgements. It runs with -I (isolated: no
// PYTHON* variables, no user site directory), so that the system module is the one imported.
//
// paho-mqtt 1.6 has no enhanced authentication (it neither sends nor handles AUTH packets) and no
// Topic Aliases (nothing in it reads the Topic Alias property: an aliased PUBLISH reaches the
// application with an empty topic), so actions with an Authentication Method or a Topic Alias
// Maximum to announce are declined — announcing a Topic Alias Maximum the library cannot honour
// would be this program's fault, not the library's; everything else the driver programs take
// (helperWhy) reaches the library.
type PahoPython struct {
	// Python is the interpreter (default DefaultPython).
	Python string

	once   sync.Once
	script string
	tmp    string
	err    error
}

// Name implements conformance.Driver.
func (p *PahoPython) Name() string { return "pahopython" }

func (p *PahoPython) python() string {
	if p.Python != "" {
		return p.Python
	}
	return DefaultPython
}

// Available reports whether the interpreter and its paho-mqtt module are installed.
func (p *PahoPython) Available() error {
	py := p.python()
	if _, err := exec.LookPath(py); err != nil {
		return fmt.Errorf("pahopython driver: %s not found (apt-get install python3 python3-paho-mqtt): %w", py, err)
	}
	if _, err := p.moduleVersion(); err != nil {
		return fmt.Errorf("pahopython driver: %s cannot import paho.mqtt.client (apt-get install python3-paho-mqtt): %w", py, err)
	}
	return nil
}

// moduleVersion is the paho-mqtt version and the interpreter's, as the interpreter reports them.
func (p *PahoPython) moduleVersion() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p.python(), "-I", "-c",
		"import sys, paho.mqtt, paho.mqtt.client; print(paho.mqtt.__version__, sys.version.split()[0])").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// Supports implements conformance.Driver.
func (p *PahoPython) Supports(a conformance.Action) bool { return p.Why(a) == "" }

// Why implements conformance.Explainer.
func (p *PahoPython) Why(a conformance.Action) string {
	if a.AuthMethod != "" {
		return "paho-mqtt 1.6 has no enhanced authentication (no AUTH packet support)"
	}
	if a.TopicAliasMaximum != 0 {
		return "paho-mqtt 1.6 does not implement Topic Aliases (an aliased PUBLISH reaches the application with an empty topic), so it cannot announce a Topic Alias Maximum"
	}
	return helperWhy("paho-mqtt", a)
}

// Describe implements conformance.Describer: the interpreter, the program and the versions of
// paho-mqtt and Python.
func (p *PahoPython) Describe() string {
	d := p.python() + " conformance/drivers/pahopython/client.py"
	v, err := p.moduleVersion()
	if err != nil {
		return d
	}
	lib, py, _ := strings.Cut(v, " ")
	return d + " (paho-mqtt " + lib + ", Python " + py + ")"
}

// Start implements conformance.Driver.
func (p *PahoPython) Start(ctx context.Context, a conformance.Action) (conformance.ClientProcess, error) {
	if why := p.Why(a); why != "" {
		return nil, errors.New("pahopython driver: " + why)
	}
	p.once.Do(func() {
		if p.tmp, p.err = os.MkdirTemp("", "mqttspec-pahopython-"); p.err != nil {
			return
		}
		p.script = filepath.Join(p.tmp, "client.py")
		p.err = os.WriteFile(p.script, pahoPythonScript, 0o644)
	})
	if p.err != nil {
		return nil, fmt.Errorf("pahopython driver: %w", p.err)
	}
	proc, err := startProcess([]string{p.python(), "-I", p.script, "--args-stdin"}, nil, argsStdin(a), 0)
	if err != nil {
		return nil, err
	}
	proc.refusal = helperRefusal
	context.AfterFunc(ctx, proc.Stop)
	return proc.clientProcess(), nil
}

// Close removes the program's temporary copy.
func (p *PahoPython) Close() error {
	if p.tmp == "" {
		return nil
	}
	return os.RemoveAll(p.tmp)
}
