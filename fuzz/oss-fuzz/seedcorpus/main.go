// Command seedcorpus turns a native Go fuzz corpus directory (testdata/fuzz/FuzzXxx, files in
// the "go test fuzz v1" format holding one []byte) into libFuzzer inputs: a zip (the seed
// corpus format of OSS-Fuzz and ClusterFuzzLite) or a directory (for a local libFuzzer run).
//
//	go run ./fuzz/oss-fuzz/seedcorpus -in fuzz/testdata/fuzz/FuzzXxx -out $OUT/xxx_seed_corpus.zip
//	go run ./fuzz/oss-fuzz/seedcorpus -in fuzz/testdata/fuzz/FuzzXxx -dir corpus/xxx
//
// The inputs are not the raw bytes of the native corpus. A native target built for libFuzzer by
// go-118-fuzz-build (what compile_native_go_fuzzer uses) does not receive libFuzzer's buffer as
// its []byte argument: the shim's F.Fuzz reads every argument with go-fuzz-headers, and a []byte
// is a 4-byte big-endian length followed by that many bytes. A raw seed would lose its first
// four bytes to the length and be cut at length modulo what remains, so each seed is written as
// that length prefix followed by the value (-raw writes the bare bytes, for harnesses that take
// libFuzzer's buffer directly).
package main

import (
	"archive/zip"
	"encoding/binary"
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
	dir := flag.String("dir", "", "directory to write the inputs into (created if missing)")
	raw := flag.Bool("raw", false, "write the bare values, without the go-fuzz-headers length prefix")
	flag.Parse()
	if *in == "" || (*out == "") == (*dir == "") {
		fmt.Fprintln(os.Stderr, "usage: seedcorpus -in DIR (-out FILE.zip | -dir DIR) [-raw]")
		os.Exit(2)
	}
	enc := consumerBytes
	if *raw {
		enc = func(b []byte) []byte { return b }
	}
	var n int
	var err error
	if *out != "" {
		n, err = convert(*in, *out, enc)
	} else {
		n, err = convertDir(*in, *dir, enc)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seedcorpus:", err)
		os.Exit(1)
	}
	dst := *out
	if dst == "" {
		dst = *dir
	}
	fmt.Printf("%s: %d seeds\n", dst, n)
}

// consumerBytes encodes b the way go-fuzz-headers' GetBytes reads it back whole: a big-endian
// uint32 length equal to what follows (GetBytes takes the length modulo the bytes left unless
// they are equal). An empty value stays empty: GetBytes turns a zero length into 30 and then
// finds nothing to read, so the shim skips the input either way.
func consumerBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	out := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	return append(out, b...)
}

// seeds reads every corpus file of dir, in name order, decoded and encoded with enc.
func seeds(dir string, enc func([]byte) []byte, each func(name string, data []byte) error) (int, error) {
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
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return 0, err
		}
		data, err := parse(raw)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		if err := each(name, enc(data)); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// convert writes every corpus file of dir into the zip at out.
func convert(dir, out string, enc func([]byte) []byte) (int, error) {
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	zw := zip.NewWriter(f)
	n, err := seeds(dir, enc, func(name string, data []byte) error {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return 0, err
	}
	return n, nil
}

// convertDir writes every corpus file of dir as a file of outDir, under the same name.
func convertDir(dir, outDir string, enc func([]byte) []byte) (int, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return 0, err
	}
	return seeds(dir, enc, func(name string, data []byte) error {
		return os.WriteFile(filepath.Join(outDir, name), data, 0o644)
	})
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
