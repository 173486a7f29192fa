package codec

import "fmt"

// Version is an MQTT protocol level as carried in CONNECT.
type Version byte

// Protocol levels. VersionUnknown is accepted only where the version is learnt from a CONNECT.
const (
	VersionUnknown Version = 0
	V31            Version = 3 // MQTT 3.1 ("MQIsdp")
	V311           Version = 4 // MQTT 3.1.1
	V5             Version = 5 // MQTT 5.0
)

// String returns the version as people write it: "3.1", "3.1.1", "5.0".
func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5.0"
	case VersionUnknown:
		return "unknown"
	}
	return fmt.Sprintf("level-%d", byte(v))
}

// Valid reports whether v is one of the three supported protocol levels.
func (v Version) Valid() bool { return v == V31 || v == V311 || v == V5 }

// ParseVersion accepts the spellings users type: "3.1", "3", "3.1.1", "311", "4", "5", "5.0".
func ParseVersion(s string) (Version, error) {
	switch s {
	case "3.1", "3", "31":
		return V31, nil
	case "3.1.1", "311", "4":
		return V311, nil
	case "5", "5.0", "50":
		return V5, nil
	}
	return VersionUnknown, fmt.Errorf("unknown MQTT version %q (want 3.1, 3.1.1 or 5)", s)
}

// PacketType is the control packet type from the high nibble of the fixed header.
type PacketType byte

// Control packet types.
const (
	CONNECT     PacketType = 1
	CONNACK     PacketType = 2
	PUBLISH     PacketType = 3
	PUBACK      PacketType = 4
	PUBREC      PacketType = 5
	PUBREL      PacketType = 6
	PUBCOMP     PacketType = 7
	SUBSCRIBE   PacketType = 8
	SUBACK      PacketType = 9
	UNSUBSCRIBE PacketType = 10
	UNSUBACK    PacketType = 11
	PINGREQ     PacketType = 12
	PINGRESP    PacketType = 13
	DISCONNECT  PacketType = 14
	AUTH        PacketType = 15
)

var packetTypeNames = [16]string{"RESERVED0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// String returns the upper-case packet name used in the specification.
func (t PacketType) String() string {
	if t < 16 {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("TYPE%d", byte(t))
}

// requiredFlags is the fixed-header flag nibble every packet type other than PUBLISH must carry.
var requiredFlags = [16]byte{PUBREL: 2, SUBSCRIBE: 2, UNSUBSCRIBE: 2}
