#!/bin/bash -eu
# Builds mqttspec's native Go fuzz targets (package ./fuzz) as libFuzzer binaries, for OSS-Fuzz
# and ClusterFuzzLite. Runs inside gcr.io/oss-fuzz-base/base-builder-go, where $SRC, $OUT and
# compile_native_go_fuzzer are provided.
#
# Each target gets its seed corpus ($OUT/<fuzzer>_seed_corpus.zip, the raw bytes of the native
# corpus in fuzz/testdata/fuzz/<target>/) and the MQTT dictionary ($OUT/<fuzzer>.dict).
# Target names are listed by `go test -list`, never spelt here: compile_native_go_fuzzer finds a
# target by grepping the package directory, and needs exactly one file to name it.

cd "$SRC/mqttspec"

# The libFuzzer shim replaces testing.F when the targets are compiled; it is added to the module
# graph of this build container only.
go get github.com/AdamKorcz/go-118-fuzz-build/testing

go run ./cmd/mqttspec fuzz dict --out "$OUT/mqttspec.dict"

for target in $(go test -list '^Fuzz' ./fuzz/ | grep '^Fuzz'); do
  fuzzer="mqttspec_$(echo "${target#Fuzz}" | tr '[:upper:]' '[:lower:]')"
  compile_native_go_fuzzer github.com/mqttspec/mqttspec/fuzz "$target" "$fuzzer"
  go run ./fuzz/oss-fuzz/seedcorpus -in "fuzz/testdata/fuzz/$target" -out "$OUT/${fuzzer}_seed_corpus.zip"
  cp "$OUT/mqttspec.dict" "$OUT/$fuzzer.dict"
done
