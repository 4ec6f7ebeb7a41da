package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/reports"
	"github.com/marquee-signage/marquee/schedules"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"ComplianceQueries", testComplianceQueries},
	}...)
}

func testComplianceQueries(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	inOrg := func(org string) func(*displays.Display) { return func(d *displays.Display) { d.OrgID = org } }
	a := mustCreateDisplay(t, db, newDisplay("a", inOrg("org_a"), withDisplayTags("airport")))
	a1 := mustCreateDisplay(t, db, newDisplay("a1", inOrg("org_a1")))
	mustCreateDisplay(t, db, newDisplay("b", inOrg("org_b"), withDisplayTags("airport")))
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	approved := func(s *schedules.Schedule) {
		at := t0
		s.OrgID, s.Approval = "org_a", schedules.Approval{Status: schedules.StatusApproved, DecidedBy: schedules.SystemActor, DecidedAt: &at}
	}
	sc := mustCreateSchedule(t, db, newSchedule("s", pl.ID, approved, targeting([]string{a1.ID}, "airport")))
	draft := mustCreateSchedule(t, db, newSchedule("draft", pl.ID, targeting([]string{a1.ID}, "airport"),
		func(s *schedules.Schedule) { s.OrgID = "org_a" }))

	reached := func(id, within string) []string {
		t.Helper()
		rows, err := db.FindDisplaysReachedBy(ctx, id, "org_a", within)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, r := range rows {
			ids = append(ids, r.DisplayID)
		}
		return ids
	}
	// B's airport display is outside the schedule's organisation.
	want := []string{a.ID, a1.ID}
	sortStrings(want)
	if diff := cmp.Diff(want, reached(sc.ID, "")); diff != "" {
		t.Errorf("reached (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a1.ID}, reached(sc.ID, "org_a1")); diff != "" {
		t.Errorf("reached within org_a1 (-want +got):\n%s", diff)
	}
	if got := reached(draft.ID, ""); len(got) != 0 {
		t.Errorf("a draft reaches %v, want none", got)
	}

	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	withSchedule := func(id string, played int64, completed bool) func(*marquee.Play) {
		return func(p *marquee.Play) { p.ScheduleID, p.PlayedMS, p.Completed = id, played, completed }
	}
	mustInsertPlays(t, db,
		newPlay(a.ID, from, withSchedule(sc.ID, 10_000, true)),
		newPlay(a.ID, from.Add(time.Hour), withSchedule(sc.ID, 4_000, false)),
		newPlay(a.ID, to, withSchedule(sc.ID, 10_000, true)),                     // after the period
		newPlay(a.ID, from.Add(-time.Second), withSchedule(sc.ID, 10_000, true)), // before it
		newPlay(a1.ID, from.Add(2*time.Hour), withSchedule(sc.ID, 10_000, true)),
		newPlay(a1.ID, from.Add(3*time.Hour), withSchedule(draft.ID, 10_000, true)),
	)
	got, err := db.DeliveredAirtime(ctx, sc.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	wantD := map[string]reports.Delivered{
		a.ID:  {Plays: 2, Completed: 1, PlayedMS: 14_000},
		a1.ID: {Plays: 1, Completed: 1, PlayedMS: 10_000},
	}
	if diff := cmp.Diff(wantD, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	delivered := func(from, to time.Time) map[string]reports.Delivered {
		t.Helper()
		got, err := db.DeliveredAirtime(ctx, sc.ID, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Not on whole hours: from the raw plays, to the millisecond.
	if diff := cmp.Diff(map[string]reports.Delivered{
		a.ID:  {Plays: 1, Completed: 0, PlayedMS: 4_000},
		a1.ID: {Plays: 1, Completed: 1, PlayedMS: 10_000},
	}, delivered(from.Add(time.Second), to)); diff != "" {
		t.Errorf("delivered from 00:00:01 (-want +got):\n%s", diff)
	}
	// Two whole days of UTC+7 (daily rollups), then the same after
	// retention deleted the raw plays (the rollups are kept).
	ictDays := map[string]reports.Delivered{
		a.ID:  {Plays: 4, Completed: 3, PlayedMS: 34_000},
		a1.ID: {Plays: 1, Completed: 1, PlayedMS: 10_000},
	}
	from2 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	if diff := cmp.Diff(ictDays, delivered(from2, from2.AddDate(0, 0, 2))); diff != "" {
		t.Errorf("delivered over two ICT days (-want +got):\n%s", diff)
	}
	if _, err := db.DeletePlaysBefore(ctx, to.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ictDays, delivered(from2, from2.AddDate(0, 0, 2))); diff != "" {
		t.Errorf("delivered over two ICT days after retention (-want +got):\n%s", diff)
	}
}
