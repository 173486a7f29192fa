package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/broker/loadgen"
)

func init() {
	var (
		cfg     loadgen.Config
		version string
		qos     int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test an MQTT broker: messages/s and end-to-end latency percentiles",
		Long: `Connect publishers and subscribers to a broker, publish for --duration and report the messages
per second sent and received and the latency from publisher write to subscriber read (p50, p90,
p99, max). Every subscriber subscribes to all publishers' topics, so subscribers receive
publishers x rate messages/s each. Without --rate publishers send as fast as the broker reads;
a broker may then drop QoS 0 messages for slower subscribers, which the received rate shows.
The same load generator runs the comparison benchmarks of reference/broker.`,
		Example: `  mqttspec bench --target tcp://127.0.0.1:1883 --publishers 8 --subscribers 1 --qos 0 --size 64 --duration 10s
  mqttspec bench --target tcp://127.0.0.1:1883 --qos 1 --rate 1000 -V 5 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := codec.ParseVersion(version)
			if err != nil {
				return failWith(exitUsage, err)
			}
			if qos < 0 || qos > 2 {
				return failWith(exitUsage, fmt.Errorf("--qos %d: want 0, 1 or 2", qos))
			}
			cfg.Version, cfg.QoS = v, byte(qos)
			if _, err := loadgen.Addr(cfg.Target); err != nil {
				return failWith(exitUsage, err)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			res, err := loadgen.Run(ctx, cfg)
			if err != nil && res.Elapsed == 0 {
				return failWith(exitUsage, err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(benchJSON(res)); err != nil {
					return failWith(exitUsage, err)
				}
			} else {
				fmt.Fprint(cmd.OutOrStdout(), res.String())
			}
			if len(res.Errors) > 0 {
				return failWith(exitFailures, fmt.Errorf("%d connection errors during the run", len(res.Errors)))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Target, "target", "tcp://127.0.0.1:1883", "broker address, tcp://host:port")
	fl.IntVar(&cfg.Publishers, "publishers", 4, "publishing connections")
	fl.IntVar(&cfg.Subscribers, "subscribers", 1, "subscribing connections (each receives every message)")
	fl.IntVar(&qos, "qos", 0, "QoS of publications and subscriptions")
	fl.IntVar(&cfg.Size, "size", 64, "payload size in bytes (at least 16)")
	fl.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measuring window")
	fl.IntVar(&cfg.Rate, "rate", 0, "messages/s per publisher (0 = as fast as possible)")
	fl.IntVar(&cfg.Inflight, "inflight", 64, "unacknowledged QoS 1/2 messages per publisher")
	fl.StringVar(&cfg.Topic, "topic", "", "topic prefix (default: a random one under mqttspec/bench/)")
	fl.StringVarP(&version, "protocol-version", "V", "311", "MQTT version: 311, 5 or 31")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	rootCmd.AddCommand(cmd)
}

// benchJSON is the machine-readable result: durations in microseconds.
func benchJSON(r loadgen.Result) map[string]any {
	return map[string]any{
		"target": r.Target, "version": r.Version.String(), "publishers": r.Publishers, "subscribers": r.Subscribers,
		"qos": r.QoS, "size": r.Size, "rate_per_publisher": r.Rate, "elapsed_s": r.Elapsed.Seconds(),
		"sent": r.Sent, "received": r.Received, "sent_per_s": r.SendRate, "received_per_s": r.RecvRate,
		"latency_us": map[string]int64{"p50": r.Latency.P50.Microseconds(), "p90": r.Latency.P90.Microseconds(),
			"p99": r.Latency.P99.Microseconds(), "max": r.Latency.Max.Microseconds()},
		"errors": r.Errors,
	}
}
