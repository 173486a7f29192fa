// Command seedcorpus turns a native Go fuzz corpus directory (testdata/fuzz/FuzzXxx, files in
// the "go test fuzz v1" format holding one []byte) into a zip of raw inputs, the seed corpus
// format of libFuzzer, OSS-Fuzz and ClusterFuzzLite.
//
//	go run ./fuzz/oss-fuzz/seedcorpus -in fuzz/testdata/fuzz/FuzzXxx -out $OUT/xxx_seed_corpus.zip
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "", "native corpus directory")
	out := flag.String("out", "", "zip file to write")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: seedcorpus -in DIR -out FILE.zip")
		os.Exit(2)
	}
	n, err := convert(*in, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seedcorpus:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d seeds\n", *out, n)
}

// convert writes every corpus file of dir, decoded, into the zip at out.
func convert(dir, out string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	zw := zip.NewWriter(f)
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Close()
			return 0, err
		}
		data, err := parse(raw)
		if err != nil {
			f.Close()
			return 0, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		w, err := zw.Create(name)
		if err != nil {
			f.Close()
			return 0, err
		}
		if _, err := w.Write(data); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return 0, err
	}
	return len(names), f.Close()
}

// parse reads a native corpus file holding exactly one []byte value.
func parse(b []byte) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, errors.New("not a one-value native corpus file (go test fuzz v1)")
	}
	v := lines[1]
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("value %.40q is not a []byte", v)
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	return []byte(s), nil
}
