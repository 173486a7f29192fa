#!/bin/bash
# mochi-mqtt (github.com/mochi-mqtt/server/v2, the version in go.mod) for the conformance matrix,
# built from internal/mochitest/mochibroker: anonymous access, one TCP listener, no WebSocket
# listener, no users or ACL (the command takes only -addr); restarted after each crash.
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
	# mochi v2.7.9 panics on some malformed packets (docs/brokers/mochi.md): a supervisor restarts it
	# on the same port, as internal/mochitest does, and counts the crashes in DIR/crashes.log. The
	# PID file names the supervisor; stop creates DIR/stopping first so that it does not restart.
	rm -f "$dir/stopping" "$dir/crashes.log"
	(
		while [ ! -e "$dir/stopping" ]; do
			rc=0
			"$dir/mochi" -addr "127.0.0.1:$port" >> "$dir/mochi.log" 2>&1 || rc=$?
			[ -e "$dir/stopping" ] && break
			echo "$(date -u +%FT%T.%NZ) mochi exited with status $rc, restarted" >> "$dir/crashes.log"
			sleep 0.05
		done
	) > /dev/null 2>> "$dir/supervisor.log" < /dev/null & # the supervisor must not hold the caller's stdout/stderr open
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
	[ -d "$2" ] && touch "$2/stopping"
	stop_pidfile "$2/pid" 10
	;;
*) usage ;;
esac
