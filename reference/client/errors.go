package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// Errors the client returns; check them with errors.Is.
var (
	// ErrClosed: the client was disconnected with Disconnect, or its connection ended without
	// AutoReconnect. In-flight QoS 1/2 messages stay in the store for a later client.
	ErrClosed = errors.New("client: closed")
	// ErrNotConnected: a QoS 0 message, SUBSCRIBE or UNSUBSCRIBE while the client reconnects.
	ErrNotConnected = errors.New("client: not connected")
	// ErrConnectionLost wraps the reason a connection ended: a SUBSCRIBE or UNSUBSCRIBE waiting
	// for its acknowledgement fails with it, and so does everything once the client gives up.
	ErrConnectionLost = errors.New("client: connection lost")
	// ErrSessionLost: the server answered a reconnection with Session Present 0, so the client
	// discarded the QoS 1/2 flow (MQTT-3.2.2-5); the message may or may not have been delivered.
	ErrSessionLost = errors.New("client: the server did not keep the session; in-flight message discarded")
	// ErrKeepAliveTimeout: nothing arrived from the server within 1.5 times the keep alive.
	ErrKeepAliveTimeout = errors.New("client: no packet from the server within 1.5 times the keep alive")
	// ErrPacketTooLarge: the packet exceeds the server's Maximum Packet Size (MQTT-3.2.2-15).
	ErrPacketTooLarge = errors.New("client: packet exceeds the server's Maximum Packet Size")
	// ErrQoSNotSupported: the QoS is above the server's Maximum QoS (MQTT-3.2.2-11).
	ErrQoSNotSupported = errors.New("client: QoS above the server's Maximum QoS")
	// ErrRetainNotSupported: the server announced Retain Available 0 (MQTT-3.2.2-14).
	ErrRetainNotSupported = errors.New("client: the server does not support retained messages")
)

// ErrInvalidOptions: Dial refused the Options before connecting, because they would make the
// client break the protocol (a password without a user name on 3.1.1, a zero-length client
// identifier without CleanStart on 3.1.1, …); the error's text names the rule.
var ErrInvalidOptions = errors.New("client: invalid options")

// optionsError is an Options problem found by normalize: its text, and errors.Is
// ErrInvalidOptions.
type optionsError struct{ err error }

func (e optionsError) Error() string        { return e.err.Error() }
func (e optionsError) Unwrap() error        { return e.err }
func (e optionsError) Is(target error) bool { return target == ErrInvalidOptions }

// ConnackError is a CONNACK that refused the connection.
type ConnackError struct {
	Version         codec.Version
	Code            codec.ReasonCode // 5.0 reason code, or the 3.1.1 return code
	ReasonString    string           // 5.0 Reason String, when the server sent one
	ServerReference string           // 5.0 Server Reference (another server to use), when sent
}

// Error renders as "connection refused: 0x87 Not authorized" (5.0) or "connection refused:
// return code 5, Not authorized" (3.1.1).
func (e *ConnackError) Error() string {
	var b strings.Builder
	b.WriteString("connection refused: ")
	if e.Version == codec.V5 {
		fmt.Fprintf(&b, "0x%02X %s", byte(e.Code), e.Code.NameFor(codec.CONNACK, e.Version))
	} else {
		fmt.Fprintf(&b, "return code %d, %s", byte(e.Code), e.Code.NameFor(codec.CONNACK, e.Version))
	}
	if e.ReasonString != "" {
		fmt.Fprintf(&b, " (%s)", e.ReasonString)
	}
	if e.ServerReference != "" {
		fmt.Fprintf(&b, "; use server %s", e.ServerReference)
	}
	return b.String()
}

// NotAuthorized reports whether the server refused the credentials or the client's right to
// connect (5.0 0x86/0x87/0x8C, 3.1.1 return codes 4 and 5).
func (e *ConnackError) NotAuthorized() bool {
	if e.Version == codec.V5 {
		return e.Code == codec.ReasonBadUsernameOrPassword || e.Code == codec.ReasonNotAuthorized ||
			e.Code == codec.ReasonBadAuthenticationMethod
	}
	return e.Code == codec.ConnRefusedBadUsernamePassword || e.Code == codec.ConnRefusedNotAuthorized
}

// ReasonError is an acknowledgement (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) whose reason code
// says the request failed.
type ReasonError struct {
	Packet       codec.PacketType
	Version      codec.Version
	Code         codec.ReasonCode
	Filter       string // SUBACK/UNSUBACK: the topic filter the code answers
	ReasonString string
}

// Error renders as "PUBACK 0x87 Not authorized" or `SUBACK for "a/#": 0x80 Failure`.
func (e *ReasonError) Error() string {
	var b strings.Builder
	b.WriteString(e.Packet.String())
	if e.Filter != "" {
		fmt.Fprintf(&b, " for %q:", e.Filter)
	}
	fmt.Fprintf(&b, " 0x%02X %s", byte(e.Code), e.Code.NameFor(e.Packet, e.Version))
	if e.ReasonString != "" {
		fmt.Fprintf(&b, " (%s)", e.ReasonString)
	}
	return b.String()
}

// DisconnectError is a DISCONNECT the server sent (5.0).
type DisconnectError struct {
	Code            codec.ReasonCode
	ReasonString    string
	ServerReference string
}

// Error renders as "server disconnected: 0x8E Session taken over".
func (e *DisconnectError) Error() string {
	s := fmt.Sprintf("server disconnected: 0x%02X %s", byte(e.Code), e.Code.NameFor(codec.DISCONNECT, codec.V5))
	if e.ReasonString != "" {
		s += " (" + e.ReasonString + ")"
	}
	if e.ServerReference != "" {
		s += "; use server " + e.ServerReference
	}
	return s
}

// ProtocolError is a violation by the server that made the client close the connection; in 5.0
// the client sent DISCONNECT with Reason first.
type ProtocolError struct {
	Reason codec.ReasonCode // what the client's DISCONNECT said (5.0)
	Err    error            // what the server did; often a *codec.Error naming the statement
}

// Error renders as "protocol violation by the server (0x82 Protocol Error): …".
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("protocol violation by the server (0x%02X %s): %v", byte(e.Reason),
		e.Reason.NameFor(codec.DISCONNECT, codec.V5), e.Err)
}

// Unwrap returns the underlying violation.
func (e *ProtocolError) Unwrap() error { return e.Err }

func protocolErrorf(reason codec.ReasonCode, format string, args ...any) *ProtocolError {
	return &ProtocolError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// lost wraps the reason a connection ended so that errors.Is(err, ErrConnectionLost) holds.
func lost(err error) error {
	if err == nil || errors.Is(err, ErrConnectionLost) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

// disconnectCode is the reason code of the DISCONNECT the client sends for a violation of
// reason rc. A DISCONNECT may only carry a DISCONNECT reason code (MQTT-3.14.2-1), and some
// violations carry a code only CONNACK uses (0x84 for a bad protocol level, found by
// FuzzClientSession in a packet received before CONNACK): those become Protocol Error (0x82).
func disconnectCode(rc codec.ReasonCode) codec.ReasonCode {
	if rc.ValidFor(codec.DISCONNECT) {
		return rc
	}
	return codec.ReasonProtocolError
}
