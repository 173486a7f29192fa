#!/bin/bash
# Installs the Debian packages of the third-party brokers of the conformance matrix (issue 18):
# mosquitto, ejabberd, rabbitmq-server, activemq (+ libmqtt-client-java: Debian's activemq lacks the
# MQTT codec its mqtt transport needs, see activemq.sh). Idempotent: packages already installed are
# skipped. Debian's maintainer scripts start system services that listen on all interfaces
# (ejabberd on [::]:1883, 5222, 5280…), so the install runs with a policy-rc.d that refuses every
# service start, and afterwards stops anything that got started anyway. The matrix scripts never
# use these services: each broker runs as an ordinary process with its own config under a temp dir.
#
#   sudo matrix/brokers/install.sh            # all four
#   sudo matrix/brokers/install.sh activemq   # only some
set -euo pipefail

packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(mosquitto ejabberd rabbitmq-server activemq libmqtt-client-java)

if [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: run as root (apt-get)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		echo "install.sh: $p already installed ($(dpkg-query -W -f='${Version}' "$p"))"
	else
		missing+=("$p")
	fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

# A policy-rc.d that exits 101 makes invoke-rc.d refuse to start services. Keep one that was
# already there (someone else's), remove only ours.
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# written by mqttspec matrix/brokers/install.sh while installing\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	ours=1
fi
cleanup() { [ "$ours" = 1 ] && rm -f "$policy"; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
epmd_before=$(pgrep -x epmd | tr '\n' ' ' || true)
apt_opts=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
if ! apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"; then
	apt-get -q -o DPkg::Lock::Timeout=600 update
	apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
fi

# Stop whatever a maintainer script started despite policy-rc.d (some start daemons directly).
for svc in "${missing[@]}"; do # only the packages installed now
	[ -e "/etc/init.d/$svc" ] || [ -e "/lib/systemd/system/$svc.service" ] || continue
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$svc" ]; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
	fi
done
# ejabberd's maintainer script runs ejabberdctl, which leaves an epmd listening on every
# interface (0.0.0.0:4369): end the epmd processes that appeared during this install, by PID.
for pid in $(pgrep -x epmd || true); do
	case " $epmd_before " in *" $pid "*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
done
echo "install.sh: installed ${missing[*]}"
