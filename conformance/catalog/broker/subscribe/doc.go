// Package subscribe holds the broker cases for subscriptions, topics and wildcards, shared
// subscriptions, flow control, sessions and error handling (sections 3.8–3.13, 4.1, 4.7–4.9, 4.13).
package subscribe
