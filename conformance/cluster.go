package conformance

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reports"
)

// Multi-node targets. A cluster is given as one Target (node A, the --target) whose Nodes are
// the other nodes of the same cluster (node B, C, … given with --node). Every node gets its own
// capability discovery; the cluster cases (section "cluster") connect to the nodes by index and
// check that what the specification promises one server holds when the clients sit on different
// nodes. Replication between nodes takes time: a cross-node effect is waited for the step
// timeout plus the settle window (Timeouts.Settle), and how long it took is recorded in the
// transcript (EffectNote) and, for a case that passes, in its message.

// DefaultSettle is the default settle window: how much longer than on one node a cross-node
// effect (a delivery, a subscription, a retained message, a takeover, a will) may take to appear.
// Small, because a cluster on one machine replicates in milliseconds; a slow or distant cluster
// widens it with --settle.
const DefaultSettle = time.Second

// EffectNote starts the transcript note recording how long a cross-node effect took; the rest is
// "KIND DURATION_MSms" (tools read the delays from results.json by this prefix).
const EffectNote = "cross-node effect: "

// effect is one measured cross-node delay.
type effect struct {
	kind string
	d    time.Duration
}

// NodeName names node i in transcripts and messages: A is the --target, B the first --node, ….
func NodeName(i int) string { return string(rune('A' + i)) }

// NodeCount is the number of nodes of the target: 1 plus its --node addresses.
func (t *T) NodeCount() int { return 1 + len(t.Target.Nodes) }

// NodeTarget returns node i (0 is the target itself).
func (t *T) NodeTarget(i int) *Target {
	if i == 0 {
		return t.Target
	}
	return t.Target.Nodes[i-1]
}

// NodeCaps returns what discovery found on node i (node A's capabilities when a node was not
// discovered, as when a test gives the runner its capabilities).
func (t *T) NodeCaps(i int) *Capabilities {
	if i > 0 && i-1 < len(t.Caps.Nodes) && t.Caps.Nodes[i-1] != nil {
		return t.Caps.Nodes[i-1]
	}
	return t.Caps
}

// RequireNodes skips the case unless the target has at least n nodes that all accept the case's
// protocol version and have every feature fs.
func (t *T) RequireNodes(n int, fs ...Feature) {
	if t.NodeCount() < n {
		t.Skipf("the target has %d node(s); cluster cases need at least %d (give the other nodes of the cluster with --node)", t.NodeCount(), n)
	}
	for i := range t.NodeCount() {
		caps := t.NodeCaps(i)
		if (t.V5() && !caps.V5) || (!t.V5() && !caps.V311) {
			t.Skipf("node %s (%s) does not accept MQTT %s connections", NodeName(i), t.NodeTarget(i).URL, t.Version)
		}
		for _, f := range fs {
			if why, missing := caps.Missing[f]; missing {
				t.Skipf("node %s lacks %s: %s", NodeName(i), f, why)
			}
		}
	}
}

// ClusterQoS is q lowered to the smallest Maximum QoS of the nodes: a case asks each node for
// no more than every node grants.
func (t *T) ClusterQoS(q byte) byte {
	for i := range t.NodeCount() {
		q = min(q, t.NodeCaps(i).MaximumQoS)
	}
	return q
}

// SettleWait is how long a cross-node effect is waited for: the step timeout, as on one node,
// plus the settle window.
func (t *T) SettleWait() time.Duration { return t.Timeouts.Step + t.Timeouts.Settle }

// NodeDial opens a raw connection to node i; its label in the transcript starts with the node's
// name. A dial failure ends the case with status error naming the node (a node that died cannot
// be judged).
func (t *T) NodeDial(i int, label string) *Conn {
	tg := t.NodeTarget(i)
	nc, err := tg.Dial(t.ctx)
	if err != nil {
		t.Errorf("node %s (%s) is unreachable: %v", NodeName(i), tg.URL, err)
	}
	return t.wrap(NodeName(i)+"/"+label, nc, codec.SideClient, codec.SideServer)
}

// NodeConnect is ConnectLabel on node i.
func (t *T) NodeConnect(i int, label string, p *codec.Connect) *Conn {
	conn := t.NodeDial(i, label)
	conn.Send(p)
	m := Connack(0)
	if !p.CleanStart {
		m = (&M{typ: codec.CONNACK}).Reason(0)
	}
	conn.Connack = conn.Expect(m).(*codec.Connack)
	return conn
}

// NodeConnectResume is ConnectResume on node i: clean start 0 and the Session Present flag
// expected as present says.
func (t *T) NodeConnectResume(i int, label string, p *codec.Connect, present bool) *Conn {
	conn := t.NodeDial(i, label)
	conn.Send(p)
	conn.Connack = conn.Expect((&M{typ: codec.CONNACK}).Reason(0).SessionPresent(present)).(*codec.Connack)
	return conn
}

// NodeSub connects a fresh client to node i and subscribes it to filter at ClusterQoS(qos).
func (t *T) NodeSub(i int, label, filter string, qos byte) *Conn {
	conn := t.NodeConnect(i, label, t.DefaultConnect())
	conn.Subscribe(filter, t.ClusterQoS(qos))
	return conn
}

// Effect records that a cross-node effect of the given kind ("delivery", "subscription",
// "retained", "takeover", "will", …) took d to appear: a note in the transcript and, when the
// case passes, its message summarises the delays per kind.
func (t *T) Effect(kind string, d time.Duration) {
	t.note("", fmt.Sprintf("%s%s %.1fms (settle window %v)", EffectNote, kind, float64(d.Microseconds())/1000, t.Timeouts.Settle))
	t.mu.Lock()
	t.effects = append(t.effects, effect{kind, d})
	t.mu.Unlock()
}

// effectSummary renders the delays per kind ("delivery median 2.1ms max 4.0ms (n=20); …").
// The caller holds t.mu.
func (t *T) effectSummary() string {
	byKind := map[string][]time.Duration{}
	var kinds []string
	for _, e := range t.effects {
		if _, ok := byKind[e.kind]; !ok {
			kinds = append(kinds, e.kind)
		}
		byKind[e.kind] = append(byKind[e.kind], e.d)
	}
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		ds := byKind[k]
		slices.Sort(ds)
		med := ds[len(ds)/2]
		if len(ds)%2 == 0 {
			med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
		}
		parts = append(parts, fmt.Sprintf("%s median %s max %s (n=%d)", k, roundMs(med), roundMs(ds[len(ds)-1]), len(ds)))
	}
	return fmt.Sprintf("cross-node delays within settle window %v: %s", t.Timeouts.Settle, strings.Join(parts, "; "))
}

func roundMs(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// ExpectAcross waits up to SettleWait for a packet matching m that another node caused at since,
// and records the delay as an effect of kind. Anything else, or nothing in time, fails the case.
func (c *Conn) ExpectAcross(kind string, since time.Time, m Matcher) codec.Packet {
	d := c.t.SettleWait()
	in, ok := c.recv(d)
	if !ok {
		c.t.Failf(m.String(), fmt.Sprintf("nothing within %v", d),
			"[%s] expected %s caused on another node, nothing arrived within %v (step %v + settle %v)", c.Label, m, d, c.t.Timeouts.Step, c.t.Timeouts.Settle)
	}
	c.checkInbound(in, m.String())
	if err := m.Match(in.p); err != nil {
		c.t.Failf(m.String(), in.p.String(), "[%s] expected %s caused on another node, got %s: %v", c.Label, m, in.p, err)
	}
	c.t.Effect(kind, in.at.Sub(since))
	return in.p
}

// ExpectClosedAcross is ExpectClosed for a close another node causes (a takeover): it waits up
// to SettleWait and records the delay from since as an effect of kind.
func (c *Conn) ExpectClosedAcross(kind string, since time.Time, opts ...CloseOption) []codec.Packet {
	seen := c.ExpectClosed(append(opts, Within(c.t.SettleWait()))...)
	c.mu.Lock()
	at := c.closedTime
	c.mu.Unlock()
	c.t.Effect(kind, at.Sub(since))
	return seen
}

// probePrefix starts the payload of AwaitRoute's probes.
const probePrefix = "mqttspec-route-probe-"

// AwaitRoute waits until publishes on pub's node reach sub's subscription to topic (made on
// another node): it publishes QoS 0 probes on topic every few milliseconds until one arrives,
// records the time since the call as an effect of kind "subscription", then sends an end marker
// and discards probes until it arrives (one publisher's messages on a topic keep their order,
// MQTT-4.6.0-6), so the case starts on an empty stream. A subscription that never takes effect
// across the nodes within SettleWait fails the case.
func (t *T) AwaitRoute(pub, sub *Conn, topic string) {
	start := time.Now()
	deadline := start.Add(t.SettleWait())
	arrived := false
	for n := 0; !arrived && time.Now().Before(deadline); n++ {
		pub.Send(&codec.Publish{Topic: topic, Payload: []byte(fmt.Sprintf("%s%d", probePrefix, n))})
		until := time.Now().Add(25 * time.Millisecond)
		for !arrived && time.Now().Before(until) {
			in, ok := sub.recv(time.Until(until))
			if !ok {
				break
			}
			sub.checkInbound(in, "a route probe")
			p, isPub := in.p.(*codec.Publish)
			if !isPub || !strings.HasPrefix(string(p.Payload), probePrefix) {
				t.Failf("a route probe", in.p.String(), "[%s] expected a route probe on %s, got %s", sub.Label, topic, in.p)
			}
			sub.ackQuietly(p)
			arrived = true
			t.Effect("subscription", in.at.Sub(start))
		}
	}
	if !arrived {
		t.Failf("a probe published on "+pub.Label+" delivered to "+sub.Label, "none within "+t.SettleWait().String(),
			"the subscription of %s to %s never took effect for publishes on %s within %v (step %v + settle %v): the nodes do not share subscriptions",
			sub.Label, topic, pub.Label, t.SettleWait(), t.Timeouts.Step, t.Timeouts.Settle)
	}
	end := []byte(probePrefix + "end")
	pub.Send(&codec.Publish{Topic: topic, Payload: end})
	for {
		in, ok := sub.recv(max(time.Until(deadline.Add(t.Timeouts.Step)), time.Millisecond))
		if !ok {
			t.Failf("the end of the route probes", "nothing", "[%s] the last route probe on %s never arrived", sub.Label, topic)
		}
		sub.checkInbound(in, "a route probe")
		p, isPub := in.p.(*codec.Publish)
		if !isPub || !strings.HasPrefix(string(p.Payload), probePrefix) {
			t.Failf("a route probe", in.p.String(), "[%s] expected a route probe on %s, got %s", sub.Label, topic, in.p)
		}
		sub.ackQuietly(p)
		if string(p.Payload) == string(end) {
			return
		}
	}
}

// ackQuietly acknowledges a probe delivered above QoS 0 (a broker may upgrade nothing, but an
// overlapping subscription could): PUBACK or PUBREC, without waiting for the rest of the flow.
func (c *Conn) ackQuietly(p *codec.Publish) {
	switch p.QoS {
	case 1:
		c.Send(&codec.Puback{PacketID: p.PacketID})
	case 2:
		c.Send(&codec.Pubrec{PacketID: p.PacketID})
	}
}

// discoverNodes runs capability discovery on every node of tg not yet discovered in caps (the
// runner calls it after discovering node A). A node that cannot be discovered is an error of the
// run naming the node: a cluster run without one of its nodes would judge a different cluster.
func discoverNodes(ctx context.Context, tg *Target, caps *Capabilities, timeout time.Duration) error {
	for i := len(caps.Nodes); i < len(tg.Nodes); i++ {
		nc, err := Discover(ctx, tg.Nodes[i], timeout)
		if err != nil {
			return fmt.Errorf("discover node %s (%s): %w", NodeName(i+1), tg.Nodes[i].URL, err)
		}
		caps.Nodes = append(caps.Nodes, nc)
	}
	return nil
}

// nodesInfo adds the nodes and the settle window to the report's target facts.
func nodesInfo(info map[string]string, tg *Target, caps *Capabilities, to Timeouts) {
	if len(tg.Nodes) == 0 {
		return
	}
	urls := []string{"A=" + tg.URL}
	for i, n := range tg.Nodes {
		urls = append(urls, NodeName(i+1)+"="+n.URL)
		if i < len(caps.Nodes) {
			nc := caps.Nodes[i]
			info["node_"+NodeName(i+1)] = fmt.Sprintf("%s mqtt311=%v mqtt5=%v maximum_qos=%d retain_available=%v", n.URL, nc.V311, nc.V5, nc.MaximumQoS, nc.RetainAvailable)
		}
	}
	info["nodes"] = strings.Join(urls, " ")
	info["settle_window"] = to.Settle.String()
}

// nodesDown probes every node after a cluster case that did not pass, and returns which nodes no
// longer serve a new client: a case that failed because a node died mid-case is an error naming
// the node, not a verdict about the cluster.
func nodesDown(ctx context.Context, tg *Target, v codec.Version, timeout time.Duration) string {
	var down []string
	all := append([]*Target{tg}, tg.Nodes...)
	for i, n := range all {
		if err := probeAlive(ctx, n, v, timeout); err != nil {
			down = append(down, fmt.Sprintf("node %s (%s): %v", NodeName(i), n.URL, err))
		}
	}
	sort.Strings(down)
	return strings.Join(down, "; ")
}

// checkNodesAfter turns the failure of a case on a multi-node target into an error when a node
// stopped serving during the case.
func (t *T) checkNodesAfter(ctx context.Context, v codec.Version, timeout time.Duration) {
	if len(t.Target.Nodes) == 0 || ctx.Err() != nil || t.status != reports.Fail {
		return
	}
	if down := nodesDown(ctx, t.Target, v, timeout); down != "" {
		t.status, t.message = reports.Error, "a node stopped serving during the case, so the failure judges nothing: "+down+" (the failure was: "+t.message+")"
		t.note("", "node probe after the failure: "+down)
	}
}
