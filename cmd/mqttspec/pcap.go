package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/pcap"
	"github.com/mqttspec/mqttspec/pcap/check"
	"github.com/mqttspec/mqttspec/pcap/replay"
	"github.com/mqttspec/mqttspec/reports"
)

// pcapFlags are the capture-reading flags every pcap subcommand shares.
type pcapFlags struct {
	ports     []uint
	wsPorts   []uint
	tlsPorts  []uint
	maxPacket int
	version   string
	detect    bool
}

func (f *pcapFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.UintSliceVar(&f.ports, "port", nil, "TCP ports carrying MQTT (repeat or comma-separate; default 1883)")
	fl.UintSliceVar(&f.wsPorts, "ws-port", nil, "TCP ports carrying MQTT over WebSocket (default 80,8080,9001)")
	fl.UintSliceVar(&f.tlsPorts, "tls-port", nil, "TCP ports carrying MQTT over TLS, reported as TLS but not decoded (default 8883)")
	fl.IntVar(&f.maxPacket, "max-packet", pcap.DefaultMaxPacketSize, "largest MQTT packet decoded; larger ones are reported and skipped")
	fl.StringVarP(&f.version, "version", "V", "", "MQTT version of streams whose CONNECT was not captured (3.1, 3.1.1, 5; default: guess)")
	fl.BoolVar(&f.detect, "detect", true, "also decode connections on other ports whose client starts with an MQTT CONNECT (or a WebSocket upgrade offering mqtt)")
}

func (f *pcapFlags) options() (pcap.Options, error) {
	o := pcap.Options{MaxPacketSize: f.maxPacket, Detect: f.detect}
	for _, p := range f.ports {
		if p == 0 || p > 65535 {
			return o, fmt.Errorf("--port %d is not a TCP port", p)
		}
		o.Ports = append(o.Ports, uint16(p))
	}
	if f.wsPorts != nil {
		o.WebSocketPorts = []uint16{}
		for _, p := range f.wsPorts {
			if p == 0 || p > 65535 {
				return o, fmt.Errorf("--ws-port %d is not a TCP port", p)
			}
			o.WebSocketPorts = append(o.WebSocketPorts, uint16(p))
		}
	}
	if f.tlsPorts != nil {
		o.TLSPorts = []uint16{}
		for _, p := range f.tlsPorts {
			if p == 0 || p > 65535 {
				return o, fmt.Errorf("--tls-port %d is not a TCP port", p)
			}
			o.TLSPorts = append(o.TLSPorts, uint16(p))
		}
	}
	if f.maxPacket <= 0 {
		return o, fmt.Errorf("--max-packet must be positive, not %d", f.maxPacket)
	}
	if f.version != "" {
		v, err := codec.ParseVersion(f.version)
		if err != nil {
			return o, err
		}
		o.Version = v
	}
	return o, nil
}

// captureErr turns a read error into the command's outcome: a cut-short capture is a warning
// (everything before the cut was used), anything else an input error.
func captureErr(w io.Writer, err error) error {
	if err == nil {
		return nil
	}
	var ce *pcap.CaptureError
	if errors.As(err, &ce) && ce.Truncated {
		fmt.Fprintf(w, "mqttspec: warning: %v\n", err)
		return nil
	}
	return failWith(exitUsage, err)
}

// printDetections tells which unlisted endpoints were found to carry MQTT, and how to name them.
func printDetections(w io.Writer, s *pcap.Summary) {
	if s == nil || len(s.Detected) == 0 {
		return
	}
	var eps, flags []string
	for _, d := range s.Detected {
		what, flag := "MQTT", "--port"
		if d.WebSocket {
			what, flag = "MQTT over WebSocket", "--ws-port"
		}
		eps = append(eps, fmt.Sprintf("%v (%s, stream %d, frame %d)", d.Server, what, d.Stream, d.Frame))
		flags = append(flags, fmt.Sprintf("%s %d", flag, d.Server.Port()))
	}
	fmt.Fprintf(w, "detected on unlisted ports by content: %s; to list them: %s\n", strings.Join(eps, ", "), strings.Join(flags, " "))
}

func init() {
	pcapCmd := &cobra.Command{
		Use:   "pcap",
		Short: "Decode, check, replay and mine packet captures of MQTT traffic",
		Long: `Read pcap and pcapng captures (also gzipped) of MQTT traffic: Ethernet, Linux cooked (SLL,
SLL2), BSD loopback and raw IP; IPv4 and IPv6; TCP reassembled (out-of-order segments,
retransmissions, gaps reported), IP fragments reassembled; MQTT on --port (default 1883) and,
after an HTTP upgrade, inside
WebSocket on --ws-port (default 80, 8080, 9001); a client that starts with an HTTP upgrade on a
--port port is decoded as WebSocket too (a "websocket" note says so). The version of each stream
comes from its CONNECT. Connections on --tls-port (default 8883), and those on the other ports
whose client starts a TLS handshake, are counted and reported as TLS, not decoded.

Brokers on other ports are found by content (--detect, on by default): a connection whose client
starts with an MQTT CONNECT (protocol name MQTT level 4 or 5, or MQIsdp level 3), or with an HTTP
upgrade offering an mqtt WebSocket subprotocol, is decoded as if its port had been listed,
handshake included, and so is every later connection to the same address and port. Each such
endpoint is reported once ("detected" note, and a line on stderr). A connection whose CONNECT is
not in the capture cannot be detected: name its port with --port. --detect=false decodes the
listed ports only.`,
	}
	pcapCmd.AddCommand(pcapDecodeCmd(), pcapCheckCmd(), pcapReplayCmd(), pcapCorpusCmd())
	rootCmd.AddCommand(pcapCmd)
}

func pcapDecodeCmd() *cobra.Command {
	var f pcapFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "decode FILE",
		Short: "Print every MQTT packet of a capture, one per line (or JSON lines)",
		Long: `Print one line per MQTT packet: frame number, seconds since the first frame, stream, direction,
packet type and its fields (identifier, topic, QoS, flags, reason codes, properties), then the
violations the lenient decoder found, each with its statement ID. A v5 PUBLISH that carries only
a Topic Alias keeps its empty wire topic and shows the topic the alias stands for on that
connection and direction (resolved=…, JSON "resolved_topic"; "alias_unset" when no earlier packet
set it). Notes (missing segments, a
stream ending inside a packet, WebSocket handshakes, a broker detected on an unlisted port) are
printed as lines starting with "#".
With --json every packet and note is a JSON object on its own line.`,
		Example: `  mqttspec pcap decode capture.pcapng
  mqttspec pcap decode --port 1883 --port 18830 --json capture.pcap | jq 'select(.type=="PUBLISH")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return failWith(exitUsage, err)
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			defer out.Flush()
			enc := json.NewEncoder(out)
			var werr error
			h := pcap.Handler{
				Packet: func(m *pcap.Message) {
					pi := pcap.Describe(m)
					if asJSON {
						werr = errors.Join(werr, enc.Encode(pi))
						return
					}
					fmt.Fprintln(out, pi)
				},
				Note: func(n *pcap.Note) {
					stream := -1
					if n.Stream != nil {
						stream = n.Stream.ID
					}
					if asJSON {
						werr = errors.Join(werr, enc.Encode(struct {
							Note   string `json:"note"`
							Frame  int    `json:"frame"`
							Stream int    `json:"stream"`
							Dir    string `json:"dir,omitempty"`
							Text   string `json:"text"`
						}{string(n.Kind), n.Frame, stream, dirString(n.Dir), n.Text}))
						return
					}
					where := ""
					if stream >= 0 {
						where = fmt.Sprintf(" #%d %s", stream, n.Dir.Arrow())
					}
					fmt.Fprintf(out, "%6d # %s%s: %s\n", n.Frame, n.Kind, where, n.Text)
				},
			}
			sum, err := pcap.ReadFile(args[0], o, h)
			if ferr := out.Flush(); ferr != nil {
				return failWith(exitUsage, ferr)
			}
			if werr != nil {
				return failWith(exitUsage, werr)
			}
			if sum != nil {
				printReadSummary(cmd.ErrOrStderr(), sum, o.Detect)
			}
			return captureErr(cmd.ErrOrStderr(), err)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per packet or note")
	return cmd
}

func dirString(d pcap.Direction) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func printReadSummary(w io.Writer, s *pcap.Summary, detect bool) {
	var types []string
	for t, n := range s.ByType {
		if n > 0 {
			types = append(types, fmt.Sprintf("%v %d", codec.PacketType(t), n))
		}
	}
	fmt.Fprintf(w, "%d MQTT packets in %d streams, %d frames (%s)", s.Packets, len(s.Streams), s.Frames, s.Format)
	if len(types) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(types, ", "))
	}
	fmt.Fprintln(w)
	printDetections(w, s)
	if s.TLSStreams > 0 {
		fmt.Fprintf(w, "%d TLS connections, not decoded: the traffic is encrypted\n", s.TLSStreams)
	}
	if s.Reassembled > 0 || s.FragmentsDropped > 0 {
		fmt.Fprintf(w, "IP: %d fragments, %d datagrams reassembled, %d given up\n", s.Fragment, s.Reassembled, s.FragmentsDropped)
	}
	if s.Packets == 0 && s.Frames > 0 && s.TLSStreams > 0 {
		fmt.Fprintln(w, "no MQTT in clear: the MQTT traffic of this capture is inside TLS (decrypting is not supported)")
	} else if s.Packets == 0 && s.Frames > 0 {
		if detect {
			fmt.Fprintln(w, "no MQTT found on the listed ports, nor any connection elsewhere starting with a CONNECT (detection needs it in the capture): name the broker's port with --port (or --ws-port for WebSocket)")
		} else {
			fmt.Fprintln(w, "no MQTT found on the listed ports: name the broker's port with --port (or --ws-port for WebSocket), or drop --detect=false to find it by content")
		}
	}
	if s.Violations > 0 || s.Undecodable > 0 {
		fmt.Fprintf(w, "%d violations listed, %d packets not decodable\n", s.Violations, s.Undecodable)
	}
	if s.MissingBytes > 0 || s.Retransmissions > 0 || s.OutOfOrder > 0 {
		fmt.Fprintf(w, "TCP: %d bytes missing, %d retransmissions, %d out-of-order segments\n", s.MissingBytes, s.Retransmissions, s.OutOfOrder)
	}
}

func pcapCheckCmd() *cobra.Command {
	var f pcapFlags
	var reportDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Judge captured traffic against the statements that can be decided from the packets alone",
		Long: `Passive conformance: every stream of the capture is checked against the normative statements
that traffic alone can decide (first packet CONNECT, CONNACK first, packet identifier rules, QoS
flows, DUP and RETAIN rules, keep alive from the timestamps, v5 limits announced in
CONNECT/CONNACK, WebSocket framing…). The result uses the results.json schema of
"mqttspec test": one case per check, role (the side that broke the rule) and version.
Exit status: 0 when no MUST was broken, 1 when one was, 2 when the capture cannot be read.`,
		Example: `  mqttspec pcap check capture.pcapng --report out/
  mqttspec pcap check --port 18830 capture.pcap --json > results.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return failWith(exitUsage, err)
			}
			cp, err := pcap.CollectFile(args[0], o)
			if cerr := captureErr(cmd.ErrOrStderr(), err); cerr != nil {
				return cerr
			}
			printDetections(cmd.ErrOrStderr(), cp.Summary)
			res := check.Run(cp, check.Options{File: args[0], ToolVersion: toolVersion()})
			if reportDir != "" {
				if err := writeReports(reportDir, res); err != nil {
					return failWith(exitUsage, err)
				}
			}
			if asJSON {
				if err := res.Encode(cmd.OutOrStdout()); err != nil {
					return failWith(exitUsage, err)
				}
			} else {
				printSummary(cmd.OutOrStdout(), res, reportDir)
			}
			if res.Summary.Fail > 0 {
				return failWith(exitFailures, fmt.Errorf("%d check(s) failed", res.Summary.Fail))
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&reportDir, "report", "", "write results.json (and report.html, junit.xml) to this directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print results.json to stdout instead of the summary")
	return cmd
}

func pcapReplayCmd() *cobra.Command {
	var f pcapFlags
	var target, reportDir string
	var speed float64
	var asFast, asJSON bool
	var step time.Duration
	cmd := &cobra.Command{
		Use:   "replay FILE --target URL",
		Short: "Re-send each stream's client side to a broker and compare its answers with the capture's",
		Long: `Every stream whose CONNECT was captured is replayed on a new connection to --target (tcp://,
tls://, ws:// or wss://), with a client identifier made unique to the run. Client packets keep
their captured order across streams; before each one the replay waits (up to --step-timeout)
for the target to have answered as much as the captured server had.

The target's answers are aligned with the captured ones by type, flags, topic, reason codes and
identifiers (the identifiers a server chooses are numbered by order of appearance, its Topic
Aliases resolved); the client's acknowledgements follow the target's numbering, and a client
Topic Alias above the target's Topic Alias Maximum is sent as its topic. Aligned packets are then
compared in full: payloads and properties, with per-property rules (Assigned Client Identifier
and Authentication Data by presence, Message Expiry Interval within the time the brokers may have
held the message apart, Reason String not at all, everything else exactly). Lines: ' ' same, '-' only in
the capture, '+' only from the target, '~' both with different content, followed by both packets.
Exit status 1 when any stream was answered differently.`,
		Example: `  mqttspec pcap replay capture.pcapng --target tcp://127.0.0.1:1883 --as-fast
  mqttspec pcap replay capture.pcap --port 18830 --target ws://127.0.0.1:9001/mqtt --speed 10`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return failWith(exitUsage, err)
			}
			if target == "" {
				return failWith(exitUsage, errors.New("--target is required"))
			}
			if speed <= 0 {
				return failWith(exitUsage, fmt.Errorf("--speed must be positive, not %v", speed))
			}
			if cmd.Flags().Changed("speed") && asFast {
				return failWith(exitUsage, errors.New("--speed and --as-fast exclude each other"))
			}
			tg := &conformance.Target{URL: target}
			if err := tg.CheckURL(); err != nil {
				return failWith(exitUsage, err)
			}
			cp, err := pcap.CollectFile(args[0], o)
			if cerr := captureErr(cmd.ErrOrStderr(), err); cerr != nil {
				return cerr
			}
			printDetections(cmd.ErrOrStderr(), cp.Summary)
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			start := time.Now()
			r, err := replay.Run(ctx, cp, replay.Options{Dial: tg.Dial, Speed: speed, AsFast: asFast, StepTimeout: step, MaxPacketSize: o.MaxPacketSize})
			if err != nil && !errors.Is(err, context.Canceled) {
				return failWith(exitUsage, err)
			}
			res := replayResults(args[0], target, tg.Transport(), r, start)
			if reportDir != "" {
				if err := writeReports(reportDir, res); err != nil {
					return failWith(exitUsage, err)
				}
			}
			if asJSON {
				if err := encodeJSON(cmd.OutOrStdout(), r); err != nil {
					return failWith(exitUsage, err)
				}
			} else {
				printReplay(cmd.OutOrStdout(), r)
			}
			if err != nil {
				return failWith(exitUsage, err)
			}
			if unreachable(r) {
				return failWith(exitUsage, fmt.Errorf("could not replay any stream against %s", target))
			}
			if n := r.Differences(); n > 0 {
				return failWith(exitFailures, fmt.Errorf("%d stream(s) answered differently", n))
			}
			return nil
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&target, "target", "", "broker to replay against: tcp://host:port, tls://, ws://host:port/path, wss://")
	fl.Float64Var(&speed, "speed", 1, "replay speed relative to the capture (2 = twice as fast)")
	fl.BoolVar(&asFast, "as-fast", false, "ignore the captured timing; keep only the order and the wait for answers")
	fl.DurationVar(&step, "step-timeout", 2*time.Second, "how long to wait for the target's answers before sending on")
	fl.StringVar(&reportDir, "report", "", "write results.json (one case per stream) to this directory")
	fl.BoolVar(&asJSON, "json", false, "print the replay result as JSON")
	return cmd
}

// unreachable reports whether no replayed stream got any answer and every one failed: the target
// could not be reached, an infrastructure error rather than a difference.
func unreachable(r *replay.Result) bool {
	tried := 0
	for _, s := range r.Streams {
		if s.Skipped != "" {
			continue
		}
		tried++
		if s.Err == nil || len(s.Replayed) > 0 {
			return false
		}
	}
	return tried > 0
}

func printReplay(w io.Writer, r *replay.Result) {
	for _, s := range r.Streams {
		switch {
		case s.Skipped != "":
			fmt.Fprintf(w, "stream %d: skipped: %s\n", s.Stream, s.Skipped)
			continue
		case s.Equal():
			fmt.Fprintf(w, "stream %d (%q as %q, MQTT %v): same answers (%d)\n", s.Stream, s.ClientID, s.ReplayID, s.Version, len(s.Replayed))
			continue
		}
		fmt.Fprintf(w, "stream %d (%q as %q, MQTT %v): DIFFERENT\n", s.Stream, s.ClientID, s.ReplayID, s.Version)
		if s.Err != nil {
			fmt.Fprintf(w, "  error: %v\n", s.Err)
		}
		for _, l := range diffLines(s) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "%d of %d streams answered differently\n", r.Differences(), len(r.Streams))
}

// diffLines renders a stream's diff: a '~' line (same packet, different content) is followed by
// both sides' packets.
func diffLines(s *replay.StreamResult) []string {
	var out []string
	k := 0
	for _, l := range s.Diff {
		out = append(out, l.String())
		if l.Op == '~' && k < len(s.Changes) {
			out = append(out, "    captured: "+s.Changes[k].Captured, "    replayed: "+s.Changes[k].Replayed)
			k++
		}
	}
	return out
}

// replayResults records a replay in the results model: one case per replayed stream, failing
// when the target answered differently.
func replayResults(file, target, transport string, r *replay.Result, start time.Time) *reports.Results {
	res := &reports.Results{
		Schema:  reports.Schema,
		Tool:    reports.Tool{Name: "mqttspec", Version: toolVersion()},
		Target:  reports.Target{Name: target, URL: target, Role: "broker", Transport: transport, Info: map[string]string{"capture": file}},
		Started: start.UTC(),
	}
	for _, s := range r.Streams {
		c := reports.Case{
			ID: fmt.Sprintf("replay/stream-%d", s.Stream), Title: fmt.Sprintf("replay of stream %d (client %q)", s.Stream, s.ClientID),
			Section: "replay", Statements: []string{}, Version: s.Version.String(), Role: "broker", Level: "MAY", Labels: []string{"pcap", "replay"},
		}
		switch {
		case s.Skipped != "":
			c.Status, c.Message = reports.Skip, s.Skipped
		case s.Equal():
			c.Status, c.Message = reports.Pass, fmt.Sprintf("%d answers, all as captured", len(s.Replayed))
		default:
			c.Status = reports.Fail
			c.Message = "answers differ from the capture:\n" + strings.Join(diffLines(s), "\n")
			if s.Err != nil {
				c.Message = s.Err.Error() + "\n" + c.Message
			}
			c.Expected = strings.Join(s.Captured, "\n")
			c.Actual = strings.Join(s.Replayed, "\n")
		}
		res.Cases = append(res.Cases, c)
	}
	res.Recount()
	res.DurationMs = float64(time.Since(start).Milliseconds())
	return res
}

func pcapCorpusCmd() *cobra.Command {
	var f pcapFlags
	var out, format string
	cmd := &cobra.Command{
		Use:   "corpus FILE --out DIR",
		Short: "Write every MQTT packet (and every stream's client side) as fuzz seeds",
		Long: `Write fuzz seeds from a capture: every MQTT packet, prefixed with the byte that selects its version
and sender, under DIR/` + pcap.CorpusPacketTarget + `/, and the client side of every stream under
DIR/` + pcap.CorpusSessionTarget + `/ — the fuzz targets of package fuzz. --format go writes Go native
fuzzing files (copy them to fuzz/testdata/fuzz/<target>/), --format raw the bare bytes
(libFuzzer / OSS-Fuzz seeds). Seeds are named by content hash: duplicates are written once.`,
		Example: `  mqttspec pcap corpus capture.pcapng --out fuzz/testdata/fuzz`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return failWith(exitUsage, err)
			}
			if out == "" {
				return failWith(exitUsage, errors.New("--out is required"))
			}
			var cf pcap.CorpusFormat
			switch format {
			case "go":
				cf = pcap.CorpusGo
			case "raw":
				cf = pcap.CorpusRaw
			default:
				return failWith(exitUsage, fmt.Errorf("--format must be go or raw, not %q", format))
			}
			cp, err := pcap.CollectFile(args[0], o)
			if cerr := captureErr(cmd.ErrOrStderr(), err); cerr != nil {
				return cerr
			}
			printDetections(cmd.ErrOrStderr(), cp.Summary)
			st, err := pcap.WriteCorpus(cp, out, cf)
			if err != nil {
				return failWith(exitUsage, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d packet seeds in %s, %d session seeds in %s (%d duplicates, %d packets too large to keep)\n",
				st.Packets, filepath.Join(out, pcap.CorpusPacketTarget), st.Sessions, filepath.Join(out, pcap.CorpusSessionTarget), st.Duplicates, st.Skipped)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&out, "out", "", "directory to write the seeds to")
	cmd.Flags().StringVar(&format, "format", "go", "seed format: go (native fuzzing files) or raw (bare bytes)")
	return cmd
}
