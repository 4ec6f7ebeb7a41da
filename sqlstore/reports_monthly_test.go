package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/reports"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"MonthlyReport", testMonthlyReport},
	}...)
}

func testMonthlyReport(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	a := mustCreateDisplay(t, db, newDisplay("a", func(d *displays.Display) { d.OrgID = "org_a1" }))
	b := mustCreateDisplay(t, db, newDisplay("b", func(d *displays.Display) { d.OrgID = "org_b" }))
	ict := time.FixedZone("ICT", 7*3600)
	june := time.Date(2025, 6, 1, 0, 0, 0, 0, ict)
	sched := func(id string, ms int64, done bool) func(*marquee.Play) {
		return func(p *marquee.Play) { p.ScheduleID, p.PlayedMS, p.Completed = id, ms, done }
	}
	mustInsertPlays(t, db,
		newPlay(a.ID, june.Add(30*time.Minute), sched("sch_x", 10_000, true)), // 31 May in UTC
		newPlay(a.ID, june.Add(3*time.Hour), sched("sch_x", 4_000, false)),
		newPlay(a.ID, june.Add(47*time.Hour), sched("", 10_000, true)),
		newPlay(b.ID, june.Add(time.Hour), sched("sch_x", 10_000, true)),
		newPlay(a.ID, june.Add(-time.Minute), sched("sch_x", 10_000, true)), // May
	)
	f := reports.MonthlyFilter{From: june, To: june.AddDate(0, 1, 0), Location: ict}
	got, err := db.MonthlyReport(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	ra := []reports.MonthlyRow{
		{Day: "2025-06-01", DisplayID: a.ID, DisplayName: "a", ScheduleID: "sch_x", Plays: 2, Completed: 1, AirtimeMS: 14_000},
		{Day: "2025-06-02", DisplayID: a.ID, DisplayName: "a", ScheduleID: "", Plays: 1, Completed: 1, AirtimeMS: 10_000},
	}
	rb := reports.MonthlyRow{Day: "2025-06-01", DisplayID: b.ID, DisplayName: "b", ScheduleID: "sch_x", Plays: 1, Completed: 1, AirtimeMS: 10_000}
	want := []reports.MonthlyRow{ra[0], rb, ra[1]}
	if a.ID > b.ID {
		want = []reports.MonthlyRow{rb, ra[0], ra[1]}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("monthly (-want +got):\n%s", diff)
	}
	f.Within = "org_a"
	if got, err = db.MonthlyReport(ctx, f); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ra, got); diff != "" {
		t.Errorf("monthly within org_a (-want +got):\n%s", diff)
	}
}
