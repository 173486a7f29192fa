#!/usr/bin/env bash
# The mqttspec reference broker as a separate process, started like every other broker of the
# matrix (see docs/matrix.md for the contract): reference.sh start DIR PORT WSPORT | stop DIR.
# $MQTTSPEC is the mqttspec binary (the matrix sets it); otherwise bin/mqttspec or PATH.
set -euo pipefail
cmd=${1:-}
dir=${2:?usage: reference.sh start DIR PORT WSPORT | stop DIR}
exe=${MQTTSPEC:-}
[ -n "$exe" ] || { [ -x bin/mqttspec ] && exe=bin/mqttspec; } || exe=$(command -v mqttspec || true)

case "$cmd" in
start)
  port=${3:?PORT}; ws=${4:?WSPORT}
  [ -n "$exe" ] && [ -x "$exe" ] || { echo "mqttspec binary not found: run make build or set MQTTSPEC" >&2; exit 3; }
  mkdir -p "$dir"
  # A user with a password, an ACL that denies writes outside the suite's topic roots, and
  # SCRAM-SHA-256 enhanced authentication for that user: the credential, ACL and enhanced
  # authentication cases run (their flags are in matrix/brokers.yaml).
  cat >"$dir/broker.yaml" <<'YAML'
users:
  mqttspec: mqttspec-secret
acl:
  - topic: "mqttspec/#"
    access: readwrite
  - topic: "/mqttspec/#"
    access: readwrite
  - topic: "$mqttspec/#"
    access: readwrite
  - topic: "$share/#"
    access: readwrite
  - topic: "#"
    access: read
auth_methods: [SCRAM-SHA-256]
YAML
  "$exe" broker --config "$dir/broker.yaml" --listen "tcp://127.0.0.1:$port" --listen "ws://127.0.0.1:$ws/mqtt" \
    --log-level warn >"$dir/broker.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "version=$("$exe" version 2>/dev/null | head -n1 || echo unknown)"
      exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { tail -n 20 "$dir/broker.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "reference broker did not listen on 127.0.0.1:$port within 10 s" >&2
  tail -n 20 "$dir/broker.log" >&2
  exit 1
  ;;
stop)
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  kill -TERM "$pid" 2>/dev/null || exit 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  ;;
*)
  echo "usage: reference.sh start DIR PORT WSPORT | stop DIR" >&2
  exit 2
  ;;
esac
