#!/bin/bash
# ActiveMQ Classic (Debian activemq 5.17, MQTT transport connector, MQTT 3.1.1) for the
# conformance matrix.
#   activemq.sh start DIR PORT WSPORT   activemq.sh stop DIR
# One JVM (java -jar activemq.jar start, in the foreground of a background job) with -Xmx512m and
# its base, conf, data and tmp under DIR/activemq. The broker is not persistent (memory store): with
# Debian's default KahaDB store, one SUBSCRIBE whose topic filter is close to 65535 bytes corrupts
# the subscription index and the next subscription change stops the whole broker (see
# docs/brokers/activemq.md, A1), which would end every run after the first. Only connector: mqtt on
# 127.0.0.1:PORT — no OpenWire, no JMX connector, and no WebSocket (Debian's package ships no Jetty,
# which ActiveMQ's ws:// transport needs), so WSPORT is unused. Users: anonymous access allowed and
# a user u1/p1 (simpleAuthenticationPlugin). No authorization (ACL): ActiveMQ grants the union
# of every entry matching a destination, so "everything but denied.>" cannot be said — a "topic >"
# grant allows denied.x too, and grants limited to the catalog's prefixes refuse the filter # and
# topics such as /mqttspec/x (measured: one ACL case gained, two topic cases lost).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

home=/usr/share/activemq

cmd=${1:-}
case $cmd in
start)
	[ $# -eq 4 ] || usage
	dir=$2 port=$3
	dir=$(absdir "$dir")
	if [ ! -f "$home/bin/activemq.jar" ] || [ -z "$(installed_version activemq)" ]; then
		echo "ActiveMQ is not installed: apt-get install activemq" >&2
		exit 3
	fi
	# Debian's activemq package does not depend on the MQTT codec (org.fusesource.mqtt) its mqtt
	# transport loads: without it every CONNECT hangs (NoClassDefFoundError in the log)
	if [ ! -f /usr/share/java/mqtt-client.jar ] || [ ! -f /usr/share/java/hawtdispatch.jar ]; then
		echo "ActiveMQ's MQTT transport needs libmqtt-client-java: apt-get install libmqtt-client-java" >&2
		exit 3
	fi
	java=$(command -v java || true)
	[ -n "$java" ] || { echo "ActiveMQ needs java: apt-get install default-jre-headless" >&2; exit 3; }
	mkdir -p "$dir"
	work=$dir/activemq
	rm -rf "$work"
	mkdir -p "$work/conf" "$work/data" "$work/tmp" "$work/lib"
	# activemq.jar puts every jar of ACTIVEMQ_BASE/lib on the broker's class path
	ln -s /usr/share/java/mqtt-client.jar /usr/share/java/hawtdispatch.jar "$work/lib/"
	# Debian's ActiveMQ logs through log4j 1.2: a console appender into stdout.log
	cat > "$work/conf/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, stdout
log4j.logger.org.apache.activemq.spring=WARN
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
LOG
	cat > "$work/conf/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="mqttspec$port" useJmx="false"
          dataDirectory="$work/data" schedulerSupport="false" persistent="false">
    <managementContext><managementContext createConnector="false"/></managementContext>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="true">
        <users>
          <authenticationUser username="u1" password="p1" groups="users"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="mqtt" uri="mqtt://127.0.0.1:$port?maximumConnections=1000"/>
    </transportConnectors>
  </broker>
</beans>
XML
	(
		cd "$work"
		exec setsid "$java" -Xms64m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true \
			--add-reads=java.xml=java.logging \
			--add-opens java.base/java.security=ALL-UNNAMED --add-opens java.base/java.net=ALL-UNNAMED \
			--add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED \
			--add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
			--add-opens java.base/java.util.concurrent=ALL-UNNAMED \
			--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED \
			-Djava.io.tmpdir="$work/tmp" -Dlog4j.configuration="file:$work/conf/log4j.properties" \
			-Dactivemq.classpath="$work/conf" -Dactivemq.home="$home" -Dactivemq.base="$work" \
			-Dactivemq.conf="$work/conf" -Dactivemq.data="$work/data" \
			-jar "$home/bin/activemq.jar" start "xbean:file:$work/conf/activemq.xml" \
			> "$work/stdout.log" 2>&1 < /dev/null
	) &
	echo $! > "$dir/pid"
	if ! wait_port "$port" "$(cat "$dir/pid")" 90; then
		stop_pidfile "$dir/pid" 20
		die_log "ActiveMQ did not listen on 127.0.0.1:$port" "$work/stdout.log" "$work/data/activemq.log"
	fi
	check_loopback "$dir/pid" "$work/stdout.log"
	v=$(installed_version activemq)
	echo "version=ActiveMQ ${v%%+*} (Debian $v)"
	;;
stop)
	[ $# -eq 2 ] || usage
	stop_pidfile "$2/pid" 30
	;;
*) usage ;;
esac
