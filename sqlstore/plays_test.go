package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/fleet"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"PlaysInsertIdempotent", testPlaysInsertIdempotent},
		{"PlaysOutliveWhatTheyName", testPlaysOutliveWhatTheyName},
		{"PlaysFilterAndPaginate", testPlaysFilterAndPaginate},
		{"PlaysMalformedCursor", testPlaysMalformedCursor},
		{"KnownDisplays", testKnownDisplays},
	}...)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newPlay returns a valid play of display displayID starting at start.
func newPlay(displayID string, start time.Time, opts ...func(*marquee.Play)) marquee.Play {
	p := marquee.Play{
		ID:               newUUID(),
		DisplayID:        displayID,
		MediaID:          "med_a",
		MediaSHA256:      strings.Repeat("ab", 32),
		MediaName:        "Chiến dịch Căn cước",
		PlaylistID:       "pls_a",
		PlaylistRevision: 3,
		ScheduleID:       "sch_a",
		Reason:           marquee.ReasonSchedule,
		StartedAt:        start.UTC().Truncate(time.Millisecond),
		EndedAt:          start.UTC().Truncate(time.Millisecond).Add(10 * time.Second),
		PlannedMS:        10_000,
		PlayedMS:         10_000,
		Completed:        true,
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func mustInsertPlays(t *testing.T, db *DB, plays ...marquee.Play) int {
	t.Helper()
	n, err := db.InsertPlays(context.Background(), plays, t0)
	if err != nil {
		t.Fatalf("InsertPlays(%d plays): %v", len(plays), err)
	}
	return n
}

func testPlaysInsertIdempotent(t *testing.T, db *DB) {
	ctx := context.Background()
	a := newPlay("dsp_a", t0)
	b := newPlay("dsp_a", t0.Add(10*time.Second), func(p *marquee.Play) {
		p.ScheduleID, p.Reason, p.PlayedMS, p.Completed = "", marquee.ReasonFallback, 2_000, false
	})
	// A duplicate within one call is stored once.
	if n := mustInsertPlays(t, db, a, b, a); n != 2 {
		t.Fatalf("InsertPlays(a, b, a) inserted %d, want 2", n)
	}
	// Re-sent: nothing new, no error.
	if n := mustInsertPlays(t, db, b, a); n != 0 {
		t.Fatalf("re-sent InsertPlays inserted %d, want 0", n)
	}
	c := newPlay("dsp_a", t0.Add(20*time.Second))
	if n := mustInsertPlays(t, db, a, c); n != 1 {
		t.Fatalf("InsertPlays(a, c) inserted %d, want 1", n)
	}
	if n := countRows(t, db, "plays"); n != 3 {
		t.Fatalf("plays rows = %d, want 3", n)
	}
	if n, err := db.InsertPlays(ctx, nil, t0); err != nil || n != 0 {
		t.Fatalf("InsertPlays(nil) = %d, %v", n, err)
	}

	got, next, err := db.FindPlays(ctx, fleet.PlayFilter{})
	if err != nil || next != "" {
		t.Fatalf("FindPlays = %v, %q", err, next)
	}
	if diff := cmp.Diff([]marquee.Play{c, b, a}, got); diff != "" {
		t.Fatalf("FindPlays (-want +got):\n%s", diff)
	}
	var received int64
	var schedule sql.NullString
	if err := db.read.QueryRow(db.d.rebind(`SELECT received_at, schedule_id FROM plays WHERE id = ?`), b.ID).Scan(&received, &schedule); err != nil {
		t.Fatal(err)
	}
	if received != toMS(t0) || schedule.Valid {
		t.Errorf("received_at = %d, schedule_id = %v; want %d and NULL", received, schedule, toMS(t0))
	}
}

func testPlaysOutliveWhatTheyName(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("gone soon"))
	p := newPlay(d.ID, t0)
	mustInsertPlays(t, db, p)
	if err := db.DeleteDisplay(ctx, d.ID); err != nil {
		t.Fatalf("DeleteDisplay: %v", err)
	}
	got, _, err := db.FindPlays(ctx, fleet.PlayFilter{DisplayID: d.ID})
	if err != nil || len(got) != 1 || got[0].ID != p.ID {
		t.Fatalf("plays after the display was deleted = %v, %v; want the play", got, err)
	}
}

func testPlaysFilterAndPaginate(t *testing.T, db *DB) {
	ctx := context.Background()
	// 40 plays over 2 displays, 2 media, a schedule or the fallback; every
	// 4th pair shares a start time, so the ID breaks ties.
	var all []marquee.Play
	for i := range 40 {
		start := t0.Add(time.Duration(i/2) * time.Minute)
		if i%4 >= 2 {
			start = start.Add(time.Duration(i%2) * time.Second)
		}
		p := newPlay([]string{"dsp_a", "dsp_b"}[i%2], start, func(p *marquee.Play) {
			p.MediaID = []string{"med_x", "med_y", "med_x"}[i%3]
			if i%5 == 0 {
				p.ScheduleID, p.Reason = "", marquee.ReasonFallback
			}
		})
		all = append(all, p)
	}
	mustInsertPlays(t, db, all...)
	newestFirst := func(keep func(p marquee.Play) bool) []string {
		var ps []marquee.Play
		for _, p := range all {
			if keep(p) {
				ps = append(ps, p)
			}
		}
		// started_at DESC, id DESC
		for i := range ps {
			for j := i + 1; j < len(ps); j++ {
				a, b := ps[i], ps[j]
				if b.StartedAt.After(a.StartedAt) || (b.StartedAt.Equal(a.StartedAt) && b.ID > a.ID) {
					ps[i], ps[j] = b, a
				}
			}
		}
		ids := []string{}
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return ids
	}
	base := t0.UTC().Truncate(time.Millisecond)
	from, to := base.Add(5*time.Minute), base.Add(12*time.Minute)
	tests := []struct {
		name string
		f    fleet.PlayFilter
		keep func(p marquee.Play) bool
	}{
		{"all", fleet.PlayFilter{}, func(marquee.Play) bool { return true }},
		{"display", fleet.PlayFilter{DisplayID: "dsp_b"}, func(p marquee.Play) bool { return p.DisplayID == "dsp_b" }},
		{"media", fleet.PlayFilter{MediaID: "med_y"}, func(p marquee.Play) bool { return p.MediaID == "med_y" }},
		{"schedule", fleet.PlayFilter{ScheduleID: "sch_a"}, func(p marquee.Play) bool { return p.ScheduleID == "sch_a" }},
		{"range", fleet.PlayFilter{From: from, To: to}, func(p marquee.Play) bool {
			return !p.StartedAt.Before(from) && p.StartedAt.Before(to)
		}},
		{"display+media+range", fleet.PlayFilter{DisplayID: "dsp_a", MediaID: "med_x", From: from}, func(p marquee.Play) bool {
			return p.DisplayID == "dsp_a" && p.MediaID == "med_x" && !p.StartedAt.Before(from)
		}},
		{"none", fleet.PlayFilter{DisplayID: "dsp_none"}, func(marquee.Play) bool { return false }},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 3, 7, 50} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.name, limit), func(t *testing.T) {
				f := tt.f
				f.Limit = limit
				got := []string{}
				for page := 0; ; page++ {
					if page > len(all) {
						t.Fatal("pagination does not end")
					}
					ps, next, err := db.FindPlays(ctx, f)
					if err != nil {
						t.Fatalf("FindPlays page %d: %v", page, err)
					}
					if ps == nil || len(ps) > limit {
						t.Fatalf("page %d: %d plays (nil %v), limit %d", page, len(ps), ps == nil, limit)
					}
					for _, p := range ps {
						got = append(got, p.ID)
					}
					if next == "" {
						break
					}
					f.Cursor = next
				}
				if diff := cmp.Diff(newestFirst(tt.keep), got); diff != "" {
					t.Fatalf("IDs (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func testPlaysMalformedCursor(t *testing.T, db *DB) {
	ctx := context.Background()
	mustInsertPlays(t, db, newPlay("dsp_a", t0))
	for _, c := range []string{"!!!", encodeCursor("dsp_a"), encodeTimeCursor(1, "x' OR '1'='1"),
		encodeTimeCursor(1, ""), "MTIzNDU"} {
		_, _, err := db.FindPlays(ctx, fleet.PlayFilter{Cursor: c})
		wantCode(t, err, marquee.EINVALID)
	}
	_, _, err := db.FindPlays(ctx, fleet.PlayFilter{Limit: -1})
	wantCode(t, err, marquee.EINVALID)
}

func testKnownDisplays(t *testing.T, db *DB) {
	ctx := context.Background()
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	got, err := db.FindKnownDisplays(ctx, []string{a.ID, "dsp_nope", b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{a.ID: true, b.ID: true}, got); diff != "" {
		t.Fatalf("FindKnownDisplays (-want +got):\n%s", diff)
	}
	if got, err := db.FindKnownDisplays(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("FindKnownDisplays(nil) = %v, %v", got, err)
	}
}

// benchPlays returns n plays over 50 displays.
func benchPlays(n int) []marquee.Play {
	ps := make([]marquee.Play, n)
	for i := range ps {
		ps[i] = newPlay(fmt.Sprintf("dsp_%02d", i%50), t0.Add(time.Duration(i)*time.Second))
	}
	return ps
}

// BenchmarkInsertPlays stores 500-play batches into a growing table: with
// InsertPlays (INSERT … ON CONFLICT DO NOTHING, playsPerStatement rows a
// statement, hourly and daily rollups upserted), with LoadPlays (the bulk
// path: COPY on PostgreSQL, no rollups) and, as the baseline, with a plain
// prepared single-row INSERT a play, all in one transaction a batch.
// rows/s is the figure to compare.
func BenchmarkInsertPlays(b *testing.B) {
	const batch = 500
	for _, d := range testDialects {
		b.Run(d.name+"/batched", func(b *testing.B) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				ps := benchPlays(batch)
				b.StartTimer()
				if _, err := db.InsertPlays(ctx, ps, t0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(d.name+"/load", func(b *testing.B) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				ps := benchPlays(batch)
				b.StartTimer()
				if _, err := db.LoadPlays(ctx, playsFrom(ps), batch, t0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(d.name+"/baseline", func(b *testing.B) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			ctx := context.Background()
			insert := db.d.rebind(`INSERT INTO plays (` + playColumns + `, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				ps := benchPlays(batch)
				b.StartTimer()
				tx, err := db.SQL().BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				stmt, err := tx.PrepareContext(ctx, insert)
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range ps {
					if _, err := stmt.ExecContext(ctx, playArgs([]marquee.Play{p}, toMS(t0))...); err != nil {
						b.Fatal(err)
					}
				}
				stmt.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
