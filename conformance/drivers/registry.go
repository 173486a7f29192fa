package drivers

import (
	"context"
	"fmt"
	"strings"

	"github.com/mqttspec/mqttspec/conformance"
)

// Names lists the drivers ByName knows.
var Names = []string{"reference", "mosquitto", "mqttjs", "paho", "pahoc", "pahopython", "cmd"}

// Config holds what ByName needs beyond a driver's name.
type Config struct {
	// Command is the cmd driver's template for every operation; Templates override it per
	// operation.
	Command   string
	Templates map[conformance.Op]string
	// RefusalExitCodes are the cmd program's exit statuses that mean "refused before connecting"
	// (Command.RefusalExitCodes).
	RefusalExitCodes []int
}

// ByName returns the named driver, ready to use (programs found, the paho program built), and a
// function that releases what it holds (temporary files).
func ByName(ctx context.Context, name string, cfg Config) (conformance.Driver, func() error, error) {
	noop := func() error { return nil }
	switch name {
	case "reference":
		return Reference(), noop, nil
	case "mosquitto":
		m := &Mosquitto{}
		if err := m.Available(); err != nil {
			return nil, nil, err
		}
		return m, noop, nil
	case "mqttjs":
		m := &MQTTjs{}
		if err := m.Available(); err != nil {
			return nil, nil, err
		}
		return m, m.Close, nil
	case "paho":
		p := &Paho{}
		if _, err := p.Build(ctx); err != nil {
			p.Close()
			return nil, nil, err
		}
		return p, p.Close, nil
	case "pahoc":
		p := &PahoC{}
		if err := p.Available(); err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	case "pahopython":
		p := &PahoPython{}
		if err := p.Available(); err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	case "cmd":
		c := &Command{Default: cfg.Command, Templates: cfg.Templates, RefusalExitCodes: cfg.RefusalExitCodes}
		if err := c.Check(); err != nil {
			return nil, nil, err
		}
		return c, noop, nil
	}
	return nil, nil, fmt.Errorf("unknown driver %q (want one of %s)", name, strings.Join(Names, ", "))
}
