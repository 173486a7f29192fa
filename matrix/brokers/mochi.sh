#!/bin/bash
# mochi-mqtt (github.com/mochi-mqtt/server/v2, the version in go.mod) for the conformance matrix,
# built from internal/mochitest/mochibroker: anonymous access, one TCP listener, no WebSocket
# listener, no users or ACL (the command takes only -addr).
#   mochi.sh start DIR PORT WSPORT   mochi.sh stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port=$3
	dir=$(absdir "$dir")
	if ! command -v go >/dev/null; then
		echo "mochi is built from source: install Go (golang-go) or put go on PATH" >&2
		exit 3
	fi
	mkdir -p "$dir"
	(cd "$root" && go build -o "$dir/mochi" ./internal/mochitest/mochibroker) > "$dir/build.log" 2>&1 ||
		die_log "go build ./internal/mochitest/mochibroker failed" "$dir/build.log"
	"$dir/mochi" -addr "127.0.0.1:$port" > "$dir/mochi.log" 2>&1 &
	echo $! > "$dir/pid"
	if ! wait_port "$port" "$(cat "$dir/pid")" 15; then
		stop_pidfile "$dir/pid" 5
		die_log "mochi did not listen on 127.0.0.1:$port" "$dir/mochi.log"
	fi
	check_loopback "$dir/pid" "$dir/mochi.log"
	v=$(cd "$root" && go list -m -f '{{.Version}}' github.com/mochi-mqtt/server/v2 2>/dev/null || true)
	echo "version=mochi-mqtt ${v:-unknown}"
	;;
stop)
	[ $# -eq 2 ] || usage
	stop_pidfile "$2/pid" 10
	;;
*) usage ;;
esac
