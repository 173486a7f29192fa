#!/bin/bash
# A two-node ejabberd cluster (Debian ejabberd, mod_mqtt: MQTT 3.1.1 and 5.0) on loopback.
#   ejabberd-cluster.sh start DIR PORT_A PORT_B   ejabberd-cluster.sh stop DIR
# Two foreground ejabberd nodes, mqttspecA<PORT_A>@localhost and mqttspecB<PORT_A>@localhost, each
# with its own ejabberdctl.cfg, ejabberd.yml, mnesia spool and logs in a private directory under
# /tmp owned by user ejabberd (reachable as DIR/a and DIR/b), one Erlang cookie (user ejabberd's),
# a private epmd on 127.0.0.1 and a private port (ERL_EPMD_PORT; epmd-less distribution, as
# matrix/brokers/ejabberd.sh uses, cannot cluster two nodes of one host: every node would have to
# listen on the one port the others dial), distribution bound to 127.0.0.1. Node B joins node A
# (ejabberdctl join_cluster). mod_mqtt on 127.0.0.1:PORT_A and 127.0.0.1:PORT_B, user u1/p1
# (run the cases with --username u1 --password p1), no other listener. DIR/pid.a, DIR/pid.b, DIR/epmd.pid are stopped by "stop".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
START_ARGS="DIR PORT_A PORT_B"
. "$here/../brokers/lib.sh"

ctl=/usr/sbin/ejabberdctl

free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % 22000))
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}

ctl_on() {
	local n=$1 w
	shift
	w=$(cat "$dir/side.$n")
	# shellcheck disable=SC2046
	ERL_EPMD_PORT=$(cat "$dir/epmd.port") timeout 120 "$ctl" --config-dir "$w" --ctl-config "$w/ejabberdctl.cfg" --spool "$w/spool" --logs "$w/logs" --node "$(cat "$dir/node.$n")" "$@"
}

stop_all() {
	local n beam side
	for n in b a; do
		beam=
		if [ -f "$dir/side.$n" ]; then
			side=$(cat "$dir/side.$n")
			[ -f "$side/ejabberd.pid" ] && beam=$(cat "$side/ejabberd.pid" 2>/dev/null || true)
		fi
		stop_pidfile "$dir/pid.$n" 30
		if [ -n "$beam" ] && kill -0 "$beam" 2>/dev/null; then
			echo "$beam" > "$dir/beam.$n.pid"
			stop_pidfile "$dir/beam.$n.pid" 15
		fi
	done
	stop_pidfile "$dir/epmd.pid" 5
	for n in a b; do
		if [ -f "$dir/side.$n" ]; then
			side=$(cat "$dir/side.$n")
			case $side in /tmp/mqttspec-ejabberd.*) rm -rf "$side" ;; esac
			rm -f "$dir/side.$n" "$dir/$n"
		fi
	done
}

start_node() {
	local n=$1 port=$2 up work node
	up=$(tr a-z A-Z <<< "$n")
	work=$(mktemp -d /tmp/mqttspec-ejabberd.XXXXXX)
	echo "$work" > "$dir/side.$n"
	ln -sfn "$work" "$dir/$n"
	node="mqttspec$up$port_a@localhost"
	echo "$node" > "$dir/node.$n"
	mkdir -p "$work/spool" "$work/logs" "$work/modules.d"
	cp /etc/ejabberd/inetrc "$work/inetrc"
	cat > "$work/ejabberdctl.cfg" <<CFG
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 +S 1:1 +A 4 +sbwt none"
EJABBERD_PID_PATH=$work/ejabberd.pid
EJABBERD_CONFIG_PATH=$work/ejabberd.yml
CONTRIB_MODULES_CONF_DIR=$work/modules.d
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
	chown -R ejabberd: "$work"
	chmod 700 "$work"
	# shellcheck disable=SC2046
	ERL_EPMD_PORT=$(cat "$dir/epmd.port") setsid "$ctl" --config-dir "$work" --ctl-config "$work/ejabberdctl.cfg" --spool "$work/spool" --logs "$work/logs" --node "$node" foreground > "$dir/$n.out" 2>&1 < /dev/null &
	echo $! > "$dir/pid.$n"
	wait_port "$port" "$(cat "$dir/pid.$n")" 90 || { stop_all; die_log "ejabberd node $n did not listen on 127.0.0.1:$port" "$dir/$n.out" "$work/logs/ejabberd.log" "$work/logs/error.log"; }
}

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port_a=$3 port_b=$4
	dir=$(absdir "$dir")
	if [ ! -x "$ctl" ] || [ -z "$(installed_version ejabberd)" ]; then
		echo "ejabberd is not installed: apt-get install ejabberd" >&2
		exit 3
	fi
	[ "$(id -un)" = root ] || { echo "ejabberd-cluster.sh runs as root (ejabberdctl switches to user ejabberd)" >&2; exit 1; }
	epmd=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)
	[ -n "$epmd" ] || epmd=$(command -v epmd || true)
	[ -n "$epmd" ] || die_log "no epmd found (erlang-base)"
	epmd_port=$(free_port) || die_log "no free port for epmd"
	echo "$epmd_port" > "$dir/epmd.port"
	"$epmd" -address 127.0.0.1 -port "$epmd_port" > "$dir/epmd.log" 2>&1 &
	echo $! > "$dir/epmd.pid"
	wait_port "$epmd_port" "$(cat "$dir/epmd.pid")" 10 || { stop_all; die_log "epmd did not listen on 127.0.0.1:$epmd_port" "$dir/epmd.log"; }
	start_node a "$port_a"
	start_node b "$port_b"
	ctl_on b join_cluster "$(cat "$dir/node.a")" > "$dir/join.log" 2>&1 || { stop_all; die_log "node B could not join node A" "$dir/join.log" "$dir/b.out"; }
	wait_port "$port_b" "$(cat "$dir/pid.b")" 90 || { stop_all; die_log "node B did not listen on 127.0.0.1:$port_b after joining" "$dir/b.out" "$dir/join.log"; }
	nodes=$(ctl_on a list_cluster 2>&1 || true)
	case $nodes in
	*mqttspecA*mqttspecB* | *mqttspecB*mqttspecA*) ;;
	*) stop_all; die_log "the cluster does not list both nodes: $nodes" "$dir/join.log" "$dir/b.out" ;;
	esac
	# mod_mqtt wants a user name on every CONNECT: the cases connect as u1/p1 (registered once,
	# the user table is shared by the cluster)
	out=$(ctl_on a register u1 localhost p1 2>&1) || { stop_all; die_log "ejabberdctl register u1 failed: $out" "$dir/a.out"; }
	check_loopback "$dir/pid.a" "$dir/a.out"
	check_loopback "$dir/pid.b" "$dir/b.out"
	check_loopback "$dir/epmd.pid"
	v=$(installed_version ejabberd)
	echo "version=ejabberd ${v%%-*} (Debian $v), 2-node cluster"
	# whole-second timers (as in brokers.yaml) and the registered user
	echo "flags=--username u1 --password p1 --timing-tolerance 1s"
	;;
stop)
	[ $# -eq 2 ] || usage
	dir=$2
	stop_all
	;;
*) usage ;;
esac
