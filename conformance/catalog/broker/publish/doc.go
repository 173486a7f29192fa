// Package publish holds the broker cases for PUBLISH and its acknowledgements, QoS flows,
// redelivery, ordering and the v5 PUBLISH properties (sections 3.3–3.7, 4.3–4.6).
package publish
