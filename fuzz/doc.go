// Package fuzz holds mqttspec's native fuzz targets and the invariant checkers they call: decode
// (strict and lenient agree), structured round trip, stream reading under any chunking, a broker
// session over net.Pipe, hostile bytes into the reference client, capture reading, and
// differential decoding against paho.golang and mochi-mqtt.
//
// Each target lives in a file of its own (one Fuzz function per *_test.go file, package fuzz)
// and calls a checker from the package's non-test files. That layout is what OSS-Fuzz's
// compile_native_go_fuzzer needs: it finds a target by grepping the package directory for its
// name, copies that one file into the package as a non-test file and builds it with libFuzzer.
// For the same reason no other file under fuzz/ spells a target's name; docs/fuzzing.md lists
// them. Every target takes a single []byte; under go-118-fuzz-build a libFuzzer input is that
// value behind a 4-byte big-endian length (fuzz/oss-fuzz/seedcorpus writes seeds that way).
//
// Seed corpora live in testdata/fuzz/<target>/ in the native format and are written by
// `go test ./fuzz -run TestWriteSeeds -update` from real packets of every type in 3.1.1 and 5.0
// (package fuzz/gen); crashers found later are added next to them as regression seeds.
package fuzz
