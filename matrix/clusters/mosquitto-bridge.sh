#!/bin/bash
# Two mosquitto brokers joined by a bridge (Debian mosquitto), on loopback: the contrast to a
# cluster. A bridge forwards messages between two independent brokers; it shares no session, no
# client identifier and no subscription state.
#   mosquitto-bridge.sh start DIR PORT_A PORT_B   mosquitto-bridge.sh stop DIR
# Broker A listens on 127.0.0.1:PORT_A; broker B on 127.0.0.1:PORT_B and bridges to A with
# "topic # both 2" and "topic $mqttspec/# both 2" (every topic the catalog uses, both ways, QoS 2,
# MQTT 5.0 bridge protocol so that No Local keeps messages from looping back). Anonymous clients,
# no persistence. DIR/pid.a and DIR/pid.b are stopped by "stop".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
START_ARGS="DIR PORT_A PORT_B"
. "$here/../brokers/lib.sh"

stop_all() {
	stop_pidfile "$dir/pid.b" 10
	stop_pidfile "$dir/pid.a" 10
}

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port_a=$3 port_b=$4
	dir=$(absdir "$dir")
	bin=$(command -v mosquitto || true)
	[ -n "$bin" ] || for b in /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do [ -x "$b" ] && bin=$b; done
	if [ -z "$bin" ]; then
		echo "mosquitto is not installed: apt-get install mosquitto" >&2
		exit 3
	fi
	common="user $(id -un)
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice"
	cat > "$dir/a.conf" <<CONF
$common
listener $port_a 127.0.0.1
CONF
	cat > "$dir/b.conf" <<CONF
$common
listener $port_b 127.0.0.1
connection bridge-to-a
address 127.0.0.1:$port_a
bridge_protocol_version mqttv50
cleansession true
restart_timeout 1
topic # both 2
topic \$mqttspec/# both 2
CONF
	"$bin" -c "$dir/a.conf" > "$dir/a.log" 2>&1 &
	echo $! > "$dir/pid.a"
	wait_port "$port_a" "$(cat "$dir/pid.a")" 15 || { stop_all; die_log "mosquitto A did not listen on 127.0.0.1:$port_a" "$dir/a.log"; }
	"$bin" -c "$dir/b.conf" > "$dir/b.log" 2>&1 &
	echo $! > "$dir/pid.b"
	wait_port "$port_b" "$(cat "$dir/pid.b")" 15 || { stop_all; die_log "mosquitto B did not listen on 127.0.0.1:$port_b" "$dir/b.log"; }
	# the bridge is up when A has seen B's bridge client connect
	for ((i = 0; i < 75; i++)); do
		grep -q "New client connected.*as [^ ]*bridge-to-a" "$dir/a.log" && break
		sleep 0.2
	done
	grep -q "New client connected.*as [^ ]*bridge-to-a" "$dir/a.log" || { stop_all; die_log "the bridge from B to A did not connect" "$dir/a.log" "$dir/b.log"; }
	check_loopback "$dir/pid.a" "$dir/a.log"
	check_loopback "$dir/pid.b" "$dir/b.log"
	v=$({ "$bin" -h 2>/dev/null || true; } | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -1)
	echo "version=mosquitto ${v:-unknown} (Debian $(installed_version mosquitto)), 2 brokers bridged"
	;;
stop)
	[ $# -eq 2 ] || usage
	dir=$2
	stop_all
	;;
*) usage ;;
esac
