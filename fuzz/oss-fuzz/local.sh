#!/bin/bash
# Builds the native targets of ./fuzz as libFuzzer binaries the way OSS-Fuzz's
# compile_native_go_fuzzer does (go-118-fuzz-build, then clang -fsanitize=fuzzer), without Docker,
# and optionally runs them. Use it to check that the OSS-Fuzz build works before a campaign, to
# reproduce a ClusterFuzzLite crash, or to run long campaigns locally: libFuzzer runs the same
# targets several times faster than `go test -fuzz` (see docs/fuzzing.md).
#
#   fuzz/oss-fuzz/local.sh [-o DIR] [-runs N | -time SECONDS] [-jobs N] [-include PATTERNS]
#                          [FuzzTarget...]
#
# Default: every target of ./fuzz, built into out/libfuzzer. With -runs or -time, each built
# binary runs on its corpus (DIR/corpus/<target>, grown across runs) and seed inputs
# (DIR/seeds/<target>, converted from fuzz/testdata/fuzz) with the MQTT dictionary, prints
# libFuzzer's final statistics and leaves crash inputs in DIR/crashes. Exit status: 0 when every
# build and run succeeded, 1 when a run found a crash, 2 on usage or build errors.
#
# -include chooses the packages that get coverage instrumentation (go-118-fuzz-build's patterns,
# comma-separated, a trailing * is a prefix). The default is mqttspec and the parsers the targets
# compare it with; '*' instruments everything, as OSS-Fuzz does, at a third to half the speed:
# comparison tracing in the runtime and the standard library costs more than it guides.
#
# Needs clang with libFuzzer's runtime (Debian: apt-get install clang libclang-rt-14-dev) and the
# Go module proxy for github.com/AdamKorcz/go-118-fuzz-build (pinned below). go-118-fuzz-build
# rewrites source files while it builds, so the build happens in a scratch copy of the working
# tree (committed or not); the repository and its go.mod are never touched.
set -euo pipefail

GO118FB_VERSION=v0.0.0-20250520111509-a70c2aa677fa
out=out/libfuzzer
runs=
secs=
jobs=1
include='github.com/mqttspec/mqttspec/*,github.com/eclipse/paho.golang/*,github.com/mochi-mqtt/server/*,github.com/google/gopacket/*'
targets=()

usage() {
	sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	-o) out=${2:?-o needs a directory}; shift 2 ;;
	-runs) runs=${2:?-runs needs a number}; shift 2 ;;
	-time) secs=${2:?-time needs seconds}; shift 2 ;;
	-jobs) jobs=${2:?-jobs needs a number}; shift 2 ;;
	-include) include=${2:?-include needs patterns}; shift 2 ;;
	-h | --help) usage ;;
	-*) echo "local.sh: unknown flag $1" >&2; usage ;;
	*) targets+=("$1"); shift ;;
	esac
done
for n in "$runs" "$secs" "$jobs"; do
	if [ -n "$n" ] && ! [[ $n =~ ^[0-9]+$ ]]; then
		echo "local.sh: $n is not a whole number" >&2
		exit 2
	fi
done

root=$(git rev-parse --show-toplevel 2>/dev/null) || {
	echo "local.sh: run it inside the mqttspec repository" >&2
	exit 2
}
cd "$root"
mkdir -p "$out"
out=$(cd "$out" && pwd)

cc=
for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
	if command -v "$c" >/dev/null; then cc=$c; break; fi
done
if [ -z "$cc" ] || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$cc" -x c - -fsanitize=fuzzer -o "$out/.cc-check" 2>/dev/null; then
	echo "local.sh: needs clang with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi
rm -f "$out/.cc-check"

all=$(go test -list '^Fuzz' ./fuzz/ | grep '^Fuzz')
if [ ${#targets[@]} -eq 0 ]; then
	read -r -a targets <<<"$(echo $all)"
fi
for t in "${targets[@]}"; do
	if ! grep -qx "$t" <<<"$all"; then
		echo "local.sh: $t is not a target of ./fuzz (targets: $(echo $all))" >&2
		exit 2
	fi
done

# The scratch copy: tracked and new files of the working tree, as they are now.
work=$(mktemp -d "${TMPDIR:-/tmp}/mqttspec-libfuzzer.XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
	[ -f "$f" ] && printf '%s\0' "$f"
done | xargs -0 -r cp --parents -t "$work"
(
	cd "$work"
	GOFLAGS=-mod=mod go get "github.com/AdamKorcz/go-118-fuzz-build/testing@$GO118FB_VERSION" >/dev/null 2>&1
	GOBIN="$work/bin" go install "github.com/AdamKorcz/go-118-fuzz-build@$GO118FB_VERSION"
) || {
	echo "local.sh: could not fetch github.com/AdamKorcz/go-118-fuzz-build@$GO118FB_VERSION" >&2
	exit 2
}
go run ./cmd/mqttspec fuzz dict --out "$out/mqttspec.dict" >/dev/null

# libFuzzer (before LLVM 21) installs its signal handlers without SA_ONSTACK, so its SIGALRM
# handler (the -timeout check, every timeout/2+1 s) runs on whatever stack is current: often a
# small goroutine stack, which it overflows, silently corrupting the Go heap (golang/go#49075;
# seen here as a SIGSEGV inside mallocgc after ~12 minutes of the generator target). Every sigaction
# call is wrapped to add SA_ONSTACK, as OSS-Fuzz's Go images do; Go gives its threads an
# alternate signal stack.
cat >"$work/sigonstack.c" <<'C'
#include <signal.h>
int __real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
	if (act != 0 && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
		struct sigaction a = *act;
		a.sa_flags |= SA_ONSTACK;
		return __real_sigaction(sig, &a, old);
	}
	return __real_sigaction(sig, act, old);
}
C

status=0
for t in "${targets[@]}"; do
	name="mqttspec_$(echo "${t#Fuzz}" | tr '[:upper:]' '[:lower:]')"
	echo "== $t → $out/$name"
	if ! (cd "$work" && "$work/bin/go-118-fuzz-build" -include "$include" -o "$work/$name.a" -func "$t" github.com/mqttspec/mqttspec/fuzz &&
		"$cc" -fsanitize=fuzzer "$work/$name.a" "$work/sigonstack.c" -Wl,--wrap=sigaction -o "$out/$name"); then
		echo "local.sh: building $t failed" >&2
		exit 2
	fi
	rm -f "$work/$name.a"
	go run ./fuzz/oss-fuzz/seedcorpus -in "fuzz/testdata/fuzz/$t" -dir "$out/seeds/$t" >/dev/null
	if [ -z "$runs$secs" ]; then
		continue
	fi
	mkdir -p "$out/corpus/$t" "$out/crashes"
	args=(-print_final_stats=1 -timeout=25 -rss_limit_mb=4096 -dict="$out/mqttspec.dict"
		-artifact_prefix="$out/crashes/$t-")
	[ -n "$runs" ] && args+=(-runs="$runs")
	[ -n "$secs" ] && args+=(-max_total_time="$secs")
	[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
	start=$(date +%s)
	if "$out/$name" "${args[@]}" "$out/corpus/$t" "$out/seeds/$t" >"$out/$t.log" 2>&1; then
		echo "   $(grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$out/$t.log" | tr -s ' ' | tr '\n' ' ')wall $(($(date +%s) - start))s"
	else
		status=1
		echo "   FAILED after $(($(date +%s) - start))s: see $out/$t.log and $out/crashes/" >&2
		grep -E 'panic|fatal|ERROR' "$out/$t.log" | head -5 >&2 || true
	fi
done
exit $status
