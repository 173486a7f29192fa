package topics

import (
	"fmt"
	"slices"
	"sort"
	"testing"
)

func TestMatchFilter(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		// Section 4.7.1.2 examples.
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"sport/#", "sport", true},
		{"#", "sport/tennis", true},
		// Section 4.7.1.3 examples.
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player2", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		{"sport/+", "sport/", true},
		{"+/+", "/finance", true},
		{"/+", "/finance", true},
		{"+", "/finance", false},
		{"+/tennis/#", "sport/tennis/player1", true},
		// Exact and empty levels.
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
		{"A/b", "a/b", false},
		// $-topics (MQTT-4.7.2-1).
		{"#", "$SYS/broker", false},
		{"+/monitor/Clients", "$SYS/monitor/Clients", false},
		{"$SYS/#", "$SYS/monitor/Clients", true},
		{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	}
	for _, tc := range tests {
		if got := MatchFilter(tc.filter, tc.topic); got != tc.want {
			t.Errorf("MatchFilter(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

// TestTreeAgreesWithMatchFilter checks the tree against the plain matcher over every pair of a
// filter and a topic set.
func TestTreeAgreesWithMatchFilter(t *testing.T) {
	filters := []string{"#", "+", "a", "a/#", "a/+", "a/b", "a/b/#", "a/+/c", "+/b", "+/+", "+/#",
		"/", "/#", "/+", "a//c", "a/+/#", "$SYS/#", "$SYS/+", "+/b/#", "a/b/c/d", "", "a/"}
	topicsList := []string{"a", "a/b", "a/b/c", "a/x/c", "b", "/", "/a", "a//c", "$SYS", "$SYS/a",
		"$SYS/a/b", "x/b", "a/b/c/d", "a/", "", "$", "a/b/"}
	tr := New[int]()
	for i, f := range filters {
		tr.Subscribe(i, f, Options{QoS: byte(i % 3)})
	}
	for _, topic := range topicsList {
		var got []string
		for _, m := range tr.Match(topic, nil, nil) {
			got = append(got, filters[m.Key])
		}
		var want []string
		for _, f := range filters {
			if f != "" && MatchFilter(f, topic) {
				want = append(want, f)
			}
		}
		if f := ""; topic == "" && slices.Contains(filters, f) {
			want = append(want, f) // the tree stores "" as one empty level: it matches ""
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("topic %q: tree matched %q, MatchFilter %q", topic, got, want)
		}
	}
}

func TestSubscribeReplaceAndUnsubscribe(t *testing.T) {
	tr := New[string]()
	if tr.Subscribe("c1", "a/+", Options{QoS: 1}) {
		t.Fatal("first subscribe reported an existing subscription")
	}
	if !tr.Subscribe("c1", "a/+", Options{QoS: 2, ID: 7}) {
		t.Fatal("second subscribe to the same filter must replace (MQTT-3.8.4-3)")
	}
	m := tr.Match("a/b", nil, nil)
	if len(m) != 1 || m[0].Options.QoS != 2 || m[0].Options.ID != 7 {
		t.Fatalf("after replace got %+v", m)
	}
	if tr.Unsubscribe("c1", "a/b") {
		t.Fatal("unsubscribe matched a filter character by character that differs (MQTT-3.10.4-1)")
	}
	if !tr.Unsubscribe("c1", "a/+") {
		t.Fatal("unsubscribe of the subscribed filter failed")
	}
	if tr.Unsubscribe("c1", "a/+") {
		t.Fatal("second unsubscribe found a subscription")
	}
	if !tr.root.empty() || tr.Len() != 0 {
		t.Fatalf("nodes not pruned: root %+v, len %d", tr.root, tr.Len())
	}
}

func TestSharedRoundRobin(t *testing.T) {
	tr := New[string]()
	for _, k := range []string{"c1", "c2", "c3"} {
		tr.SubscribeShared(k, "g", "s/+", Options{QoS: 1})
	}
	tr.SubscribeShared("c4", "h", "s/+", Options{QoS: 0})
	tr.Subscribe("c5", "s/#", Options{})
	counts := map[string]int{}
	for i := 0; i < 30; i++ {
		ms := tr.Match("s/x", nil, nil)
		if len(ms) != 3 {
			t.Fatalf("want one member per group plus the plain subscription, got %+v", ms)
		}
		for _, m := range ms {
			counts[m.Key]++
			if m.Key != "c5" && (m.Filter != "s/+" || m.Group == "") {
				t.Fatalf("shared match without filter/group: %+v", m)
			}
		}
	}
	want := map[string]int{"c1": 10, "c2": 10, "c3": 10, "c4": 30, "c5": 30}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("distribution %v, want %v", counts, want)
	}
	// prefer skips members it rejects.
	for i := 0; i < 5; i++ {
		for _, m := range tr.Match("s/x", func(k string) bool { return k == "c2" || k == "c4" }, nil) {
			if m.Group == "g" && m.Key != "c2" {
				t.Fatalf("prefer ignored: picked %s", m.Key)
			}
		}
	}
	if !tr.UnsubscribeShared("c2", "g", "s/+") || tr.UnsubscribeShared("c2", "g", "s/+") {
		t.Fatal("UnsubscribeShared result wrong")
	}
}

// TestAll checks that All returns every subscription once, with the filter it was made with.
func TestAll(t *testing.T) {
	tr := New[string]()
	if got := tr.All(nil); len(got) != 0 {
		t.Fatalf("empty tree: %+v", got)
	}
	tr.Subscribe("c1", "a/+/c", Options{QoS: 1})
	tr.Subscribe("c2", "a/+/c", Options{QoS: 2})
	tr.Subscribe("c1", "#", Options{})
	tr.Subscribe("c3", "", Options{})
	tr.Subscribe("c3", "/x/#", Options{ID: 9})
	tr.SubscribeShared("c4", "g", "a/+/c", Options{QoS: 1})
	tr.SubscribeShared("c5", "h", "$SYS/+", Options{})
	tr.Unsubscribe("c2", "a/+/c")
	var got []string
	for _, m := range tr.All(nil) {
		got = append(got, fmt.Sprintf("%s %s %s q%d id%d", m.Key, m.Group, m.Filter, m.Options.QoS, m.Options.ID))
	}
	sort.Strings(got)
	want := []string{"c1  # q0 id0", "c1  a/+/c q1 id0", "c3   q0 id0", "c3  /x/# q0 id9", "c4 g a/+/c q1 id0", "c5 h $SYS/+ q0 id0"}
	if !slices.Equal(got, want) {
		t.Fatalf("All:\n got  %q\n want %q", got, want)
	}
	if n := len(tr.All(nil)); n != tr.Len() {
		t.Fatalf("All returned %d subscriptions, Len %d", n, tr.Len())
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		pattern, filter string
		want            bool
	}{
		{"#", "a/b", true},
		{"#", "#", true},
		{"#", "$SYS/a", false},
		{"$SYS/#", "$SYS/a", true},
		{"a/#", "a", true},
		{"a/#", "a/+/c", true},
		{"a/#", "b/#", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/b", "a/+", false},
		{"a/b", "a/b", true},
		{"a/+/c", "a/x/c", true},
		{"a/+/c", "a/x/d", false},
		{"+/b", "a/b/c", false},
	}
	for _, tc := range tests {
		if got := Covers(tc.pattern, tc.filter); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.pattern, tc.filter, got, tc.want)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	tr := New[int]()
	for i := 0; i < 10000; i++ {
		tr.Subscribe(i, fmt.Sprintf("dev/%d/+", i), Options{})
	}
	tr.Subscribe(-1, "dev/#", Options{})
	var out []Match[int]
	b.ReportAllocs()
	for b.Loop() {
		out = tr.Match("dev/5000/temp", nil, out[:0])
	}
	if len(out) != 2 {
		b.Fatalf("got %d matches", len(out))
	}
}

func TestPickShared(t *testing.T) {
	tr := New[string]()
	if _, ok := tr.PickShared("g", "a/b", nil); ok {
		t.Fatal("picked from an empty tree")
	}
	tr.SubscribeShared("x", "g", "a/b", Options{QoS: 1})
	tr.SubscribeShared("y", "g", "a/b", Options{QoS: 2})
	if m, ok := tr.PickShared("g", "a/b", func(k string) bool { return k == "y" }); !ok || m.Key != "y" || m.Options.QoS != 2 {
		t.Fatalf("PickShared = %+v %v", m, ok)
	}
	if _, ok := tr.PickShared("h", "a/b", nil); ok {
		t.Fatal("picked from another group")
	}
	if _, ok := tr.PickShared("g", "a", nil); ok {
		t.Fatal("picked from another filter")
	}
}

func TestManySubscribersOneFilter(t *testing.T) {
	tr := New[int]()
	for i := 0; i < 100; i++ {
		tr.Subscribe(i, "x/+", Options{QoS: byte(i % 3)})
	}
	for i := 0; i < 100; i += 3 {
		if !tr.Unsubscribe(i, "x/+") {
			t.Fatalf("unsubscribe %d", i)
		}
	}
	tr.Subscribe(4, "x/+", Options{QoS: 2, ID: 44}) // replace after swaps moved it
	got := map[int]Options{}
	for _, m := range tr.Match("x/y", nil, nil) {
		if _, dup := got[m.Key]; dup {
			t.Fatalf("subscriber %d matched twice", m.Key)
		}
		got[m.Key] = m.Options
	}
	for i := 0; i < 100; i++ {
		o, ok := got[i]
		if ok == (i%3 == 0) {
			t.Fatalf("subscriber %d present=%v", i, ok)
		}
		if i == 4 && (o.QoS != 2 || o.ID != 44) {
			t.Fatalf("replaced options lost: %+v", o)
		}
	}
	if tr.Len() != 66 {
		t.Fatalf("Len %d, want 66", tr.Len())
	}
}
