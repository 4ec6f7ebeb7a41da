package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
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
	f := seedFlags{count: 1_000_000, displays: 300, orgs: 6, media: 40, days: 60, batch: 50_000, measure: true}
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
	fs.StringVar(&f.org, "measure-org", "", "seed nothing: only time the reports of this (seeded) organisation, inserting plays of unknown displays meanwhile")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if f.db == "" || f.count < 1 || f.displays < 1 || f.orgs < 1 || f.media < 1 || f.days < 1 || f.batch < 1 {
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
		return measureAirtime(ctx, db, f, f.org, ids, stdout)
	}
	orgIDs, displayIDs, err := seedFleet(ctx, db, f)
	if err != nil {
		return err
	}
	if err := seedPlays(ctx, db, f, displayIDs, stdout); err != nil {
		return err
	}
	if f.measure {
		return measureAirtime(ctx, db, f, orgIDs[0], displayIDs, stdout)
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

// seedPlays inserts f.count plays in time order, every display playing in
// turn, f.batch at a time through InsertPlays (the ingest path, rollups
// included), and prints the rate.
func seedPlays(ctx context.Context, db *sqlstore.DB, f seedFlags, displayIDs []string, stdout io.Writer) error {
	span := time.Duration(f.days) * 24 * time.Hour
	slots := (f.count + len(displayIDs) - 1) / len(displayIDs)
	step := span / time.Duration(slots)
	start := f.endOfSeed.Add(-span)
	began, last := time.Now(), time.Now()
	batch := make([]marquee.Play, 0, f.batch)
	done := 0
	flush := func() error {
		if _, err := db.InsertPlays(ctx, batch, time.Time{}); err != nil {
			return err
		}
		done += len(batch)
		batch = batch[:0]
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(stdout, "%d plays, %.0f rows/s\n", done, float64(done)/time.Since(began).Seconds())
		}
		return nil
	}
	for i := 0; i < f.count; i++ {
		slot, d := i/len(displayIDs), i%len(displayIDs)
		batch = append(batch, seedPlay(f, displayIDs[d], d, slot, start.Add(time.Duration(slot)*step)))
		if len(batch) == f.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	took := time.Since(began)
	fmt.Fprintf(stdout, "seeded %d plays over %d displays and %d days in %s: %.0f rows/s (rollups included)\n",
		f.count, len(displayIDs), f.days, took.Round(time.Millisecond), float64(f.count)/took.Seconds())
	return nil
}

// seedPlay is the play of display d (index di) in a slot: it plays 8 of
// the media in turn, every fifth play is the fallback's.
func seedPlay(f seedFlags, displayID string, di, slot int, at time.Time) marquee.Play {
	m := (di + slot%8) % f.media
	schedule := fmt.Sprintf("sch_seed_%d", di%5)
	reason := marquee.ReasonSchedule
	if slot%5 == 0 {
		schedule, reason = "", marquee.ReasonFallback
	}
	played := int64(15_000)
	if slot%20 == 0 {
		played = 7_000
	}
	return marquee.Play{
		ID: timeOrderedID(at), DisplayID: displayID, MediaID: fmt.Sprintf("med_seed_%03d", m),
		MediaSHA256: strings.Repeat(fmt.Sprintf("%02x", m%256), 32), MediaName: fmt.Sprintf("Nội dung %d", m),
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
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// measureAirtime times the 30-day airtime report of organisation org,
// grouped by day, display and media, first alone and then while another
// goroutine inserts plays (batches of 100, as the fleet ingests them). It
// prints the wall time and the process's CPU time per report (the latter
// includes the ingest goroutine's while ingesting): on a shared machine the
// wall time mostly measures the queue for a CPU.
func measureAirtime(ctx context.Context, db *sqlstore.DB, f seedFlags, org string, displayIDs []string, stdout io.Writer) error {
	loc, err := time.LoadLocation(reports.DefaultTimezone)
	if err != nil {
		loc = time.FixedZone("ICT", 7*3600)
	}
	to := f.endOfSeed
	report := func(label string) error {
		for _, g := range []string{reports.ByDay, reports.ByDisplay, reports.ByMedia} {
			var walls []time.Duration
			var rows int
			cpu := processCPU()
			for range 5 {
				t := time.Now()
				rs, err := db.AirtimeReport(ctx, reports.AirtimeFilter{From: to.Add(-30 * 24 * time.Hour), To: to,
					GroupBy: g, Location: loc, Within: org})
				if err != nil {
					return err
				}
				walls, rows = append(walls, time.Since(t)), len(rs)
			}
			cpu = (processCPU() - cpu) / 5
			slices.Sort(walls)
			fmt.Fprintf(stdout, "30-day airtime report, one organisation, group_by=%s, %s: %d rows, wall median %s, slowest %s; process CPU per report %s\n",
				g, label, rows, walls[2].Round(time.Millisecond), walls[4].Round(time.Millisecond), cpu.Round(time.Millisecond))
		}
		return nil
	}
	if err := report("idle"); err != nil {
		return err
	}
	ictx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var inserted int
	var insertErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for slot := 0; ictx.Err() == nil; slot++ {
			batch := make([]marquee.Play, 0, 100)
			for i := range 100 {
				d := (slot*100 + i) % len(displayIDs)
				batch = append(batch, seedPlay(f, displayIDs[d], d, slot, time.Now()))
			}
			if _, err := db.InsertPlays(ictx, batch, time.Time{}); err != nil {
				if ictx.Err() == nil {
					insertErr = err
				}
				return
			}
			inserted += len(batch)
		}
	}()
	began := time.Now()
	err = report("while ingesting")
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ingest during the reports: %d plays in %s (%.0f plays/s)\n",
		inserted, time.Since(began).Round(time.Millisecond), float64(inserted)/time.Since(began).Seconds())
	return insertErr
}
