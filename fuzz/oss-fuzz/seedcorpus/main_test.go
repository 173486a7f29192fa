package main

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"seed-a": "go test fuzz v1\n[]byte(\"\\x10\\x00MQTT\")\n",
		"seed-b": "go test fuzz v1\n[]byte(\"\")\n",
	}
	for n, c := range files {
		os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
	}
	out := filepath.Join(t.TempDir(), "c.zip")
	n, err := convert(dir, out)
	if err != nil || n != 2 {
		t.Fatalf("convert: %d, %v", n, err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := map[string]string{"seed-a": "\x10\x00MQTT", "seed-b": ""}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != want[f.Name] {
			t.Errorf("%s: %q", f.Name, b)
		}
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

// TestEveryCorpusConverts converts the repository's own corpora, as build.sh does.
func TestEveryCorpusConverts(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "fuzz", "Fuzz*"))
	if len(dirs) < 6 {
		t.Fatalf("found %d corpus directories", len(dirs))
	}
	for _, d := range dirs {
		if _, err := convert(d, filepath.Join(t.TempDir(), "x.zip")); err != nil {
			t.Error(err)
		}
	}
}
