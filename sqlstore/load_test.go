package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/reports"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"LoadPlays", testLoadPlays},
	}...)
}

// playsFrom yields plays one by one, as LoadPlays reads them.
func playsFrom(plays []marquee.Play) func() (marquee.Play, bool) {
	return func() (marquee.Play, bool) {
		if len(plays) == 0 {
			return marquee.Play{}, false
		}
		p := plays[0]
		plays = plays[1:]
		return p, true
	}
}

// testLoadPlays: plays bulk-loaded then rebuilt give the same rollups as
// the same plays ingested with InsertPlays; a duplicate ID fails the load
// with an error, keeping the batches before it.
func testLoadPlays(t *testing.T, db *DB) {
	ctx := context.Background()
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	var loaded, ingested []marquee.Play
	for i := range 250 {
		at := t0.Add(time.Duration(i) * 7 * time.Minute)
		shape := func(p *marquee.Play) {
			p.MediaID, p.MediaName = []string{"med_1", "med_2", "med_3"}[i%3], []string{"Một", "Hai", "Ba"}[i%3]
			p.ScheduleID = []string{"", "sch_x"}[i%2]
			p.PlayedMS, p.Completed = int64(1000+i), i%4 != 0
		}
		loaded = append(loaded, newPlay(a.ID, at, shape))
		ingested = append(ingested, newPlay(b.ID, at, shape))
	}
	n, err := db.LoadPlays(ctx, playsFrom(loaded), 100, time.Time{})
	if err != nil || n != 250 {
		t.Fatalf("LoadPlays = %d, %v; want 250, nil", n, err)
	}
	mustInsertPlays(t, db, ingested...)
	if err := db.RebuildRollups(ctx, t0, t0.Add(250*7*time.Minute)); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	for _, g := range []string{reports.ByDay, reports.ByMedia, reports.BySchedule} {
		report := func(displayID string) []reports.AirtimeRow {
			rs, err := db.AirtimeReport(ctx, reports.AirtimeFilter{From: t0, To: t0.Add(40 * time.Hour), GroupBy: g, DisplayID: displayID})
			if err != nil {
				t.Fatalf("AirtimeReport: %v", err)
			}
			return rs
		}
		got, want := report(a.ID), report(b.ID)
		if len(want) == 0 {
			t.Fatalf("group_by=%s: no rows", g)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("group_by=%s: loaded plays' rollups differ from ingested ones (-ingested +loaded):\n%s", g, d)
		}
	}

	// A duplicate in the third batch of 10: the first two stay.
	var again []marquee.Play
	for i := range 30 {
		again = append(again, newPlay(a.ID, t0.Add(time.Duration(i)*time.Second)))
	}
	again[25].ID = loaded[0].ID
	n, err = db.LoadPlays(ctx, playsFrom(again), 10, time.Time{})
	if err == nil {
		t.Fatal("LoadPlays with a duplicate ID: no error")
	}
	if n != 20 {
		t.Errorf("LoadPlays with a duplicate in the third batch = %d stored, want 20", n)
	}
	var count int
	if err := db.SQL().QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM plays WHERE display_id = ?`), a.ID).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 270 {
		t.Errorf("plays of a = %d, want 270 (250 + two batches of 10)", count)
	}
}
