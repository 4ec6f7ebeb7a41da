package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/reports"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"RollupsCountEachPlayOnce", testRollupsCountEachPlayOnce},
		{"RollupsRebuildEqualsIncremental", testRollupsRebuildEqualsIncremental},
		{"AirtimeDaysInZone", testAirtimeDaysInZone},
		{"AirtimeScopeAndGroups", testAirtimeScopeAndGroups},
		{"PlaysRetentionKeepsRollups", testPlaysRetentionKeepsRollups},
		{"PlaysKeepDeletedMedia", testPlaysKeepDeletedMedia},
	}...)
}

// rollupRow is one row of play_rollups_hourly.
type rollupRow struct {
	Bucket                                   int64
	Display, Media, Schedule, Org, MediaName string
	Plays, Completed, Airtime                int64
}

func allRollups(t *testing.T, db *DB) []rollupRow {
	t.Helper()
	rows, err := db.read.Query(`SELECT bucket_start, display_id, media_id, schedule_id, org_id, media_name,
		plays, completed, airtime_ms FROM play_rollups_hourly ORDER BY bucket_start, display_id, media_id, schedule_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rollupRow
	for rows.Next() {
		var r rollupRow
		if err := rows.Scan(&r.Bucket, &r.Display, &r.Media, &r.Schedule, &r.Org, &r.MediaName,
			&r.Plays, &r.Completed, &r.Airtime); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustAirtime(t *testing.T, db *DB, f reports.AirtimeFilter) []reports.AirtimeRow {
	t.Helper()
	rows, err := db.AirtimeReport(context.Background(), f)
	if err != nil {
		t.Fatalf("AirtimeReport(%+v): %v", f, err)
	}
	return rows
}

func testRollupsCountEachPlayOnce(t *testing.T, db *DB) {
	d := mustCreateDisplay(t, db, newDisplay("rollup"))
	hour := t0.UTC().Truncate(time.Hour)
	a := newPlay(d.ID, hour.Add(time.Minute))
	b := newPlay(d.ID, hour.Add(2*time.Minute), func(p *marquee.Play) { p.PlayedMS, p.Completed = 4_000, false })
	mustInsertPlays(t, db, a, b, a)
	mustInsertPlays(t, db, b, a) // re-sent
	c := newPlay("dsp_unknown", hour.Add(3*time.Minute), func(p *marquee.Play) { p.ScheduleID = "" })
	mustInsertPlays(t, db, a, c)
	want := []rollupRow{
		{toMS(hour), d.ID, "med_a", "sch_a", auth.RootOrgID, a.MediaName, 2, 1, 14_000},
		{toMS(hour), "dsp_unknown", "med_a", "", "", c.MediaName, 1, 1, 10_000},
	}
	if d.ID > "dsp_unknown" {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, allRollups(t, db)); diff != "" {
		t.Fatalf("rollups (-want +got):\n%s", diff)
	}
}

func testRollupsRebuildEqualsIncremental(t *testing.T, db *DB) {
	ctx := context.Background()
	d1 := mustCreateDisplay(t, db, newDisplay("one"))
	d2 := mustCreateDisplay(t, db, newDisplay("two"))
	var plays []marquee.Play
	for i := range 300 {
		plays = append(plays, newPlay([]string{d1.ID, d2.ID, "dsp_gone"}[i%3], t0.Add(time.Duration(i)*97*time.Second),
			func(p *marquee.Play) {
				p.MediaID = []string{"med_a", "med_b"}[i%2]
				p.PlayedMS, p.Completed = int64(1000+i), i%4 != 0
				if i%5 == 0 {
					p.ScheduleID = ""
				}
			}))
	}
	for i := 0; i < len(plays); i += 37 {
		mustInsertPlays(t, db, plays[i:min(i+37, len(plays))]...)
	}
	mustInsertPlays(t, db, plays[10:80]...) // re-sent
	incremental := allRollups(t, db)
	if len(incremental) == 0 {
		t.Fatal("no rollups")
	}
	if _, err := db.write.Exec(`DELETE FROM play_rollups_hourly`); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := db.RebuildRollups(ctx, t0.Add(-time.Hour), t0.Add(10*time.Hour)); err != nil {
			t.Fatalf("RebuildRollups: %v", err)
		}
		if diff := cmp.Diff(incremental, allRollups(t, db)); diff != "" {
			t.Fatalf("rebuilt rollups (-incremental +rebuilt):\n%s", diff)
		}
	}
	if err := db.CloseRollupHour(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatalf("CloseRollupHour: %v", err)
	}
	if diff := cmp.Diff(incremental, allRollups(t, db)); diff != "" {
		t.Fatalf("rollups after closing an hour (-want +got):\n%s", diff)
	}
	if n := countRows(t, db, "rollup_closed"); n != 1 {
		t.Fatalf("rollup_closed rows = %d, want 1", n)
	}
}

func testAirtimeDaysInZone(t *testing.T, db *DB) {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Skip(err)
	}
	d := mustCreateDisplay(t, db, newDisplay("midnight"))
	// 23:30 on 1 June and 00:30 on 2 June in Vietnam (16:30 and 17:30 UTC).
	late := time.Date(2026, 6, 1, 23, 30, 0, 0, loc)
	mustInsertPlays(t, db, newPlay(d.ID, late), newPlay(d.ID, late.Add(time.Hour)), newPlay(d.ID, late.Add(time.Hour+time.Minute)))
	f := reports.AirtimeFilter{GroupBy: reports.ByDay, Location: loc,
		From: time.Date(2026, 6, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 6, 3, 0, 0, 0, 0, loc)}
	want := []reports.AirtimeRow{
		{Key: "2026-06-01", Plays: 1, Completed: 1, AirtimeMS: 10_000, Airtime: "0:00:10"},
		{Key: "2026-06-02", Plays: 2, Completed: 2, AirtimeMS: 20_000, Airtime: "0:00:20"},
	}
	if diff := cmp.Diff(want, mustAirtime(t, db, f)); diff != "" {
		t.Fatalf("days in Vietnam (-want +got):\n%s", diff)
	}
	// In UTC all three fall on 1 June.
	f.Location = nil
	f.From, f.To = f.From.UTC().Truncate(24*time.Hour), f.To.UTC().Truncate(24*time.Hour).Add(24*time.Hour)
	if got := mustAirtime(t, db, f); len(got) != 1 || got[0].Key != "2026-06-01" || got[0].Plays != 3 {
		t.Fatalf("days in UTC = %+v, want one day of 3 plays", got)
	}
}

func testAirtimeScopeAndGroups(t *testing.T, db *DB) {
	orgTree(t, db)
	inOrg := func(org string, tags ...string) func(*displays.Display) {
		return func(d *displays.Display) { d.OrgID, d.Tags = org, tags }
	}
	da := mustCreateDisplay(t, db, newDisplay("district a", inOrg("org_a", "lobby")))
	da1 := mustCreateDisplay(t, db, newDisplay("ward a1", inOrg("org_a1", "lobby", "street")))
	db2 := mustCreateDisplay(t, db, newDisplay("district b", inOrg("org_b", "lobby")))
	for i, d := range []*displays.Display{da, da1, db2} {
		for j := 0; j <= i; j++ {
			mustInsertPlays(t, db, newPlay(d.ID, t0.Add(time.Duration(j)*time.Minute), func(p *marquee.Play) {
				p.MediaID, p.MediaName = "med_"+d.Name[:1], "name of "+d.Name
			}))
		}
	}
	base := reports.AirtimeFilter{From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour)}
	keys := func(rows []reports.AirtimeRow) map[string]int64 {
		m := map[string]int64{}
		for _, r := range rows {
			m[r.Key] = r.Plays
		}
		return m
	}
	tests := []struct {
		name string
		f    func(f *reports.AirtimeFilter)
		want map[string]int64
	}{
		{"org a's viewer by display", func(f *reports.AirtimeFilter) { f.GroupBy, f.Within = reports.ByDisplay, "org_a" },
			map[string]int64{da.ID: 1, da1.ID: 2}},
		{"org b's viewer by organisation", func(f *reports.AirtimeFilter) { f.GroupBy, f.Within = reports.ByOrganisation, "org_b" },
			map[string]int64{"org_b": 3}},
		{"root by organisation", func(f *reports.AirtimeFilter) { f.GroupBy = reports.ByOrganisation },
			map[string]int64{"org_a": 1, "org_a1": 2, "org_b": 3}},
		{"root, organisation filter", func(f *reports.AirtimeFilter) { f.GroupBy, f.OrganisationID = reports.ByDisplay, "org_a1" },
			map[string]int64{da1.ID: 2}},
		{"org a1 asks for org b", func(f *reports.AirtimeFilter) {
			f.GroupBy, f.Within, f.OrganisationID = reports.ByDisplay, "org_a1", "org_b"
		}, map[string]int64{}},
		{"by tag", func(f *reports.AirtimeFilter) { f.GroupBy = reports.ByTag },
			map[string]int64{"lobby": 6, "street": 2}},
		{"tag filter by media", func(f *reports.AirtimeFilter) { f.GroupBy, f.Tag = reports.ByMedia, "street" },
			map[string]int64{"med_w": 2}},
		{"by schedule", func(f *reports.AirtimeFilter) { f.GroupBy, f.DisplayID = reports.BySchedule, db2.ID },
			map[string]int64{"sch_a": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.f(&f)
			if diff := cmp.Diff(tt.want, keys(mustAirtime(t, db, f))); diff != "" {
				t.Fatalf("plays by key (-want +got):\n%s", diff)
			}
		})
	}
	rows := mustAirtime(t, db, reports.AirtimeFilter{From: base.From, To: base.To, GroupBy: reports.ByMedia, MediaID: "med_w"})
	if len(rows) != 1 || rows[0].Label != "name of ward a1" || rows[0].Airtime != "0:00:20" {
		t.Fatalf("media row = %+v", rows)
	}
	_, err := db.AirtimeReport(context.Background(), reports.AirtimeFilter{From: base.From, To: base.To, GroupBy: "week"})
	wantCode(t, err, marquee.EINVALID)
}

func testPlaysRetentionKeepsRollups(t *testing.T, db *DB) {
	ctx := context.Background()
	hour := t0.UTC().Truncate(time.Hour)
	var plays []marquee.Play
	for i := range 25 {
		plays = append(plays, newPlay("dsp_a", hour.Add(time.Duration(i)*10*time.Minute)))
	}
	mustInsertPlays(t, db, plays...)
	before := allRollups(t, db)
	// Deletes whole hours only: the cut at hour+2h30 deletes the first two.
	n, err := db.DeletePlaysBefore(ctx, hour.Add(150*time.Minute), 5)
	if err != nil || n != 12 {
		t.Fatalf("DeletePlaysBefore = %d, %v; want 12", n, err)
	}
	if got := countRows(t, db, "plays"); got != 13 {
		t.Fatalf("plays left = %d, want 13", got)
	}
	if err := db.RebuildRollups(ctx, hour.Add(-time.Hour), hour.Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, allRollups(t, db)); diff != "" {
		t.Fatalf("rollups after retention and a rebuild (-want +got):\n%s", diff)
	}
}

// testPlaysKeepDeletedMedia: history is immutable — plays, and the airtime
// report, keep a media's name and hash after the media is deleted.
func testPlaysKeepDeletedMedia(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mustCreateMedia(t, db, newItem("Khai trương.jpg"))
	p := newPlay("dsp_a", t0, func(p *marquee.Play) { p.MediaID, p.MediaName, p.MediaSHA256 = m.ID, m.Name, m.SHA256 })
	mustInsertPlays(t, db, p)
	if err := db.DeleteMedia(ctx, m.ID); err != nil {
		t.Fatalf("DeleteMedia: %v", err)
	}
	got, _, err := db.FindPlays(ctx, fleet.PlayFilter{MediaID: m.ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("plays of the deleted media = %v, %v", got, err)
	}
	if got[0].MediaName != m.Name || got[0].MediaSHA256 != m.SHA256 {
		t.Fatalf("play after deleting its media names %q (%s), want %q (%s)", got[0].MediaName, got[0].MediaSHA256, m.Name, m.SHA256)
	}
	rows := mustAirtime(t, db, reports.AirtimeFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), GroupBy: reports.ByMedia})
	if len(rows) != 1 || rows[0].Label != m.Name {
		t.Fatalf("airtime by media after deleting it = %+v", rows)
	}
}
