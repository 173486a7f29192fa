package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client"
)

func init() { rootCmd.AddCommand(newSubCmd()) }

type subFlags struct {
	clientFlags
	topics      []string
	qos         int
	verbose     bool
	count       int
	timeout     float64
	noRetained  bool
	retainOnly  bool
	exitAfter   bool
	noNewline   bool
	filterOut   []string
	noLocal     bool
	retainAsPub bool
}

func newSubCmd() *cobra.Command {
	f := &subFlags{}
	cmd := &cobra.Command{
		Use:   "sub -t FILTER [-t FILTER…] [flags]",
		Short: "Subscribe and print MQTT messages with the reference client (flags as in mosquitto_sub)",
		Long: `Subscribe with mqttspec's reference client and print each message's payload (with -v,
the topic first), one per line. The flags mirror mosquitto_sub; MQTT 5 properties are set with -D
(-D subscribe subscription-identifier 7). The client reconnects when the connection is lost.

Exit status: 0 after -C messages, -E, or an interrupt; 1 when the broker refused (CONNACK
reason such as not authorized, a SUBACK failure) or -W expired first; 2 for bad flags,
unreachable brokers and protocol failures.`,
		Example: `  mqttspec sub -h 127.0.0.1 -t 'sensors/#' -v
  mqttspec sub --url ws://127.0.0.1:8080/mqtt -t a/b -C 1 -W 5
  mqttspec sub -V 5 -t a/+ -q 2 -c -i me -x 3600`,
		Args:          cobra.ArbitraryArgs, // the values of -D
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSub(cmd, f, args)
		},
	}
	fs := cmd.Flags()
	f.register(fs, "sub")
	fs.StringArrayVarP(&f.topics, "topic", "t", nil, "topic filter to subscribe to (repeatable)")
	fs.IntVarP(&f.qos, "qos", "q", 0, "QoS to subscribe with: 0, 1 or 2")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print the topic before the payload")
	fs.IntVarP(&f.count, "count", "C", 0, "exit after this many messages")
	fs.Float64VarP(&f.timeout, "timeout", "W", 0, "exit with status 1 if -C messages did not arrive within this many seconds (without -C: exit 0 after it)")
	fs.BoolVarP(&f.noRetained, "retained-skip", "R", false, "do not print retained messages (stale on arrival)")
	fs.BoolVar(&f.retainOnly, "retained-only", false, "print only retained messages; exit at the first non-retained one")
	fs.BoolVarP(&f.exitAfter, "exit-after-subscribe", "E", false, "exit once the subscription is acknowledged")
	fs.BoolVarP(&f.noNewline, "no-newline", "N", false, "do not print a newline after each payload")
	fs.StringArrayVarP(&f.filterOut, "filter-out", "T", nil, "do not print messages matching this filter (repeatable)")
	fs.BoolVar(&f.noLocal, "nl", false, "MQTT 5 No Local: not our own messages")
	fs.BoolVar(&f.retainAsPub, "rap", false, "MQTT 5 Retain As Published")
	return cmd
}

func runSub(cmd *cobra.Command, f *subFlags, args []string) error {
	s, err := f.setup(cmd, "sub", args)
	if err != nil {
		return failWith(exitUsage, err)
	}
	if len(f.topics) == 0 && s.topic != "" {
		f.topics = []string{s.topic}
	}
	if len(f.topics) == 0 {
		return failWith(exitUsage, errors.New("no topic filter: -t is required"))
	}
	if f.qos < 0 || f.qos > 2 {
		return failWith(exitUsage, fmt.Errorf("-q %d: QoS must be 0, 1 or 2", f.qos))
	}
	if f.count < 0 || f.timeout < 0 {
		return failWith(exitUsage, errors.New("-C and -W must not be negative"))
	}
	v := s.opts.Version
	if (f.noLocal || f.retainAsPub) && v != codec.V5 {
		return failWith(exitUsage, errors.New("--nl and --rap need MQTT 5 (-V 5)"))
	}
	subs := make([]codec.Subscription, len(f.topics))
	for i, t := range f.topics {
		if !codec.ValidTopicFilter(t, v) {
			return failWith(exitUsage, fmt.Errorf("-t %q: not a valid topic filter", t))
		}
		subs[i] = codec.Subscription{Filter: t, QoS: byte(f.qos), NoLocal: f.noLocal, RetainAsPublished: f.retainAsPub}
	}
	for _, t := range f.filterOut {
		if !codec.ValidTopicFilter(t, v) {
			return failWith(exitUsage, fmt.Errorf("-T %q: not a valid topic filter", t))
		}
	}
	var reqOpts []client.RequestOption
	if sp := s.props["subscribe"]; sp != nil {
		for _, id := range sp.SubscriptionIDs {
			reqOpts = append(reqOpts, client.WithSubscriptionID(id))
		}
		for _, u := range sp.User {
			reqOpts = append(reqOpts, client.WithUserProperty(u.Key, u.Value))
		}
	}

	ctx, stop := signalContext(cmd.Context())
	defer stop()
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, secondsDuration(f.timeout))
		defer cancel()
	}
	out := bufio.NewWriter(cmd.OutOrStdout())
	var (
		mu      sync.Mutex
		printed int
		done    = make(chan struct{})
		once    sync.Once
	)
	finish := func() { once.Do(func() { close(done) }) }
	handler := func(m *client.Message) {
		mu.Lock()
		defer mu.Unlock()
		if f.count > 0 && printed >= f.count {
			return
		}
		if f.retainOnly && !m.Retain {
			finish()
			return
		}
		if f.noRetained && m.Retain {
			return
		}
		for _, t := range f.filterOut {
			if codec.MatchTopic(t, m.Topic) {
				return
			}
		}
		if f.verbose {
			out.WriteString(m.Topic)
			out.WriteByte(' ')
		}
		out.Write(m.Payload)
		if !f.noNewline {
			out.WriteByte('\n')
		}
		out.Flush()
		printed++
		if f.count > 0 && printed >= f.count {
			finish()
		}
	}
	s.opts.AutoReconnect = true
	s.opts.OnMessage = handler // messages a resumed session delivers before SUBSCRIBE
	if !f.quiet {
		errOut := cmd.ErrOrStderr()
		s.opts.OnConnectionLost = func(_ *client.Client, err error) {
			fmt.Fprintf(errOut, "mqttspec sub: connection lost (%v); reconnecting\n", err)
		}
	}
	c, err := client.Dial(ctx, s.url, s.opts)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && f.timeout > 0 {
			return clientExit(&f.clientFlags, s.url, fmt.Errorf("timed out after %vs while connecting to %s", f.timeout, s.url))
		}
		return clientExit(&f.clientFlags, s.url, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.DisconnectWith(dctx, s.disc)
	}()
	if _, err := c.Subscribe(ctx, subs, handler, reqOpts...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %vs waiting for SUBACK", f.timeout)
		}
		return clientExit(&f.clientFlags, s.url, err)
	}
	if f.exitAfter {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-c.Done():
		return clientExit(&f.clientFlags, s.url, c.Err())
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			mu.Lock()
			n := printed
			mu.Unlock()
			if f.count == 0 {
				return nil // -W alone: listen for that long
			}
			err := fmt.Errorf("timed out after %vs with %d of %d messages", f.timeout, n, f.count)
			if f.quiet {
				err = errors.New("")
			}
			return failWith(exitFailures, err)
		}
		return nil // interrupted
	}
}
