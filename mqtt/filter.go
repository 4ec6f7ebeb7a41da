package mqtt

import (
	"strings"
	"unicode/utf8"
)

// maxTopicLen is MQTT's limit on a topic name or filter (a UTF-8 string
// with a 16-bit length prefix).
const maxTopicLen = 65535

// ValidTopic reports whether name may be published to: non-empty, valid
// UTF-8 of at most 65535 bytes, no NUL and no wildcard. Brokers disconnect a
// client that publishes to an invalid name (Mosquitto) or drop the message
// silently (mochi), so Publish refuses it before it reaches the wire.
func ValidTopic(name string) bool {
	return validString(name) && !strings.ContainsAny(name, "+#")
}

// ValidFilter reports whether filter is a valid subscription filter: a valid
// topic string in which '+' fills a whole level and '#' is the whole last
// level.
func ValidFilter(filter string) bool {
	if !validString(filter) {
		return false
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		if strings.ContainsAny(l, "+#") && len(l) != 1 {
			return false
		}
		if l == "#" && i != len(levels)-1 {
			return false
		}
	}
	return true
}

func validString(s string) bool {
	return s != "" && len(s) <= maxTopicLen && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// MatchFilter reports whether topic matches the subscription filter under
// MQTT rules: '+' matches one level, a trailing '#' matches the parent level
// and everything below it, and a wildcard in the first level never matches a
// topic starting with '$' (broker-internal topics such as $SYS).
func MatchFilter(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		t, trest, tmore := strings.Cut(topic, "/")
		switch {
		case f == "#":
			return true
		case f != "+" && f != t:
			return false
		case !fmore && !tmore:
			return true
		case !tmore:
			// The topic ended: "a/#" still matches "a".
			return fmore && frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}

// sharePrefix starts a shared subscription, "$share/{group}/{filter}":
// the broker hands each message to one subscriber of the group (several
// server replicas ingesting plays), and the message arrives with its plain
// topic.
const sharePrefix = "$share/"

// deliveryFilter returns the filter that delivered topics match: filter
// itself, or the part after "$share/{group}/".
func deliveryFilter(filter string) string {
	if rest, ok := strings.CutPrefix(filter, sharePrefix); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			return f
		}
	}
	return filter
}
