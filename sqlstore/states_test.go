package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"DisplayStateRevisions", testDisplayStateRevisions},
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
