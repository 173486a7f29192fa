// Package connection holds the broker cases for the connection lifecycle and the data
// representation: CONNECT, CONNACK, keep alive, wills, authentication, DISCONNECT, AUTH, and
// malformed packets of chapters 1 and 2 (sections 1–2, 3.1, 3.2, 3.12, 3.14, 3.15, 4.12).
package connection
