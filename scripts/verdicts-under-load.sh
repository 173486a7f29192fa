#!/usr/bin/env bash
# Checks that the schedule of a conformance run never changes a verdict (issue 20): runs the
# broker catalog serially (--parallel 1, no extra load) and then RUNS times in a row with the
# default schedule while a busy loop keeps every core loaded, and compares the verdict (case,
# version, status) of every loaded run with the serial one. It also prints each run's wall time
# over its longest case.
#
# A real broker may decide some verdicts by itself from run to run (mosquitto closes an idle
# keep alive connection whenever its loop next wakes up). With -s 2 or more serial runs, the case
# runs whose verdicts already differ between the serial runs are listed as the broker's own and
# left out of the comparison; every other verdict must match.
#
#   scripts/verdicts-under-load.sh [-n RUNS] [-s SERIAL_RUNS] [-o DIR] [-- FLAGS OF mqttspec test broker]
#   scripts/verdicts-under-load.sh -n 5                                 # the embedded broker
#   scripts/verdicts-under-load.sh -s 2 -- --target tcp://127.0.0.1:1883 --timing-tolerance 1s
#
# Exit status: 0 when every loaded run matches the serial one, 1 when one differs (the
# differences are printed), 2 on a usage or setup problem. The results.json of every run stay in
# DIR (default: a new temporary directory). Needs go and jq.
set -euo pipefail

runs=5
serial=1
dir=""
while [ $# -gt 0 ]; do
	case "$1" in
	-n) runs="$2"; shift 2 ;;
	-s) serial="$2"; shift 2 ;;
	-o) dir="$2"; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: $0 [-n RUNS] [-s SERIAL_RUNS] [-o DIR] [-- FLAGS OF mqttspec test broker]" >&2; exit 2 ;;
	esac
done
command -v jq >/dev/null || { echo "$0: needs jq" >&2; exit 2; }
[ -n "$dir" ] || dir=$(mktemp -d)
mkdir -p "$dir"
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$dir/mqttspec"
(cd "$root" && go build -o "$bin" ./cmd/mqttspec)

# run NAME FLAGS...: one run of the catalog, its results in $dir/NAME.json. Exit status 1 means
# failed cases, which a broker may well have; anything above is a problem of the run itself.
run() {
	local name="$1"; shift
	local rc=0
	"$bin" test broker --json "$@" >"$dir/$name.json" || rc=$?
	if [ "$rc" -gt 1 ] && ! jq -e '.cases' "$dir/$name.json" >/dev/null 2>&1; then
		echo "$name: mqttspec exited $rc without results" >&2
		exit 2
	fi
	jq -r '.cases[] | "\(.id) \(.version) \(.status)"' "$dir/$name.json" | sort >"$dir/$name.verdicts"
	jq -r --arg n "$name" '[.cases[].duration_ms] as $d | ($d | max) as $m |
		"\($n): \(.cases | length) case runs, \(.summary), wall \(.duration_ms / 1000 | . * 100 | round / 100) s, longest case \($m / 1000 | . * 100 | round / 100) s, ratio \(.duration_ms / $m | . * 1000 | round / 1000)"' "$dir/$name.json"
}

for i in $(seq "$serial"); do
	run "serial-$i" --parallel 1 "$@"
done
# The broker's own variation: case runs with more than one verdict across the serial runs.
cat "$dir"/serial-*.verdicts | sort -u | awk '{print $1, $2}' | uniq -d >"$dir/unstable"
if [ -s "$dir/unstable" ]; then
	echo "left out, their verdicts differ between the serial runs already:"
	while read -r id version; do
		echo "  $id $version: $(grep -h "^$id $version " "$dir"/serial-*.verdicts | awk '{print $3}' | paste -sd' ')"
	done <"$dir/unstable"
fi
# without FILE: the verdicts of FILE less the case runs listed in $dir/unstable.
without() { awk 'FILENAME == ARGV[1] { skip[$1 " " $2] = 1; next } !(($1 " " $2) in skip)' "$dir/unstable" "$1"; }
without "$dir/serial-1.verdicts" >"$dir/serial.verdicts"

# The load: one busy loop per core, for the loaded runs only. Only these processes are stopped.
pids=()
stop_load() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap stop_load EXIT
for _ in $(seq "$(nproc)"); do
	bash -c 'while :; do :; done' &
	pids+=($!)
done

differ=0
for i in $(seq "$runs"); do
	run "loaded-$i" "$@"
	if ! diff -u "$dir/serial.verdicts" <(without "$dir/loaded-$i.verdicts") >"$dir/loaded-$i.diff"; then
		echo "loaded-$i: verdicts differ from the serial run:"
		grep '^[-+][^-+]' "$dir/loaded-$i.diff" || true
		differ=1
	fi
done
stop_load
if [ "$differ" = 0 ]; then
	echo "every one of $runs loaded runs has the serial verdicts ($(wc -l <"$dir/serial.verdicts") case runs compared, $(wc -l <"$dir/unstable") left out); results in $dir"
else
	echo "verdicts depend on the schedule or the load; results in $dir"
fi
exit "$differ"
