# mqttspec — see README.md. Every target works on a fresh machine with Go 1.26.
GO       ?= go
BIN      ?= bin/mqttspec
REPORT   ?= out/report
PKGS     ?= ./...

.PHONY: all build test vet race bench fuzz-smoke fuzz-libfuzzer conformance matrix mutation cluster-conformance list catalog-docs clean

all: build test

build:
	$(GO) build -o $(BIN) ./cmd/mqttspec

vet:
	$(GO) vet $(PKGS)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	 if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# The project's tests: vet + gofmt, then every package with the race detector.
test: vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./codec/... ./pcap/...

# Every fuzz target for a few seconds each, from its committed corpus only: the corpus a local
# campaign grew in the Go build cache is left out (a target takes longer than FUZZTIME just to
# replay a big one, and go test then fails with "context deadline exceeded").
FUZZTIME ?= 5s
fuzz-smoke:
	@set -e; cache=$$(mktemp -d); trap 'rm -rf "$$cache"' EXIT; \
	for pkg in $$($(GO) list ./... ); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg -args -test.fuzzcachedir="$$cache/$$pkg"; \
	  done; \
	done

# The targets of ./fuzz built and run under libFuzzer, as OSS-Fuzz builds them (needs clang;
# see docs/fuzzing.md). LIBFUZZER_ARGS, e.g. "-runs 10000000 FuzzStrictLenient".
LIBFUZZER_ARGS ?= -time 10
fuzz-libfuzzer:
	fuzz/oss-fuzz/local.sh $(LIBFUZZER_ARGS)

# Conformance against the embedded reference broker; writes the report to $(REPORT).
conformance: build
	$(BIN) test broker --target embedded --version all --report $(REPORT)

# Mutation testing in full: every fault's scenario against every other fault (make test runs a
# fixed sample per fault), and every fault against its catalog cases. Tens of minutes.
mutation:
	MQTTSPEC_CROSSCHECK=all $(GO) test -count=1 -timeout 60m -run 'TestFaults' ./reference/broker/ ./conformance/catalog/broker/ ./conformance/catalog/client/

# The conformance matrix: every broker and client of matrix/*.yaml, twice each, into docs/matrix
# (see docs/matrix.md; installs nothing: matrix/brokers/install.sh installs the brokers).
MATRIX_OUT ?= docs/matrix
matrix: build
	$(BIN) matrix --out $(MATRIX_OUT)

# The cluster section against a real two-node cluster started on loopback (default: RabbitMQ,
# Debian rabbitmq-server; CLUSTER=mosquitto-bridge for the bridged pair), stopped afterwards;
# writes $(CLUSTER_OUT)/ (results.json, report.html, delays.md). See docs/cluster.md.
CLUSTER     ?= rabbitmq-cluster
CLUSTER_OUT ?= out/cluster
cluster-conformance: build
	matrix/clusters/run.sh $(CLUSTER) $(CLUSTER_OUT) $(BIN)

list: build
	$(BIN) list --markdown

# The generated catalog documents (a test fails when they are stale).
catalog-docs: build
	$(BIN) list --role broker --markdown > docs/catalog.md
	$(BIN) list --role client --markdown > docs/catalog-client.md

clean:
	rm -rf bin out
