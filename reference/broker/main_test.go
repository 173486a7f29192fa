package broker_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/mqttspec/mqttspec/reference/broker"
)

// childEnv makes the test binary run a bare broker instead of tests, so that a benchmark can
// measure the broker's own memory in a separate process.
const childEnv = "MQTTSPEC_BROKER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild serves on a random loopback port, prints the address and exits when stdin closes.
func runChild() int {
	srv, err := broker.New(broker.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a, err := srv.ListenAndServe(context.Background(), "tcp://127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(a.String())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
	return 0
}
