// Package broker is the broker conformance catalog: one file per specification section, named
// after it (3_1_connect.go holds the cases whose IDs start "3.1/", 4_7_topics.go those of
// "4.7/"), so a case ID found in a report leads to one file. Importing the package registers
// every case with package catalog.
//
// Conventions for cases: one case, one observable claim; register it with catalog.Broker and
// list its statements before Run, qualifying an ID with its version ("3.1.1:MQTT-3.1.2-24") where
// the two specifications give the same number to different rules; a case that runs on both
// versions is one case with one ID, and results keep the version of each run. Assert exact
// fields, and keep waits short (keep alive 1 s where timing matters) so that the whole catalog
// runs in well under a minute. Pieces more than one section needs live in the engine
// (package conformance) or in the support_*.go files here.
package broker
