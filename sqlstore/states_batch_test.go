package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
)

func init() {
	conformance = append(conformance, struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{"DisplayStatesInBulk", testDisplayStatesInBulk})
}

// testDisplayStatesInBulk: SaveDisplayStates saves what SaveDisplayState
// would, reports each state's conflict or missing display without undoing
// the others, and FindDisplayStates reads them back.
func testDisplayStatesInBulk(t *testing.T, db *DB) {
	ctx := context.Background()
	a := mustCreateDisplay(t, db, newDisplay("A"))
	b := mustCreateDisplay(t, db, newDisplay("B"))
	c := mustCreateDisplay(t, db, newDisplay("C"))
	at := time.Date(2025, 6, 10, 3, 0, 0, 0, time.UTC)
	st := func(id string, rev int64, refs ...string) *desired.Stored {
		return &desired.Stored{DisplayID: id, Revision: rev, Hash: "h", JSON: []byte(`{}`), UpdatedAt: at, Refs: refs,
			NextPruneAt: at.Add(time.Hour), IndexVersion: desired.IndexVersion}
	}
	if err := db.SaveDisplayState(ctx, st(b.ID, 1, "pls_x"), 0); err != nil {
		t.Fatal(err)
	}
	errs, err := db.SaveDisplayStates(ctx, []desired.StateSave{
		{State: st(a.ID, 1, "pls_a", "med_1"), PrevRevision: 0},
		{State: st(b.ID, 2, "pls_b"), PrevRevision: 1},
		{State: st(c.ID, 5), PrevRevision: 4}, // nothing stored: conflict
		{State: st("dsp_nope", 1), PrevRevision: 0},
		{State: st(b.ID, 1), PrevRevision: 0}, // already stored: conflict
	})
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, len(errs))
	for i, e := range errs {
		codes[i] = marquee.ErrorCode(e)
	}
	if want := []string{"", "", marquee.ECONFLICT, marquee.ENOTFOUND, marquee.ECONFLICT}; !cmp.Equal(codes, want) {
		t.Fatalf("outcomes %v, want %v", codes, want)
	}
	got, err := db.FindDisplayStates(ctx, []string{a.ID, b.ID, c.ID, "dsp_nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a.ID].Revision != 1 || got[b.ID].Revision != 2 || !got[a.ID].NextPruneAt.Equal(at.Add(time.Hour)) ||
		got[a.ID].IndexVersion != desired.IndexVersion {
		t.Fatalf("found %+v", got)
	}
	one, err := db.FindDisplayState(ctx, a.ID)
	if err != nil || !cmp.Equal(one, got[a.ID]) {
		t.Fatalf("FindDisplayState %+v (%v), FindDisplayStates %+v", one, err, got[a.ID])
	}
	for ref, want := range map[string][]string{"pls_a": {a.ID}, "med_1": {a.ID}, "pls_b": {b.ID}, "pls_x": {}} {
		if ids, err := db.FindDisplaysReferencing(ctx, ref); err != nil || !cmp.Equal(ids, want) {
			t.Fatalf("displays referencing %s: %v (%v), want %v", ref, ids, err, want)
		}
	}
}
