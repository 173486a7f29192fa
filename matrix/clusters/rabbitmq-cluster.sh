#!/bin/bash
# A two-node RabbitMQ cluster (Debian rabbitmq-server, rabbitmq_mqtt, MQTT 3.1.1) on loopback.
#   rabbitmq-cluster.sh start DIR PORT_A PORT_B   rabbitmq-cluster.sh stop DIR
# Two foreground rabbitmq-server nodes, mqttspecA<PORT_A>@localhost and mqttspecB<PORT_A>@localhost,
# each with its own mnesia, log and config under DIR/a and DIR/b, one HOME (one Erlang cookie),
# one private epmd on 127.0.0.1 and a private port, Erlang distribution bound to 127.0.0.1.
# Node B joins node A (rabbitmqctl stop_app; join_cluster; start_app). MQTT on 127.0.0.1:PORT_A
# (node A) and 127.0.0.1:PORT_B (node B); no AMQP listener, no management, no WebSocket.
# Users: guest/guest (the anonymous MQTT user) and u1/p1, full permissions on vhost /.
# Sized for two shared cores: one scheduler (+S 1:1), one dirty-I/O scheduler, 4 async threads,
# no scheduler busy-waiting. Prints version=…; DIR/pid.a, DIR/pid.b and DIR/epmd.pid are stopped
# by "stop" (TERM, then KILL), which waits until every process is gone. Prints versions=3.1.1 too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
START_ARGS="DIR PORT_A PORT_B"
. "$here/../brokers/lib.sh"

server=/usr/lib/rabbitmq/bin/rabbitmq-server
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl

free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768-)
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}

hex2bin() {
	local hex
	hex=$(tr -d ' \n')
	# shellcheck disable=SC2059
	printf "$(sed 's/../\\x&/g' <<< "$hex")"
}

# hash_password PASSWORD: rabbit_password_hashing_sha256, base64(salt ++ sha256(salt ++ password)).
hash_password() {
	local salt
	salt=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	{ hex2bin <<< "$salt"; { hex2bin <<< "$salt"; printf '%s' "$1"; } | sha256sum | cut -d' ' -f1 | hex2bin; } | base64 -w0
}

# node_env NODE: the environment of node NODE (a or b) and of rabbitmqctl talking to it.
node_env() {
	local n=$1 up
	up=$(tr a-z A-Z <<< "$n")
	export HOME=$dir/home
	export ERL_EPMD_PORT=$epmd_port ERL_EPMD_ADDRESS=127.0.0.1
	export RABBITMQ_NODENAME="mqttspec$up$port_a@localhost"
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	export RABBITMQ_MNESIA_BASE=$dir/$n/mnesia
	export RABBITMQ_LOG_BASE=$dir/$n/log
	export RABBITMQ_CONFIG_FILE=$dir/$n/rabbitmq.conf
	export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
	export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/$n/advanced.config
	export RABBITMQ_CONF_ENV_FILE=$dir/$n/rabbitmq-env.conf
	export RABBITMQ_PID_FILE=$dir/$n/rabbitmq.pid
	export ERL_CRASH_DUMP=$dir/$n/log/erl_crash.dump
	export RABBITMQ_CTL_ERL_ARGS="+S 1:1 +A 1"
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +S 1:1 +SDio 1 +SDcpu 1:1 +A 4 +sbwt none +sbwtdcpu none +sbwtdio none"
}

# start_node NODE PORT: starts node NODE with MQTT on PORT and waits until PORT listens.
start_node() {
	local n=$1 port=$2 dist attempt
	mkdir -p "$dir/$n/mnesia" "$dir/$n/log"
	cat > "$dir/$n/rabbitmq.conf" <<CONF
listeners.tcp = none
loopback_users = none
load_definitions = $dir/definitions.json
mqtt.listeners.tcp.default = 127.0.0.1:$port
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
mqtt.vhost = /
mqtt.exchange = amq.topic
log.console = false
log.file.level = info
cluster_partition_handling = ignore
CONF
	for attempt in 1 2 3; do
		dist=$(free_port) || die_log "no free port for Erlang distribution"
		(
			node_env "$n"
			export RABBITMQ_DIST_PORT=$dist
			cd "$dir/$n"
			exec setsid "$server" > "$dir/$n/log/stdout.log" 2>&1 < /dev/null
		) &
		echo $! > "$dir/pid.$n"
		wait_port "$port" "$(cat "$dir/pid.$n")" 120 && return 0
		stop_pidfile "$dir/pid.$n" 20
		if [ "$attempt" -lt 3 ] && grep -q dist_port_already_used "$dir/$n/log/stdout.log"; then
			continue
		fi
		stop_all
		die_log "RabbitMQ node $n did not listen on 127.0.0.1:$port" "$dir/$n/log/stdout.log" "$dir/$n"/log/*@localhost.log
	done
}

# ctl_on NODE ARGS…: rabbitmqctl against node NODE, bounded.
ctl_on() {
	local n=$1
	shift
	(node_env "$n" && timeout 120 "$ctl" -n "$RABBITMQ_NODENAME" "$@")
}

stop_all() {
	stop_pidfile "$dir/pid.b" 30
	stop_pidfile "$dir/pid.a" 30
	stop_pidfile "$dir/epmd.pid" 5
}

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port_a=$3 port_b=$4
	dir=$(absdir "$dir")
	if [ ! -x "$server" ] || [ -z "$(installed_version rabbitmq-server)" ]; then
		echo "RabbitMQ is not installed: apt-get install rabbitmq-server" >&2
		exit 3
	fi
	epmd=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)
	[ -n "$epmd" ] || epmd=$(command -v epmd || true)
	[ -n "$epmd" ] || die_log "no epmd found (erlang-base)"
	rm -rf "$dir/a" "$dir/b" "$dir/home"
	mkdir -p "$dir/home" "$dir/log"
	# one cookie for both nodes and rabbitmqctl
	od -An -N20 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F > "$dir/home/.erlang.cookie"
	chmod 400 "$dir/home/.erlang.cookie"
	echo '[rabbitmq_mqtt].' > "$dir/enabled_plugins"
	cat > "$dir/definitions.json" <<JSON
{
  "users": [
    {"name": "guest", "password_hash": "$(hash_password guest)", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []},
    {"name": "u1", "password_hash": "$(hash_password p1)", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
  ],
  "vhosts": [{"name": "/"}],
  "permissions": [
    {"user": "guest", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "u1", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
  ]
}
JSON
	epmd_port=$(free_port) || die_log "no free port for epmd"
	echo "$epmd_port" > "$dir/epmd.port"
	"$epmd" -address 127.0.0.1 -port "$epmd_port" > "$dir/log/epmd.log" 2>&1 &
	echo $! > "$dir/epmd.pid"
	if ! wait_port "$epmd_port" "$(cat "$dir/epmd.pid")" 10; then
		stop_all
		die_log "epmd did not listen on 127.0.0.1:$epmd_port" "$dir/log/epmd.log"
	fi
	start_node a "$port_a"
	start_node b "$port_b"
	node_a=$(node_env a && echo "$RABBITMQ_NODENAME")
	{
		ctl_on b stop_app && ctl_on b join_cluster "$node_a" && ctl_on b start_app
	} > "$dir/log/join.log" 2>&1 || { stop_all; die_log "node B could not join node A" "$dir/log/join.log"; }
	wait_port "$port_b" "$(cat "$dir/pid.b")" 120 || { stop_all; die_log "node B did not listen on 127.0.0.1:$port_b after joining" "$dir/b/log/stdout.log"; }
	running=$(ctl_on a cluster_status --formatter json 2>/dev/null | grep -o '"running_nodes":\[[^]]*\]' || true)
	case $running in
	*mqttspecA*mqttspecB* | *mqttspecB*mqttspecA*) ;;
	*) stop_all; die_log "the cluster does not run both nodes: ${running:-no cluster_status}" "$dir/log/join.log" ;;
	esac
	check_loopback "$dir/pid.a" "$dir/a/log/stdout.log"
	check_loopback "$dir/pid.b" "$dir/b/log/stdout.log"
	check_loopback "$dir/epmd.pid"
	v=$(installed_version rabbitmq-server)
	echo "version=RabbitMQ ${v%%-*} (Debian $v), 2-node cluster"
	echo "versions=3.1.1" # rabbitmq_mqtt of 3.10 speaks 3.1.1 (and 3.1) only
	;;
stop)
	[ $# -eq 2 ] || usage
	dir=$2
	stop_all
	;;
*) usage ;;
esac
