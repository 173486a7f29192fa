// Command mqttspec is the MQTT conformance test suite: conformance runs against brokers and
// clients, a reference broker and client, fuzzers, capture analysis and compliance reports.
//
// Each subcommand lives in its own file and registers itself on the root command in init.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand (see shared/DESIGN.md, CLI conventions).
const (
	exitOK       = 0
	exitFailures = 1 // the run worked and found MUST failures (or the command's equivalent)
	exitUsage    = 2 // bad flags, bad input, infrastructure errors
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// failWith wraps err so that main exits with code.
func failWith(code int, err error) error { return &exitError{code: code, err: err} }

// signalContext is the context of every command that runs until it is stopped: it ends on SIGINT
// (Ctrl-C) and on SIGTERM (docker stop, a CI job's cancellation), so that every command shuts
// down, writes what it has and exits the same way whichever signal ended it.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

var rootCmd = &cobra.Command{
	Use:           "mqttspec",
	Short:         "MQTT 3.1.1 and 5.0 conformance test suite",
	Long:          "mqttspec tests MQTT brokers and clients against the MQTT 3.1.1 and 5.0 specifications.",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI with args and returns the process exit code.
func run(args []string) int {
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "mqttspec:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "mqttspec:", err)
	return exitUsage
}
