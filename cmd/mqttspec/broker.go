package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/reference/broker"
)

func init() {
	var (
		listens    []string
		certFile   string
		keyFile    string
		configFile string
		logLevel   string
		logFormat  string
		faults     []string
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the reference MQTT broker (3.1, 3.1.1 and 5.0 on every listener)",
		Long: `Run mqttspec's reference broker: the specification to the letter, MQTT 3.1, 3.1.1 and 5.0 on
the same listeners. Listeners are URLs: tcp://, tls://, ws://host:port/path, wss://… (port 0 picks a
free port; the bound address is logged). TLS listeners need --tls-cert and --tls-key (or tls_cert /
tls_key in the config file). --config reads limits, features, users, an ACL and enhanced
authentication methods from a YAML file (see reference/broker/config.go). Logs are structured
(log/slog) on stderr. SIGINT or SIGTERM shuts down gracefully: v5 clients get DISCONNECT 0x8B.`,
		Example: `  mqttspec broker
  mqttspec broker --listen tcp://127.0.0.1:1883 --listen ws://127.0.0.1:8080/mqtt
  mqttspec broker --listen tls://127.0.0.1:8883 --tls-cert cert.pem --tls-key key.pem
  mqttspec broker --config broker.yaml --log-level debug`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o broker.Options
			if configFile != "" {
				var err error
				if o, err = broker.LoadConfig(configFile); err != nil {
					return failWith(exitUsage, err)
				}
			}
			if certFile != "" {
				o.TLSCertFile = certFile
			}
			if keyFile != "" {
				o.TLSKeyFile = keyFile
			}
			o.Faults = append(o.Faults, faults...)
			broker.ConfigureFaults(&o, faults)
			logger, err := newLogger(cmd, logLevel, logFormat)
			if err != nil {
				return failWith(exitUsage, err)
			}
			o.Logger = logger
			if len(listens) == 0 {
				return failWith(exitUsage, fmt.Errorf("no --listen address"))
			}
			srv, err := broker.New(o)
			if err != nil {
				return failWith(exitUsage, err)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			for _, l := range listens {
				addr, err := srv.ListenAndServe(context.Background(), l)
				if err != nil {
					srv.Close()
					return failWith(exitUsage, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "mqttspec broker listening on %s (%s)\n", l, addr)
			}
			<-ctx.Done()
			logger.Info("shutting down")
			if err := srv.Close(); err != nil {
				return failWith(exitFailures, fmt.Errorf("shutdown: %w", err))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&listens, "listen", []string{"tcp://127.0.0.1:1883"}, "listener URL: tcp://, tls://, ws://host:port/path, wss:// (repeatable)")
	fl.StringVar(&certFile, "tls-cert", "", "PEM certificate for tls:// and wss:// listeners")
	fl.StringVar(&keyFile, "tls-key", "", "PEM private key of --tls-cert")
	fl.StringVar(&configFile, "config", "", "YAML configuration file: limits, users, acl, auth_methods, faults")
	fl.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&logFormat, "log-format", "text", "text or json")
	fl.StringArrayVar(&faults, "fault", nil, "switch on a deliberate specification violation, for mutation testing (repeatable; see reference/broker/faults.go)")
	rootCmd.AddCommand(cmd)
}

// newLogger builds the slog logger the broker logs to, on stderr.
func newLogger(cmd *cobra.Command, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), ho)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
