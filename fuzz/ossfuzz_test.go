package fuzz

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// targetFiles returns each fuzz target of the package with the file that declares it.
func targetFiles(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("*_test.go")
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Fuzz") {
				out[fd.Name.Name] = f
			}
		}
	}
	return out
}

// TestOSSFuzzLayout checks what OSS-Fuzz's compile_native_go_fuzzer needs of every target: its
// name appears in exactly one file under fuzz/ (the tool greps the directory recursively), that
// file declares it as func FuzzX(f *testing.F), and the file compiles as a non-test file of
// the package (the tool copies it to <file>_fuzz_.go), so it uses no test-only helper.
func TestOSSFuzzLayout(t *testing.T) {
	targets := targetFiles(t)
	if len(targets) < 8 {
		t.Fatalf("%d targets", len(targets))
	}
	var all [][]byte
	var paths []string
	filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			all = append(all, b)
			paths = append(paths, p)
		}
		return nil
	})
	overlay := map[string]string{}
	for name, file := range targets {
		var hits []string
		for i, b := range all {
			if bytes.Contains(b, []byte(name)) {
				hits = append(hits, paths[i])
			}
		}
		if len(hits) != 1 || hits[0] != file {
			t.Errorf("%s is named in %v; OSS-Fuzz needs exactly %s", name, hits, file)
		}
		src, _ := os.ReadFile(file)
		if !bytes.Contains(src, []byte("func "+name+"(f *testing.F)")) {
			t.Errorf("%s: %s does not declare func %s(f *testing.F)", name, file, name)
		}
		abs, _ := filepath.Abs(file)
		overlay[abs+"_fuzz_.go"] = abs
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		t.Skipf("no go command at %s to build the harness copies", gobin)
	}
	ov := filepath.Join(t.TempDir(), "overlay.json")
	b, _ := json.Marshal(map[string]any{"Replace": overlay})
	os.WriteFile(ov, b, 0o644)
	cmd := exec.Command(gobin, "build", "-overlay", ov, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the targets do not build as non-test files: %v\n%s", err, out)
	}
}
