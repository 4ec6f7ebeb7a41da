package mqtt

import "testing"

func TestTopicsRoundTrip(t *testing.T) {
	var tp Topics
	for _, kind := range []string{KindState, KindCmd, KindCmdResult, KindStatus, KindPlays, KindPlaysAck} {
		topic := tp.Display("dsp_01abc", kind)
		id, k, ok := tp.Parse(topic)
		if !ok || id != "dsp_01abc" || k != kind {
			t.Fatalf("Parse(%q) = %q, %q, %v", topic, id, k, ok)
		}
	}
	if got, want := tp.State("d1"), "marquee/v1/displays/d1/state"; got != want {
		t.Fatalf("State=%q, want %q", got, want)
	}
	if got, want := (Topics{Prefix: "city/x/"}).AllDisplays(KindPlays), "city/x/displays/+/plays"; got != want {
		t.Fatalf("AllDisplays=%q, want %q", got, want)
	}
}

func TestTopicsParseRejects(t *testing.T) {
	var tp Topics
	for _, topic := range []string{
		"", "marquee/v1/displays/", "marquee/v1/displays/d1", "marquee/v1/displays/d1/",
		"marquee/v1/displays/d1/unknown", "marquee/v1/displays/+/plays", "marquee/v1/displays/#/plays",
		"marquee/v2/displays/d1/plays", "other/displays/d1/state", "marquee/v1/displays//state",
		"marquee/v1/displays/d1/plays/ack/x",
	} {
		if id, kind, ok := tp.Parse(topic); ok {
			t.Errorf("Parse(%q) accepted: %q %q", topic, id, kind)
		}
	}
}
