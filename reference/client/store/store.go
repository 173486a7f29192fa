// Package store keeps the session state an MQTT client must not lose: outgoing QoS 1 and 2
// packets not yet fully acknowledged, and incoming QoS 2 packet identifiers awaiting PUBREL.
//
// Memory keeps it for the life of the process; File keeps it in an append-only log on disk, so a
// client restarted with the same file (and the same client identifier) finishes the flows the
// previous process left in the middle.
package store

import (
	"errors"
	"fmt"

	"github.com/mqttspec/mqttspec/codec"
)

// Direction says which side of the session an entry belongs to.
type Direction byte

// Directions.
const (
	// Outgoing entries hold a PUBLISH (QoS 1 or 2, awaiting PUBACK or PUBREC) or a PUBREL
	// (awaiting PUBCOMP) that the client sent, keyed by the client's packet identifier.
	Outgoing Direction = 'o'
	// Incoming entries mark a QoS 2 PUBLISH the client received and acknowledged with PUBREC but
	// whose PUBREL has not arrived yet, keyed by the server's packet identifier.
	Incoming Direction = 'i'
)

// String returns "outgoing" or "incoming".
func (d Direction) String() string {
	switch d {
	case Outgoing:
		return "outgoing"
	case Incoming:
		return "incoming"
	}
	return fmt.Sprintf("direction(%d)", byte(d))
}

// Valid reports whether d is Outgoing or Incoming.
func (d Direction) Valid() bool { return d == Outgoing || d == Incoming }

// Entry is one packet of session state.
type Entry struct {
	Dir     Direction
	ID      uint16        // packet identifier, never 0
	Version codec.Version // version Packet is encoded for
	Packet  []byte        // the encoded MQTT packet
}

// Store holds session state. Implementations are safe for concurrent use.
type Store interface {
	// Put inserts the entry or replaces the one with the same direction and identifier. A
	// replaced entry moves to the end of the order Entries returns. The store may keep e.Packet:
	// the caller must not modify it afterwards.
	Put(e Entry) error
	// Delete removes an entry; deleting an absent entry is not an error.
	Delete(dir Direction, id uint16) error
	// Entries returns every entry in the order of the Put that wrote it.
	Entries() ([]Entry, error)
	// Reset removes every entry (a new session starts).
	Reset() error
	// Close releases the store's resources; later calls fail with ErrClosed.
	Close() error
}

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("store: closed")

func checkEntry(e *Entry) error {
	if !e.Dir.Valid() {
		return fmt.Errorf("store: invalid direction %d", byte(e.Dir))
	}
	if e.ID == 0 {
		return errors.New("store: packet identifier 0")
	}
	if !e.Version.Valid() {
		return fmt.Errorf("store: invalid MQTT version %d", byte(e.Version))
	}
	if len(e.Packet) == 0 {
		return errors.New("store: empty packet")
	}
	return nil
}

type key struct {
	dir Direction
	id  uint16
}

type seqEntry struct {
	Entry
	seq uint64
}
