package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/reference/client"
)

func init() { rootCmd.AddCommand(newPubCmd()) }

type pubFlags struct {
	clientFlags
	topic       string
	message     string
	file        string
	lines       bool
	stdin       bool
	null        bool
	qos         int
	retain      bool
	repeat      int
	repeatDelay float64
}

func newPubCmd() *cobra.Command {
	f := &pubFlags{}
	cmd := &cobra.Command{
		Use:   "pub -t TOPIC (-m MSG | -f FILE | -l | -s | -n) [flags]",
		Short: "Publish MQTT messages with the reference client (flags as in mosquitto_pub)",
		Long: `Publish one message, or one per line of stdin, with mqttspec's reference client, then
disconnect. The flags mirror mosquitto_pub. MQTT 5 properties are set with -D, as in
mosquitto_pub: -D publish user-property key value, -D connect session-expiry-interval 60.

Exit status: 0 when every message completed its QoS flow; 1 when the broker refused (CONNACK
reason such as not authorized, a PUBACK/PUBREC error reason, a size or QoS limit); 2 for bad
flags, unreachable brokers and protocol failures.`,
		Example: `  mqttspec pub -h 127.0.0.1 -p 1883 -t sensors/1 -m 21.5 -q 1
  mqttspec pub --url tls://broker:8883 --cafile ca.pem -t a/b -f payload.bin -r
  mqttspec pub -V 5 -t a/b -m hi -D publish user-property source cli -D publish message-expiry-interval 30
  tail -f log | mqttspec pub -t logs -l`,
		Args:          cobra.ArbitraryArgs, // the values of -D
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPub(cmd, f, args)
		},
	}
	fs := cmd.Flags()
	f.register(fs, "pub")
	fs.StringVarP(&f.topic, "topic", "t", "", "topic to publish to")
	fs.StringVarP(&f.message, "message", "m", "", "message payload")
	fs.StringVarP(&f.file, "file", "f", "", "send the contents of a file as the payload")
	fs.BoolVarP(&f.lines, "stdin-line", "l", false, "send each line of stdin as a message")
	fs.BoolVarP(&f.stdin, "stdin-file", "s", false, "send all of stdin as one message")
	fs.BoolVarP(&f.null, "null-message", "n", false, "send an empty message")
	fs.IntVarP(&f.qos, "qos", "q", 0, "QoS: 0, 1 or 2")
	fs.BoolVarP(&f.retain, "retain", "r", false, "retain the message")
	fs.IntVar(&f.repeat, "repeat", 1, "publish the message this many times")
	fs.Float64Var(&f.repeatDelay, "repeat-delay", 0, "seconds between repeated messages")
	return cmd
}

// maxPayload bounds a payload read from a file or stdin: the largest a PUBLISH can carry.
const maxPayload = codec.MaxVarint

func runPub(cmd *cobra.Command, f *pubFlags, args []string) error {
	s, err := f.setup(cmd, "pub", args)
	if err != nil {
		return failWith(exitUsage, err)
	}
	if f.topic == "" {
		f.topic = s.topic
	}
	if f.topic == "" {
		return failWith(exitUsage, errors.New("no topic: -t is required"))
	}
	if !codec.ValidTopicName(f.topic) {
		return failWith(exitUsage, fmt.Errorf("-t %q: not a valid topic name (no + or #, valid UTF-8)", f.topic))
	}
	if f.qos < 0 || f.qos > 2 {
		return failWith(exitUsage, fmt.Errorf("-q %d: QoS must be 0, 1 or 2", f.qos))
	}
	if f.repeat < 1 || f.repeatDelay < 0 {
		return failWith(exitUsage, errors.New("--repeat must be at least 1 and --repeat-delay not negative"))
	}
	sources := 0
	for _, set := range []bool{cmd.Flags().Changed("message"), f.file != "", f.lines, f.stdin, f.null} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return failWith(exitUsage, errors.New("give exactly one of -m, -f, -l, -s and -n"))
	}
	var payload []byte
	switch {
	case cmd.Flags().Changed("message"):
		payload = []byte(f.message)
	case f.file != "":
		if payload, err = readLimited(f.file, maxPayload); err != nil {
			return failWith(exitUsage, fmt.Errorf("-f: %w", err))
		}
	case f.stdin:
		if payload, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxPayload+1)); err != nil {
			return failWith(exitUsage, fmt.Errorf("read stdin: %w", err))
		}
		if len(payload) > maxPayload {
			return failWith(exitUsage, fmt.Errorf("stdin holds more than %d bytes", maxPayload))
		}
	}
	var props codec.Properties
	if pp := s.props["publish"]; pp != nil {
		props = *pp
	}

	ctx, stop := signalContext(cmd.Context())
	defer stop()
	c, err := client.Dial(ctx, s.url, s.opts)
	if err != nil {
		return clientExit(&f.clientFlags, s.url, err)
	}
	publish := func(p []byte) error {
		return c.Publish(ctx, &client.Message{Topic: f.topic, QoS: byte(f.qos), Retain: f.retain, Payload: p, Properties: props})
	}
	err = func() error {
		if f.lines {
			sc := bufio.NewScanner(cmd.InOrStdin())
			sc.Buffer(make([]byte, 64<<10), maxPayload)
			for sc.Scan() {
				if err := publish(sc.Bytes()); err != nil {
					return err
				}
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("read stdin: %w", err)
			}
			return nil
		}
		for i := 0; i < f.repeat; i++ {
			if i > 0 && f.repeatDelay > 0 {
				select {
				case <-time.After(secondsDuration(f.repeatDelay)):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := publish(payload); err != nil {
				return err
			}
		}
		return nil
	}()
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	derr := c.DisconnectWith(dctx, s.disc)
	if err == nil && derr != nil && !errors.Is(derr, client.ErrClosed) {
		err = derr
	}
	return clientExit(&f.clientFlags, s.url, err)
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
