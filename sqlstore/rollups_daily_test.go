package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
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
		{"RollupReportsEqualRawPlays", testRollupReportsEqualRawPlays},
		{"MonthlyReportDaylightSaving", testMonthlyReportDaylightSaving},
		{"CloseRollupDay", testCloseRollupDay},
	}...)
}

func TestDayOf(t *testing.T) {
	ict := time.FixedZone("ICT", 7*3600)
	for _, at := range []time.Time{
		time.Date(2026, 6, 1, 0, 0, 0, 0, ict),
		time.Date(2026, 6, 1, 23, 59, 59, 999e6, ict),
		time.Date(2026, 6, 1, 16, 59, 0, 0, time.UTC),
		time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC),
	} {
		y, m, d := at.In(ict).Date()
		want := time.Date(y, m, d, 0, 0, 0, 0, ict)
		if got := fromMS(dayOf(toMS(at))); !got.Equal(want) {
			t.Errorf("dayOf(%s) = %s, want %s", at, got.In(ict), want)
		}
	}
}

// testRollupReportsEqualRawPlays: random plays over nine days, ingested in
// random batches, some re-sent; every airtime report over random periods
// (hour edges, whole days, days of UTC+7, UTC and a zone with daylight
// saving time) and the monthly report equal what the raw plays add up to,
// before and after RebuildRollups: the daily rollups and the hourly ones
// at the edges together count every play once.
func testRollupReportsEqualRawPlays(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	rng := rand.New(rand.NewPCG(6, 27))
	var ds []*displays.Display
	for i, org := range []string{"org_a", "org_a1", "org_b", "org_a1"} {
		ds = append(ds, mustCreateDisplay(t, db, newDisplay(fmt.Sprint("d", i), func(d *displays.Display) { d.OrgID = org })))
	}
	ict := time.FixedZone("ICT", 7*3600)
	start := time.Date(2026, 5, 28, 0, 0, 0, 0, ict)
	var plays []marquee.Play
	for range 1500 {
		di := rng.IntN(len(ds))
		at := start.Add(time.Duration(rng.Int64N(int64(9 * 24 * time.Hour))))
		played := 1000 + rng.Int64N(14_000)
		plays = append(plays, newPlay(ds[di].ID, at, func(p *marquee.Play) {
			p.MediaID = fmt.Sprint("med_", rng.IntN(3))
			p.MediaName = "Tên " + p.MediaID
			p.ScheduleID = []string{"", "sch_x", "sch_y"}[rng.IntN(3)]
			p.PlayedMS, p.Completed = played, played > 8000
		}))
	}
	for rest := plays; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(200))
		batch := slices.Clone(rest[:k])
		if k > 3 {
			batch = append(batch, rest[rng.IntN(k)]) // a re-sent play
		}
		mustInsertPlays(t, db, batch...)
		rest = rest[k:]
	}
	orgOf := map[string]string{}
	for _, d := range ds {
		orgOf[d.ID] = d.OrgID
	}
	inOrg := func(org, within string) bool {
		return within == "" || org == within || (within == "org_a" && org == "org_a1")
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}

	// want adds up the raw plays of [from, to) (rounded to whole hours, as
	// the store does) matching f.
	want := func(f reports.AirtimeFilter) []reports.AirtimeRow {
		from, to := f.From.UTC().Truncate(time.Hour), f.To.UTC()
		if !to.Equal(to.Truncate(time.Hour)) {
			to = to.Truncate(time.Hour).Add(time.Hour)
		}
		sums := map[string]*reports.AirtimeRow{}
		var keys []string
		for _, p := range plays {
			if p.StartedAt.Before(from) || !p.StartedAt.Before(to) || !inOrg(orgOf[p.DisplayID], f.Within) {
				continue
			}
			if f.ScheduleID != "" && p.ScheduleID != f.ScheduleID {
				continue
			}
			var k string
			switch f.GroupBy {
			case reports.ByDay:
				k = p.StartedAt.UTC().Truncate(time.Hour).In(f.Location).Format(time.DateOnly)
			case reports.ByDisplay:
				k = p.DisplayID
			case reports.ByMedia:
				k = p.MediaID
			case reports.BySchedule:
				k = p.ScheduleID
			}
			r := sums[k]
			if r == nil {
				r = &reports.AirtimeRow{Key: k}
				sums[k] = r
				keys = append(keys, k)
			}
			r.Plays++
			if p.Completed {
				r.Completed++
			}
			r.AirtimeMS += p.PlayedMS
		}
		out := []reports.AirtimeRow{}
		for _, k := range sorted(keys) {
			r := *sums[k]
			r.Airtime = reports.FormatAirtime(r.AirtimeMS)
			out = append(out, r)
		}
		return out
	}
	counts := func(rs []reports.AirtimeRow) []reports.AirtimeRow {
		out := make([]reports.AirtimeRow, len(rs))
		for i, r := range rs {
			out[i] = reports.AirtimeRow{Key: r.Key, Plays: r.Plays, Completed: r.Completed, AirtimeMS: r.AirtimeMS, Airtime: r.Airtime}
		}
		return out
	}
	check := func(stage string) {
		t.Helper()
		periods := [][2]time.Time{
			{start, start.AddDate(0, 0, 9)},                                     // whole ICT days
			{start.Add(5 * time.Hour), start.Add(7*24*time.Hour + 3*time.Hour)}, // ragged hours
			{start.Add(90 * time.Minute), start.Add(3*time.Hour + 10*time.Minute)},
			{time.Date(2026, 5, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 4, 0, 0, 0, 0, time.UTC)},
		}
		for range 12 {
			a := start.Add(time.Duration(rng.Int64N(int64(9 * 24 * time.Hour))))
			b := a.Add(time.Duration(rng.Int64N(int64(6 * 24 * time.Hour))))
			periods = append(periods, [2]time.Time{a, b})
		}
		for _, p := range periods {
			for _, g := range []string{reports.ByDay, reports.ByDisplay, reports.ByMedia, reports.BySchedule} {
				for _, loc := range []*time.Location{ict, time.UTC, newYork} {
					for _, within := range []string{"", "org_a", "org_b"} {
						f := reports.AirtimeFilter{From: p[0], To: p[1], GroupBy: g, Location: loc, Within: within}
						if g == reports.ByDisplay {
							f.ScheduleID = "sch_x"
						}
						if g != reports.ByDay && loc != ict {
							continue
						}
						if d := cmp.Diff(want(f), counts(mustAirtime(t, db, f))); d != "" {
							t.Fatalf("%s: airtime %s..%s group_by=%s zone=%s within=%q (-raw plays +report):\n%s",
								stage, p[0], p[1], g, loc, within, d)
						}
					}
				}
			}
		}
		// The monthly report of June in UTC+7 (daily rollups) and UTC.
		for _, loc := range []*time.Location{ict, time.UTC} {
			from := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
			to := from.AddDate(0, 1, 0)
			rows, err := db.MonthlyReport(ctx, reports.MonthlyFilter{From: from, To: to, Location: loc, Within: "org_a"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][3]int64{}
			for _, r := range rows {
				k := r.Day + " " + r.DisplayID + " " + r.ScheduleID
				got[k] = [3]int64{r.Plays, r.Completed, r.AirtimeMS}
			}
			raw := map[string][3]int64{}
			for _, p := range plays {
				if p.StartedAt.Before(from) || !p.StartedAt.Before(to) || !inOrg(orgOf[p.DisplayID], "org_a") {
					continue
				}
				k := p.StartedAt.UTC().Truncate(time.Hour).In(loc).Format(time.DateOnly) + " " + p.DisplayID + " " + p.ScheduleID
				s := raw[k]
				s[0]++
				if p.Completed {
					s[1]++
				}
				s[2] += p.PlayedMS
				raw[k] = s
			}
			if len(raw) == 0 {
				t.Fatal("no plays in June: the test data is wrong")
			}
			if d := cmp.Diff(raw, got); d != "" {
				t.Fatalf("%s: monthly report of June in %s (-raw plays +report):\n%s", stage, loc, d)
			}
		}
	}
	check("ingested")
	if err := db.RebuildRollups(ctx, start, start.AddDate(0, 0, 10)); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
	// A rebuild of a few hours in the middle of a day keeps that day's
	// daily rows equal to the sum of its hours.
	if err := db.RebuildRollups(ctx, start.Add(50*time.Hour), start.Add(52*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("one hour rebuilt")
}

func sorted(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// TestDailyRollupsMigration: migration 0013 fills the daily rollups from
// the hourly rows already stored.
func TestDailyRollupsMigration(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		ctx := context.Background()
		db := d.open(t)
		all := d.migrationsOf().migrations()
		before := fstest.MapFS{}
		entries, err := fs.ReadDir(all, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			v, _ := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
			if v >= 13 {
				continue
			}
			data, err := fs.ReadFile(all, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			before[e.Name()] = &fstest.MapFile{Data: data}
		}
		if _, err := db.migrateFS(ctx, before); err != nil {
			t.Fatal(err)
		}
		ict := time.FixedZone("ICT", 7*3600)
		day := time.Date(2026, 6, 1, 0, 0, 0, 0, ict)
		for i, h := range []time.Duration{0, 5 * time.Hour, 23 * time.Hour, 24 * time.Hour} {
			_, err := db.write.ExecContext(ctx, db.d.rebind(`INSERT INTO play_rollups_hourly (bucket_start, display_id,
				media_id, schedule_id, org_id, media_name, plays, completed, airtime_ms) VALUES (?, 'dsp_a', 'med_a', '', 'org_root', ?, ?, 1, ?)`),
				toMS(day.Add(h)), fmt.Sprint("Tên ", i), 2, 1000*(i+1))
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := db.AirtimeReport(ctx, reports.AirtimeFilter{From: day, To: day.AddDate(0, 0, 2), GroupBy: reports.ByDay, Location: ict})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%s %d/%d %d", r.Key, r.Plays, r.Completed, r.AirtimeMS))
		}
		if d := cmp.Diff([]string{"2026-06-01 6/3 6000", "2026-06-02 2/1 4000"}, got); d != "" {
			t.Errorf("days after migrating (-want +got):\n%s", d)
		}
		var daily int
		if err := db.write.QueryRowContext(ctx, `SELECT COUNT(*) FROM play_rollups_daily`).Scan(&daily); err != nil {
			t.Fatal(err)
		}
		if daily != 2 {
			t.Errorf("daily rows after migrating = %d, want 2", daily)
		}
	})
}

// testMonthlyReportDaylightSaving: in a zone that changes its offset during
// the month (New York, 8 March 2026), the monthly report's days are that
// zone's days, as the raw plays add up.
func testMonthlyReportDaylightSaving(t *testing.T, db *DB) {
	ctx := context.Background()
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	rng := rand.New(rand.NewPCG(3, 8))
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, newYork)
	to := from.AddDate(0, 1, 0)
	var plays []marquee.Play
	for range 400 {
		d := []string{a.ID, b.ID}[rng.IntN(2)]
		at := time.Date(2026, 3, 7, 0, 0, 0, 0, newYork).Add(time.Duration(rng.Int64N(int64(3 * 24 * time.Hour))))
		plays = append(plays, newPlay(d, at, func(p *marquee.Play) {
			p.ScheduleID = []string{"", "sch_x"}[rng.IntN(2)]
			p.PlayedMS = 1000 + rng.Int64N(9000)
		}))
	}
	plays = append(plays, newPlay(a.ID, from.Add(-time.Minute)), newPlay(a.ID, to)) // outside
	mustInsertPlays(t, db, plays...)
	rows, err := db.MonthlyReport(ctx, reports.MonthlyFilter{From: from, To: to, Location: newYork})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s %s %d/%d %d", r.Day, r.DisplayID, r.ScheduleID, r.Plays, r.Completed, r.AirtimeMS))
	}
	type key struct{ day, display, schedule string }
	sums := map[key][3]int64{}
	for _, p := range plays {
		if p.StartedAt.Before(from) || !p.StartedAt.Before(to) {
			continue
		}
		k := key{p.StartedAt.In(newYork).Format(time.DateOnly), p.DisplayID, p.ScheduleID}
		s := sums[k]
		s[0]++
		if p.Completed {
			s[1]++
		}
		s[2] += p.PlayedMS
		sums[k] = s
	}
	for k, s := range sums {
		want = append(want, fmt.Sprintf("%s %s %s %d/%d %d", k.day, k.display, k.schedule, s[0], s[1], s[2]))
	}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("monthly report of March 2026 in New York (-raw plays +report):\n%s", d)
	}
	if len(want) < 8 {
		t.Fatalf("only %d rows: the test data is wrong", len(want))
	}
}

// testCloseRollupDay: closing an hour other than a day's last records the
// hour only; closing the last (16:00 UTC) leaves the day's daily rows equal
// to the sum of its hours (here, after they were damaged) and records the
// day.
func testCloseRollupDay(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("close"))
	ict := time.FixedZone("ICT", 7*3600)
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, ict)
	var plays []marquee.Play
	for h := range 24 {
		plays = append(plays, newPlay(d.ID, day.Add(time.Duration(h)*time.Hour+time.Minute)))
	}
	mustInsertPlays(t, db, plays...)
	daily := func() (n, sum int64) {
		t.Helper()
		if err := db.write.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*), COALESCE(SUM(plays), 0) FROM play_rollups_daily WHERE day_start = ?`),
			toMS(day)).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		return n, sum
	}
	if n, sum := daily(); n != 1 || sum != 24 {
		t.Fatalf("daily rows of the day = %d with %d plays, want 1 with 24", n, sum)
	}
	if err := db.CloseRollupHour(ctx, day.Add(22*time.Hour)); err != nil { // 22:00 ICT: not the last
		t.Fatal(err)
	}
	if n := countRows(t, db, "rollup_closed_days"); n != 0 {
		t.Fatalf("rollup_closed_days after closing 22:00 = %d rows, want 0", n)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE play_rollups_daily SET plays = 999`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO play_rollups_daily (day_start, display_id, media_id, schedule_id, org_id, media_name, plays, completed, airtime_ms)
		VALUES (`+strconv.FormatInt(toMS(day), 10)+`, 'dsp_ghost', 'med_x', '', '', 'x', 5, 5, 5)`); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseRollupHour(ctx, day.Add(23*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, sum := daily(); n != 1 || sum != 24 {
		t.Errorf("daily rows after closing the day = %d with %d plays, want 1 with 24", n, sum)
	}
	if n := countRows(t, db, "rollup_closed_days"); n != 1 {
		t.Errorf("rollup_closed_days = %d rows, want 1", n)
	}
	if n := countRows(t, db, "rollup_closed"); n != 2 {
		t.Errorf("rollup_closed = %d rows, want 2", n)
	}
}
