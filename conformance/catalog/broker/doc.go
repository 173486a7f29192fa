// Package broker is the broker conformance catalog. The cases live in subpackages by area, one
// file per specification section inside each (connection/3_1_connect.go, publish/3_3_publish.go,
// …); importing this package registers all of them with package catalog.
//
// Conventions for cases: one case, one observable claim; cite every statement the case checks
// (3.1.1 and 5.0 IDs side by side when the rule exists in both); assert exact fields; keep waits
// short (keep alive 1 s where timing matters) so the whole catalog runs in well under a minute.
package broker

import (
	// The areas of the catalog.
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker/connection"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker/publish"
	_ "github.com/mqttspec/mqttspec/conformance/catalog/broker/subscribe"
)
