#!/usr/bin/env bash
# Regenerates the captures in pcap/testdata from real traffic: mosquitto on free loopback ports,
# mosquitto_pub/sub and capclient (./capclient, for what the mosquitto clients cannot do: many
# packets in one segment, one packet over many small segments, MQTT over WebSocket through a
# WebSocket-to-TCP bridge, since Debian's mosquitto is built without WebSocket support).
#
# Captures are taken on the loopback interface only, with a capture filter on the chosen port:
# tcpdump writes classic pcap, dumpcap (tshark's capture engine) writes pcapng. Afterwards
# tshark dissects each file and the per-type MQTT packet counts it finds are written to
# captures.json next to the ports, so the Go tests can compare with tshark even where it is not
# installed.
#
# Needs: mosquitto, mosquitto_pub, mosquitto_sub, tcpdump, dumpcap, tshark, go, ss. Run as a user
# allowed to capture on lo (root, or with the capture capabilities).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
export PATH="/usr/local/go/bin:$PATH"
for b in mosquitto mosquitto_pub mosquitto_sub tcpdump dumpcap tshark go ss; do
	command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "make-captures: $b is not installed" >&2; exit 2; }
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

freeport() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if [ -z "$(ss -Hltn "( sport = :$p )")" ] && [ -z "$(ss -Htn "( sport = :$p or dport = :$p )")" ]; then
			echo "$p"
			return
		fi
	done
}

PORT=$(freeport)
WSPORT=$(freeport)
while [ "$WSPORT" = "$PORT" ]; do WSPORT=$(freeport); done
echo "make-captures: MQTT port $PORT (127.0.0.1 and ::1), WebSocket port $WSPORT"

cat >"$work/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
listener $PORT ::1
allow_anonymous true
persistence false
log_dest stderr
EOF
"$MOSQUITTO" -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
pids+=($!)
for _ in $(seq 50); do
	[ -n "$(ss -Hltn "( sport = :$PORT )")" ] && break
	sleep 0.1
done

(cd "$root" && go build -o "$work/capclient" ./pcap/testdata/capclient)
CAP="$work/capclient"
PUB=(mosquitto_pub -h 127.0.0.1 -p "$PORT")
SUB=(mosquitto_sub -h 127.0.0.1 -p "$PORT")

# start_capture FILE TOOL FILTER: starts tcpdump (pcap) or dumpcap (pcapng) and waits until it
# captures.
cap_pid=
start_capture() {
	local file=$1 tool=$2 filter=$3
	rm -f "$file"
	case "$tool" in
	tcpdump) tcpdump -i lo -U -s 262144 -w "$file" "$filter" 2>"$work/cap.log" & ;;
	dumpcap) dumpcap -i lo -s 262144 -f "$filter" -w "$file" 2>"$work/cap.log" & ;;
	esac
	cap_pid=$!
	for _ in $(seq 100); do
		grep -qiE 'listening on|capturing on' "$work/cap.log" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.3
}
stop_capture() {
	sleep 0.5
	kill -INT "$cap_pid"
	wait "$cap_pid" || true
}

# --- MQTT 3.1.1: QoS 0/1/2, retained message, subscriber that sees it -------------------------
start_capture v311-qos.pcap tcpdump "tcp port $PORT"
"${SUB[@]}" -V mqttv311 -i sub311 -q 2 -t 'test/#' -C 4 >/dev/null &
sub=$!
sleep 0.3
"${PUB[@]}" -V mqttv311 -i pub311-0 -q 0 -t test/q0 -m zero
"${PUB[@]}" -V mqttv311 -i pub311-1 -q 1 -t test/q1 -m one
"${PUB[@]}" -V mqttv311 -i pub311-2 -q 2 -t test/q2 -m two
"${PUB[@]}" -V mqttv311 -i pub311-r -q 1 -r -t test/retained -m kept
wait "$sub"
"${SUB[@]}" -V mqttv311 -i sub311-r -q 1 -t test/retained -C 1 >/dev/null
"${PUB[@]}" -V mqttv311 -i pub311-clear -r -n -t test/retained
stop_capture

# --- MQTT 5.0: properties, QoS 0/1/2, topic alias, subscription identifier --------------------
start_capture v5-qos.pcapng dumpcap "tcp port $PORT"
"${SUB[@]}" -V mqttv5 -i sub5 -q 2 -t 'v5/#' -C 6 -D connect session-expiry-interval 30 \
	-D subscribe subscription-identifier 7 -D connect user-property who sub >/dev/null &
sub=$!
sleep 0.3
"${PUB[@]}" -V mqttv5 -i pub5-0 -q 0 -t v5/q0 -m zero -D publish user-property k v
"${PUB[@]}" -V mqttv5 -i pub5-1 -q 1 -t v5/q1 -m one -D publish message-expiry-interval 120 \
	-D publish content-type text/plain
"${PUB[@]}" -V mqttv5 -i pub5-2 -q 2 -t v5/q2 -m two -D publish response-topic v5/reply \
	-D publish correlation-data c0ffee
printf 'alias-1\nalias-2\nalias-3\n' | "${PUB[@]}" -V mqttv5 -i pub5-alias -q 1 -t v5/alias \
	-D publish topic-alias 3 -l
wait "$sub"
stop_capture

# --- Large payloads: 300 KB from mosquitto_pub (64 KB loopback segments), 60 KB written in ------
# --- 1000-byte pieces (about 60 segments) -----------------------------------------------------
head -c 225000 /dev/urandom | base64 -w 0 >"$work/big.txt"
start_capture large.pcap tcpdump "tcp port $PORT"
"${PUB[@]}" -V mqttv5 -i pub-big -q 1 -t big/file -f "$work/big.txt"
"$CAP" trickle -addr "127.0.0.1:$PORT" -size 60000 -chunk 1000
stop_capture

# --- Many packets per segment: 50 QoS 1 PUBLISH in one write, and a burst from mosquitto_pub --
start_capture burst.pcapng dumpcap "tcp port $PORT"
"$CAP" burst -addr "127.0.0.1:$PORT" -n 50
seq 1 40 | "${PUB[@]}" -V mqttv311 -i pub-lines -q 0 -t burst/lines -l
stop_capture

# --- IPv6 ---------------------------------------------------------------------------------------
start_capture ipv6.pcapng dumpcap "tcp port $PORT"
mosquitto_sub -h ::1 -p "$PORT" -V mqttv5 -i sub6 -q 2 -t 'v6/#' -C 2 >/dev/null &
sub=$!
sleep 0.3
mosquitto_pub -h ::1 -p "$PORT" -V mqttv5 -i pub6-1 -q 1 -t v6/a -m over-ipv6
mosquitto_pub -h ::1 -p "$PORT" -V mqttv311 -i pub6-2 -q 2 -t v6/b -m over-ipv6-too
wait "$sub"
stop_capture

# --- WebSocket: capclient wsclient → capclient wsbridge (WebSocket port) → mosquitto ------------
"$CAP" wsbridge -listen "127.0.0.1:$WSPORT" -to "127.0.0.1:$PORT" >"$work/bridge.log" 2>&1 &
bridge=$!
pids+=("$bridge")
for _ in $(seq 50); do
	[ -n "$(ss -Hltn "( sport = :$WSPORT )")" ] && break
	sleep 0.1
done
start_capture websocket.pcapng dumpcap "tcp port $WSPORT"
"$CAP" wsclient -url "ws://127.0.0.1:$WSPORT/mqtt"
stop_capture
kill "$bridge"

# --- What tshark finds: per-type MQTT packet counts -------------------------------------------
counts() { # FILE DECODE-AS...
	local f=$1
	shift
	tshark -r "$f" "$@" -Y mqtt -T fields -e mqtt.msgtype 2>/dev/null | tr ',' '\n' | grep -v '^$' |
		sort -n | uniq -c | awk 'BEGIN{printf "{"} {printf "%s\"%s\": %s", (NR>1?", ":""), $2, $1} END{printf "}"}'
}
TV=$(tshark --version 2>/dev/null | head -1)
{
	echo "{"
	echo "  \"generated_by\": \"make-captures.sh\","
	echo "  \"tshark\": \"$TV\","
	echo "  \"captures\": ["
	first=1
	for f in v311-qos.pcap v5-qos.pcapng large.pcap burst.pcapng ipv6.pcapng; do
		[ $first = 1 ] || echo ","
		first=0
		printf '    {"file": "%s", "ports": [%s], "ws_ports": [], "tshark_counts": %s}' "$f" "$PORT" "$(counts "$f" -d "tcp.port==$PORT,mqtt")"
	done
	# tshark 4.0 hands WebSocket payload to MQTT only through a Lua shim, and even then does not
	# reassemble an MQTT packet split across WebSocket frames (which capclient does on purpose),
	# so this capture is checked against what capclient's two sessions send and receive instead:
	# per session CONNECT, CONNACK, SUBSCRIBE, SUBACK, 7 PUBLISH (4 sent, 3 copies received),
	# 2 of each QoS acknowledgement, PINGREQ, PINGRESP and DISCONNECT.
	echo ","
	printf '    {"file": "websocket.pcapng", "ports": [], "ws_ports": [%s], "expected_counts": %s}' "$WSPORT" \
		'{"1": 2, "2": 2, "3": 14, "4": 4, "5": 4, "6": 4, "7": 4, "8": 2, "9": 2, "12": 2, "13": 2, "14": 2}'
	echo
	echo "  ]"
	echo "}"
} >captures.json
ls -l ./*.pcap ./*.pcapng captures.json
cat captures.json
