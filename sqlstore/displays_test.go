package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
)

// The display cases join the one conformance suite (TestConformance), so
// they run against every dialect like the rest.
func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"DisplayCreateFind", testDisplayCreateFind},
		{"DisplayNotFound", testDisplayNotFound},
		{"DisplayConflicts", testDisplayConflicts},
		{"DisplayUpdate", testDisplayUpdate},
		{"DisplayTokenHash", testDisplayTokenHash},
		{"DisplayDeleteCascadesTags", testDisplayDeleteCascadesTags},
		{"DisplayFallbackRestrictsPlaylistDelete", testDisplayFallbackRestrict},
		{"DisplayPagination", testDisplayPagination},
	}...)
}

// newDisplay returns a valid display to store; opts adjust it. Each gets
// its own token hash.
func newDisplay(name string, opts ...func(*displays.Display)) *displays.Display {
	d := &displays.Display{
		ID:        marquee.NewID("dsp_"),
		OrgID:     auth.RootOrgID,
		Name:      name,
		Width:     384,
		Height:    192,
		Timezone:  "Asia/Ho_Chi_Minh",
		TokenHash: auth.HashToken(marquee.NewID("tok_")),
		CreatedAt: t0,
		UpdatedAt: t0,
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

func withDisplayTags(tags ...string) func(*displays.Display) {
	return func(d *displays.Display) { d.Tags = tags }
}

func mustCreateDisplay(t *testing.T, db *DB, d *displays.Display) *displays.Display {
	t.Helper()
	if err := db.CreateDisplay(context.Background(), d); err != nil {
		t.Fatalf("CreateDisplay(%q): %v", d.Name, err)
	}
	return d
}

func mustFindDisplay(t *testing.T, db *DB, id string) *displays.Display {
	t.Helper()
	d, err := db.FindDisplayByID(context.Background(), id)
	if err != nil {
		t.Fatalf("FindDisplayByID(%q): %v", id, err)
	}
	return d
}

func float(f float64) *float64 { return &f }

func testDisplayCreateFind(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("Fallback"))
	in := newDisplay("Sân bay Thọ Xuân – cổng 2", withDisplayTags("airport", "district:thọ-xuân", "airport"),
		func(d *displays.Display) {
			d.Width, d.Height = 1536, 256
			d.Location = &displays.Location{Address: "Thọ Xuân, Thanh Hóa", Latitude: float(19.9), Longitude: float(105.47)}
			d.FallbackPlaylistID = pl.ID
		})
	if err := db.CreateDisplay(ctx, in); err != nil {
		t.Fatalf("CreateDisplay: %v", err)
	}
	if got, want := in.Tags, []string{"airport", "district:thọ-xuân"}; !cmp.Equal(got, want) {
		t.Errorf("stored tags = %q, want %q", got, want)
	}
	if want := t0.UTC().Truncate(time.Millisecond); in.CreatedAt != want || in.UpdatedAt != want {
		t.Errorf("stored times = %v, %v, want %v", in.CreatedAt, in.UpdatedAt, want)
	}
	got := mustFindDisplay(t, db, in.ID)
	if diff := cmp.Diff(in, got); diff != "" {
		t.Fatalf("FindDisplayByID mismatch (-stored +found):\n%s", diff)
	}

	// No location, no fallback, no tags: nil, "" and an empty list.
	bare := mustCreateDisplay(t, db, newDisplay("bare"))
	got = mustFindDisplay(t, db, bare.ID)
	if got.Location != nil || got.FallbackPlaylistID != "" || got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("bare display = %+v, want no location, no fallback, empty tags", got)
	}
	// An address alone, or coordinates alone, survive as given.
	addrOnly := mustCreateDisplay(t, db, newDisplay("address only", func(d *displays.Display) {
		d.Location = &displays.Location{Address: "Sầm Sơn"}
	}))
	if got := mustFindDisplay(t, db, addrOnly.ID); !cmp.Equal(got.Location, addrOnly.Location) {
		t.Errorf("address-only location = %+v, want %+v", got.Location, addrOnly.Location)
	}

	ds, next, err := db.FindDisplays(ctx, displays.Filter{})
	if err != nil || next != "" || len(ds) != 3 {
		t.Fatalf("FindDisplays = %d displays, %q, %v; want 3, no cursor", len(ds), next, err)
	}
	if diff := cmp.Diff(in, ds[2]); diff != "" {
		t.Errorf("FindDisplays item mismatch (-stored +found):\n%s", diff)
	}
}

func testDisplayNotFound(t *testing.T, db *DB) {
	ctx := context.Background()
	const id = "dsp_missing"
	want := `display "dsp_missing" not found`
	check := func(op string, err error) {
		t.Helper()
		wantCode(t, err, marquee.ENOTFOUND)
		if got := marquee.ErrorMessage(err); got != want {
			t.Errorf("%s message = %q, want %q", op, got, want)
		}
	}
	_, err := db.FindDisplayByID(ctx, id)
	check("FindDisplayByID", err)
	_, err = db.UpdateDisplay(ctx, newDisplay("x", func(d *displays.Display) { d.ID = id }))
	check("UpdateDisplay", err)
	check("SetDisplayTokenHash", db.SetDisplayTokenHash(ctx, id, "ff", t0))
	check("DeleteDisplay", db.DeleteDisplay(ctx, id))
}

func testDisplayConflicts(t *testing.T, db *DB) {
	ctx := context.Background()
	first := mustCreateDisplay(t, db, newDisplay("first", withDisplayTags("a")))

	dupID := newDisplay("dup id", withDisplayTags("b"), func(d *displays.Display) { d.ID = first.ID })
	wantCode(t, db.CreateDisplay(ctx, dupID), marquee.ECONFLICT)
	// Token hashes are unique: one hash names one display.
	dupToken := newDisplay("dup token", withDisplayTags("c"), func(d *displays.Display) { d.TokenHash = first.TokenHash })
	wantCode(t, db.CreateDisplay(ctx, dupToken), marquee.ECONFLICT)
	second := mustCreateDisplay(t, db, newDisplay("second"))
	wantCode(t, db.SetDisplayTokenHash(ctx, second.ID, first.TokenHash, t0), marquee.ECONFLICT)

	orphan := newDisplay("orphan", func(d *displays.Display) { d.OrgID = "org_nowhere" })
	err := db.CreateDisplay(ctx, orphan)
	wantCode(t, err, marquee.EINVALID)
	if got, want := marquee.ErrorMessage(err), `organisation "org_nowhere" does not exist`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	noFallback := newDisplay("no fallback", func(d *displays.Display) { d.FallbackPlaylistID = "pls_missing" })
	err = db.CreateDisplay(ctx, noFallback)
	wantCode(t, err, marquee.EINVALID)
	if got, want := marquee.ErrorMessage(err), `fallback playlist "pls_missing" does not exist`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}

	// The refused inserts left nothing behind.
	if n := countRows(t, db, "displays"); n != 2 {
		t.Errorf("displays rows = %d, want 2", n)
	}
	if n := countRows(t, db, "display_tags"); n != 1 {
		t.Errorf("display_tags rows = %d, want 1", n)
	}
	if got := mustFindDisplay(t, db, second.ID); got.TokenHash != second.TokenHash {
		t.Errorf("refused token change stuck: %q", got.TokenHash)
	}
}

func testDisplayUpdate(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("Fallback"))
	d := mustCreateDisplay(t, db, newDisplay("Old", withDisplayTags("a", "b"), func(d *displays.Display) {
		d.Location = &displays.Location{Address: "x", Latitude: float(1), Longitude: float(2)}
		d.FallbackPlaylistID = pl.ID
	}))
	later := t0.Add(time.Hour)

	// A full replace: every editable field changes, absent ones are cleared.
	repl := &displays.Display{
		ID: d.ID, Name: "Màn hình MỚI", Width: 192, Height: 96, Timezone: "Europe/Berlin",
		Tags: []string{"z", "c", "z"}, UpdatedAt: later,
		// Ignored: not editable.
		OrgID: "org_other", TokenHash: "ignored", CreatedAt: later,
	}
	got, err := db.UpdateDisplay(ctx, repl)
	if err != nil {
		t.Fatalf("UpdateDisplay: %v", err)
	}
	want := &displays.Display{
		ID: d.ID, OrgID: d.OrgID, Name: "Màn hình MỚI", Width: 192, Height: 96, Timezone: "Europe/Berlin",
		Tags: []string{"c", "z"}, TokenHash: d.TokenHash, CreatedAt: d.CreatedAt,
		UpdatedAt: later.UTC().Truncate(time.Millisecond),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, mustFindDisplay(t, db, d.ID)); diff != "" {
		t.Fatalf("update not stored (-returned +found):\n%s", diff)
	}
	if ds, _, err := db.FindDisplays(ctx, displays.Filter{NameContains: "màn hình mới"}); err != nil || len(ds) != 1 {
		t.Fatalf("FindDisplays(new name) = %d, %v; want 1", len(ds), err)
	}
	if ds, _, _ := db.FindDisplays(ctx, displays.Filter{Tag: "a"}); len(ds) != 0 {
		t.Errorf("old tag still matches %d displays", len(ds))
	}

	// An unknown fallback is refused and changes nothing.
	bad := *want
	bad.FallbackPlaylistID, bad.Name = "pls_missing", "Refused"
	_, err = db.UpdateDisplay(ctx, &bad)
	wantCode(t, err, marquee.EINVALID)
	if got := mustFindDisplay(t, db, d.ID); got.Name != want.Name {
		t.Errorf("refused update changed the name to %q", got.Name)
	}
}

func testDisplayTokenHash(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("screen"))
	later := t0.Add(time.Minute)
	if err := db.SetDisplayTokenHash(ctx, d.ID, "new-hash", later); err != nil {
		t.Fatalf("SetDisplayTokenHash: %v", err)
	}
	got := mustFindDisplay(t, db, d.ID)
	if got.TokenHash != "new-hash" || got.UpdatedAt != later.UTC().Truncate(time.Millisecond) {
		t.Fatalf("after rotation: hash %q updated %v", got.TokenHash, got.UpdatedAt)
	}
	// The old hash is free again.
	mustCreateDisplay(t, db, newDisplay("other", func(o *displays.Display) { o.TokenHash = d.TokenHash }))
}

func testDisplayDeleteCascadesTags(t *testing.T, db *DB) {
	ctx := context.Background()
	gone := mustCreateDisplay(t, db, newDisplay("gone", withDisplayTags("a", "b")))
	kept := mustCreateDisplay(t, db, newDisplay("kept", withDisplayTags("a")))
	if err := db.DeleteDisplay(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteDisplay: %v", err)
	}
	_, err := db.FindDisplayByID(ctx, gone.ID)
	wantCode(t, err, marquee.ENOTFOUND)
	if n := countRows(t, db, "display_tags"); n != 1 {
		t.Errorf("display_tags rows = %d, want 1 (kept's)", n)
	}
	if got := mustFindDisplay(t, db, kept.ID); !cmp.Equal(got.Tags, []string{"a"}) {
		t.Errorf("kept tags = %q", got.Tags)
	}
}

func testDisplayFallbackRestrict(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("Fallback"))
	d := mustCreateDisplay(t, db, newDisplay("screen", func(d *displays.Display) { d.FallbackPlaylistID = pl.ID }))
	wantCode(t, db.DeletePlaylist(ctx, pl.ID), marquee.ECONFLICT)
	if got := mustFindDisplay(t, db, d.ID); got.FallbackPlaylistID != pl.ID {
		t.Fatalf("fallback = %q after a refused delete", got.FallbackPlaylistID)
	}
	d.FallbackPlaylistID = ""
	if _, err := db.UpdateDisplay(ctx, d); err != nil {
		t.Fatalf("UpdateDisplay: %v", err)
	}
	if err := db.DeletePlaylist(ctx, pl.ID); err != nil {
		t.Fatalf("DeletePlaylist once unused: %v", err)
	}
}

func testDisplayPagination(t *testing.T, db *DB) {
	ctx := context.Background()
	var all []*displays.Display
	for i := range 13 {
		tags := []string{fmt.Sprintf("n%02d", i)}
		if i%3 == 0 {
			tags = append(tags, "airport")
		}
		name := fmt.Sprintf("Screen %02d", i)
		if i%4 == 0 {
			name = fmt.Sprintf("Cổng Sầm Sơn %02d", i)
		}
		all = append(all, mustCreateDisplay(t, db, newDisplay(name, withDisplayTags(tags...))))
	}
	newestFirst := func(keep func(i int) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	for _, tt := range []struct {
		name   string
		filter displays.Filter
		want   []string
	}{
		{"all", displays.Filter{}, newestFirst(func(int) bool { return true })},
		{"tag", displays.Filter{Tag: "airport"}, newestFirst(func(i int) bool { return i%3 == 0 })},
		{"name", displays.Filter{NameContains: "SẦM SƠN"}, newestFirst(func(i int) bool { return i%4 == 0 })},
		{"tag+name", displays.Filter{Tag: "airport", NameContains: "sầm"}, newestFirst(func(i int) bool { return i%12 == 0 })},
		{"no match", displays.Filter{Tag: "nothing"}, nil},
	} {
		for _, limit := range []int{1, 2, 5, 50} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.name, limit), func(t *testing.T) {
				f := tt.filter
				f.Limit = limit
				var got []string
				for page := 0; ; page++ {
					if page > len(all) {
						t.Fatal("pagination does not end")
					}
					ds, next, err := db.FindDisplays(ctx, f)
					if err != nil {
						t.Fatalf("FindDisplays page %d: %v", page, err)
					}
					for _, d := range ds {
						got = append(got, d.ID)
						if len(d.Tags) == 0 {
							t.Fatalf("display %s without its tags", d.ID)
						}
					}
					if next == "" {
						break
					}
					if len(ds) != limit {
						t.Fatalf("page %d: short page (%d of %d) with a next cursor", page, len(ds), limit)
					}
					f.Cursor = next
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("IDs (-want +got):\n%s", diff)
				}
			})
		}
	}
	_, _, err := db.FindDisplays(ctx, displays.Filter{Cursor: "!!!"})
	wantCode(t, err, marquee.EINVALID)
	_, _, err = db.FindDisplays(ctx, displays.Filter{Limit: -1})
	wantCode(t, err, marquee.EINVALID)
	if !strings.HasPrefix(all[0].ID, "dsp_") {
		t.Errorf("ID %q", all[0].ID)
	}
}
