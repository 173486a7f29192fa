package spec

import "strings"

// Section group titles, keyed by the first two components of the section.
// Chapters 6 and 7 number their statements x.0.0, hence the "6.0" and "7.0"
// keys.
var chapterTitles = map[string]map[string]string{
	V311: {
		"1.5":  "1.5 Data representations",
		"2.2":  "2.2 Fixed header",
		"2.3":  "2.3 Variable header",
		"3.1":  "3.1 CONNECT",
		"3.2":  "3.2 CONNACK",
		"3.3":  "3.3 PUBLISH",
		"3.4":  "3.4 PUBACK",
		"3.5":  "3.5 PUBREC",
		"3.6":  "3.6 PUBREL",
		"3.7":  "3.7 PUBCOMP",
		"3.8":  "3.8 SUBSCRIBE",
		"3.9":  "3.9 SUBACK",
		"3.10": "3.10 UNSUBSCRIBE",
		"3.11": "3.11 UNSUBACK",
		"3.12": "3.12 PINGREQ",
		"3.13": "3.13 PINGRESP",
		"3.14": "3.14 DISCONNECT",
		"4.1":  "4.1 Storing state",
		"4.2":  "4.2 Network connections",
		"4.3":  "4.3 Quality of Service levels and protocol flows",
		"4.4":  "4.4 Message delivery retry",
		"4.5":  "4.5 Message receipt",
		"4.6":  "4.6 Message ordering",
		"4.7":  "4.7 Topic Names and Topic Filters",
		"4.8":  "4.8 Handling errors",
		"6.0":  "6 Using WebSocket as a network transport",
		"7.0":  "7 Conformance",
		"7.1":  "7.1 Conformance targets",
	},
	V5: {
		"1.5":  "1.5 Data representation",
		"2.1":  "2.1 Structure of an MQTT Control Packet",
		"2.2":  "2.2 Variable Header",
		"3.1":  "3.1 CONNECT",
		"3.2":  "3.2 CONNACK",
		"3.3":  "3.3 PUBLISH",
		"3.4":  "3.4 PUBACK",
		"3.5":  "3.5 PUBREC",
		"3.6":  "3.6 PUBREL",
		"3.7":  "3.7 PUBCOMP",
		"3.8":  "3.8 SUBSCRIBE",
		"3.9":  "3.9 SUBACK",
		"3.10": "3.10 UNSUBSCRIBE",
		"3.11": "3.11 UNSUBACK",
		"3.12": "3.12 PINGREQ",
		"3.13": "3.13 PINGRESP",
		"3.14": "3.14 DISCONNECT",
		"3.15": "3.15 AUTH",
		"4.1":  "4.1 Session State",
		"4.2":  "4.2 Network Connections",
		"4.3":  "4.3 Quality of Service levels and protocol flows",
		"4.4":  "4.4 Message delivery retry",
		"4.5":  "4.5 Message receipt",
		"4.6":  "4.6 Message ordering",
		"4.7":  "4.7 Topic Names and Topic Filters",
		"4.8":  "4.8 Subscriptions",
		"4.9":  "4.9 Flow Control",
		"4.10": "4.10 Request / Response",
		"4.11": "4.11 Server redirection",
		"4.12": "4.12 Enhanced authentication",
		"4.13": "4.13 Handling errors",
		"6.0":  "6 Using WebSocket as a network transport",
		"7.0":  "7 Conformance",
	},
}

// chapterOf returns the group title for a section such as "3.1.2", or "" if
// the section is unknown.
func chapterOf(version, section string) string {
	parts := strings.Split(section, ".")
	if len(parts) < 2 {
		return ""
	}
	return chapterTitles[version][parts[0]+"."+parts[1]]
}
