package netfuzz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/oracle"
)

// DiffOptions configure a differential run: the same inputs to every target, answers compared.
type DiffOptions struct {
	// Targets are tcp://host:port addresses (loopback unless AllowRemote); Names, when given,
	// name them in reports (default: the address).
	Targets     []string
	Names       []string
	AllowRemote bool
	// Username and Password, when Username is set, log every generated session in (the
	// CONNECT before mutation) and the readiness probe, on every target alike so that the
	// inputs stay identical: for brokers that refuse anonymous clients (ejabberd's mod_mqtt).
	Username, Password string
	// Version of the sessions: codec.V311, codec.V5, or codec.VersionUnknown for both.
	Version  codec.Version
	Duration time.Duration
	MaxExecs int
	Seed     int64
	// OutDir receives one JSON file per saved split ("" writes none).
	OutDir string
	// AnswerTimeout bounds how long an input waits for each target's answers (default 400ms):
	// after the input a PINGREQ is sent, and its PINGRESP, a close or this timeout ends the wait.
	AnswerTimeout time.Duration
	// PerClass is how many splits of one disagreement class are kept and minimized (default 2).
	PerClass int
	// Minimize shrinks every kept split while the targets still split the same way, within
	// MinimizeBudget (default 30s) each.
	Minimize       bool
	MinimizeBudget time.Duration
	Progress       func(DiffStats)
	ProgressEvery  time.Duration
	Logger         *slog.Logger
}

// DiffStats describe a differential run so far.
type DiffStats struct {
	Execs   int // inputs sent to every target
	Elapsed time.Duration
	Splits  int // inputs on which the targets' signatures differed (before the recheck)
	Stable  int // splits that reproduced when sent again
	Classes int
}

// ExecsPerSec is the average number of inputs per second (each input goes to every target).
func (s DiffStats) ExecsPerSec() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Execs) / s.Elapsed.Seconds()
}

// Answer is what one target sent back for an input, normalised: packet identifiers become their
// relation to the input ("id=sent" when the input used that identifier, "id=new" otherwise),
// client identifiers, payloads, properties and timing are dropped.
type Answer struct {
	Packets []string `json:"packets"`
	// End is "closed" (the target closed the connection), "open" (it answered the final
	// PINGREQ) or "silent" (neither within the answer timeout).
	End string `json:"end"`
	// Oracle lists what package fuzz/oracle finds wrong in the answer, "check [statement]: detail".
	Oracle []string `json:"oracle,omitempty"`
	// Raw is every byte the target sent, hex, up to MaxRawAnswer bytes (RawCut when there was
	// more): a finding's evidence as it crossed the wire, to replay or quote in a bug report.
	Raw    string `json:"raw,omitempty"`
	RawCut bool   `json:"raw_cut,omitempty"`
}

// MaxRawAnswer bounds the answer bytes a saved split keeps per target.
const MaxRawAnswer = 64 << 10

// Signature is the answer reduced to what the comparison uses.
func (a Answer) Signature() string {
	return strings.Join(a.Packets, " ") + " | " + a.End
}

// Split is one input on which the targets disagreed.
type Split struct {
	Class   string            `json:"class"`
	Version string            `json:"version"`
	Steps   []stepJSON        `json:"steps"`
	Answers map[string]Answer `json:"answers"`
	// Codec is the strict codec's verdict on the input: "valid", or the first rule it breaks
	// with the statement cited.
	Codec string `json:"codec"`
	// Verdict says which target deviates: by the oracle's spec checks when any target breaks
	// one, else by majority (or "no majority").
	Verdict string `json:"verdict"`
	// Deviating names the targets the verdict blames (the oracle's, else the minority's).
	Deviating []string `json:"deviating,omitempty"`
	Minimized bool     `json:"minimized"`
	Original  int      `json:"original_bytes"`
	File      string   `json:"-"`
}

// DiffClass is a group of splits that disagree the same way.
type DiffClass struct {
	Name    string
	Count   int
	Example *Split // the first split, minimized when Minimize is set
	Kept    []*Split
}

// DiffReport is the outcome of Diff.
type DiffReport struct {
	DiffStats
	Seed    int64
	Targets []string // names, in order
	Classes []*DiffClass
}

type diffTarget struct {
	name string
	addr string
}

// Diff sends the same generated sessions (CONNECT, then grammar-aware mutations: the inputs of
// Run) to every target and groups the inputs on which their normalised answers differ into
// classes. A split is sent again before it counts, so that timing alone does not make one.
func Diff(ctx context.Context, o DiffOptions) (*DiffReport, error) {
	if len(o.Targets) < 2 {
		return nil, errors.New("fuzz diff needs at least two targets")
	}
	if o.Version != codec.VersionUnknown && o.Version != codec.V311 && o.Version != codec.V5 {
		return nil, fmt.Errorf("version %v: the network fuzzer speaks 3.1.1 and 5.0", o.Version)
	}
	var ts []diffTarget
	seenName := map[string]bool{}
	for i, t := range o.Targets {
		addr, err := ParseTarget(t, o.AllowRemote)
		if err != nil {
			return nil, err
		}
		name := t
		if i < len(o.Names) && o.Names[i] != "" {
			name = o.Names[i]
		}
		if seenName[name] {
			return nil, fmt.Errorf("target name %q given twice", name)
		}
		seenName[name] = true
		ts = append(ts, diffTarget{name: name, addr: addr})
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = 400 * time.Millisecond
	}
	if o.PerClass <= 0 {
		o.PerClass = 2
	}
	if o.MinimizeBudget <= 0 {
		o.MinimizeBudget = 30 * time.Second
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	for _, t := range ts {
		r := &runner{addr: t.addr, version: o.Version, probeTimeout: 2 * time.Second,
			username: o.Username, password: o.Password}
		if kind, detail := r.probe(ctx); kind != "" {
			return nil, fmt.Errorf("target %s is not serving before fuzzing starts: %s", t.name, detail)
		}
	}
	d := &differ{o: o, ts: ts, log: log}
	rep := &DiffReport{Seed: o.Seed}
	for _, t := range ts {
		rep.Targets = append(rep.Targets, t.name)
	}
	m := &mutator{rng: rand.New(rand.NewSource(o.Seed)), version: o.Version,
		username: o.Username, password: o.Password}
	classes := map[string]*DiffClass{}
	start := time.Now()
	last := time.Now()
	progress := func() {
		rep.Elapsed = time.Since(start)
		rep.DiffStats.Classes = len(classes)
		if o.Progress != nil {
			o.Progress(rep.DiffStats)
		}
	}
	for ctx.Err() == nil && (o.MaxExecs <= 0 || rep.Execs < o.MaxExecs) {
		base, v := m.session()
		in, _ := m.mutate(base, v)
		answers := d.run(ctx, in, v)
		if ctx.Err() != nil {
			break
		}
		rep.Execs++
		if class, split := d.classify(in, v, answers); split {
			rep.Splits++
			// Sent again: a split that does not reproduce is timing, not behaviour.
			if again := d.run(ctx, in, v); ctx.Err() == nil {
				if c2, _ := d.classify(in, v, again); c2 == class {
					rep.Stable++
					c := classes[class]
					if c == nil {
						c = &DiffClass{Name: class}
						classes[class] = c
						rep.DiffStats.Classes = len(classes)
					}
					c.Count++
					if len(c.Kept) < o.PerClass {
						s := d.split(ctx, class, in, v, again)
						c.Kept = append(c.Kept, s)
						if c.Example == nil {
							c.Example = s
						}
						log.Info("split", "class", class, "file", s.File)
					}
				}
			}
		}
		if time.Since(last) >= o.ProgressEvery {
			last = time.Now()
			progress()
		}
	}
	progress()
	for _, c := range classes {
		rep.Classes = append(rep.Classes, c)
	}
	sort.Slice(rep.Classes, func(i, j int) bool {
		if rep.Classes[i].Count != rep.Classes[j].Count {
			return rep.Classes[i].Count > rep.Classes[j].Count
		}
		return rep.Classes[i].Name < rep.Classes[j].Name
	})
	return rep, nil
}

type differ struct {
	o   DiffOptions
	ts  []diffTarget
	log *slog.Logger
}

// run sends in to every target at once and returns their answers in target order.
func (d *differ) run(ctx context.Context, in Input, v codec.Version) []Answer {
	out := make([]Answer, len(d.ts))
	var wg sync.WaitGroup
	for i, t := range d.ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = d.exec(ctx, t.addr, in, v)
		}()
	}
	wg.Wait()
	return out
}

// syncPing follows every input: its PINGRESP says the target has answered everything before it.
var syncPing = []byte{0xC0, 0x00}

// exec sends in, then a PINGREQ, and reads the answers (at most 1 MiB) until the PINGRESP for
// it, a close, or the answer timeout.
func (d *differ) exec(ctx context.Context, addr string, in Input, v codec.Version) Answer {
	dl := net.Dialer{Timeout: 2 * time.Second}
	conn, err := dl.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Answer{End: "refused"}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// Every read has a deadline from the start: the input's pauses, then the answer timeout
	// (moved closer once the input is written), with a margin for slow writes.
	conn.SetReadDeadline(time.Now().Add(in.Duration() + d.o.AnswerTimeout + 5*time.Second))
	var sent []byte
	// The PINGRESPs the target owes: one per exact PINGREQ frame of the input, and ours.
	want := 1
	for _, s := range in {
		for _, f := range splitFrames(s.Data) {
			if len(f) == 2 && f[0] == 0xC0 && f[1] == 0 {
				want++
			}
		}
	}
	type result struct {
		raw    []byte
		closed bool
	}
	res := make(chan result, 1)
	pong := make(chan struct{}, 1)
	go func() {
		var r result
		buf := make([]byte, 4096)
		lim := io.LimitReader(conn, 1<<20)
		seen := 0
		for {
			n, err := lim.Read(buf)
			r.raw = append(r.raw, buf[:n]...)
			if c := countPingresp(r.raw); c > seen {
				seen = c
				if seen >= want {
					select {
					case pong <- struct{}{}:
					default:
					}
				}
			}
			if err != nil {
				// A broker that closes with input unread makes the kernel send a reset.
				r.closed = errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
				res <- r
				return
			}
		}
	}()
	for _, s := range append(in.clone(), Step{Data: syncPing}) {
		if s.Delay > 0 {
			select {
			case <-time.After(s.Delay):
			case <-ctx.Done():
			}
		}
		sent = append(sent, s.Data...)
		conn.SetWriteDeadline(time.Now().Add(d.o.AnswerTimeout))
		if _, err := conn.Write(s.Data); err != nil {
			break
		}
	}
	conn.SetReadDeadline(time.Now().Add(d.o.AnswerTimeout))
	end := "silent"
	var r result
	select {
	case r = <-res:
	case <-pong:
		// A moment for anything the target sends right after (a delivery queued behind the
		// acknowledgements), then the connection is ours to close.
		conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		r = <-res
		end = "open"
	}
	if r.closed {
		end = "closed"
	} else if end != "open" && countPingresp(r.raw) >= want {
		end = "open"
	}
	a := normalise(sent, r.raw, v)
	a.End = end
	a.Raw = hex.EncodeToString(r.raw[:min(len(r.raw), MaxRawAnswer)])
	a.RawCut = len(r.raw) > MaxRawAnswer
	for _, vi := range oracle.Check(oracle.Conversation{Sent: sent, Got: r.raw, Closed: r.closed, Waited: true},
		oracle.Options{Role: oracle.Broker}) {
		a.Oracle = append(a.Oracle, vi.Check+" ["+vi.Statement+"]: "+vi.Detail)
	}
	return a
}

func countPingresp(b []byte) int {
	n := 0
	for _, f := range splitFrames(b) {
		if len(f) >= 1 && f[0] == 0xD0 {
			n++
		}
	}
	return n
}

// normalise turns the answer bytes into comparable items.
func normalise(sent, got []byte, v codec.Version) Answer {
	s := oracle.Decode(sent, v, codec.SideClient, 0)
	ids := map[uint16]bool{}
	for _, p := range s.Packets {
		if id, ok := packetID(p); ok {
			ids[id] = true
		}
	}
	g := oracle.Decode(got, s.Version, codec.SideServer, 0)
	var a Answer
	rel := func(id uint16) string {
		if ids[id] {
			return "id=sent"
		}
		return "id=new"
	}
	for _, p := range g.Packets {
		var it string
		switch p := p.(type) {
		case *codec.Connack:
			it = fmt.Sprintf("CONNACK:%02X", byte(p.ReasonCode))
			if p.SessionPresent {
				it += ":sp"
			}
		case *codec.Publish:
			it = fmt.Sprintf("PUBLISH:q%d", p.QoS)
			if p.Retain {
				it += ":r"
			}
		case *codec.Puback:
			it = fmt.Sprintf("PUBACK:%02X:%s", byte(p.ReasonCode), rel(p.PacketID))
		case *codec.Pubrec:
			it = fmt.Sprintf("PUBREC:%02X:%s", byte(p.ReasonCode), rel(p.PacketID))
		case *codec.Pubrel:
			it = fmt.Sprintf("PUBREL:%02X", byte(p.ReasonCode))
		case *codec.Pubcomp:
			it = fmt.Sprintf("PUBCOMP:%02X:%s", byte(p.ReasonCode), rel(p.PacketID))
		case *codec.Suback:
			it = fmt.Sprintf("SUBACK:%s:% X", rel(p.PacketID), codes(p.ReasonCodes))
		case *codec.Unsuback:
			it = fmt.Sprintf("UNSUBACK:%s:% X", rel(p.PacketID), codes(p.ReasonCodes))
		case *codec.Disconnect:
			it = fmt.Sprintf("DISCONNECT:%02X", byte(p.ReasonCode))
		case *codec.Auth:
			it = fmt.Sprintf("AUTH:%02X", byte(p.ReasonCode))
		default:
			it = p.Type().String()
		}
		a.Packets = append(a.Packets, it)
	}
	if g.Err != nil {
		a.Packets = append(a.Packets, "MALFORMED:"+g.Err.Rule)
	}
	// Deliveries interleave with acknowledgements in an order the specification leaves open:
	// the comparison is of the multiset, CONNACK first as sent.
	sort.SliceStable(a.Packets, func(i, j int) bool {
		ci, cj := strings.HasPrefix(a.Packets[i], "CONNACK"), strings.HasPrefix(a.Packets[j], "CONNACK")
		if ci != cj {
			return ci
		}
		return a.Packets[i] < a.Packets[j]
	})
	return a
}

func codes(rs []codec.ReasonCode) []byte {
	b := make([]byte, len(rs))
	for i, r := range rs {
		b[i] = byte(r)
	}
	return b
}

func packetID(p codec.Packet) (uint16, bool) {
	switch p := p.(type) {
	case *codec.Publish:
		return p.PacketID, p.QoS > 0
	case *codec.Puback:
		return p.PacketID, true
	case *codec.Pubrec:
		return p.PacketID, true
	case *codec.Pubrel:
		return p.PacketID, true
	case *codec.Pubcomp:
		return p.PacketID, true
	case *codec.Subscribe:
		return p.PacketID, true
	case *codec.Unsubscribe:
		return p.PacketID, true
	}
	return 0, false
}

// classOrder is the order in which packet types are compared when naming a class: the first
// type whose items differ between the targets names the split, so that one difference (say, the
// DISCONNECT reason) is one class whatever else the session held.
var classOrder = []string{"MALFORMED", "CONNACK", "DISCONNECT", "end", "SUBACK", "UNSUBACK", "PUBACK", "PUBREC",
	"PUBREL", "PUBCOMP", "PUBLISH", "PINGRESP", "AUTH"}

// classify names how the answers split, "" and false when every target answered alike. The
// class is the codec's verdict on the input (its rule, or "valid") and the first packet type
// (in classOrder) on which the targets differ, with each target's items of that type.
func (d *differ) classify(in Input, v codec.Version, as []Answer) (string, bool) {
	same := true
	for _, a := range as[1:] {
		if a.Signature() != as[0].Signature() {
			same = false
		}
	}
	if same {
		return "", false
	}
	of := func(a Answer, typ string) string {
		if typ == "end" {
			return a.End
		}
		var items []string
		for _, p := range a.Packets {
			if p == typ || strings.HasPrefix(p, typ+":") {
				items = append(items, strings.TrimPrefix(strings.TrimPrefix(p, typ), ":"))
			}
		}
		// How many of an item there are does not name a class: "2 × PUBACK" and "3 × PUBACK"
		// split the same way as long as the kinds match.
		items = dedup(items)
		if len(items) == 0 {
			return "none"
		}
		for i, it := range items {
			if it == "" {
				items[i] = "yes"
			}
		}
		return strings.Join(items, ",")
	}
	for _, typ := range classOrder {
		vals := make([]string, len(as))
		differ := false
		for i, a := range as {
			vals[i] = of(a, typ)
			differ = differ || vals[i] != vals[0]
		}
		if !differ {
			continue
		}
		parts := []string{codecVerdict(in, v, true), typ}
		for i := range as {
			parts = append(parts, d.ts[i].name+"="+vals[i])
		}
		return strings.Join(parts, " | "), true
	}
	// Only the counts differ.
	parts := []string{codecVerdict(in, v, true), "counts"}
	for i, a := range as {
		parts = append(parts, fmt.Sprintf("%s=%d", d.ts[i].name, len(a.Packets)))
	}
	return strings.Join(parts, " | "), true
}

func dedup(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// codecVerdict is the strict codec's verdict on the input's bytes (as one stream): the first
// rule broken, with its statement, or "valid". short drops the detail, for class names.
func codecVerdict(in Input, v codec.Version, short bool) string {
	var b []byte
	for _, s := range in {
		b = append(b, s.Data...)
	}
	s := oracle.Decode(b, v, codec.SideClient, 0)
	switch {
	case s.Err != nil:
		st := s.Err.Statement
		if st == "" {
			st = "§" + s.Err.Section
		}
		if short {
			return fmt.Sprintf("%s %s [%s]", s.Err.Packet, s.Err.Rule, st)
		}
		return fmt.Sprintf("%v (rule %s)", s.Err, s.Err.Rule)
	case s.Partial:
		return "valid, ends inside a packet"
	}
	return "valid"
}

// split records (and minimizes, and saves) one split.
func (d *differ) split(ctx context.Context, class string, in Input, v codec.Version, as []Answer) *Split {
	orig := in.Size()
	min := false
	if d.o.Minimize {
		if m, ok := d.minimize(ctx, class, in, v); ok {
			in, min = m, true
			as = d.run(ctx, in, v)
		}
	}
	s := &Split{Class: class, Version: v.String(), Answers: map[string]Answer{}, Codec: codecVerdict(in, v, false),
		Minimized: min, Original: orig}
	for _, st := range in {
		s.Steps = append(s.Steps, stepJSON{DelayMS: st.Delay.Milliseconds(), Hex: hex.EncodeToString(st.Data)})
	}
	for i, a := range as {
		s.Answers[d.ts[i].name] = a
	}
	s.Verdict, s.Deviating = d.verdict(as)
	if d.o.OutDir != "" {
		if path, err := s.save(d.o.OutDir); err != nil {
			d.log.Error("cannot save split", "err", err)
		} else {
			s.File = path
		}
	}
	return s
}

// verdict names the deviating targets: those the oracle finds breaking the specification, else
// the ones outside the majority signature. It returns the verdict's text and the blamed targets.
func (d *differ) verdict(as []Answer) (string, []string) {
	var spec, specNames []string
	for i, a := range as {
		if len(a.Oracle) > 0 {
			spec = append(spec, d.ts[i].name+" ("+strings.SplitN(a.Oracle[0], " [", 2)[0]+")")
			specNames = append(specNames, d.ts[i].name)
		}
	}
	count := map[string]int{}
	for _, a := range as {
		count[a.Signature()]++
	}
	best, n := "", 0
	for sig, c := range count {
		if c > n || (c == n && sig < best) {
			best, n = sig, c
		}
	}
	var out, dev []string
	if len(spec) > 0 {
		out = append(out, "spec: "+strings.Join(spec, ", "))
	}
	if 2*n > len(as) {
		for i, a := range as {
			if a.Signature() != best {
				dev = append(dev, d.ts[i].name)
			}
		}
		out = append(out, "majority: "+strings.Join(dev, ", ")+" deviate(s)")
	} else {
		out = append(out, "no majority")
	}
	if len(specNames) > 0 {
		dev = specNames
	}
	return strings.Join(out, "; "), dev
}

// minimize shrinks in while the targets still split into the same class: whole writes, then
// MQTT frames within each write, then pauses.
func (d *differ) minimize(ctx context.Context, class string, in Input, v codec.Version) (Input, bool) {
	deadline := time.Now().Add(d.o.MinimizeBudget)
	same := func(c Input) bool {
		if len(c) == 0 || c.Size() == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		got, _ := d.classify(c, v, d.run(ctx, c, v))
		return got == class
	}
	cur := in.clone()
	keep := ddmin(len(cur), func(k []int) bool {
		c := make(Input, 0, len(k))
		for _, i := range k {
			c = append(c, cur[i])
		}
		return same(c)
	})
	next := make(Input, 0, len(keep))
	for _, i := range keep {
		next = append(next, cur[i])
	}
	if len(next) > 0 && same(next) {
		cur = next
	}
	for si := range cur {
		frames := splitFrames(cur[si].Data)
		if len(frames) < 2 {
			continue
		}
		k := ddmin(len(frames), func(k []int) bool {
			c := cur.clone()
			c[si].Data = joinFrames(frames, k)
			return same(c)
		})
		c := cur.clone()
		c[si].Data = joinFrames(frames, k)
		if same(c) {
			cur = c
		}
	}
	for si := range cur {
		if cur[si].Delay > 0 {
			c := cur.clone()
			c[si].Delay = 0
			if same(c) {
				cur = c
			}
		}
	}
	return cur, cur.Size() < in.Size() || len(cur) < len(in)
}

func (s *Split) save(dir string) (string, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, st := range s.Steps {
		fmt.Fprintf(h, "%d:%s;", st.DelayMS, st.Hex)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("split-%x", h.Sum(nil)[:6])
	if s.Minimized {
		name += "-min"
	}
	path := filepath.Join(dir, name+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// Markdown renders the report: the numbers, then one section per disagreement class with every
// target's answer to its (minimized) example, the codec's verdict and the majority/spec verdict.
func (r *DiffReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# mqttspec fuzz diff\n\nTargets: %s. Seed %d.\n\n", strings.Join(r.Targets, ", "), r.Seed)
	fmt.Fprintf(&b, "| Inputs | Time | Inputs/s | Splits | Reproduced | Classes |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %s | %.1f | %d | %d | %d |\n\n", r.Execs, r.Elapsed.Round(time.Second), r.ExecsPerSec(), r.Splits, r.Stable, len(r.Classes))
	if len(r.Classes) == 0 {
		b.WriteString("The targets answered every input alike.\n")
		return b.String()
	}
	b.WriteString("| # | Class | Inputs | Verdict |\n|---:|---|---:|---|\n")
	for i, c := range r.Classes {
		fmt.Fprintf(&b, "| %d | `%s` | %d | %s |\n", i+1, strings.ReplaceAll(c.Name, "|", "¦"), c.Count, c.Example.Verdict)
	}
	for i, c := range r.Classes {
		e := c.Example
		fmt.Fprintf(&b, "\n## %d. %d input(s)\n\n`%s`\n\nCodec: %s. Verdict: %s.", i+1, c.Count, c.Name, e.Codec, e.Verdict)
		if e.File != "" {
			fmt.Fprintf(&b, " Reproducer: `%s`", e.File)
		}
		b.WriteString("\n\n```\n")
		for _, s := range e.Steps {
			if s.DelayMS > 0 {
				fmt.Fprintf(&b, "(wait %d ms)\n", s.DelayMS)
			}
			h := s.Hex
			if len(h) > 160 {
				h = h[:160] + fmt.Sprintf("… (%d bytes)", len(s.Hex)/2)
			}
			fmt.Fprintf(&b, "→ %s\n", h)
		}
		b.WriteString("```\n\n| Target | Answer | End | Oracle |\n|---|---|---|---|\n")
		for _, t := range r.Targets {
			a := e.Answers[t]
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t, strings.Join(a.Packets, " "), a.End, strings.ReplaceAll(strings.Join(a.Oracle, "; "), "|", "¦"))
		}
	}
	return b.String()
}
