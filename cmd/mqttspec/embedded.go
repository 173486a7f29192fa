package main

import (
	"context"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/embedded"
)

func init() {
	embeddedTarget = func(ctx context.Context) (*conformance.Target, func(), error) {
		return embedded.Start(ctx, embedded.Options())
	}
}
