// Package matrix runs the conformance catalog against many real brokers and clients and writes
// one page of the results (Autobahn|Testsuite's implementation matrix, for MQTT).
//
// What to run is described by target lists (matrix/brokers.yaml, matrix/clients.yaml): a broker
// is started by a script that follows one contract (start DIR PORT WSPORT / stop DIR, see
// docs/matrix.md), a client is a driver of `mqttspec test client`. Every target runs more than
// once, so that a verdict that depends on timing shows up as unstable instead of as a finding.
// The runs themselves are `mqttspec test` processes: a target that hangs or crashes a run costs
// that run, not the matrix.
package matrix

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is the union of the target lists given to the matrix.
type Config struct {
	Brokers []Broker `yaml:"brokers"`
	Clients []Client `yaml:"clients"`
}

// Broker is one broker of a target list. Exactly one of Script and Target is set.
type Broker struct {
	Name  string `yaml:"name"`  // unique, file-name safe: the results are NAME.json
	Title string `yaml:"title"` // the column heading: product, version, packaging
	// Script starts and stops the broker (path relative to the repository root).
	Script string `yaml:"script"`
	// Target is a `mqttspec test broker --target` value for a broker that needs no script
	// ("embedded").
	Target   string   `yaml:"target"`
	Versions []string `yaml:"versions"` // "3.1.1" and/or "5"
	// Flags are extra `mqttspec test broker` flags; {port} and {ws_port} stand for the ports the
	// broker was started on.
	Flags []string `yaml:"flags"`
	Notes string   `yaml:"notes"` // configuration choices, one line
	// Nodes is 2 for a cluster (or a bridged pair): its script follows the cluster contract
	// (start DIR PORT_A PORT_B, docs/cluster.md), node A is the target and node B is given with
	// --node. 0 or 1: a single broker.
	Nodes int `yaml:"nodes"`
	// Doc is the target's findings document (path relative to the repository root), linked from
	// the matrix README; default docs/brokers/NAME.md when it exists.
	Doc string `yaml:"doc"`
}

// Client is one client of a target list: a driver of `mqttspec test client`.
type Client struct {
	Name     string   `yaml:"name"`
	Title    string   `yaml:"title"`
	Driver   string   `yaml:"driver"`
	Versions []string `yaml:"versions"`
	Flags    []string `yaml:"flags"` // extra `mqttspec test client` flags
	Notes    string   `yaml:"notes"`
	Doc      string   `yaml:"doc"` // findings document; default docs/clients/NAME.md when it exists
}

// ErrConfig is wrapped by every error about the contents of a target list.
var ErrConfig = errors.New("matrix target list")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,40}$`)

// Load reads and checks target lists; brokers and clients of all files are joined in order.
func Load(paths ...string) (*Config, error) {
	var all Config
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		var c Config
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrConfig, p, err)
		}
		all.Brokers = append(all.Brokers, c.Brokers...)
		all.Clients = append(all.Clients, c.Clients...)
	}
	if err := all.check(); err != nil {
		return nil, err
	}
	return &all, nil
}

func (c *Config) check() error {
	seen := map[string]bool{}
	bad := func(kind, name, format string, a ...any) error {
		return fmt.Errorf("%w: %s %q: %s", ErrConfig, kind, name, fmt.Sprintf(format, a...))
	}
	name := func(kind, n string) error {
		if !nameRE.MatchString(n) {
			return bad(kind, n, "a name is lower-case letters, digits, '.', '_' or '-' (it names the results file)")
		}
		if seen[kind+n] {
			return bad(kind, n, "listed twice")
		}
		seen[kind+n] = true
		return nil
	}
	for _, b := range c.Brokers {
		if err := name("broker", b.Name); err != nil {
			return err
		}
		if (b.Script == "") == (b.Target == "") {
			return bad("broker", b.Name, "give exactly one of script and target")
		}
		if err := checkVersions(b.Versions); err != nil {
			return bad("broker", b.Name, "%v", err)
		}
		if b.Nodes < 0 || b.Nodes > 2 || b.Nodes == 2 && b.Script == "" {
			return bad("broker", b.Name, "nodes %d: 0 or 1 for a broker, 2 for a cluster started by a script", b.Nodes)
		}
		if b.Doc != "" && !strings.HasSuffix(b.Doc, ".md") {
			return bad("broker", b.Name, "doc %q: a Markdown file (.md)", b.Doc)
		}
	}
	for _, cl := range c.Clients {
		if err := name("client", cl.Name); err != nil {
			return err
		}
		if cl.Driver == "" {
			return bad("client", cl.Name, "no driver")
		}
		if err := checkVersions(cl.Versions); err != nil {
			return bad("client", cl.Name, "%v", err)
		}
		if cl.Doc != "" && !strings.HasSuffix(cl.Doc, ".md") {
			return bad("client", cl.Name, "doc %q: a Markdown file (.md)", cl.Doc)
		}
	}
	return nil
}

func checkVersions(vs []string) error {
	if len(vs) == 0 {
		return errors.New("no versions (want \"3.1.1\" and/or \"5\")")
	}
	for _, v := range vs {
		if !slices.Contains([]string{"3.1.1", "5"}, v) {
			return fmt.Errorf("version %q: want \"3.1.1\" or \"5\"", v)
		}
	}
	return nil
}

// versionFlag is the --version value for a target's versions.
func versionFlag(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return "all"
}

// Select keeps the targets whose names are in names (all when names is empty); a name that
// matches nothing is an error, so that a typo does not silently run nothing.
func (c *Config) Select(names []string) (*Config, error) {
	if len(names) == 0 {
		return c, nil
	}
	var out Config
	for _, n := range names {
		// "broker:NAME" and "client:NAME" pick one side where a broker and a client share a name
		// (mosquitto); a bare NAME picks both.
		role, name, qualified := strings.Cut(n, ":")
		if !qualified {
			role, name = "", n
		} else if role != "broker" && role != "client" {
			return nil, fmt.Errorf("%w: --only %q: the qualifier must be broker: or client:", ErrConfig, n)
		}
		found := false
		if role != "client" {
			for _, b := range c.Brokers {
				if b.Name == name {
					out.Brokers, found = append(out.Brokers, b), true
				}
			}
		}
		if role != "broker" {
			for _, cl := range c.Clients {
				if cl.Name == name {
					out.Clients, found = append(out.Clients, cl), true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: no target named %q", ErrConfig, n)
		}
	}
	return &out, nil
}
