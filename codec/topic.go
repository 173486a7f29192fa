package codec

import "strings"

// TopicNameError returns the rule a topic name breaks, or nil. Emptiness is left to the caller
// because a v5 PUBLISH may carry an empty name together with a Topic Alias.
func topicNameRule(s string) *Rule {
	if strings.IndexByte(s, '+') >= 0 || strings.IndexByte(s, '#') >= 0 {
		return ruleTopicWildcard
	}
	return nil
}

// filterRule returns the rule a topic filter breaks (wildcard placement, shared-subscription
// syntax in v5), or nil. UTF-8 is checked by the caller.
func filterRule(f string, v Version) (*Rule, string) {
	if f == "" {
		return ruleTopicEmpty, "empty topic filter"
	}
	if v == V5 && strings.HasPrefix(f, "$share/") {
		rest := f[len("$share/"):]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return ruleSharedInvalid, "shared subscription has no / after the share name"
		}
		name := rest[:i]
		if name == "" {
			return ruleSharedEmptyName, "empty share name"
		}
		if strings.ContainsAny(name, "+#") {
			return ruleSharedInvalid, "share name contains + or #"
		}
		f = rest[i+1:]
		if f == "" {
			return ruleSharedInvalid, "no topic filter after the share name"
		}
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '#':
			if i != len(f)-1 || (i > 0 && f[i-1] != '/') {
				return ruleFilterHash, "# is not alone at the last level"
			}
		case '+':
			if (i > 0 && f[i-1] != '/') || (i < len(f)-1 && f[i+1] != '/') {
				return ruleFilterPlus, "+ does not occupy a whole level"
			}
		}
	}
	return nil, ""
}

// ValidTopicName reports whether s may be used as a PUBLISH topic name (non-empty, no wildcards,
// valid MQTT UTF-8, at most 65535 bytes).
func ValidTopicName(s string) bool {
	return s != "" && len(s) <= 65535 && topicNameRule(s) == nil && ValidUTF8(s)
}

// ValidTopicFilter reports whether s is a valid subscription filter for version v.
func ValidTopicFilter(s string, v Version) bool {
	r, _ := filterRule(s, v)
	return r == nil && len(s) <= 65535 && ValidUTF8(s)
}

// SharedFilter splits a v5 shared subscription filter "$share/group/filter" into its share name
// and filter; ok is false for a non-shared filter.
func SharedFilter(f string) (group, filter string, ok bool) {
	if !strings.HasPrefix(f, "$share/") {
		return "", f, false
	}
	rest := f[len("$share/"):]
	i := strings.IndexByte(rest, '/')
	if i <= 0 {
		return "", f, false
	}
	return rest[:i], rest[i+1:], true
}

// MatchTopic reports whether topic name t matches filter f (section 4.7): + matches one level,
// # the rest (including the parent level), and a filter starting with a wildcard does not match a
// name starting with $ (MQTT-4.7.2-1).
func MatchTopic(f, t string) bool {
	if len(t) > 0 && t[0] == '$' && len(f) > 0 && (f[0] == '+' || f[0] == '#') {
		return false
	}
	for {
		if f == "#" {
			return true
		}
		fl, frest, fmore := strings.Cut(f, "/")
		tl, trest, tmore := strings.Cut(t, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore && !tmore {
			return true
		}
		if fmore && !tmore {
			// "a/#" matches "a": the multi-level wildcard also matches the parent level.
			return frest == "#"
		}
		if !fmore {
			return false
		}
		f, t = frest, trest
	}
}
