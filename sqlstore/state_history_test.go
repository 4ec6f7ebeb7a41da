package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee/desired"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"StateHistory", testStateHistory},
		{"DisplaysPlannedWith", testDisplaysPlannedWith},
	}...)
}

// testStateHistory: every new revision saved (by either save path) is
// recorded with its save time; a save of the same revision is not; the
// history answers the state in effect at from and those saved after it.
func testStateHistory(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("hist"))
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	save := func(rev, prev int64, h int, doc string) {
		t.Helper()
		s := &desired.Stored{DisplayID: d.ID, Revision: rev, Hash: doc, JSON: []byte(doc), UpdatedAt: at(h), IndexVersion: desired.IndexVersion}
		if rev%2 == 0 { // the batch path
			errs, err := db.SaveDisplayStates(ctx, []desired.StateSave{{State: s, PrevRevision: prev}})
			if err != nil || errs[0] != nil {
				t.Fatalf("SaveDisplayStates(rev %d): %v %v", rev, err, errs)
			}
			return
		}
		if err := db.SaveDisplayState(ctx, s, prev); err != nil {
			t.Fatalf("SaveDisplayState(rev %d): %v", rev, err)
		}
	}
	save(1, 0, 0, `{"r":1}`)
	save(2, 1, 10, `{"r":2}`)
	save(2, 2, 11, `{"r":2,"again":true}`) // the same revision saved again (indexing): not history
	save(3, 2, 20, `{"r":3}`)
	history := func(from, to time.Time) []string {
		t.Helper()
		ps, err := db.FindStateHistory(ctx, d.ID, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.ValidFrom.Sub(t0.Truncate(time.Millisecond)).String()+" "+string(p.JSON))
		}
		return out
	}
	for _, tc := range []struct {
		from, to time.Time
		want     []string
	}{
		{at(-5), at(-1), nil},
		{at(-5), at(5), []string{`0s {"r":1}`}},
		{at(5), at(15), []string{`0s {"r":1}`, `10h0m0s {"r":2}`}},
		{at(10), at(30), []string{`10h0m0s {"r":2}`, `20h0m0s {"r":3}`}},
		{at(25), at(30), []string{`20h0m0s {"r":3}`}},
	} {
		if d := cmp.Diff(tc.want, history(tc.from, tc.to)); d != "" {
			t.Errorf("history %s..%s (-want +got):\n%s", tc.from.Sub(t0), tc.to.Sub(t0), d)
		}
	}
	if got := history(at(-100), at(100)); len(got) != 3 {
		t.Errorf("whole history = %q, want 3 states", got)
	}

	// Retention at 15 h keeps the state in effect then (revision 2) and
	// the later one; at 10 h (revision 2 saved then) the same.
	for _, tc := range []struct {
		h    int
		want int64
	}{{5, 0}, {10, 1}, {15, 0}} {
		n, err := db.DeleteStateHistoryBefore(ctx, at(tc.h))
		if err != nil || n != tc.want {
			t.Errorf("DeleteStateHistoryBefore(%dh) = %d, %v; want %d", tc.h, n, err, tc.want)
		}
	}
	if d := cmp.Diff([]string{`10h0m0s {"r":2}`, `20h0m0s {"r":3}`}, history(at(-100), at(100))); d != "" {
		t.Errorf("history after retention (-want +got):\n%s", d)
	}
}

// testDisplaysPlannedWith: a display counts for the periods in which one
// of its states named the schedule; "_" in an ID is not a wildcard.
func testDisplaysPlannedWith(t *testing.T, db *DB) {
	ctx := context.Background()
	d1 := mustCreateDisplay(t, db, newDisplay("d1"))
	d2 := mustCreateDisplay(t, db, newDisplay("d2"))
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	save := func(d string, rev int64, h int, doc string) {
		t.Helper()
		s := &desired.Stored{DisplayID: d, Revision: rev, Hash: doc, JSON: []byte(doc), UpdatedAt: at(h), IndexVersion: desired.IndexVersion}
		if err := db.SaveDisplayState(ctx, s, rev-1); err != nil {
			t.Fatal(err)
		}
	}
	save(d1.ID, 1, 0, `{"rules":[{"schedule_id":"sch_a_1","name":"A"}]}`)
	save(d1.ID, 2, 10, `{"rules":[]}`)
	save(d2.ID, 1, 5, `{"rules":[{"schedule_id":"sch_aX1","name":"X"}]}`)
	for _, tc := range []struct {
		schedule string
		from, to int
		want     []string
	}{
		{"sch_a_1", -5, -1, []string{}},
		{"sch_a_1", 0, 5, []string{d1.ID}},
		{"sch_a_1", 3, 12, []string{d1.ID}},
		{"sch_a_1", 10, 20, []string{}},
		{"sch_aX1", 0, 5, []string{}},
		{"sch_aX1", 6, 7, []string{d2.ID}},
		{"sch_a", 0, 20, []string{}},
	} {
		got, err := db.FindDisplaysPlannedWith(ctx, tc.schedule, at(tc.from), at(tc.to))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("planned with %s over %dh..%dh (-want +got):\n%s", tc.schedule, tc.from, tc.to, d)
		}
	}
}
