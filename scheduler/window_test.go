package scheduler

import (
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// TestWindowEdges checks when one rule is active. Its playlist has one item
// longer than any window, so the slot's Start is the window's start and Next
// is the window's end (or a restart).
func TestWindowEdges(t *testing.T) {
	allDay := marquee.Rule{StartsOn: "2025-06-05", EndsOn: "2025-06-07"}
	weekdays := marquee.Rule{Cron: "0 7 * * 1-5", DurationMS: 10 * 3600e3}
	night := marquee.Rule{Cron: "0 22 * * *", DurationMS: 4 * 3600e3, StartsOn: "2025-06-01", EndsOn: "2025-06-03"}
	berlinNight := marquee.Rule{Cron: "0 22 * * *", DurationMS: 10 * 3600e3, Timezone: "Europe/Berlin"}
	nycEvening := marquee.Rule{Cron: "0 20 * * *", DurationMS: 10 * 3600e3, Timezone: "America/New_York"}
	skipped := func(zone string) marquee.Rule {
		return marquee.Rule{Cron: "30 2 * * *", DurationMS: 3600e3, Timezone: zone}
	}
	with := func(r marquee.Rule, f func(*marquee.Rule)) marquee.Rule { f(&r); return r }

	tests := []struct {
		name   string
		rule   marquee.Rule
		t      time.Time
		active bool
		start  time.Time // when active
		next   time.Time
	}{
		// All day, Asia/Ho_Chi_Minh: 2025-06-05 00:00 local is 2025-06-04 17:00 UTC.
		{"all day: last second before", allDay, utc("2025-06-04T16:59:59Z"), false, time.Time{}, utc("2025-06-04T17:00:00Z")},
		{"all day: first instant", allDay, utc("2025-06-04T17:00:00Z"), true, utc("2025-06-04T17:00:00Z"), utc("2025-06-07T17:00:00Z")},
		{"all day: last second", allDay, utc("2025-06-07T16:59:59Z"), true, utc("2025-06-04T17:00:00Z"), utc("2025-06-07T17:00:00Z")},
		{"all day: day after", allDay, utc("2025-06-07T17:00:00Z"), false, time.Time{}, neverTime},
		// Open sides: the loop (one 366-day item) runs from the epoch, or from StartsOn.
		{"all day: open start", with(allDay, func(r *marquee.Rule) { r.StartsOn = "" }), utc("2025-01-01T00:00:00Z"), true, time.Unix(0, 0).UTC().AddDate(0, 0, 54*366), utc("2025-02-11T00:00:00Z")},
		{"all day: open end", with(allDay, func(r *marquee.Rule) { r.EndsOn = "" }), utc("2030-01-01T00:00:00Z"), true, utc("2025-06-04T17:00:00Z").AddDate(0, 0, 4*366), utc("2030-06-08T17:00:00Z")},

		// Weekdays 07:00 for 10 h; 2025-06-02 is a Monday.
		{"weekday: 06:59:59", weekdays, at(hcm, "2025-06-02 06:59:59"), false, time.Time{}, at(hcm, "2025-06-02 07:00:00")},
		{"weekday: 07:00", weekdays, at(hcm, "2025-06-02 07:00:00"), true, at(hcm, "2025-06-02 07:00:00"), at(hcm, "2025-06-02 17:00:00")},
		{"weekday: 16:59:59", weekdays, at(hcm, "2025-06-02 16:59:59"), true, at(hcm, "2025-06-02 07:00:00"), at(hcm, "2025-06-02 17:00:00")},
		{"weekday: 17:00", weekdays, at(hcm, "2025-06-02 17:00:00"), false, time.Time{}, at(hcm, "2025-06-03 07:00:00")},
		{"weekday: Saturday", weekdays, at(hcm, "2025-06-07 10:00:00"), false, time.Time{}, at(hcm, "2025-06-09 07:00:00")},

		// 22:00 for 4 h, on dates 2025-06-01..03: windows cross midnight and outlast EndsOn.
		{"night: after midnight", night, at(hcm, "2025-06-02 01:00:00"), true, at(hcm, "2025-06-01 22:00:00"), at(hcm, "2025-06-02 02:00:00")},
		{"night: first day after EndsOn", night, at(hcm, "2025-06-04 01:00:00"), true, at(hcm, "2025-06-03 22:00:00"), at(hcm, "2025-06-04 02:00:00")},
		{"night: no fire after EndsOn", night, at(hcm, "2025-06-04 22:30:00"), false, time.Time{}, neverTime},
		{"night: before StartsOn", night, at(hcm, "2025-05-31 23:00:00"), false, time.Time{}, at(hcm, "2025-06-01 22:00:00")},

		// Descriptors. 2025-06-08 is a Sunday.
		{"@weekly: in", marquee.Rule{Cron: "@weekly", DurationMS: 2 * 3600e3}, at(hcm, "2025-06-08 01:00:00"), true, at(hcm, "2025-06-08 00:00:00"), at(hcm, "2025-06-08 02:00:00")},
		{"@weekly: out", marquee.Rule{Cron: "@weekly", DurationMS: 2 * 3600e3}, at(hcm, "2025-06-08 02:00:00"), false, time.Time{}, at(hcm, "2025-06-15 00:00:00")},
		{"@monthly: in", marquee.Rule{Cron: "@monthly", DurationMS: 24 * 3600e3}, at(hcm, "2025-07-01 12:00:00"), true, at(hcm, "2025-07-01 00:00:00"), at(hcm, "2025-07-02 00:00:00")},
		{"@monthly: out", marquee.Rule{Cron: "@monthly", DurationMS: 24 * 3600e3}, at(hcm, "2025-07-02 00:00:00"), false, time.Time{}, at(hcm, "2025-08-01 00:00:00")},
		{"@daily", marquee.Rule{Cron: "@daily", DurationMS: 3600e3}, at(hcm, "2025-07-02 00:30:00"), true, at(hcm, "2025-07-02 00:00:00"), at(hcm, "2025-07-02 01:00:00")},
		{"@midnight", marquee.Rule{Cron: "@midnight", DurationMS: 3600e3}, at(hcm, "2025-07-02 01:30:00"), false, time.Time{}, at(hcm, "2025-07-03 00:00:00")},
		{"@hourly", marquee.Rule{Cron: "@hourly", DurationMS: 600e3}, at(hcm, "2025-07-02 13:05:00"), true, at(hcm, "2025-07-02 13:00:00"), at(hcm, "2025-07-02 13:10:00")},
		{"@yearly", marquee.Rule{Cron: "@yearly", DurationMS: 24 * 3600e3}, at(hcm, "2025-12-31 23:00:00"), false, time.Time{}, at(hcm, "2026-01-01 00:00:00")},

		// The same rule in two zones.
		{"zone: Ho Chi Minh", marquee.Rule{Cron: "0 7 * * *", DurationMS: 3600e3}, utc("2025-06-02T00:30:00Z"), true, utc("2025-06-02T00:00:00Z"), utc("2025-06-02T01:00:00Z")},
		{"zone: UTC", marquee.Rule{Cron: "0 7 * * *", DurationMS: 3600e3, Timezone: "UTC"}, utc("2025-06-02T00:30:00Z"), false, time.Time{}, utc("2025-06-02T07:00:00Z")},

		// DST. Berlin skips 02:00-03:00 on 2025-03-30 and repeats 02:00-03:00 on 2025-10-26.
		{"Berlin: day before the skip", skipped("Europe/Berlin"), at(berlin, "2025-03-29 02:45:00"), true, at(berlin, "2025-03-29 02:30:00"), at(berlin, "2025-03-29 03:30:00")},
		{"Berlin: 02:30 skipped", skipped("Europe/Berlin"), utc("2025-03-30T01:10:00Z"), false, time.Time{}, utc("2025-03-31T00:30:00Z")},
		{"Berlin: 10 h across the skip", berlinNight, utc("2025-03-30T06:59:59Z"), true, utc("2025-03-29T21:00:00Z"), utc("2025-03-30T07:00:00Z")},
		{"Berlin: 10 real hours later", berlinNight, utc("2025-03-30T07:00:00Z"), false, time.Time{}, utc("2025-03-30T20:00:00Z")},
		{"Berlin: repeated 02:30 CEST", skipped("Europe/Berlin"), utc("2025-10-26T00:35:00Z"), true, utc("2025-10-26T00:30:00Z"), utc("2025-10-26T01:30:00Z")}, // restart at 02:30 CET
		{"Berlin: repeated 02:30 CET", skipped("Europe/Berlin"), utc("2025-10-26T01:35:00Z"), true, utc("2025-10-26T01:30:00Z"), utc("2025-10-26T02:30:00Z")},
		{"New York: 02:30 skipped", skipped("America/New_York"), utc("2025-03-09T07:10:00Z"), false, time.Time{}, utc("2025-03-10T06:30:00Z")},
		{"New York: 10 h across the repeat", nycEvening, utc("2025-11-02T09:59:59Z"), true, utc("2025-11-02T00:00:00Z"), utc("2025-11-02T10:00:00Z")},
		{"New York: 10 real hours later", nycEvening, utc("2025-11-02T10:00:00Z"), false, time.Time{}, utc("2025-11-03T01:00:00Z")},

		// Overlapping windows: the latest fire restarts the window.
		{"restart", marquee.Rule{Cron: "0 * * * *", DurationMS: 90 * 60e3}, at(hcm, "2025-06-02 10:30:00"), true, at(hcm, "2025-06-02 10:00:00"), at(hcm, "2025-06-02 11:00:00")},
		{"dense: bisect", marquee.Rule{Cron: "*/5 * * * *", DurationMS: 3600e3}, at(hcm, "2025-06-02 10:07:30"), true, at(hcm, "2025-06-02 10:05:00"), at(hcm, "2025-06-02 10:10:00")},
		{"dense: every minute for 31 days", marquee.Rule{Cron: "* * * * *", DurationMS: 31 * 24 * 3600e3}, at(hcm, "2025-06-02 10:07:30.5"), true, at(hcm, "2025-06-02 10:07:00"), at(hcm, "2025-06-02 10:08:00")},
		{"dense: fires before StartsOn do not count", marquee.Rule{Cron: "*/5 * * * *", DurationMS: 3600e3, StartsOn: "2025-06-02"}, at(hcm, "2025-06-02 00:07:00"), true, at(hcm, "2025-06-02 00:05:00"), at(hcm, "2025-06-02 00:10:00")},
		{"dense: before StartsOn", marquee.Rule{Cron: "*/5 * * * *", DurationMS: 3600e3, StartsOn: "2025-06-02"}, at(hcm, "2025-06-01 23:59:00"), false, time.Time{}, at(hcm, "2025-06-02 00:00:00")},
		{"dense: last window after EndsOn", marquee.Rule{Cron: "*/5 * * * *", DurationMS: 3600e3, EndsOn: "2025-06-02"}, at(hcm, "2025-06-03 00:30:00"), true, at(hcm, "2025-06-02 23:55:00"), at(hcm, "2025-06-03 00:55:00")},
		{"dense: all closed", marquee.Rule{Cron: "*/5 * * * *", DurationMS: 3600e3, EndsOn: "2025-06-02"}, at(hcm, "2025-06-03 00:55:00"), false, time.Time{}, neverTime},
		{"never fires", marquee.Rule{Cron: "0 0 30 2 *", DurationMS: 3600e3}, at(hcm, "2025-06-03 00:55:00"), false, time.Time{}, neverTime},
	}
	long := playlistOf("p", 366*24*3600)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.ScheduleID, r.Playlist, r.Layer = "sch_1", ref("p"), marquee.LayerNormal
			n := mustCompile(t, stateOf([]marquee.Rule{r}, long)).At(tt.t)
			if got, want := n.Reason.Kind == ReasonSchedule, tt.active; got != want {
				t.Fatalf("active = %v, want %v (%+v)", got, want, n)
			}
			if tt.active {
				if got, want := n.Start, tt.start; !got.Equal(want) {
					t.Fatalf("window start = %v, want %v", got, want.UTC())
				}
			}
			if got, want := n.Next, tt.next; !got.Equal(want) {
				t.Fatalf("next = %v, want %v", got, want.UTC())
			}
		})
	}
}

// TestWindows checks the windows the schedules API shows.
func TestWindows(t *testing.T) {
	tests := []struct {
		name     string
		rule     marquee.Rule
		from, to time.Time
		want     []Window
	}{
		{"weekdays", marquee.Rule{Layer: marquee.LayerNormal, Cron: "0 7 * * 1-5", DurationMS: 10 * 3600e3},
			at(hcm, "2025-06-06 12:00:00"), at(hcm, "2025-06-10 00:00:00"),
			[]Window{{at(hcm, "2025-06-06 07:00:00"), at(hcm, "2025-06-06 17:00:00")}, {at(hcm, "2025-06-09 07:00:00"), at(hcm, "2025-06-09 17:00:00")}}},
		{"all day, open sides clipped", marquee.Rule{Layer: marquee.LayerNormal},
			utc("2025-06-01T00:00:00Z"), utc("2025-06-02T00:00:00Z"),
			[]Window{{utc("2025-06-01T00:00:00Z"), utc("2025-06-02T00:00:00Z")}}},
		{"all day, real sides kept", marquee.Rule{Layer: marquee.LayerNormal, StartsOn: "2025-06-01", EndsOn: "2025-06-01"},
			utc("2025-06-01T00:00:00Z"), utc("2025-06-01T01:00:00Z"),
			[]Window{{at(hcm, "2025-06-01 00:00:00"), at(hcm, "2025-06-02 00:00:00")}}},
		{"none", marquee.Rule{Layer: marquee.LayerNormal, StartsOn: "2025-06-01", EndsOn: "2025-06-01"},
			utc("2025-07-01T00:00:00Z"), utc("2025-07-02T00:00:00Z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Windows(tt.rule, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("windows = %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Start.Equal(tt.want[i].Start) || !got[i].End.Equal(tt.want[i].End) {
					t.Fatalf("window %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if _, err := Windows(marquee.Rule{Layer: marquee.LayerNormal, Cron: "* * * * *", DurationMS: 1000}, utc("2025-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z")); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("a year of minutes: err = %v, want EINVALID", err)
	}
}
