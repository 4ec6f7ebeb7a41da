package mqtt

import "testing"

func TestMatchFilter(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a/", true},
		{"+/+", "a/b", true},
		{"a/+/c", "a/b/c", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"marquee/v1/displays/+/plays", "marquee/v1/displays/d1/plays", true},
		{"marquee/v1/displays/+/plays", "marquee/v1/displays/d1/plays/ack", false},
		{"marquee/v1/displays/+/plays/ack", "marquee/v1/displays/d1/plays/ack", true},
	} {
		if got := MatchFilter(tc.filter, tc.topic); got != tc.want {
			t.Errorf("MatchFilter(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

func TestValidFilterAndTopic(t *testing.T) {
	for _, f := range []string{"a", "a/b", "+", "#", "a/+/b", "a/#", "+/+/#", "/", "a//b"} {
		if !ValidFilter(f) {
			t.Errorf("ValidFilter(%q) = false", f)
		}
	}
	for _, f := range []string{"", "a#", "a/#/b", "a+", "+a/b", "a\x00", "\xff"} {
		if ValidFilter(f) {
			t.Errorf("ValidFilter(%q) = true", f)
		}
	}
	for _, topic := range []string{"a", "a/b", "/", "$SYS/x"} {
		if !ValidTopic(topic) {
			t.Errorf("ValidTopic(%q) = false", topic)
		}
	}
	for _, topic := range []string{"", "a/+", "#", "a\x00"} {
		if ValidTopic(topic) {
			t.Errorf("ValidTopic(%q) = true", topic)
		}
	}
}

func TestDeliveryFilter(t *testing.T) {
	for filter, want := range map[string]string{
		"a/+": "a/+",
		"$share/ingest/marquee/v1/displays/+/plays": "marquee/v1/displays/+/plays",
		"$share/g/#": "#",
		"$SYS/#":     "$SYS/#",
	} {
		if got := deliveryFilter(filter); got != want {
			t.Errorf("deliveryFilter(%q) = %q, want %q", filter, got, want)
		}
	}
}
