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
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"DisplayStateRevisions", testDisplayStateRevisions},
		{"DisplayStateRefsAndPruning", testDisplayStateRefsAndPruning},
	}...)
}

func testDisplayStateRevisions(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("Lobby"))
	if _, err := db.FindDisplayState(ctx, d.ID); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("FindDisplayState before any: %v, want not_found", err)
	}
	at := time.Date(2025, 6, 10, 3, 0, 0, 0, time.UTC)
	s1 := &desired.Stored{DisplayID: d.ID, Revision: 1, Hash: "h1", JSON: []byte(`{"revision":1}`), UpdatedAt: at}
	if err := db.SaveDisplayState(ctx, s1, 0); err != nil {
		t.Fatalf("save revision 1: %v", err)
	}
	// A second first-save (a racing builder) is a conflict, not an overwrite.
	if err := db.SaveDisplayState(ctx, &desired.Stored{DisplayID: d.ID, Revision: 1, Hash: "other", JSON: []byte(`{}`), UpdatedAt: at}, 0); marquee.ErrorCode(err) != marquee.ECONFLICT {
		t.Fatalf("second first save: %v, want conflict", err)
	}
	s2 := &desired.Stored{DisplayID: d.ID, Revision: 2, Hash: "h2", JSON: []byte(`{"revision":2}`), UpdatedAt: at.Add(time.Minute)}
	if err := db.SaveDisplayState(ctx, s2, 1); err != nil {
		t.Fatalf("save revision 2: %v", err)
	}
	// Saving on top of a stale revision is a conflict.
	if err := db.SaveDisplayState(ctx, &desired.Stored{DisplayID: d.ID, Revision: 2, Hash: "h2b", JSON: []byte(`{}`), UpdatedAt: at}, 1); marquee.ErrorCode(err) != marquee.ECONFLICT {
		t.Fatalf("stale save: %v, want conflict", err)
	}
	got, err := db.FindDisplayState(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 2 || got.Hash != "h2" || string(got.JSON) != `{"revision":2}` || !got.UpdatedAt.Equal(s2.UpdatedAt) {
		t.Fatalf("stored %+v", got)
	}
	// Unknown display: not found. Deleting the display drops its state.
	if err := db.SaveDisplayState(ctx, &desired.Stored{DisplayID: "dsp_nope", Revision: 1, Hash: "x", JSON: []byte(`{}`), UpdatedAt: at}, 0); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("save for unknown display: %v, want not_found", err)
	}
	if err := db.DeleteDisplay(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.queryRow(ctx, db.read, `SELECT COUNT(*) FROM display_states WHERE display_id = ?`, d.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("state rows after display delete: %d, %v", n, err)
	}
}

// testDisplayStateRefsAndPruning: a saved state's references are replaced
// with it, in the same transaction, and answer "which displays reference
// X"; next_prune_at answers "which states are due for pruning".
func testDisplayStateRefsAndPruning(t *testing.T, db *DB) {
	ctx := context.Background()
	a := mustCreateDisplay(t, db, newDisplay("A"))
	b := mustCreateDisplay(t, db, newDisplay("B"))
	c := mustCreateDisplay(t, db, newDisplay("C"))
	at := time.Date(2025, 6, 10, 3, 0, 0, 0, time.UTC)
	prune := time.Date(2025, 6, 30, 19, 0, 0, 123_456_789, time.UTC)
	save := func(d string, rev, prev int64, refs []string, next time.Time) {
		t.Helper()
		err := db.SaveDisplayState(ctx, &desired.Stored{DisplayID: d, Revision: rev, Hash: "h", JSON: []byte(`{}`),
			UpdatedAt: at, Refs: refs, NextPruneAt: next, IndexVersion: desired.IndexVersion}, prev)
		if err != nil {
			t.Fatalf("save %s revision %d: %v", d, rev, err)
		}
	}
	referencing := func(ids ...string) []string {
		t.Helper()
		got, err := db.FindDisplaysReferencing(ctx, ids...)
		if err != nil {
			t.Fatalf("FindDisplaysReferencing(%v): %v", ids, err)
		}
		return got
	}
	due := func(now time.Time) []string {
		t.Helper()
		got, err := db.FindDisplaysDueForPruning(ctx, now)
		if err != nil {
			t.Fatalf("FindDisplaysDueForPruning: %v", err)
		}
		return got
	}
	sorted := func(ids ...string) []string { return sortedDisplayIDs(setOf(ids)) }

	save(a.ID, 1, 0, []string{"sch_1", "pls_1", "med_1", "med_2", "med_1"}, prune)
	save(b.ID, 1, 0, []string{"pls_1", "med_3"}, time.Time{})
	save(c.ID, 1, 0, nil, prune.Add(time.Hour))

	if got, want := referencing("pls_1"), sorted(a.ID, b.ID); !cmp.Equal(got, want) {
		t.Errorf("referencing pls_1 = %v, want %v", got, want)
	}
	if got, want := referencing("med_2", "med_3", "nothing"), sorted(a.ID, b.ID); !cmp.Equal(got, want) {
		t.Errorf("referencing med_2, med_3 = %v, want %v", got, want)
	}
	if got := referencing("nothing"); got == nil || len(got) != 0 {
		t.Errorf("referencing an unknown ID = %#v, want empty", got)
	}
	if got := referencing(); got == nil || len(got) != 0 {
		t.Errorf("referencing nothing = %#v, want empty", got)
	}
	st, err := db.FindDisplayState(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := prune.Truncate(time.Millisecond); !st.NextPruneAt.Equal(want) || st.IndexVersion != desired.IndexVersion {
		t.Errorf("stored next prune %v index %d, want %v %d", st.NextPruneAt, st.IndexVersion, want, desired.IndexVersion)
	}
	if st, err := db.FindDisplayState(ctx, b.ID); err != nil || !st.NextPruneAt.IsZero() {
		t.Errorf("B: next prune %v (%v), want none", st.NextPruneAt, err)
	}

	// Due: at or after the instant, never for a state without one.
	if got := due(prune.Add(-time.Millisecond)); len(got) != 0 {
		t.Errorf("due just before = %v, want none", got)
	}
	if got, want := due(prune), []string{a.ID}; !cmp.Equal(got, want) {
		t.Errorf("due at the instant = %v, want %v", got, want)
	}
	if got, want := due(prune.Add(24*time.Hour)), sorted(a.ID, c.ID); !cmp.Equal(got, want) {
		t.Errorf("due a day later = %v, want %v", got, want)
	}

	// A new revision replaces the references and the instant.
	save(a.ID, 2, 1, []string{"pls_2"}, time.Time{})
	if got, want := referencing("pls_1", "sch_1", "med_1"), []string{b.ID}; !cmp.Equal(got, want) {
		t.Errorf("after A's new revision, referencing its old IDs = %v, want %v", got, want)
	}
	if got, want := referencing("pls_2"), []string{a.ID}; !cmp.Equal(got, want) {
		t.Errorf("referencing pls_2 = %v, want %v", got, want)
	}
	if got, want := due(prune.Add(24*time.Hour)), []string{c.ID}; !cmp.Equal(got, want) {
		t.Errorf("due after A pruned = %v, want %v", got, want)
	}
	// A refused save (stale revision) leaves them alone.
	err = db.SaveDisplayState(ctx, &desired.Stored{DisplayID: a.ID, Revision: 2, Hash: "x", JSON: []byte(`{}`),
		UpdatedAt: at, Refs: []string{"pls_9"}}, 1)
	wantCode(t, err, marquee.ECONFLICT)
	if got, want := referencing("pls_2"), []string{a.ID}; !cmp.Equal(got, want) {
		t.Errorf("after a refused save, referencing pls_2 = %v, want %v", got, want)
	}
	// Saving the same revision again (re-indexing) is allowed.
	save(a.ID, 2, 2, []string{"pls_3"}, time.Time{})
	if got, want := referencing("pls_3"), []string{a.ID}; !cmp.Equal(got, want) {
		t.Errorf("after re-indexing, referencing pls_3 = %v, want %v", got, want)
	}
	// Deleting a display drops its references.
	if err := db.DeleteDisplay(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := referencing("pls_1", "med_3"); len(got) != 0 {
		t.Errorf("after deleting B, referencing its IDs = %v, want none", got)
	}
	if n := countRows(t, db, "display_state_refs"); n != 1 {
		t.Errorf("display_state_refs rows = %d, want 1 (A's)", n)
	}
}

func setOf(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}
