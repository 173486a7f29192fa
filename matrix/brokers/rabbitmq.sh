#!/bin/bash
# RabbitMQ (Debian rabbitmq-server, rabbitmq_mqtt + rabbitmq_web_mqtt plugins, MQTT 3.1.1) for the
# conformance matrix.
#   rabbitmq.sh start DIR PORT WSPORT   rabbitmq.sh stop DIR
# A foreground /usr/lib/rabbitmq/bin/rabbitmq-server with its own node name, mnesia, log, config,
# enabled-plugins file and HOME (Erlang cookie) under DIR/rabbitmq. Network: MQTT on
# 127.0.0.1:PORT, MQTT over WebSocket on 127.0.0.1:WSPORT/mqtt, no AMQP listener, no management,
# Erlang distribution on a private port bound to 127.0.0.1, and a private epmd started here on
# 127.0.0.1 and a private port (stopped with the node) — the system epmd would listen on all
# interfaces. Users (definitions file): guest/guest (the anonymous MQTT user, mqtt.allow_anonymous)
# and u1/p1, both with full permissions on vhost / and a topic permission on amq.topic that denies
# routing keys under denied. (MQTT's denied/x).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

server=/usr/lib/rabbitmq/bin/rabbitmq-server

free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768-)
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# hex2bin: hex digits on stdin to bytes on stdout (bash's printf writes \x00 as a NUL byte).
hex2bin() {
	local hex
	hex=$(tr -d ' \n')
	# shellcheck disable=SC2059
	printf "$(sed 's/../\\x&/g' <<< "$hex")"
}

# hash_password PASSWORD: RabbitMQ's rabbit_password_hashing_sha256 form,
# base64(salt ++ sha256(salt ++ password)) with a 4-byte salt.
hash_password() {
	local salt
	salt=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	{ hex2bin <<< "$salt"; { hex2bin <<< "$salt"; printf '%s' "$1"; } | sha256sum | cut -d' ' -f1 | hex2bin; } | base64 -w0
}

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port=$3 wsport=$4
	dir=$(absdir "$dir")
	if [ ! -x "$server" ] || [ -z "$(installed_version rabbitmq-server)" ]; then
		echo "RabbitMQ is not installed: apt-get install rabbitmq-server" >&2
		exit 3
	fi
	epmd=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)
	[ -n "$epmd" ] || epmd=$(command -v epmd || true)
	[ -n "$epmd" ] || die_log "no epmd found (erlang-base)"
	mkdir -p "$dir"
	work=$dir/rabbitmq
	rm -rf "$work"
	mkdir -p "$work/home" "$work/mnesia" "$work/log"
	epmd_port=$(free_port) && dist_port=$(free_port) || die_log "no free port for epmd / distribution"
	[ "$epmd_port" != "$dist_port" ] || dist_port=$((dist_port + 1))
	echo '[rabbitmq_mqtt,rabbitmq_web_mqtt].' > "$work/enabled_plugins"
	cat > "$work/definitions.json" <<JSON
{
  "users": [
    {"name": "guest", "password_hash": "$(hash_password guest)", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []},
    {"name": "u1", "password_hash": "$(hash_password p1)", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
  ],
  "vhosts": [{"name": "/"}],
  "permissions": [
    {"user": "guest", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "u1", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
  ],
  "topic_permissions": [
    {"user": "guest", "vhost": "/", "exchange": "amq.topic", "write": "^(?!denied\\\\.).*", "read": "^(?!denied\\\\.).*"},
    {"user": "u1", "vhost": "/", "exchange": "amq.topic", "write": "^(?!denied\\\\.).*", "read": "^(?!denied\\\\.).*"}
  ]
}
JSON
	cat > "$work/rabbitmq.conf" <<CONF
listeners.tcp = none
loopback_users = none
load_definitions = $work/definitions.json
mqtt.listeners.tcp.default = 127.0.0.1:$port
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
mqtt.vhost = /
mqtt.exchange = amq.topic
web_mqtt.tcp.ip = 127.0.0.1
web_mqtt.tcp.port = $wsport
web_mqtt.ws_path = /mqtt
log.console = false
log.file.level = info
CONF
	"$epmd" -address 127.0.0.1 -port "$epmd_port" > "$work/log/epmd.log" 2>&1 &
	echo $! > "$dir/epmd.pid"
	# the node must find this epmd listening, or it fails to register ({error,address}) or starts
	# one of its own on every interface
	if ! wait_port "$epmd_port" "$(cat "$dir/epmd.pid")" 10; then
		stop_pidfile "$dir/epmd.pid" 5
		die_log "epmd did not listen on 127.0.0.1:$epmd_port" "$work/log/epmd.log"
	fi
	# A distribution port taken between free_port and the node's bind ends the boot at once
	# (dist_port_already_used): try again on another port (three attempts).
	for attempt in 1 2 3; do
		(
			export HOME=$work/home
			# a node that fails to boot writes erl_crash.dump into its working directory
			export ERL_CRASH_DUMP=$work/log/erl_crash.dump
			cd "$work"
			export ERL_EPMD_PORT=$epmd_port ERL_EPMD_ADDRESS=127.0.0.1
			export RABBITMQ_NODENAME="mqttspec$port@localhost"
			export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
			export RABBITMQ_DIST_PORT=$dist_port
			export RABBITMQ_MNESIA_BASE=$work/mnesia
			export RABBITMQ_LOG_BASE=$work/log
			export RABBITMQ_CONFIG_FILE=$work/rabbitmq.conf
			export RABBITMQ_ENABLED_PLUGINS_FILE=$work/enabled_plugins
			export RABBITMQ_ADVANCED_CONFIG_FILE=$work/advanced.config
			export RABBITMQ_CONF_ENV_FILE=$work/rabbitmq-env.conf
			export RABBITMQ_PID_FILE=$work/rabbitmq.pid
			export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
			exec setsid "$server" > "$work/log/stdout.log" 2>&1 < /dev/null
		) &
		echo $! > "$dir/pid"
		wait_port "$port" "$(cat "$dir/pid")" 90 && break
		stop_pidfile "$dir/pid" 20
		if [ "$attempt" -lt 3 ] && grep -q dist_port_already_used "$work/log/stdout.log"; then
			dist_port=$(free_port) || die_log "no free port for Erlang distribution"
			continue
		fi
		stop_pidfile "$dir/epmd.pid" 5
		die_log "RabbitMQ did not listen on 127.0.0.1:$port" "$work/log/stdout.log" "$work/log/mqttspec$port@localhost.log"
	done
	check_loopback "$dir/pid" "$work/log/stdout.log"
	check_loopback "$dir/epmd.pid"
	v=$(installed_version rabbitmq-server)
	echo "version=RabbitMQ ${v%%-*} (Debian $v)"
	;;
stop)
	[ $# -eq 2 ] || usage
	stop_pidfile "$2/pid" 30
	stop_pidfile "$2/epmd.pid" 5
	;;
*) usage ;;
esac
