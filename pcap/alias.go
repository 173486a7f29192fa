package pcap

import (
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// maxAliasBytes bounds the topic bytes an AliasTable holds: a hostile capture could otherwise set
// 65535 aliases to topics of 64 KiB each.
const maxAliasBytes = 4 << 20

// AliasTable follows the Topic Alias mappings of one direction of one network connection, as its
// receiver keeps them: a PUBLISH with a Topic Name and a Topic Alias sets (or replaces) the
// mapping, one with an empty Topic Name uses it. Mappings never outlive the connection
// [MQTT-3.3.2-7], so a table belongs to one connection and direction. The zero value is empty
// and ready to use. The reader keeps one per direction for Message.Alias; pcap/check and
// pcap/replay use it on records and on a live target's packets.
type AliasTable struct {
	m     map[uint16]string
	bytes int
	lost  bool // the table overflowed maxAliasBytes and was cleared
}

// Apply records or resolves p's Topic Alias and reports whether p carries one. The returned
// Alias has Alias, Topic, Set and Unset filled in (the Maximum is the caller's to add). Its Topic
// owns its memory, whatever buffer p's strings share.
func (t *AliasTable) Apply(p *codec.Publish) (Alias, bool) {
	if !p.Properties.Has(codec.PropTopicAlias) {
		return Alias{}, false
	}
	a := Alias{Alias: p.Properties.TopicAlias}
	if p.Topic != "" {
		a.Set = true
		if old, ok := t.m[a.Alias]; ok && old == p.Topic {
			a.Topic = old // the same mapping again: no copy
			return a, true
		}
		// The decoder's strings may share the capture's buffers: the table keeps a copy.
		a.Topic = strings.Clone(p.Topic)
		if t.m == nil {
			t.m = map[uint16]string{}
		}
		t.bytes += len(a.Topic) - len(t.m[a.Alias])
		if t.bytes > maxAliasBytes {
			clear(t.m)
			t.bytes, t.lost = len(a.Topic), true
		}
		t.m[a.Alias] = a.Topic
		return a, true
	}
	topic, ok := t.m[a.Alias]
	a.Topic = topic
	// After an overflow a missing mapping may be one the table dropped: not known to be unset.
	a.Unset = !ok && !t.lost
	return a, true
}

// Topic returns p's topic with its alias resolved through the table (applying p to it): the
// Topic Name when present, else what the alias stands for ("" when it was never set).
func (t *AliasTable) Topic(p *codec.Publish) string {
	if a, ok := t.Apply(p); ok {
		return a.Topic
	}
	return p.Topic
}
