package scheduler

import (
	"testing"
	"time"
)

func mustCron(t testing.TB, spec string, loc *time.Location) *cronSchedule {
	t.Helper()
	c, err := parseCron(spec, loc)
	if err != nil {
		t.Fatalf("parseCron(%q): %v", spec, err)
	}
	return c
}

// fires enumerates fire times in [from, to).
func fires(c *cronSchedule, from, to time.Time) []time.Time {
	var out []time.Time
	for f := c.next(instant(from) - 1); f < instant(to); f = c.next(f) {
		out = append(out, timeOf(f))
	}
	return out
}

func TestDSTFireTimes(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		loc      *time.Location
		from, to time.Time
		want     []time.Time
	}{
		{"Berlin: 02:30 is skipped in March", "30 2 * * *", berlin, utc("2025-03-29T00:00:00Z"), utc("2025-04-01T00:00:00Z"),
			[]time.Time{utc("2025-03-29T01:30:00Z"), utc("2025-03-31T00:30:00Z")}},
		{"Berlin: 02:30 fires twice in October", "30 2 * * *", berlin, utc("2025-10-25T00:00:00Z"), utc("2025-10-28T00:00:00Z"),
			[]time.Time{utc("2025-10-25T00:30:00Z"), utc("2025-10-26T00:30:00Z"), utc("2025-10-26T01:30:00Z"), utc("2025-10-27T01:30:00Z")}},
		{"Berlin: hourly", "0 * * * *", berlin, utc("2025-03-30T00:00:00Z"), utc("2025-03-30T03:00:00Z"),
			[]time.Time{utc("2025-03-30T00:00:00Z"), utc("2025-03-30T01:00:00Z"), utc("2025-03-30T02:00:00Z")}}, // 01:00 CET, 03:00 CEST, 04:00 CEST
		{"New York: 01:30 fires twice in November", "30 1 * * *", nyc, utc("2025-11-02T00:00:00Z"), utc("2025-11-03T00:00:00Z"),
			[]time.Time{utc("2025-11-02T05:30:00Z"), utc("2025-11-02T06:30:00Z")}},
		{"New York: 02:30 is skipped in March", "30 2 * * *", nyc, utc("2025-03-09T00:00:00Z"), utc("2025-03-11T00:00:00Z"),
			[]time.Time{utc("2025-03-10T06:30:00Z")}},
		{"Santiago: a skipped midnight does not fire", "0 0 * * *", mustZone("America/Santiago"), utc("2025-09-05T00:00:00Z"), utc("2025-09-08T12:00:00Z"),
			[]time.Time{utc("2025-09-05T04:00:00Z"), utc("2025-09-06T04:00:00Z"), utc("2025-09-08T03:00:00Z")}},
		{"Ho Chi Minh: no DST", "0 7 * * *", hcm, utc("2025-03-29T00:00:00Z"), utc("2025-03-31T00:00:00Z"),
			[]time.Time{utc("2025-03-29T00:00:00Z"), utc("2025-03-30T00:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fires(mustCron(t, tt.spec, tt.loc), tt.from, tt.to)
			if len(got) != len(tt.want) {
				t.Fatalf("fires %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Fatalf("fire %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestNextIsRobfig: in zones where robfig's Next is consistent, next gives
// exactly robfig's fire times, DST behaviour included.
func TestNextIsRobfig(t *testing.T) {
	specs := []string{"30 2 * * *", "0 * * * *", "*/20 1-3 * * *", "0 0 * * 0", "@monthly", "0 7 * * 1-5", "45 23 * * *"}
	from, to := utc("2024-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z")
	for _, loc := range []*time.Location{berlin, nyc, hcm, time.UTC} {
		for _, spec := range specs {
			c := mustCron(t, spec, loc)
			want := from.Add(-time.Second)
			for f := c.next(instant(from) - 1); f < instant(to); f = c.next(f) {
				if want = c.robfigNext(want); !want.Equal(timeOf(f)) {
					t.Fatalf("%s %q: next gives %v, robfig %v", loc, spec, timeOf(f).In(loc), want.In(loc))
				}
			}
		}
	}
}

// TestNextIsMonotonic: where robfig's own Next skips fire times (it
// skips a Sunday after Australia/Lord_Howe's 30-minute change when asked from
// the previous Sunday's fire), next does not: it matches the wall clock.
func TestNextIsMonotonic(t *testing.T) {
	loc := mustZone("Australia/Lord_Howe")
	c := mustCron(t, "0 0 * * 0", loc)
	prev := at(loc, "2018-10-07 00:00:00")
	if got, want := c.robfigNext(prev), at(loc, "2018-10-21 00:00:00"); !got.Equal(want) {
		t.Logf("robfig has changed: Next(%v) = %v", prev, got) // documents the upstream bug
	}
	if got, want := timeOf(c.next(instant(prev))), at(loc, "2018-10-14 00:00:00"); !got.Equal(want) {
		t.Fatalf("next(%v) = %v, want %v", prev, got.In(loc), want)
	}

	// Brute force: every minute whose wall clock matches fires, and nothing
	// else, across transitions in zones with odd DST rules.
	for _, tt := range []struct {
		zone, spec string
		days       []string
	}{
		{"Australia/Lord_Howe", "0 0 * * 0", []string{"2018-10-07", "2019-04-07"}},
		{"Australia/Lord_Howe", "*/15 1-2 * * *", []string{"2018-10-07", "2019-04-07"}},
		{"America/Santiago", "0 0 * * *", []string{"2025-09-07", "2025-04-06"}},
		{"Europe/Berlin", "*/30 2 * * *", []string{"2025-03-30", "2025-10-26"}},
	} {
		loc := mustZone(tt.zone)
		c := mustCron(t, tt.spec, loc)
		for _, d := range tt.days {
			day, _ := time.ParseInLocation(time.DateOnly, d, loc)
			from, to := day.Add(-48*time.Hour), day.Add(48*time.Hour)
			var want []time.Time
			for u := from; u.Before(to); u = u.Add(time.Minute) {
				w := u.In(loc)
				wall := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, time.UTC)
				if c.sched.Next(wall.Add(-time.Second)).Equal(wall) {
					want = append(want, u)
				}
			}
			got := fires(c, from, to)
			if len(got) != len(want) {
				t.Fatalf("%s %q around %s: %d fires, want %d", tt.zone, tt.spec, d, len(got), len(want))
			}
			for i := range got {
				if !got[i].Equal(want[i]) {
					t.Fatalf("%s %q around %s: fire %d = %v, want %v", tt.zone, tt.spec, d, i, got[i].In(loc), want[i].In(loc))
				}
			}
		}
	}
}
