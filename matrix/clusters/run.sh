#!/bin/bash
# Runs the cluster section against one scripted cluster and stops it (docs/cluster.md).
#   run.sh NAME OUT [MQTTSPEC]
# Starts matrix/clusters/NAME.sh on two free loopback ports, runs
#   mqttspec test broker --target tcp://127.0.0.1:A --node tcp://127.0.0.1:B --case cluster/
# with the expectations of NAME.expect.yaml when there is one (exit 0 unless a result regresses),
# writes OUT/results.json and OUT/report.html (node A as --target), OUT/reverse/ (node B as
# --target), OUT/delays.md (median and max per kind of effect over both) and OUT/version.txt,
# and stops the nodes on every path (trap). The exit code is mqttspec's (the first non-zero of
# the two runs); 3 when the cluster's packages are not installed. MQTTSPEC (default bin/mqttspec) is the binary;
# MQTTSPEC_ARGS adds flags (e.g. "--settle 2s").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
START_ARGS="DIR PORT_A PORT_B"
. "$here/../brokers/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 NAME OUT [MQTTSPEC]" >&2; exit 2; }
name=$1 out=$2 bin=${3:-bin/mqttspec}
script=$here/$name.sh
[ -x "$script" ] || { echo "no cluster script $script" >&2; exit 2; }

free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % 22000))
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}

out=$(absdir "$out")
work=$(mktemp -d "${TMPDIR:-/tmp}/mqttspec-cluster.XXXXXX")
trap '"$script" stop "$work" || true; rm -rf "$work"' EXIT
port_a=$(free_port)
port_b=$(free_port)
while [ "$port_b" = "$port_a" ]; do port_b=$(free_port); done
start=$(date +%s)
set +e
started=$("$script" start "$work" "$port_a" "$port_b")
rc=$?
set -e
[ "$rc" -eq 0 ] || exit "$rc"
version=$(sed -n 's/^version=//p' <<< "$started" | head -1)
# a cluster script may print versions=… (the protocol versions its broker speaks; default all)
versions=$(sed -n 's/^versions=//p' <<< "$started" | head -1)
# and flags=… (extra mqttspec flags the cluster needs, such as credentials)
flags=$(sed -n 's/^flags=//p' <<< "$started" | head -1)
echo "$name: $version on 127.0.0.1:$port_a and 127.0.0.1:$port_b (started in $(($(date +%s) - start)) s)"
echo "$version" > "$out/version.txt"
expect=()
[ -f "$here/$name.expect.yaml" ] && expect=(--expect "$here/$name.expect.yaml")
# Both directions: node A is the --target once and the --node once (a cluster may treat the node
# that was there first differently, as ejabberd's takeover does).
run_dir() {
	local target=$1 node=$2 report=$3
	set +e
	# shellcheck disable=SC2086
	"$bin" test broker --target "tcp://127.0.0.1:$target" --node "tcp://127.0.0.1:$node" --case cluster/ \
		--version "${versions:-all}" --name "$name" --report "$report" "${expect[@]}" $flags ${MQTTSPEC_ARGS:-}
	local rc=$?
	set -e
	return $rc
}
rc=0
run_dir "$port_a" "$port_b" "$out" || rc=$?
mkdir -p "$out/reverse"
run_dir "$port_b" "$port_a" "$out/reverse" || { r=$?; [ "$rc" -ne 0 ] || rc=$r; }
go run "$here/delays" "$out/results.json" "$out/reverse/results.json" > "$out/delays.md" || true
cat "$out/delays.md"
exit "$rc"
