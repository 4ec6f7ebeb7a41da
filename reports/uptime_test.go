package reports_test

import (
	"testing"
	"time"

	"github.com/marquee-signage/marquee/reports"
)

func TestAvailability(t *testing.T) {
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(10 * time.Hour)
	h := func(n float64) time.Time { return from.Add(time.Duration(n * float64(time.Hour))) }
	on, off := true, false
	ms := func(hours float64) int64 { return int64(hours * 3600_000) }
	for _, tt := range []struct {
		name   string
		before *bool
		events []reports.Transition
		want   reports.Span
	}{
		{"nothing known", nil, nil, reports.Span{UnknownMS: ms(10)}},
		{"online throughout", &on, nil, reports.Span{OnlineMS: ms(10)}},
		{"first status mid-window", nil, []reports.Transition{{h(2), true}}, reports.Span{OnlineMS: ms(8), UnknownMS: ms(2)}},
		{"offline for 3 h", &on, []reports.Transition{{h(4), false}, {h(7), true}}, reports.Span{OnlineMS: ms(7), OfflineMS: ms(3)}},
		{"repeated status", &off, []reports.Transition{{h(1), false}, {h(5), true}, {h(6), true}}, reports.Span{OnlineMS: ms(5), OfflineMS: ms(5)}},
		{"events outside ignored", &on, []reports.Transition{{h(-1), false}, {h(10), false}}, reports.Span{OnlineMS: ms(10)}},
	} {
		if got := reports.Availability(tt.before, tt.events, from, to); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := reports.Availability(&on, nil, to, from); got != (reports.Span{}) {
		t.Errorf("inverted period: %+v", got)
	}
	if got, want := (reports.Span{OnlineMS: 3, OfflineMS: 1, UnknownMS: 5}).Ratio(), 0.75; got != want {
		t.Errorf("ratio=%v, want %v", got, want)
	}
}
