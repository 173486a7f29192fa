// Package client is the client conformance catalog: cases in which mqttspec plays a scripted
// broker on a loopback port and checks what the client under test sends, one file per
// specification section (3_1_connect.go, 3_3_publish.go, 4_4_redelivery.go, …). Importing the
// package registers its cases with package catalog.
//
// A case starts the client through the run's driver (t.StartClient with a conformance.Action),
// accepts its connection (t.AcceptOrRefuse where the client may refuse before connecting), answers
// with chosen packets — normal, withheld, delayed, duplicated or malformed — and asserts exact
// fields of what the client sends. The scripted broker answers the client's PINGREQs itself once
// it has accepted the connection, so a case expects only what it is about; the keep alive cases
// switch that off (Conn.AnswerPings) to see the PINGREQs. Waits are short (keep alive 1 s where
// timing matters) and every case has its own listener, so cases run in parallel.
package client
