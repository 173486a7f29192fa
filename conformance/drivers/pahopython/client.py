#!/usr/bin/python3
"""The client program of mqttspec's pahopython driver.

It performs one client conformance action with Eclipse Paho Python (the paho-mqtt module,
Debian python3-paho-mqtt 1.6), as an application using the library would: the library's own
network thread (loop_start), its own reconnection, its own acknowledgements.

Flags (all --name=value, or NUL-separated on standard input after --args-stdin) are those of the
MQTT.js driver program (conformance/drivers/mqttjs/client.js), built by the Go driver from a
conformance.Action; byte strings are hex so that any byte reaches the library. Strings (topics,
user name, property strings) are decoded from UTF-8 keeping what is not UTF-8 as lone surrogates,
which is how a Python application would hold such a string; the library refuses to encode them.

One line per event on stdout, each after the milliseconds since the start ("connected …",
"received TOPIC PAYLOAD", "error …"); exit status 0 when the action completed, 1 after an
"error …" line (the library raised or reported an error: its refusal of the action), 2 for bad
flags, 3 when the module is missing.
"""

import json
import signal
import sys
import threading
import time

STARTED = time.monotonic()


def log(*words):
    print("%6d" % int((time.monotonic() - STARTED) * 1000), *words, flush=True)


try:
    import paho.mqtt
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError as e:
    print("pahopython client: the paho-mqtt module is missing for %s (apt-get install python3-paho-mqtt): %s"
          % (sys.executable, e), file=sys.stderr)
    sys.exit(3)


class BadFlags(Exception):
    pass


def parse(argv):
    """Returns the flags as a dict, and the repeatable ones as lists."""
    a = {"user-hex": [], "will-user-hex": [], "unsubscribe-hex": []}
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise BadFlags("bad argument %r (want --name=value)" % arg)
        name, value = arg[2:].split("=", 1)
        if name in ("user-hex", "will-user-hex", "unsubscribe-hex"):
            a[name].append(value)
        else:
            a[name] = value
    return a


def raw(h):
    return bytes.fromhex(h or "")


def text(h):
    """Decodes hex UTF-8 as a str; encoded surrogates and bytes that are not UTF-8 become lone
    surrogates (which str.encode('utf-8') refuses, as the library then does)."""
    b = raw(h)
    try:
        return b.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return b.decode("utf-8", "surrogateescape")


def num(s, default):
    return default if s is None or s == "" else int(s)


def flag(s):
    return s in ("true", "1")


def message_props(a, prefix, packet_type):
    """The 5.0 PUBLISH (prefix '') or Will (prefix 'will-') properties, None when there are none."""
    p = Properties(packet_type)
    some = False
    if prefix == "will-" and a.get("will-delay") is not None:
        p.WillDelayInterval = num(a["will-delay"], 0)
        some = True
    if a.get(prefix + "message-expiry") is not None:
        p.MessageExpiryInterval = num(a[prefix + "message-expiry"], 0)
        some = True
    if a.get(prefix + "content-type-hex") is not None:
        p.ContentType = text(a[prefix + "content-type-hex"])
        some = True
    if a.get(prefix + "response-topic-hex") is not None:
        p.ResponseTopic = text(a[prefix + "response-topic-hex"])
        some = True
    if a.get(prefix + "correlation-hex") is not None:
        p.CorrelationData = raw(a[prefix + "correlation-hex"])
        some = True
    users = []
    for kv in a[prefix + "user-hex"]:
        k, v = kv.split(":", 1)
        users.append((text(k), text(v)))
    if users:
        p.UserProperty = users
        some = True
    return p if some else None


class Run:
    def __init__(self, a):
        self.a = a
        self.v5 = a.get("version") == "5"
        self.op = a.get("op", "connect")
        self.reconnect = flag(a.get("reconnect"))
        self.count = max(num(a.get("count"), 1), 1)
        self.topic = text(a.get("topic-hex"))
        self.qos = num(a.get("qos"), 0)
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.finished = False
        self.failure = None
        self.connected_once = False
        self.received = 0
        self.pending = self.count
        self.client = None

    def finish(self, err=None):
        with self.lock:
            if self.finished:
                return
            self.finished = True
            if err is not None:
                self.failure = err
                log("error", str(err))
        self.done.set()

    # Library calls that raise ValueError (the library's way to refuse an argument) end the
    # action with that error; anything else is a bug of this program and crashes it.
    def guarded(self, f, *args, **kwargs):
        try:
            return f(*args, **kwargs)
        except ValueError as e:
            self.finish(e)
            return None

    def on_connect(self, client, userdata, flags, rc, properties=None):
        code = rc.value if hasattr(rc, "value") else rc
        log("connected session_present=%s rc=%s" % (bool(flags.get("session present")), code))
        if code != 0:
            return  # refused: the library closes the connection (on_disconnect)
        if self.connected_once:
            return  # a reconnection: the session carries on
        self.connected_once = True
        if self.op == "connect":
            t = threading.Timer(num(self.a.get("duration-ms"), 0) / 1000.0, self.finish)
            t.daemon = True
            t.start()
        elif self.op == "publish":
            message = raw(self.a.get("message-hex"))
            props = message_props(self.a, "", PacketTypes.PUBLISH) if self.v5 else None
            for _ in range(self.count):
                info = self.guarded(client.publish, self.topic, message, self.qos, flag(self.a.get("retain")), props)
                if info is None:
                    return
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    self.finish(Exception("publish: " + mqtt.error_string(info.rc)))
                    return
        elif self.op == "subscribe":
            res = self.guarded(client.subscribe, self.topic, self.qos)
            if res is not None and res[0] != mqtt.MQTT_ERR_SUCCESS:
                self.finish(Exception("subscribe: " + mqtt.error_string(res[0])))
        else:
            self.finish(Exception("unknown op " + self.op))

    def on_publish(self, client, userdata, mid):
        log("published mid=%d" % mid)
        with self.lock:
            self.pending -= 1
            last = self.pending == 0
        if last and self.op == "publish":
            self.finish()

    def on_subscribe(self, client, userdata, mid, granted, properties=None):
        codes = [g.value if hasattr(g, "value") else g for g in granted]
        log("subscribed mid=%d granted=%s" % (mid, codes))

    def on_message(self, client, userdata, msg):
        # The library delivers a topic that is not UTF-8 and raises UnicodeDecodeError when
        # msg.topic is read; left uncaught that would end its network thread, and the
        # connection would stay open because of this program, not the library.
        try:
            topic = json.dumps(msg.topic)
        except UnicodeDecodeError:
            topic = "(not UTF-8: %s)" % msg._topic.hex()
        log("received", topic, json.dumps(msg.payload.decode("latin1")))
        self.received += 1
        if self.op == "subscribe" and self.received == self.count:
            unsub = [text(h) for h in self.a["unsubscribe-hex"]]
            if unsub:
                res = self.guarded(client.unsubscribe, unsub)
                if res is not None and res[0] != mqtt.MQTT_ERR_SUCCESS:
                    self.finish(Exception("unsubscribe: " + mqtt.error_string(res[0])))
            else:
                self.finish()

    def on_unsubscribe(self, client, userdata, mid, properties=None, reasons=None):
        log("unsubscribed mid=%d" % mid)
        self.finish()

    def on_disconnect(self, client, userdata, rc, properties=None):
        code = rc.value if hasattr(rc, "value") else rc
        log("closed rc=%s" % code)
        if not self.reconnect:
            self.finish(Exception("connection closed"))

    def run(self):
        a = self.a
        v5 = self.v5
        cid = a.get("id", "")
        kwargs = {"client_id": cid, "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                  "reconnect_on_failure": self.reconnect}
        if not v5:
            kwargs["clean_session"] = flag(a.get("clean"))
        try:
            client = mqtt.Client(**kwargs)
        except ValueError as e:
            # "A client id must be provided if clean session is False": the library's refusal.
            log("error", str(e))
            return 1
        self.client = client
        if self.reconnect:
            client.reconnect_delay_set(min_delay=0.2, max_delay=1)
        if a.get("username-hex"):
            client.username_pw_set(text(a["username-hex"]), raw(a["password-hex"]) if "password-hex" in a else None)
        elif "password-hex" in a:
            # A password without a user name: the library leaves it out of the CONNECT.
            client.username_pw_set(None, raw(a["password-hex"]))
        if "will-topic-hex" in a:
            wp = message_props(a, "will-", PacketTypes.WILLMESSAGE) if v5 else None
            try:
                client.will_set(text(a["will-topic-hex"]), raw(a.get("will-payload-hex")), num(a.get("will-qos"), 0),
                                flag(a.get("will-retain")), wp)
            except ValueError as e:
                log("error", str(e))
                return 1
        client.on_connect = self.on_connect
        client.on_publish = self.on_publish
        client.on_subscribe = self.on_subscribe
        client.on_message = self.on_message
        client.on_unsubscribe = self.on_unsubscribe
        client.on_disconnect = self.on_disconnect
        connect = {"keepalive": num(a.get("keepalive"), 60)}
        if v5:
            connect["clean_start"] = flag(a.get("clean"))
            p = Properties(PacketTypes.CONNECT)
            some = False
            for flagname, prop in (("session-expiry", "SessionExpiryInterval"), ("receive-max", "ReceiveMaximum"),
                                   ("topic-alias-max", "TopicAliasMaximum"), ("max-packet-size", "MaximumPacketSize")):
                if num(a.get(flagname), 0) > 0:
                    setattr(p, prop, num(a[flagname], 0))
                    some = True
            if some:
                connect["properties"] = p
        try:
            client.connect(a.get("host", "127.0.0.1"), num(a.get("port"), 1883), **connect)
        except (ValueError, OSError) as e:
            log("error", "connect: " + str(e))
            return 1
        client.loop_start()

        def stop(signum, frame):
            self.finish(Exception("stopped"))
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not self.done.wait(0.1):
            pass
        if client.is_connected():
            client.disconnect()
        # Without reconnection the network thread ends once the DISCONNECT is written and the
        # connection closed; loop_stop waits for it, bounded by the timer below.
        ender = threading.Timer(3.0, lambda: (sys.stdout.flush(), __import__("os")._exit(1 if self.failure else 0)))
        ender.daemon = True
        ender.start()
        client.loop_stop()
        return 1 if self.failure is not None else 0


def main():
    argv = sys.argv[1:]
    try:
        if argv == ["--args-stdin"]:
            # The driver writes the flags, NUL-separated, to standard input (a 64 KiB topic in hex
            # is longer than one command-line argument may be).
            argv = sys.stdin.buffer.read(16 << 20).decode("utf-8").split("\0")
        a = parse(argv)
    except (BadFlags, UnicodeDecodeError) as e:
        print("pahopython client:", e, file=sys.stderr)
        return 2
    if a.get("version") not in ("3.1.1", "5"):
        print("pahopython client: --version must be 3.1.1 or 5", file=sys.stderr)
        return 2
    log("paho-mqtt", paho.mqtt.__version__)
    return Run(a).run()


if __name__ == "__main__":
    sys.exit(main())
