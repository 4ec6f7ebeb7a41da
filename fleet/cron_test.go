package fleet_test

import (
	"context"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/schedules"
)

// TestPruneJobPublishesExpiry: when a rule's last window closes, the
// pruning job rebuilds the display and publishes the state without it.
func TestPruneJobPublishesExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, func(c *fleet.Config) { c.PruneSchedule = "@every 1s" })
	red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
	pl := e.playlist("A", red)
	a, _ := e.display("A")
	b, _ := e.display("B")
	e.schedule(schedules.Input{Name: "Tháng 6", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{a.ID}},
		Cron: "0 22 * * *", Duration: 4 * time.Hour, StartsOn: "2025-06-01", EndsOn: "2025-06-30"})
	e.schedule(schedules.Input{Name: "Cả năm", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{a.ID, b.ID}},
		StartsOn: "2025-01-01", EndsOn: "2025-12-31"})
	e.start()
	o := e.observe("o")
	got := o.waitFor(0, 5*time.Second, a.ID, b.ID)
	before := state(t, got[a.ID])
	if len(before.Rules) != 2 {
		t.Fatalf("a has %d rules, want 2", len(before.Rules))
	}

	// 1 July 01:59 Hà Nội: the 30 June window still runs; nothing is due.
	mark := o.count()
	e.clock.Set(time.Date(2025, 6, 30, 18, 59, 0, 0, time.UTC))
	time.Sleep(1300 * time.Millisecond) // at least one run of the job
	if n := o.since(mark); len(n) != 0 {
		t.Fatalf("before the rule expired: %v published", o.perDisplay(n))
	}
	// 02:00: it has ended for good; the job prunes it within its period.
	e.clock.Set(time.Date(2025, 6, 30, 19, 0, 0, 0, time.UTC))
	start := time.Now()
	got = o.waitFor(mark, 3*time.Second, a.ID)
	t.Logf("pruned and published %v after the rule expired (job every 1s)", time.Since(start).Round(time.Millisecond))
	after := state(t, got[a.ID])
	if len(after.Rules) != 1 || after.Rules[0].Name != "Cả năm" || after.Revision != before.Revision+1 {
		t.Fatalf("after pruning: rules %+v revision %d (before %d)", after.Rules, after.Revision, before.Revision)
	}
	time.Sleep(1100 * time.Millisecond) // the next run finds nothing due
	if n := o.perDisplay(o.since(mark)); n[a.ID] != 1 || n[b.ID] != 0 {
		t.Fatalf("messages %v, want one for a only", n)
	}
}

// TestSweepPublishesMissedChanges: a change that bypassed Notify is
// published by the consistency sweep, once: later sweeps publish neither
// it again nor the states that did not change.
//
// Nothing here depends on how fast a loaded machine runs the sweep: it
// waits for conditions with generous deadlines, and proves that a later
// sweep ran (rather than sleeping for one) by a second missed change, on
// display c, that only a later sweep can publish.
func TestSweepPublishesMissedChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, func(c *fleet.Config) { c.SweepSchedule = "@every 1s" })
	red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
	pl := e.playlist("A", red)
	a, _ := e.display("A")
	b, _ := e.display("B")
	c, _ := e.display("C")
	e.start()
	o := e.observe("o")
	initial := o.waitFor(0, sweepWait, a.ID, b.ID, c.ID)
	mark := o.count()
	e.schedule(schedules.Input{Name: "S", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{a.ID}}}) // no Notify
	got := o.waitFor(mark, sweepWait, a.ID)
	if st := state(t, got[a.ID]); len(st.Rules) != 1 || st.Revision != state(t, initial[a.ID]).Revision+1 {
		t.Fatalf("swept state has %d rules at revision %d", len(st.Rules), st.Revision)
	}
	// A sweep that starts after a's state was published (a sweep never
	// overlaps itself and ends once its publishes are acknowledged; the
	// three displays are built in one chunk, before any is published) is
	// the only one that can publish c's missed change.
	markC := o.count()
	e.schedule(schedules.Input{Name: "T", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{c.ID}}}) // no Notify
	o.waitFor(markC, sweepWait, c.ID)

	// By now at least one sweep ran after a's publish: it published
	// neither a again nor b (whose state never changed).
	if n := o.perDisplay(o.since(mark)); n[a.ID] != 1 || n[b.ID] != 0 || n[c.ID] != 1 {
		t.Fatalf("messages since the change %v, want one for a, one for c, none for b", n)
	}
}

// sweepWait bounds each wait for a sweep (every second) to publish: long
// enough for a loaded machine running the race detector.
const sweepWait = 30 * time.Second

// TestBadJobSpec: a spec that does not parse (one that panics robfig/cron's
// parser included) fails New with an error naming the job.
func TestBadJobSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, nil)
	for _, spec := range []string{"every minute", "TZ=0", "61 * * * *", "@every"} {
		_, err := fleet.New(fleet.Config{Store: e.db, States: e.builder, SweepSchedule: spec})
		if err == nil || !strings.Contains(err.Error(), "sweep") {
			t.Errorf("spec %q: err=%v, want one naming the sweep job", spec, err)
		}
	}
}

// TestWithoutMQTT: with no broker the service still starts, keeps states
// built on changes and runs its jobs; Close works.
func TestWithoutMQTT(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, nil)
	a, _ := e.display("A")
	f, err := fleet.New(fleet.Config{Store: e.db, States: e.builder, Auth: e.auth})
	if err != nil {
		t.Fatal(err)
	}
	if f.Client() != nil {
		t.Fatal("a client without a broker URL")
	}
	if err := f.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	f.Notify(desired.ChangeDisplay, a.ID)
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := e.db.FindDisplayState(e.ctx, a.ID); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notified display's state was not built")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var nilService *fleet.Service
	nilService.Notify(desired.ChangeDisplay, a.ID) // a nil Service ignores changes
}
