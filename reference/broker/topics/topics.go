// Package topics is the reference broker's subscription tree: topic filters stored level by level,
// matched against topic names with the + and # wildcards, the $-topic rule of section 4.7.2 and
// v5 shared subscriptions ($share/{group}/{filter}) picked round-robin.
package topics

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Options are the subscription options stored with one subscription (section 3.8.3.1).
type Options struct {
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	ID                uint32 // Subscription Identifier, 0 when none
}

// Match is one subscriber of a topic with the options of the subscription that matched.
type Match[K comparable] struct {
	Key     K
	Options Options
	Filter  string // shared subscriptions (and every entry All returns): the filter, after $share/{group}/ for a shared one
	Group   string // shared subscriptions only: the share name
}

// Tree holds subscriptions keyed by subscriber K. It is safe for concurrent use; Match takes a
// read lock only.
type Tree[K comparable] struct {
	mu   sync.RWMutex
	root *node[K]
	n    int
}

// node is one topic level. The + and # children have their own fields and subscribers are kept
// in slices, so that matching (the hot path) does few map lookups and no map iteration.
type node[K comparable] struct {
	children map[string]*node[K] // literal levels
	plus     *node[K]
	hash     *node[K]
	subs     []entry[K]
	index    map[K]int // position in subs
	groups   []*group[K]
}

type entry[K comparable] struct {
	key  K
	opts Options
}

type group[K comparable] struct {
	name    string
	filter  string
	members []Match[K]
	next    atomic.Uint32
}

// New returns an empty tree.
func New[K comparable]() *Tree[K] {
	return &Tree[K]{root: &node[K]{}}
}

// Len returns the number of subscriptions (shared memberships included).
func (t *Tree[K]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

func (n *node[K]) child(level string) *node[K] {
	switch level {
	case "+":
		return n.plus
	case "#":
		return n.hash
	}
	return n.children[level]
}

func (n *node[K]) setChild(level string, c *node[K]) {
	switch level {
	case "+":
		n.plus = c
	case "#":
		n.hash = c
	default:
		if c == nil {
			delete(n.children, level)
			return
		}
		if n.children == nil {
			n.children = make(map[string]*node[K])
		}
		n.children[level] = c
	}
}

func (n *node[K]) empty() bool {
	return len(n.children) == 0 && n.plus == nil && n.hash == nil && len(n.subs) == 0 && len(n.groups) == 0
}

func (n *node[K]) group(name string) *group[K] {
	for _, g := range n.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (t *Tree[K]) walkCreate(filter string) *node[K] {
	n := t.root
	for {
		level, rest, more := strings.Cut(filter, "/")
		c := n.child(level)
		if c == nil {
			c = &node[K]{}
			n.setChild(level, c)
		}
		n = c
		if !more {
			return n
		}
		filter = rest
	}
}

// Subscribe adds or replaces k's subscription to filter (a plain filter, not $share/...). It
// reports whether k already had a subscription with this exact filter.
func (t *Tree[K]) Subscribe(k K, filter string, o Options) (existed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.walkCreate(filter)
	if i, ok := n.index[k]; ok {
		n.subs[i].opts = o
		return true
	}
	if n.index == nil {
		n.index = make(map[K]int)
	}
	n.index[k] = len(n.subs)
	n.subs = append(n.subs, entry[K]{k, o})
	t.n++
	return false
}

// SubscribeShared adds k to the shared subscription share/filter, or replaces its options there.
func (t *Tree[K]) SubscribeShared(k K, share, filter string, o Options) (existed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.walkCreate(filter)
	g := n.group(share)
	if g == nil {
		g = &group[K]{name: share, filter: filter}
		n.groups = append(n.groups, g)
	}
	for i := range g.members {
		if g.members[i].Key == k {
			g.members[i].Options = o
			return true
		}
	}
	g.members = append(g.members, Match[K]{Key: k, Options: o, Filter: filter, Group: share})
	t.n++
	return false
}

// Unsubscribe removes k's subscription to filter and reports whether it existed.
func (t *Tree[K]) Unsubscribe(k K, filter string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remove(k, filter, "", false)
}

// UnsubscribeShared removes k from the shared subscription share/filter.
func (t *Tree[K]) UnsubscribeShared(k K, share, filter string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remove(k, filter, share, true)
}

// remove deletes the subscription and prunes the nodes left empty.
func (t *Tree[K]) remove(k K, filter, share string, shared bool) bool {
	path := make([]*node[K], 0, 8)
	levels := make([]string, 0, 8)
	n := t.root
	f := filter
	for {
		level, rest, more := strings.Cut(f, "/")
		c := n.child(level)
		if c == nil {
			return false
		}
		path = append(path, n)
		levels = append(levels, level)
		n = c
		if !more {
			break
		}
		f = rest
	}
	found := false
	if shared {
		if g := n.group(share); g != nil {
			for i := range g.members {
				if g.members[i].Key == k {
					g.members = append(g.members[:i], g.members[i+1:]...)
					found = true
					break
				}
			}
			if len(g.members) == 0 {
				for i, x := range n.groups {
					if x == g {
						n.groups = append(n.groups[:i], n.groups[i+1:]...)
						break
					}
				}
			}
		}
	} else if i, ok := n.index[k]; ok {
		last := len(n.subs) - 1
		if i != last {
			n.subs[i] = n.subs[last]
			n.index[n.subs[i].key] = i
		}
		n.subs[last] = entry[K]{}
		n.subs = n.subs[:last]
		delete(n.index, k)
		found = true
	}
	if !found {
		return false
	}
	t.n--
	// Prune empty nodes bottom-up so that a churn of unique topics does not leak memory.
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		path[i].setChild(levels[i], nil)
		n = path[i]
	}
	return true
}

// Match appends to out every subscription matching topic name topic: each non-shared
// subscription, and for each shared group one member chosen round-robin, preferring members for
// which prefer returns true (prefer may be nil). Overlapping subscriptions of one subscriber are
// returned separately; the caller combines them.
func (t *Tree[K]) Match(topic string, prefer func(K) bool, out []Match[K]) []Match[K] {
	t.mu.RLock()
	defer t.mu.RUnlock()
	dollar := len(topic) > 0 && topic[0] == '$'
	return t.match(t.root, topic, dollar, prefer, out)
}

// match walks one level. noWild is set at the root for a $-topic: wildcards there must not match.
func (t *Tree[K]) match(n *node[K], topic string, noWild bool, prefer func(K) bool, out []Match[K]) []Match[K] {
	level, rest, more := strings.Cut(topic, "/")
	// The multi-level wildcard at this position matches the rest, including the parent level
	// ("a/#" matches "a"), which is handled where the parent level ends below.
	if !noWild {
		if c := n.hash; c != nil {
			out = t.collect(c, prefer, out)
		}
		if c := n.plus; c != nil {
			if more {
				out = t.match(c, rest, false, prefer, out)
			} else {
				out = t.collect(c, prefer, out)
				if h := c.hash; h != nil {
					out = t.collect(h, prefer, out)
				}
			}
		}
	}
	if c := n.children[level]; c != nil {
		if more {
			out = t.match(c, rest, false, prefer, out)
		} else {
			out = t.collect(c, prefer, out)
			if h := c.hash; h != nil {
				out = t.collect(h, prefer, out)
			}
		}
	}
	return out
}

func (t *Tree[K]) collect(n *node[K], prefer func(K) bool, out []Match[K]) []Match[K] {
	for i := range n.subs {
		out = append(out, Match[K]{Key: n.subs[i].key, Options: n.subs[i].opts})
	}
	for _, g := range n.groups {
		if len(g.members) == 0 {
			continue
		}
		out = append(out, g.pick(prefer))
	}
	return out
}

// pick chooses a member round-robin, preferring those prefer accepts.
func (g *group[K]) pick(prefer func(K) bool) Match[K] {
	start := int(g.next.Add(1)-1) % len(g.members)
	if prefer != nil {
		for i := 0; i < len(g.members); i++ {
			j := (start + i) % len(g.members)
			if prefer(g.members[j].Key) {
				return g.members[j]
			}
		}
	}
	return g.members[start]
}

// All appends every subscription to out, shared memberships included, each with the filter it
// was made with in Filter (and its share name in Group for a shared one), in no particular
// order: the tree's contents, for whoever needs to look past Match.
func (t *Tree[K]) All(out []Match[K]) []Match[K] {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for level, c := range t.root.children {
		out = c.all(level, out)
	}
	if t.root.plus != nil {
		out = t.root.plus.all("+", out)
	}
	if t.root.hash != nil {
		out = t.root.hash.all("#", out)
	}
	return out
}

// all appends the subscriptions at n, whose filter is filter, and below it.
func (n *node[K]) all(filter string, out []Match[K]) []Match[K] {
	for i := range n.subs {
		out = append(out, Match[K]{Key: n.subs[i].key, Options: n.subs[i].opts, Filter: filter})
	}
	for _, g := range n.groups {
		out = append(out, g.members...)
	}
	for level, c := range n.children {
		out = c.all(filter+"/"+level, out)
	}
	if n.plus != nil {
		out = n.plus.all(filter+"/+", out)
	}
	if n.hash != nil {
		out = n.hash.all(filter+"/#", out)
	}
	return out
}

// PickShared chooses one member of the shared subscription share/filter round-robin, preferring
// members for which prefer returns true; ok is false when the group has no member.
func (t *Tree[K]) PickShared(share, filter string, prefer func(K) bool) (m Match[K], ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.root
	f := filter
	for {
		level, rest, more := strings.Cut(f, "/")
		if n = n.child(level); n == nil {
			return m, false
		}
		if !more {
			break
		}
		f = rest
	}
	g := n.group(share)
	if g == nil || len(g.members) == 0 {
		return m, false
	}
	return g.pick(prefer), true
}

// MatchFilter reports whether topic name topic matches filter f (section 4.7); a filter starting
// with a wildcard does not match a topic starting with $ (MQTT-4.7.2-1).
func MatchFilter(f, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(f) > 0 && (f[0] == '+' || f[0] == '#') {
		return false
	}
	for {
		if f == "#" {
			return true
		}
		fl, frest, fmore := strings.Cut(f, "/")
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case fmore && !tmore:
			return frest == "#"
		case !fmore:
			return false
		}
		f, topic = frest, trest
	}
}

// HasWildcard reports whether a filter contains + or #.
func HasWildcard(f string) bool { return strings.ContainsAny(f, "+#") }

// Covers reports whether every topic name matched by filter f is also matched by pattern p; an
// ACL uses it to decide whether a subscription stays inside what a rule allows.
func Covers(p, f string) bool {
	// A pattern starting with a wildcard does not match $-topics, so it does not cover a filter
	// that names a $ level explicitly.
	if len(f) > 0 && f[0] == '$' && len(p) > 0 && (p[0] == '+' || p[0] == '#') {
		return false
	}
	for {
		pl, prest, pmore := strings.Cut(p, "/")
		fl, frest, fmore := strings.Cut(f, "/")
		if pl == "#" {
			return true
		}
		switch {
		case fl == "#":
			return false
		case pl == "+":
			// covers any single level, including "+"
		case fl == "+" || pl != fl:
			return false
		}
		switch {
		case !pmore && !fmore:
			return true
		case pmore && !fmore:
			return prest == "#"
		case !pmore:
			return false
		}
		p, f = prest, frest
	}
}
