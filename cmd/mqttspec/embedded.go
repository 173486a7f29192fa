package main

import (
	"context"
	"strings"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/conformance/embedded"
	"github.com/mqttspec/mqttspec/reference/broker"
)

func init() {
	embeddedTarget = func(ctx context.Context, faults []string) (*conformance.Target, func(), error) {
		o := embedded.Options()
		o.Faults = faults
		broker.ConfigureFaults(&o, faults)
		tg, stop, err := embedded.Start(ctx, o)
		if err == nil && len(faults) > 0 {
			tg.Name += " with faults " + strings.Join(faults, ",")
		}
		return tg, stop, err
	}
}
