package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/internal/export"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/reports"
	"github.com/marquee-signage/marquee/sqlstore"
)

// seedFlags are the flags of `marquee seed plays`.
type seedFlags struct {
	db        string
	count     int
	displays  int
	orgs      int
	media     int
	days      int
	batch     int
	measure   bool
	org       string // measure only, this organisation
	rate      int    // plays/s inserted while measuring; 0: as fast as the store takes them
	baseline  bool   // also time the airtime summed from the raw plays
	endOfSeed time.Time
}

// runSeed runs `marquee seed plays`: it fills a database with synthetic
// organisations, displays and plays (and their rollups) for measuring
// reports at scale, then times a 30-day airtime report for one
// organisation, alone and while plays are being inserted.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "plays" {
		return errors.New("seed: usage: marquee seed plays --db DSN [--count N] [--displays N] [--days N]")
	}
	f := seedFlags{count: 1_000_000, displays: 300, orgs: 6, media: 40, days: 60, batch: 100_000, measure: true}
	fs := flag.NewFlagSet("marquee seed plays", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.db, "db", getenv("MARQUEE_DB"), "database DSN (sqlite:///path or postgres://…); a scratch database: it is migrated and filled ($MARQUEE_DB)")
	fs.IntVar(&f.count, "count", f.count, "plays to insert")
	fs.IntVar(&f.displays, "displays", f.displays, "displays to create, spread over the organisations")
	fs.IntVar(&f.orgs, "orgs", f.orgs, "organisations to create under the root")
	fs.IntVar(&f.media, "media", f.media, "distinct media (each display plays 8 of them)")
	fs.IntVar(&f.days, "days", f.days, "days the plays span, ending now")
	fs.IntVar(&f.batch, "batch", f.batch, "plays per transaction")
	fs.BoolVar(&f.measure, "measure", f.measure, "time a 30-day airtime report for one organisation afterwards")
	fs.IntVar(&f.rate, "ingest-rate", 0, "plays a second inserted (in batches of 100) while the reports are timed; 0: as fast as the store takes them")
	fs.BoolVar(&f.baseline, "baseline", false, "also time the 30-day airtime per display summed from the raw plays, the query rollups replace (slow at scale)")
	fs.StringVar(&f.org, "measure-org", "", "seed nothing: only time the reports of this (seeded) organisation, inserting plays of unknown displays meanwhile")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if f.db == "" || f.count < 1 || f.displays < 1 || f.orgs < 1 || f.media < 1 || f.days < 1 || f.batch < 1 || f.rate < 0 {
		return errors.New("seed plays: --db is required and every number must be at least 1")
	}
	f.endOfSeed = time.Now().UTC().Truncate(time.Hour)
	db, err := sqlstore.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	if f.org != "" {
		ids := make([]string, f.displays)
		for i := range ids {
			ids[i] = fmt.Sprintf("dsp_measure_%04d", i)
		}
		return measureReports(ctx, db, f, f.org, ids, stdout)
	}
	orgIDs, displayIDs, err := seedFleet(ctx, db, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %d organisations (%s to %s) and %d displays; reports are timed for %s\n",
		len(orgIDs), orgIDs[0], orgIDs[len(orgIDs)-1], len(displayIDs), orgIDs[0])
	if err := seedPlays(ctx, db, f, displayIDs, stdout); err != nil {
		return err
	}
	if f.measure {
		return measureReports(ctx, db, f, orgIDs[0], displayIDs, stdout)
	}
	return nil
}

// seedFleet creates f.orgs organisations under the root and f.displays
// displays spread over them; it returns their IDs.
func seedFleet(ctx context.Context, db *sqlstore.DB, f seedFlags) (orgIDs, displayIDs []string, err error) {
	run := marquee.NewID("")[:6]
	for i := range f.orgs {
		o := &orgs.Organisation{ID: fmt.Sprintf("org_seed%s_%02d", run, i), ParentID: auth.RootOrgID, Name: fmt.Sprintf("Quận %d", i+1)}
		if err := db.CreateOrganisation(ctx, o); err != nil {
			return nil, nil, fmt.Errorf("seed organisations: %w", err)
		}
		orgIDs = append(orgIDs, o.ID)
	}
	now := time.Now()
	for i := range f.displays {
		d := &displays.Display{
			ID: fmt.Sprintf("dsp_seed%s_%04d", run, i), OrgID: orgIDs[i%len(orgIDs)], Name: fmt.Sprintf("Màn hình %d", i+1),
			Width: 384, Height: 192, Timezone: reports.DefaultTimezone, Tags: []string{[]string{"street", "lobby", "market"}[i%3]},
			TokenHash: auth.HashToken(marquee.NewID("tok_")), CreatedAt: now, UpdatedAt: now,
		}
		if err := db.CreateDisplay(ctx, d); err != nil {
			return nil, nil, fmt.Errorf("seed displays: %w", err)
		}
		displayIDs = append(displayIDs, d.ID)
	}
	return orgIDs, displayIDs, nil
}

// seedPlays bulk-loads f.count plays in time order (every display playing
// in turn) with LoadPlays, f.batch a transaction, then builds their
// rollups with RebuildRollups, and prints the rate of each step.
func seedPlays(ctx context.Context, db *sqlstore.DB, f seedFlags, displayIDs []string, stdout io.Writer) error {
	span := time.Duration(f.days) * 24 * time.Hour
	slots := (f.count + len(displayIDs) - 1) / len(displayIDs)
	step := span / time.Duration(slots)
	start := f.endOfSeed.Add(-span)
	gen := newPlayMaker(f)
	began, last := time.Now(), time.Now()
	i := 0
	next := func() (marquee.Play, bool) {
		if i == f.count {
			return marquee.Play{}, false
		}
		slot, d := i/len(displayIDs), i%len(displayIDs)
		i++
		if i%100_000 == 0 && time.Since(last) > 30*time.Second {
			last = time.Now()
			fmt.Fprintf(stdout, "%d plays, %.0f rows/s\n", i, float64(i)/time.Since(began).Seconds())
		}
		return gen.play(displayIDs[d], d, slot, start.Add(time.Duration(slot)*step)), true
	}
	n, err := db.LoadPlays(ctx, next, f.batch, f.endOfSeed)
	if err != nil {
		return fmt.Errorf("seed plays: %d stored: %w", n, err)
	}
	took := time.Since(began)
	fmt.Fprintf(stdout, "loaded %d plays over %d displays and %d days in %s: %.0f rows/s\n",
		n, len(displayIDs), f.days, took.Round(time.Second), float64(n)/took.Seconds())
	began = time.Now()
	if err := db.RebuildRollups(ctx, start, f.endOfSeed.Add(time.Hour)); err != nil {
		return err
	}
	took = time.Since(began)
	fmt.Fprintf(stdout, "built their rollups in %s: %.0f plays/s\n", took.Round(time.Second), float64(n)/took.Seconds())
	began = time.Now()
	if err := db.AnalyzeAfterLoad(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "analyzed in %s\n", time.Since(began).Round(time.Second))
	return nil
}

// playMaker makes synthetic plays; it holds the strings every play
// repeats, so that generating plays costs little next to storing them.
type playMaker struct {
	media, sha, names, schedules []string
}

func newPlayMaker(f seedFlags) *playMaker {
	g := &playMaker{}
	for m := range f.media {
		g.media = append(g.media, fmt.Sprintf("med_seed_%03d", m))
		g.sha = append(g.sha, strings.Repeat(fmt.Sprintf("%02x", m%256), 32))
		g.names = append(g.names, fmt.Sprintf("Nội dung %d", m))
	}
	for s := range 5 {
		g.schedules = append(g.schedules, fmt.Sprintf("sch_seed_%d", s))
	}
	return g
}

// play is the play of display d (index di) in a slot: it plays 8 of the
// media in turn, every fifth play is the fallback's, every twentieth is
// cut short.
func (g *playMaker) play(displayID string, di, slot int, at time.Time) marquee.Play {
	m := (di + slot%8) % len(g.media)
	schedule := g.schedules[di%5]
	reason := marquee.ReasonSchedule
	if slot%5 == 0 {
		schedule, reason = "", marquee.ReasonFallback
	}
	played := int64(15_000)
	if slot%20 == 0 {
		played = 7_000
	}
	return marquee.Play{
		ID: timeOrderedID(at), DisplayID: displayID, MediaID: g.media[m],
		MediaSHA256: g.sha[m], MediaName: g.names[m],
		PlaylistID: "pls_seed", PlaylistRevision: 1, ScheduleID: schedule, Reason: reason,
		StartedAt: at, EndedAt: at.Add(time.Duration(played) * time.Millisecond),
		PlannedMS: 15_000, PlayedMS: played, Completed: played == 15_000,
	}
}

// timeOrderedID returns a UUID (version 7 layout: the unix ms first), so
// that IDs of plays inserted in time order land near each other in the
// primary key.
func timeOrderedID(at time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(at.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:], b[10:])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}

// measureReports times, for organisation org, the 30-day airtime report
// grouped by day, display and media and the monthly workbook (the query,
// the sheets and the XLSX, written to nowhere) of the last whole month
// before the end of the seed, first alone and then while another goroutine
// inserts plays through InsertPlays (batches of 100, rollups kept, as the
// fleet ingests them). It prints the wall time and the process's CPU time
// per report (the latter includes the ingest goroutine's while ingesting):
// on a shared machine the wall time mostly measures the queue for a CPU.
func measureReports(ctx context.Context, db *sqlstore.DB, f seedFlags, org string, displayIDs []string, stdout io.Writer) error {
	loc := export.DefaultLocation
	to := f.endOfSeed
	month := to.In(loc).AddDate(0, -1, 0).Format("2006-01")
	timeIt := func(what, label string, run func() (int, error)) error {
		var walls []time.Duration
		var rows int
		cpu := processCPU()
		for range 5 {
			t := time.Now()
			n, err := run()
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			walls, rows = append(walls, time.Since(t)), n
		}
		cpu = (processCPU() - cpu) / 5
		slices.Sort(walls)
		fmt.Fprintf(stdout, "%s, one organisation, %s: %d rows, wall median %s, slowest %s; process CPU per report %s\n",
			what, label, rows, walls[2].Round(time.Millisecond), walls[4].Round(time.Millisecond), cpu.Round(time.Millisecond))
		return nil
	}
	report := func(label string) error {
		for _, g := range []string{reports.ByDay, reports.ByDisplay, reports.ByMedia} {
			err := timeIt("30-day airtime report, group_by="+g, label, func() (int, error) {
				rs, err := db.AirtimeReport(ctx, reports.AirtimeFilter{From: to.Add(-30 * 24 * time.Hour), To: to,
					GroupBy: g, Location: loc, Within: org})
				return len(rs), err
			})
			if err != nil {
				return err
			}
		}
		// Days of UTC are not rollup days (UTC+7): this one reads the
		// hourly rollups only, as reports in other zones do.
		err := timeIt("30-day airtime report, group_by=day, tz=UTC (hourly rollups only)", label, func() (int, error) {
			rs, err := db.AirtimeReport(ctx, reports.AirtimeFilter{From: to.Add(-30 * 24 * time.Hour), To: to,
				GroupBy: reports.ByDay, Location: time.UTC, Within: org})
			return len(rs), err
		})
		if err != nil {
			return err
		}
		return timeIt("monthly report "+month+" (xlsx)", label, func() (int, error) {
			from, until, err := reports.ParseMonth(month, loc)
			if err != nil {
				return 0, err
			}
			rows, err := db.MonthlyReport(ctx, reports.MonthlyFilter{From: from, To: until, Location: loc, Within: org})
			if err != nil {
				return 0, err
			}
			return len(rows), export.WriteXLSX(io.Discard, export.Options{Lang: export.Vietnamese}, reports.MonthlyTables(from, org, "", rows)...)
		})
	}
	if err := report("idle"); err != nil {
		return err
	}
	if f.baseline {
		// The baseline: the same 30-day airtime per display summed from
		// the raw plays, as a report without rollups would.
		q := `SELECT p.display_id, COUNT(*), SUM(p.played_ms) FROM plays p JOIN displays d ON d.id = p.display_id
			WHERE d.org_id = ? AND p.started_at >= ? AND p.started_at < ? GROUP BY p.display_id`
		if db.Dialect() == "postgres" {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprint("$", i), 1)
			}
		}
		t := time.Now()
		rows, err := db.SQL().QueryContext(ctx, q, org, to.Add(-30*24*time.Hour).UnixMilli(), to.UnixMilli())
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		fmt.Fprintf(stdout, "baseline: the same 30-day airtime per display from the raw plays (no rollups), idle: %d rows, %s\n",
			n, time.Since(t).Round(time.Millisecond))
	}
	gen := newPlayMaker(f)
	ictx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var inserted int
	var insertErr error
	underway := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		var tick <-chan time.Time
		if f.rate > 0 {
			t := time.NewTicker(time.Second * 100 / time.Duration(f.rate))
			defer t.Stop()
			tick = t.C
		}
		for slot := 0; ictx.Err() == nil; slot++ {
			if slot == 1 {
				close(underway) // the reports start once a batch is in
			}
			if tick != nil && slot > 0 {
				select {
				case <-tick:
				case <-ictx.Done():
					return
				}
			}
			batch := make([]marquee.Play, 0, 100)
			for i := range 100 {
				d := (slot*100 + i) % len(displayIDs)
				batch = append(batch, gen.play(displayIDs[d], d, slot, time.Now()))
			}
			if _, err := db.InsertPlays(ictx, batch, time.Time{}); err != nil {
				if ictx.Err() == nil {
					insertErr = err
				}
				if slot == 0 {
					close(underway)
				}
				return
			}
			inserted += len(batch)
		}
	}()
	began := time.Now()
	<-underway
	err := report("while ingesting")
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ingest during the reports: %d plays in %s (%.0f plays/s)\n",
		inserted, time.Since(began).Round(time.Millisecond), float64(inserted)/time.Since(began).Seconds())
	return insertErr
}
