#!/bin/bash
# mosquitto (Debian package) for the conformance matrix.
#   mosquitto.sh start DIR PORT WSPORT   mosquitto.sh stop DIR
# One configuration for every case: anonymous clients allowed, a user u1/p1 in a password file
# (a wrong password is refused), and an ACL that denies denied/# to everybody — the listener
# settings are global (per_listener_settings false) so anonymous access, the password file and the
# ACL hold together on both listeners (TCP on PORT, WebSocket on WSPORT at any path, /mqtt too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port=$3 wsport=$4
	dir=$(absdir "$dir")
	bin=$(command -v mosquitto || true)
	[ -n "$bin" ] || for b in /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do [ -x "$b" ] && bin=$b; done
	if [ -z "$bin" ] || ! command -v mosquitto_passwd >/dev/null; then
		echo "mosquitto is not installed: apt-get install mosquitto" >&2
		exit 3
	fi
	mkdir -p "$dir"
	rm -f "$dir/passwd"
	mosquitto_passwd -b -c "$dir/passwd" u1 p1 >/dev/null 2>&1 || die_log "mosquitto_passwd failed"
	# ACL: the first matching rule wins, so deny comes first; # does not match topics that begin
	# with $, which the catalog uses under $mqttspec/.
	cat > "$dir/acl" <<ACL
topic deny denied/#
topic readwrite #
topic readwrite \$mqttspec/#
topic read \$SYS/#
user u1
topic deny denied/#
topic readwrite #
topic readwrite \$mqttspec/#
topic read \$SYS/#
ACL
	chmod 644 "$dir/passwd" "$dir/acl"
	cat > "$dir/mosquitto.conf" <<CONF
# started as root, mosquitto would drop to user mosquitto, which cannot read DIR; "user" set to
# the current user keeps it (as root, "root" means: do not drop privileges)
user $(id -un)
per_listener_settings false
allow_anonymous true
password_file $dir/passwd
acl_file $dir/acl
persistence false
log_dest stderr
log_type error
log_type warning
listener $port 127.0.0.1
listener $wsport 127.0.0.1
protocol websockets
# without it libwebsockets binds the WebSocket listener on every interface, whatever the address
socket_domain ipv4
CONF
	"$bin" -c "$dir/mosquitto.conf" > "$dir/mosquitto.log" 2>&1 &
	echo $! > "$dir/pid"
	if ! wait_port "$port" "$(cat "$dir/pid")" 15; then
		stop_pidfile "$dir/pid" 5
		die_log "mosquitto did not listen on 127.0.0.1:$port" "$dir/mosquitto.log"
	fi
	check_loopback "$dir/pid" "$dir/mosquitto.log"
	# mosquitto -h exits 3
	v=$({ "$bin" -h 2>/dev/null || true; } | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -1)
	echo "version=mosquitto ${v:-unknown} (Debian $(installed_version mosquitto))"
	;;
stop)
	[ $# -eq 2 ] || usage
	stop_pidfile "$2/pid" 10
	;;
*) usage ;;
esac
