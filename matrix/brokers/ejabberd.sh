#!/bin/bash
# ejabberd (Debian package, mod_mqtt: MQTT 3.1.1 and 5.0) for the conformance matrix.
#   ejabberd.sh start DIR PORT WSPORT   ejabberd.sh stop DIR
# ejabberd runs as an ordinary foreground process of user ejabberd (ejabberdctl switches to it when
# started as root) with its own ejabberdctl.cfg, ejabberd.yml, mnesia spool and logs under
# DIR/ejabberd, a node name made from PORT, and Erlang distribution on a private port bound to
# 127.0.0.1 without epmd (ERL_DIST_PORT). The Debian ejabberdctl.cfg is not used: it sets
# EJABBERD_CONFIG_PATH=/etc/ejabberd/ejabberd.yml, which would win over --config.
# Configuration: auth_method [internal, anonymous] with anonymous_protocol login_anon — any user
# name logs in anonymously (mod_mqtt needs a user name on every CONNECT), except the registered user
# u1 whose password p1 is checked. No ACL: mod_mqtt's access_publish / access_subscribe are allow
# lists (a topic passes when any listed filter whose rule allows it matches, and nothing passes when
# none matches), so "everything but denied/#" cannot be said without also refusing filters such as
# # or +/x, which many cases subscribe to.
# Listeners: mod_mqtt on 127.0.0.1:PORT, ejabberd_http with /mqtt → mod_mqtt (WebSocket) on
# 127.0.0.1:WSPORT, nothing else.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

ctl=/usr/sbin/ejabberdctl

# free_port: a loopback port nothing listens on (for Erlang distribution).
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768-)
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# ctl_args WORK NODE: the ejabberdctl options that select this instance.
ctl_args() {
	echo --config-dir "$1" --ctl-config "$1/ejabberdctl.cfg" --spool "$1/spool" --logs "$1/logs" --node "$2"
}

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port=$3 wsport=$4
	dir=$(absdir "$dir")
	if [ ! -x "$ctl" ] || [ -z "$(installed_version ejabberd)" ]; then
		echo "ejabberd is not installed: apt-get install ejabberd" >&2
		exit 3
	fi
	me=$(id -un)
	if [ "$me" != root ] && [ "$me" != ejabberd ]; then
		echo "ejabberdctl runs only as root or as user ejabberd (it is $me)" >&2
		exit 1
	fi
	mkdir -p "$dir"
	# The node runs as user ejabberd, which may not be able to enter DIR (t.TempDir and mktemp make
	# 0700 directories owned by the caller): then the instance lives in a private directory under
	# /tmp, reachable as DIR/ejabberd (a symlink) and removed by stop.
	work=$dir/ejabberd
	rm -rf "$work"
	mkdir -p "$work"
	if [ "$me" = root ]; then
		chown ejabberd: "$work"
		if ! su -s /bin/sh ejabberd -c "test -w '$work'" 2>/dev/null; then
			rmdir "$work"
			side=$(mktemp -d /tmp/mqttspec-ejabberd.XXXXXX)
			chown ejabberd: "$side"
			chmod 700 "$side"
			ln -s "$side" "$work"
			echo "$side" > "$dir/ejabberd.side"
			work=$side # the node must not see paths through DIR, which it cannot enter
		fi
	fi
	node="mqttspec$port@localhost"
	echo "$node" > "$dir/node"
	dist=$(free_port) || die_log "no free port for Erlang distribution"
	mkdir -p "$work/spool" "$work/logs"
	cp /etc/ejabberd/inetrc "$work/inetrc"
	cat > "$work/ejabberdctl.cfg" <<CFG
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_PID_PATH=$work/ejabberd.pid
EJABBERD_CONFIG_PATH=$work/ejabberd.yml
CONTRIB_MODULES_CONF_DIR=$work/modules.d
ERL_DIST_PORT=$dist
INET_DIST_INTERFACE=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
EJABBERD_BYPASS_WARNINGS=true
CFG
	cat > "$work/ejabberd.yml" <<YML
hosts:
  - localhost
loglevel: info
log_rotate_count: 0
auth_method: [internal, anonymous]
anonymous_protocol: login_anon
auth_password_format: plain
listen:
  -
    port: $port
    ip: "127.0.0.1"
    module: mod_mqtt
    backlog: 1000
  -
    port: $wsport
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /mqtt: mod_mqtt
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_mqtt: {}
YML
	mkdir -p "$work/modules.d"
	if [ "$me" = root ]; then chown -R ejabberd: "$work"; fi
	# A node whose distribution port was taken between free_port and its bind dies at once with
	# eaddrinuse: try again on another port (three attempts).
	for attempt in 1 2 3; do
		# shellcheck disable=SC2046
		setsid "$ctl" $(ctl_args "$work" "$node") foreground > "$dir/ejabberd.out" 2>&1 < /dev/null &
		echo $! > "$dir/pid"
		pid=$(cat "$dir/pid")
		wait_port "$port" "$pid" 90 && break
		stop_pidfile "$dir/pid" 20
		if [ "$attempt" -lt 3 ] && grep -q eaddrinuse "$dir/ejabberd.out"; then
			dist=$(free_port) || die_log "no free port for Erlang distribution"
			sed -i "s/^ERL_DIST_PORT=.*/ERL_DIST_PORT=$dist/" "$work/ejabberdctl.cfg"
			continue
		fi
		die_log "ejabberd did not listen on 127.0.0.1:$port" "$dir/ejabberd.out" "$work/logs/ejabberd.log" "$work/logs/error.log"
	done
	check_loopback "$dir/pid" "$dir/ejabberd.out" "$work/logs/ejabberd.log"
	# shellcheck disable=SC2046
	if ! out=$("$ctl" $(ctl_args "$work" "$node") register u1 localhost p1 2>&1); then
		stop_pidfile "$dir/pid" 20
		die_log "ejabberdctl register u1 failed: $out" "$work/logs/ejabberd.log"
	fi
	v=$(installed_version ejabberd)
	echo "version=ejabberd ${v%%-*} (Debian $v)"
	;;
stop)
	[ $# -eq 2 ] || usage
	dir=$2
	# the node's own PID file (the beam process) covers a foreground chain that lost its parent
	beam=
	[ -f "$dir/ejabberd/ejabberd.pid" ] && beam=$(cat "$dir/ejabberd/ejabberd.pid" 2>/dev/null || true)
	stop_pidfile "$dir/pid" 30
	if [ -n "$beam" ] && kill -0 "$beam" 2>/dev/null; then
		echo "$beam" > "$dir/beam.pid"
		stop_pidfile "$dir/beam.pid" 15
	fi
	if [ -f "$dir/ejabberd.side" ]; then
		side=$(cat "$dir/ejabberd.side")
		case $side in /tmp/mqttspec-ejabberd.*) rm -rf "$side" ;; esac
		rm -f "$dir/ejabberd.side" "$dir/ejabberd"
	fi
	;;
*) usage ;;
esac
