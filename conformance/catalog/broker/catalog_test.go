package broker_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance/catalog"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker"
)

// repoRoot is the repository root seen from this package's directory.
const repoRoot = "../../.."

// TestCatalogShape checks what makes the catalog one uniform thing: every case validates, runs
// on each of its versions with a statement of that version, has one ID for all its versions (no
// per-version twins), and was registered in the file named after the section of its ID, whose
// text holds the ID literally, so a case ID found in a report leads to its source in one step.
func TestCatalogShape(t *testing.T) {
	cases := catalog.BrokerCases()
	if len(cases) < 340 {
		t.Fatalf("%d broker cases registered; the catalog has more than 340", len(cases))
	}
	sources := map[string]string{}
	for _, c := range cases {
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		if strings.HasSuffix(c.ID, "-v311") || strings.HasSuffix(c.ID, "-v5") {
			t.Errorf("%s: a per-version twin; a case that runs on both versions has one ID", c.ID)
		}
		for _, v := range c.Versions.List() {
			if v.String() != "3.1" && len(c.StatementsFor(v)) == 0 {
				t.Errorf("%s runs on %s but cites no statement of it", c.ID, v)
			}
		}
		// A cited ID that counts on none of the case's versions is a typo.
		for _, id := range c.Statements {
			bare := id[strings.Index(id, ":")+1:]
			if !c.Cites(bare) {
				t.Errorf("%s cites %s, which exists in none of its versions", c.ID, id)
			}
		}
		file, line, ok := strings.Cut(c.Source, ":")
		if !ok || line == "" {
			t.Errorf("%s: source %q is not file:line", c.ID, c.Source)
			continue
		}
		want := strings.ReplaceAll(c.Section(), ".", "_") + "_"
		if sec := c.Section(); sec[0] < '0' || sec[0] > '9' {
			want = "c_" + sec + "." // a section that is no chapter of the specification ("cluster")
		}
		if !strings.HasPrefix(filepath.Base(file), want) {
			t.Errorf("%s is registered in %s; cases of section %s live in a file named %s*.go", c.ID, c.Source, c.Section(), want)
		}
		text, seen := sources[file]
		if !seen {
			b, err := os.ReadFile(filepath.Join(repoRoot, file))
			if err != nil {
				t.Errorf("%s: source file: %v", c.ID, err)
				continue
			}
			text = string(b)
			sources[file] = text
		}
		if !strings.Contains(text, strconv.Quote(c.ID)) {
			t.Errorf("%s: %s does not hold the ID literally", c.ID, file)
		}
	}
}

// TestRegistrationForm checks the one way a case is written: catalog.Broker(c.Case{…}) with the
// ID and statements given before Run, so a reader sees what a case claims before how it checks it.
func TestRegistrationForm(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			lit, ok := node.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Case" {
				return true
			}
			n++
			keys := map[string]int{}
			for i, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					keys[kv.Key.(*ast.Ident).Name] = i + 1
				}
			}
			pos := fset.Position(lit.Pos())
			for _, k := range []string{"ID", "Statements", "Versions", "Level"} {
				switch {
				case keys[k] == 0:
					t.Errorf("%s: a case without %s", pos, k)
				case keys["Run"] != 0 && keys[k] > keys["Run"]:
					t.Errorf("%s: %s comes after Run", pos, k)
				}
			}
			return true
		})
		// No other registration function: every case goes through catalog.Broker.
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && (fd.Name.Name == "register" || fd.Name.Name == "split") {
				t.Errorf("%s: %s registers cases its own way; use catalog.Broker", fset.Position(fd.Pos()), fd.Name.Name)
			}
		}
	}
	if n < 250 {
		t.Errorf("found %d case literals; the parse missed most of the catalog", n)
	}
}
