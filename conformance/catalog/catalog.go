// Package catalog is the registry of conformance cases. The cases themselves live in the
// subpackages broker and client, one file per specification section, and register here from
// package-level variables, so importing a subpackage is enough to make its cases available.
package catalog

import (
	"fmt"
	"sort"
	"sync"

	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reports"
)

var (
	mu      sync.Mutex
	broker  []conformance.Case
	client  []conformance.Case
	idsSeen = map[string]bool{}
)

// Broker registers a broker case, recording the line of the call as its Source, and returns
// it. It panics on a malformed case or a duplicate ID: registration runs at init, so a broken catalog fails every build's tests at once.
func Broker(c conformance.Case) conformance.Case {
	c.Role = conformance.RoleBroker
	c.Source = conformance.CallerSource(0)
	register(&broker, c)
	return c
}

// Client registers a client case and returns it.
func Client(c conformance.Case) conformance.Case {
	c.Role = conformance.RoleClient
	c.Source = conformance.CallerSource(0)
	register(&client, c)
	return c
}

func register(list *[]conformance.Case, c conformance.Case) {
	if err := c.Validate(); err != nil {
		panic("catalog: " + err.Error())
	}
	mu.Lock()
	defer mu.Unlock()
	key := string(c.Role) + ":" + c.ID
	if idsSeen[key] {
		panic(fmt.Sprintf("catalog: duplicate case ID %s", c.ID))
	}
	idsSeen[key] = true
	*list = append(*list, c)
}

// BrokerCases returns the registered broker cases sorted by section and ID.
func BrokerCases() []conformance.Case { return sorted(broker) }

// ClientCases returns the registered client cases sorted by section and ID.
func ClientCases() []conformance.Case { return sorted(client) }

func sorted(list []conformance.Case) []conformance.Case {
	mu.Lock()
	out := append([]conformance.Case(nil), list...)
	mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool {
		if c := reports.CompareSections(out[i].Section(), out[j].Section()); c != 0 {
			return c < 0
		}
		return out[i].ID < out[j].ID
	})
	return out
}
