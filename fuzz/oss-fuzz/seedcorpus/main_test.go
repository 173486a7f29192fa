package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	fuzzheaders "github.com/AdaLogics/go-fuzz-headers"
)

var testCorpus = map[string]string{
	"seed-a": "go test fuzz v1\n[]byte(\"\\x10\\x00MQTT\")\n",
	"seed-b": "go test fuzz v1\n[]byte(\"\")\n",
	"seed-c": "go test fuzz v1\n[]byte(\"\\x82\\x0e\\x00\\x01\\x00\\t\\xef\\xbb\\xbfa/b/c\\x01\")\n",
}

// wantValues are the values of testCorpus as the native engine would pass them.
var wantValues = map[string][]byte{
	"seed-a": []byte("\x10\x00MQTT"),
	"seed-b": {},
	"seed-c": []byte("\x82\x0e\x00\x01\x00\t\xef\xbb\xbfa/b/c\x01"),
}

func writeCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range testCorpus {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// shimValue reads an input the way go-118-fuzz-build's F.Fuzz fills a single []byte argument
// (go-fuzz-headers' GetBytes); ok is false where the shim would not call the target at all.
func shimValue(input []byte) (v []byte, ok bool) {
	b, err := fuzzheaders.NewConsumer(input).GetBytes()
	return b, err == nil
}

func TestSeedsReachTheTargetUnchanged(t *testing.T) {
	dir := writeCorpus(t)
	out := filepath.Join(t.TempDir(), "c.zip")
	n, err := convert(dir, out, consumerBytes)
	if err != nil || n != len(testCorpus) {
		t.Fatalf("convert: %d, %v", n, err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != len(testCorpus) {
		t.Fatalf("%d files in the zip", len(zr.File))
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		want := wantValues[f.Name]
		got, ok := shimValue(b)
		if len(want) == 0 {
			// The shim never calls a target with an empty []byte; the seed is kept but inert.
			if ok && len(got) != 0 {
				t.Errorf("%s: empty seed reads back as %q", f.Name, got)
			}
			continue
		}
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: the shim would pass %q (ok=%v), want %q", f.Name, got, ok, want)
		}
	}
}

// TestRawSeedsAreMangledByTheShim documents why the prefix exists: a raw seed does not reach a
// go-118-fuzz-build target as itself.
func TestRawSeedsAreMangledByTheShim(t *testing.T) {
	raw := wantValues["seed-c"]
	if got, ok := shimValue(raw); ok && bytes.Equal(got, raw) {
		t.Fatalf("raw seed survived the shim: %q", got)
	}
}

func TestConvertDir(t *testing.T) {
	dir := writeCorpus(t)
	outDir := filepath.Join(t.TempDir(), "seeds")
	for _, raw := range []bool{false, true} {
		enc := consumerBytes
		if raw {
			enc = func(b []byte) []byte { return b }
		}
		if n, err := convertDir(dir, outDir, enc); err != nil || n != len(testCorpus) {
			t.Fatalf("convertDir: %d, %v", n, err)
		}
		for name, want := range wantValues {
			b, err := os.ReadFile(filepath.Join(outDir, name))
			if err != nil {
				t.Fatal(err)
			}
			if raw && !bytes.Equal(b, want) {
				t.Errorf("raw %s: %q", name, b)
			}
			if got, _ := shimValue(b); !raw && len(want) > 0 && !bytes.Equal(got, want) {
				t.Errorf("%s: %q", name, got)
			}
		}
	}
}

func TestConvertFailsWholly(t *testing.T) {
	dir := writeCorpus(t)
	os.WriteFile(filepath.Join(dir, "seed-z"), []byte("go test fuzz v1\nint(3)\n"), 0o644)
	out := filepath.Join(t.TempDir(), "c.zip")
	if _, err := convert(dir, out, consumerBytes); err == nil {
		t.Fatal("a bad corpus file was accepted")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a half-written zip was left behind: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		"[]byte(\"x\")\n",
		"go test fuzz v1\nint(3)\n",
		"go test fuzz v1\n[]byte(\"x\")\n[]byte(\"y\")\n",
		"go test fuzz v1\n[]byte(\"\\q\")\n",
	} {
		if _, err := parse([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestEveryCorpusConverts converts the repository's own corpora, as build.sh does, and checks
// that every non-empty seed reaches its target unchanged.
func TestEveryCorpusConverts(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "fuzz", "Fuzz*"))
	if len(dirs) < 6 {
		t.Fatalf("found %d corpus directories", len(dirs))
	}
	for _, d := range dirs {
		rawDir, prefixed := t.TempDir(), t.TempDir()
		if _, err := convertDir(d, rawDir, func(b []byte) []byte { return b }); err != nil {
			t.Fatal(err)
		}
		if _, err := convertDir(d, prefixed, consumerBytes); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(rawDir)
		for _, f := range files {
			want, _ := os.ReadFile(filepath.Join(rawDir, f.Name()))
			in, _ := os.ReadFile(filepath.Join(prefixed, f.Name()))
			if got, ok := shimValue(in); len(want) > 0 && (!ok || !bytes.Equal(got, want)) {
				t.Errorf("%s/%s does not reach the target unchanged", filepath.Base(d), f.Name())
			}
		}
	}
}
