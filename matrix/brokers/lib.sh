# Shared by the matrix broker scripts and the cluster scripts (sourced, not run). The contract of
# every broker NAME.sh:
#   NAME.sh start DIR PORT WSPORT   NAME.sh stop DIR   (the contract is in docs/matrix.md)

# die_log MSG LOGFILE...: prints MSG and the tail of each log on stderr, exits 1.
die_log() {
	local msg=$1
	shift
	echo "$msg" >&2
	local f
	for f in "$@"; do
		[ -f "$f" ] && { echo "--- tail of $f" >&2; tail -n 40 "$f" >&2; }
	done
	exit 1
}

# port_open PORT: true when 127.0.0.1:PORT accepts a TCP connection.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT PID SECONDS: waits until PORT accepts connections; fails early if PID dies.
wait_port() {
	local port=$1 pid=$2 secs=$3 i
	for ((i = 0; i < secs * 5; i++)); do
		port_open "$port" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# children: the PIDs whose parent is $PARENT, read from /proc (no procps needed; builtins only).
children() {
	local f st rest
	for f in /proc/[0-9]*/stat; do
		{ read -r st < "$f"; } 2>/dev/null || continue # the process may be gone already
		rest=${st##*) } # after the command name, which may hold spaces and parentheses
		# shellcheck disable=SC2086
		set -- $rest # state ppid …
		if [ "${2:-}" = "$PARENT" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}

# descendants PID: PID and all its descendants (children first is not needed: all get the signal).
descendants() {
	local p=$1 c
	echo "$p"
	for c in $(PARENT=$p children); do
		descendants "$c"
	done
}

# still_alive PID...: the PIDs of the list that still exist.
still_alive() {
	local p
	for p in "$@"; do
		if kill -0 "$p" 2>/dev/null; then echo "$p"; fi
	done
}

# stop_pidfile FILE [SECONDS]: TERM the process in FILE and its descendants, KILL after the bound,
# wait until all are gone, remove FILE. Idempotent: no file or a dead PID is success.
stop_pidfile() {
	local file=$1 secs=${2:-20} pid pids i alive
	[ -f "$file" ] || return 0
	pid=$(cat "$file")
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$file"
		return 0
	fi
	pids=$(descendants "$pid")
	kill -TERM $pids 2>/dev/null || true
	# (if … fi, never `kill -0 && …` as a loop's last command: under set -e a dead last PID would
	# end the caller's script right here, before anything was waited for or killed)
	for ((i = 0; i < secs * 5; i++)); do
		alive=$(still_alive $pids)
		if [ -z "$alive" ]; then break; fi
		sleep 0.2
	done
	if [ -n "$alive" ]; then
		kill -KILL $alive 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			alive=$(still_alive $pids)
			if [ -z "$alive" ]; then break; fi
			sleep 0.1
		done
	fi
	rm -f "$file"
}

# usage prints the script's arguments and exits 2; a script with other start arguments (the
# cluster scripts: start DIR PORT_A PORT_B) sets START_ARGS before sourcing this file.
usage() {
	echo "usage: $0 start ${START_ARGS:-DIR PORT WSPORT} | $0 stop DIR" >&2
	exit 2
}

# installed_version PKG: the installed Debian version of PKG, empty when it is not installed.
installed_version() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'
}

# check_loopback PIDFILE LOG...: stops the broker and fails when the process in PIDFILE or one of
# its descendants listens (TCP) on anything but loopback (a safety net: the configs bind 127.0.0.1, and
# a broker that ignores that must not stay reachable from the network). Needs ss (iproute2); without
# it the check is skipped.
check_loopback() {
	local file=$1 pid bad p
	shift
	command -v ss >/dev/null || return 0
	pid=$(cat "$file")
	bad=
	for p in $(descendants "$pid"); do
		# TCP listeners only: an unconnected UDP socket on 0.0.0.0 (Erlang's resolver asking DNS)
		# is a client, not a service
		bad="$bad$(ss -H -lntp 2>/dev/null | grep "pid=$p," | awk '{print $4}' | grep -v -E '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):' || true)"
	done
	if [ -n "$bad" ]; then
		stop_pidfile "$file" 10
		die_log "refusing to run: the broker listens on a non-loopback address: $bad" "$@"
	fi
}

# absdir DIR: DIR made absolute (and created). The caller may pass a relative DIR; the brokers
# change directory or are handed paths by other processes, so every path must be absolute.
absdir() {
	mkdir -p "$1" && (cd "$1" && pwd)
}
