package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// stmtModes are the two ways each benchmark runs: with the prepared
// statement cache and, as the baseline, without it — every query prepared
// anew by database/sql. (SQLite runs with the cache, PostgreSQL without:
// see dialect.cacheStmts. There pgx keeps statements prepared itself.)
var stmtModes = []struct {
	name   string
	cached bool
}{
	{"cached", true},
	{"uncached", false},
}

// benchDB opens a migrated database of d, with a statement cache if
// cached, else without.
func benchDB(b *testing.B, d testDialect, cached bool) *DB {
	b.Helper()
	d.skipUnavailable(b)
	db := d.openMigrated(b)
	if cached {
		if db.stmts == nil {
			useStmtCache(b, db, stmtCacheSize)
		}
	} else {
		if err := db.stmts.close(); err != nil {
			b.Fatal(err)
		}
		db.stmts = nil
	}
	return db
}

// warmUp runs fn a few times untimed, so that the cache has prepared its
// statements (in the background, from a query's second run) before timing.
func warmUp(b *testing.B, db *DB, fn func() error) {
	b.Helper()
	for range 5 {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		if db.stmts != nil {
			waitIdle(b, db.stmts)
		}
	}
}

// waitIdle waits until c has nothing left to prepare.
func waitIdle(tb testing.TB, c *stmtCache) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.mu.Lock()
		n := len(c.queued)
		c.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d statements still queued for preparing", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// reportCPU reports the CPU time this process used per iteration since
// start (a processCPU reading) as cpu-ns/op: unlike ns/op, it leaves out
// waiting (for PostgreSQL, for another process's load on the machine), and
// takes in the store's background work and garbage collection. SQLite
// runs in the process, so its parsing counts; PostgreSQL's server does not.
func reportCPU(b *testing.B, start time.Duration) {
	if end := processCPU(); end > 0 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkCreateMedia inserts items with two tags each (one transaction per
// item): serially, and from GOMAXPROCS goroutines at once.
func BenchmarkCreateMedia(b *testing.B) {
	for _, d := range testDialects {
		for _, m := range stmtModes {
			b.Run(d.name+"/"+m.name, func(b *testing.B) {
				db := benchDB(b, d, m.cached)
				ctx := context.Background()
				create := func() error {
					return db.CreateMedia(ctx, newItem("bench", withTags("tết", "campaign")))
				}
				warmUp(b, db, create)
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if err := create(); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
			b.Run(d.name+"/"+m.name+"/parallel", func(b *testing.B) {
				db := benchDB(b, d, m.cached)
				ctx := context.Background()
				create := func() error {
					return db.CreateMedia(ctx, newItem("bench", withTags("tết", "campaign")))
				}
				warmUp(b, db, create)
				b.ReportAllocs()
				cpu := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := create(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				reportCPU(b, cpu)
			})
		}
	}
}

// BenchmarkFindMedia reads a 50-item page with tags from 2,000 items.
func BenchmarkFindMedia(b *testing.B) {
	for _, d := range testDialects {
		for _, m := range stmtModes {
			b.Run(d.name+"/"+m.name, func(b *testing.B) {
				db := benchDB(b, d, m.cached)
				ctx := context.Background()
				for i := range 2000 {
					tags := []string{"all"}
					if i%2 == 0 {
						tags = append(tags, "even")
					}
					if err := db.CreateMedia(ctx, newItem("Chiến dịch", withTags(tags...))); err != nil {
						b.Fatal(err)
					}
				}
				find := func() error {
					items, _, err := db.FindMedia(ctx, media.Filter{Tag: "even"})
					if err == nil && len(items) != 50 {
						err = fmt.Errorf("FindMedia = %d items", len(items))
					}
					return err
				}
				warmUp(b, db, find)
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if err := find(); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}

// benchFleet is a display with what its desired state is built from: three
// schedules reaching it (by ID and by tag) of a five-item playlist, and a
// stored state.
type benchFleet struct {
	display  *displays.Display
	playlist string
	media    []string
	refs     []string
}

func newBenchFleet(b *testing.B, db *DB) *benchFleet {
	b.Helper()
	ctx := context.Background()
	f := &benchFleet{}
	var items []playlists.Item
	for i := range 5 {
		it := newItem(fmt.Sprintf("media %d", i), withTags("campaign"))
		if err := db.CreateMedia(ctx, it); err != nil {
			b.Fatal(err)
		}
		f.media = append(f.media, it.ID)
		items = append(items, plItem(it.ID, 10_000))
	}
	p := newPlaylist("Tết", items...)
	if err := db.CreatePlaylist(ctx, p); err != nil {
		b.Fatal(err)
	}
	f.playlist = p.ID
	f.display = newDisplay("Lobby", withDisplayTags("airport", "hcmc"))
	if err := db.CreateDisplay(ctx, f.display); err != nil {
		b.Fatal(err)
	}
	f.refs = append([]string{p.ID}, f.media...)
	for i, targets := range []func(*schedules.Schedule){
		targeting([]string{f.display.ID}),
		targeting(nil, "airport"),
		targeting(nil, "hcmc", "other"),
	} {
		at := t0
		s := newSchedule(fmt.Sprintf("schedule %d", i), p.ID, targets, func(s *schedules.Schedule) {
			s.Approval = schedules.Approval{Status: schedules.StatusApproved, DecidedBy: schedules.SystemActor, DecidedAt: &at}
		})
		if err := db.CreateSchedule(ctx, s); err != nil {
			b.Fatal(err)
		}
		f.refs = append(f.refs, s.ID)
	}
	if err := db.SaveDisplayState(ctx, f.state(1), 0); err != nil {
		b.Fatal(err)
	}
	return f
}

// state returns the display's stored state at revision rev.
func (f *benchFleet) state(rev int64) *desired.Stored {
	return &desired.Stored{DisplayID: f.display.ID, Revision: rev, Hash: fmt.Sprintf("h%d", rev),
		JSON: []byte(fmt.Sprintf(`{"revision":%d}`, rev)), UpdatedAt: t0, Refs: f.refs,
		NextPruneAt: t0.Add(time.Hour), IndexVersion: desired.IndexVersion}
}

// BenchmarkDesiredStateInputs reads what desired.Builder reads to build a
// display's state: the display, its live schedules (approved versions),
// the playlist revision they pinned and its media, and the stored state
// (the read path of every player poll).
func BenchmarkDesiredStateInputs(b *testing.B) {
	for _, d := range testDialects {
		for _, m := range stmtModes {
			b.Run(d.name+"/"+m.name, func(b *testing.B) {
				db := benchDB(b, d, m.cached)
				f := newBenchFleet(b, db)
				ctx := context.Background()
				read := func() error {
					if _, err := db.FindDisplayByID(ctx, f.display.ID); err != nil {
						return err
					}
					if scs, err := db.FindLiveSchedulesForDisplay(ctx, f.display.ID); err != nil || len(scs) != 3 {
						return fmt.Errorf("FindLiveSchedulesForDisplay = %d schedules, %v", len(scs), err)
					}
					if _, err := db.FindPlaylistRevision(ctx, f.playlist, 1); err != nil {
						return err
					}
					for _, id := range f.media {
						if _, err := db.FindMediaByID(ctx, id); err != nil {
							return err
						}
					}
					_, err := db.FindDisplayState(ctx, f.display.ID)
					return err
				}
				warmUp(b, db, read)
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if err := read(); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}

// BenchmarkSaveDisplayState saves a new revision of a display's state with
// its nine references (one transaction: update, delete and insert the refs):
// the write path of every rebuild.
func BenchmarkSaveDisplayState(b *testing.B) {
	for _, d := range testDialects {
		for _, m := range stmtModes {
			b.Run(d.name+"/"+m.name, func(b *testing.B) {
				db := benchDB(b, d, m.cached)
				f := newBenchFleet(b, db)
				ctx := context.Background()
				rev := int64(1)
				save := func() error {
					rev++
					return db.SaveDisplayState(ctx, f.state(rev), rev-1)
				}
				warmUp(b, db, save)
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if err := save(); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}
