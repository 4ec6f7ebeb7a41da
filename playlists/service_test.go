package playlists_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/sqlstore"
)

// t0 has sub-millisecond digits and a zone, to show truncation and UTC.
var t0 = time.Date(2026, 3, 14, 9, 30, 15, 123456789, time.FixedZone("ICT", 7*3600))

type env struct {
	svc *playlists.Service
	db  *sqlstore.DB
	now time.Time
}

// newEnv returns a Service on a fresh, migrated SQLite store whose clock
// reads e.now.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, now: t0}
	e.svc = playlists.NewService(db, db, playlists.Config{Now: func() time.Time { return e.now }})
	return e
}

// media stores a media item of kind with a clip length and returns its ID.
func (e *env) media(t *testing.T, kind media.Kind, durationMS int64) string {
	t.Helper()
	it := &media.Item{
		OrgID: auth.RootOrgID, Name: "m", Kind: kind, MIME: "x/y", SHA256: strings.Repeat("ab", 32),
		Width: 64, Height: 32, DurationMS: durationMS, CreatedBy: "usr_test",
	}
	if err := e.db.CreateMedia(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	return it.ID
}

func input(name string, items ...playlists.Item) playlists.Input {
	return playlists.Input{Name: name, Items: items, OrgID: auth.RootOrgID, CreatedBy: "usr_a"}
}

func ptr(t time.Time) *time.Time { return &t }

func TestCreateResolvesDefaults(t *testing.T) {
	e := newEnv(t)
	img := e.media(t, media.KindImage, 0)
	clip := e.media(t, media.KindVideo, 15_500)
	unknown := e.media(t, media.KindVideo, 0)
	blip := e.media(t, media.KindVideo, 400)
	epic := e.media(t, media.KindVideo, 30*3600*1000)

	from := time.Date(2026, 4, 1, 8, 0, 0, 999_999, time.FixedZone("ICT", 7*3600))
	p, err := e.svc.Create(context.Background(), input(" Tết\u0000 2026 ",
		playlists.Item{MediaID: img},
		playlists.Item{MediaID: clip},
		playlists.Item{MediaID: unknown},
		playlists.Item{MediaID: blip},
		playlists.Item{MediaID: epic},
		playlists.Item{MediaID: img, DurationMS: 2500, Fit: " Stretch ", ValidFrom: &from},
	))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := []playlists.Item{
		{MediaID: img, DurationMS: 10_000, Fit: "fill"},               // image default
		{MediaID: clip, DurationMS: 15_500, Fit: "fill"},              // the clip's own length
		{MediaID: unknown, DurationMS: 10_000, Fit: "fill"},           // length unknown
		{MediaID: blip, DurationMS: playlists.MinItemMS, Fit: "fill"}, // kept in range
		{MediaID: epic, DurationMS: playlists.MaxItemMS, Fit: "fill"},
		{MediaID: img, DurationMS: 2500, Fit: "stretch", ValidFrom: ptr(time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC))},
	}
	if diff := cmp.Diff(want, p.Items); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
	if got, want := p.Name, "Tết 2026"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if got, want := p.DurationMS, int64(10_000+15_500+10_000+1000+86_400_000+2500); got != want {
		t.Errorf("duration = %d, want %d", got, want)
	}
	if p.Revision != 1 || p.OrgID != auth.RootOrgID || p.CreatedBy != "usr_a" || p.CreatedAt != t0.UTC().Truncate(time.Millisecond) {
		t.Errorf("playlist = %+v", p)
	}
	if got, _ := e.svc.Get(context.Background(), p.ID); !cmp.Equal(got, p) {
		t.Errorf("Get differs from Create (-created +got):\n%s", cmp.Diff(p, got))
	}
	if ref := p.Ref(); ref != (marquee.PlaylistRef{PlaylistID: p.ID, Revision: 1}) {
		t.Errorf("Ref = %v", ref)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	img := e.media(t, media.KindImage, 0)
	ok := playlists.Item{MediaID: img}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tooMany := make([]playlists.Item, playlists.MaxItems+1)
	for i := range tooMany {
		tooMany[i] = ok
	}
	for _, tc := range []struct {
		name string
		in   playlists.Input
		want string
	}{
		{"no name", input(""), "name is required"},
		{"too many", input("x", tooMany...), "a playlist holds at most 1000 items; got 1001"},
		{"no media", input("x", ok, playlists.Item{}), "item 1: media_id is required"},
		{"unknown media", input("x", ok, ok, ok, playlists.Item{MediaID: "med_x"}), `item 3: media "med_x" does not exist`},
		{"short", input("x", playlists.Item{MediaID: img, DurationMS: 999}), "item 0: duration_ms must be from 1000 to 86400000, or 0 for the default; got 999"},
		{"long", input("x", playlists.Item{MediaID: img, DurationMS: 86_400_001}), "item 0: duration_ms must be from 1000 to 86400000, or 0 for the default; got 86400001"},
		{"negative", input("x", playlists.Item{MediaID: img, DurationMS: -5}), "item 0: duration_ms must be from 1000 to 86400000, or 0 for the default; got -5"},
		{"fit", input("x", ok, playlists.Item{MediaID: img, Fit: "cover"}), `item 1: fit must be fill, fit or stretch; got "cover"`},
		{"equal window", input("x", playlists.Item{MediaID: img, ValidFrom: &at, ValidUntil: &at}), "item 0: valid_from must be before valid_until"},
		{"sub-ms window", input("x", playlists.Item{MediaID: img, ValidFrom: &at, ValidUntil: ptr(at.Add(time.Microsecond))}), "item 0: valid_from must be before valid_until"},
		{"no organisation", playlists.Input{Name: "x"}, "organisation is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Create(context.Background(), tc.in)
			if got := marquee.ErrorCode(err); got != marquee.EINVALID {
				t.Fatalf("code = %q (%v), want invalid", got, err)
			}
			if got := marquee.ErrorMessage(err); got != tc.want {
				t.Fatalf("message = %q, want %q", got, tc.want)
			}
		})
	}
	// The boundaries themselves are fine.
	_, err := e.svc.Create(context.Background(), input("x",
		playlists.Item{MediaID: img, DurationMS: playlists.MinItemMS},
		playlists.Item{MediaID: img, DurationMS: playlists.MaxItemMS, ValidFrom: &at, ValidUntil: ptr(at.Add(time.Millisecond))}))
	if err != nil {
		t.Fatalf("boundaries: %v", err)
	}
	if _, err := e.svc.Create(context.Background(), input("x", tooMany[:playlists.MaxItems]...)); err != nil {
		t.Fatalf("%d items: %v", playlists.MaxItems, err)
	}
}

func TestUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	img := e.media(t, media.KindImage, 0)
	clip := e.media(t, media.KindVideo, 3000)
	v1, err := e.svc.Create(ctx, input("Lobby", playlists.Item{MediaID: img}))
	if err != nil {
		t.Fatal(err)
	}

	e.now = t0.Add(time.Hour)
	in := input("Lobby", playlists.Item{MediaID: img}, playlists.Item{MediaID: clip, Fit: "fit"})
	in.CreatedBy = "usr_b"
	v2, err := e.svc.Update(ctx, v1.ID, in)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if v2.Revision != 2 || v2.RevisedBy != "usr_b" || v2.CreatedBy != "usr_a" || v2.Items[1].DurationMS != 3000 {
		t.Fatalf("revision 2 = %+v", v2)
	}

	// Unchanged once defaults are resolved: the defaults spelled out, the
	// name with spaces around it, the fit in capitals.
	e.now = t0.Add(2 * time.Hour)
	same := input(" Lobby ", playlists.Item{MediaID: img, DurationMS: 10_000, Fit: "FILL"}, playlists.Item{MediaID: clip, DurationMS: 3000, Fit: "fit"})
	got, err := e.svc.Update(ctx, v1.ID, same)
	if err != nil {
		t.Fatalf("Update(unchanged): %v", err)
	}
	if diff := cmp.Diff(v2, got); diff != "" {
		t.Fatalf("unchanged update (-revision 2 +got):\n%s", diff)
	}
	revs, next, err := e.svc.ListRevisions(ctx, v1.ID, 0, "")
	if err != nil || len(revs) != 2 || next != "" || revs[0].Revision != 2 || revs[1].Revision != 1 {
		t.Fatalf("ListRevisions = %d revisions, %q, %v; want [2 1]", len(revs), next, err)
	}
	r1, err := e.svc.GetRevision(ctx, v1.ID, 1)
	if err != nil || !cmp.Equal(r1, v1) {
		t.Fatalf("revision 1 = %+v, %v; want it as created", r1, err)
	}

	// Validation applies, and an unknown playlist is not found.
	_, err = e.svc.Update(ctx, v1.ID, input("Lobby", playlists.Item{MediaID: "med_x"}))
	if msg := marquee.ErrorMessage(err); msg != `item 0: media "med_x" does not exist` {
		t.Fatalf("Update(bad) = %v", err)
	}
	_, err = e.svc.Update(ctx, "pls_nope", input("x"))
	if marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("Update(unknown) = %v, want not found", err)
	}
}

func TestReadsAndDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.svc.Create(ctx, input("one"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rev := range []int64{0, -1, 2} {
		if _, err := e.svc.GetRevision(ctx, p.ID, rev); marquee.ErrorCode(err) != marquee.ENOTFOUND {
			t.Errorf("GetRevision(%d) = %v, want not found", rev, err)
		}
	}
	for _, limit := range []int{-1, 501} {
		if _, _, err := e.svc.List(ctx, playlists.Filter{Limit: limit}); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("List(limit %d) = %v, want invalid", limit, err)
		}
		if _, _, err := e.svc.ListRevisions(ctx, p.ID, limit, ""); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("ListRevisions(limit %d) = %v, want invalid", limit, err)
		}
	}
	ps, next, err := e.svc.List(ctx, playlists.Filter{NameContains: "ONE"})
	if err != nil || len(ps) != 1 || next != "" {
		t.Fatalf("List = %v, %q, %v", ps, next, err)
	}
	if err := e.svc.Delete(ctx, p.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := e.svc.Get(ctx, p.ID); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("Get after Delete = %v", err)
	}
	if err := e.svc.Delete(ctx, p.ID); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("Delete twice = %v", err)
	}
}

// failingLookup is a MediaLookup whose database is down.
type failingLookup struct{}

func (failingLookup) FindMediaInfo(context.Context, string, []string) (map[string]playlists.MediaInfo, error) {
	return nil, errors.New("dial tcp: connection refused")
}

func TestLookupFailureIsInternal(t *testing.T) {
	e := newEnv(t)
	svc := playlists.NewService(e.db, failingLookup{}, playlists.Config{})
	_, err := svc.Create(context.Background(), input("x", playlists.Item{MediaID: "med_a"}))
	if marquee.ErrorCode(err) != marquee.EINTERNAL || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want an internal error keeping its cause", err)
	}
	// An empty playlist needs no lookup.
	if _, err := svc.Create(context.Background(), input("empty")); err != nil {
		t.Fatalf("empty playlist: %v", err)
	}
}

func TestSameContent(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	inICT := at.In(time.FixedZone("ICT", 7*3600))
	base := []playlists.Item{{MediaID: "a", DurationMS: 1000, Fit: "fill", ValidFrom: &at}}
	for _, tc := range []struct {
		name  string
		name2 string
		items []playlists.Item
		want  bool
	}{
		{"identical", "n", base, true},
		{"same instant, other zone", "n", []playlists.Item{{MediaID: "a", DurationMS: 1000, Fit: "fill", ValidFrom: &inICT}}, true},
		{"renamed", "m", base, false},
		{"other duration", "n", []playlists.Item{{MediaID: "a", DurationMS: 2000, Fit: "fill", ValidFrom: &at}}, false},
		{"other fit", "n", []playlists.Item{{MediaID: "a", DurationMS: 1000, Fit: "fit", ValidFrom: &at}}, false},
		{"window dropped", "n", []playlists.Item{{MediaID: "a", DurationMS: 1000, Fit: "fill"}}, false},
		{"window end added", "n", []playlists.Item{{MediaID: "a", DurationMS: 1000, Fit: "fill", ValidFrom: &at, ValidUntil: &at}}, false},
		{"more items", "n", append(base[:1:1], base[0]), false},
		{"no items", "n", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := playlists.SameContent("n", base, tc.name2, tc.items); got != tc.want {
				t.Fatalf("SameContent = %v, want %v", got, tc.want)
			}
		})
	}
	if !playlists.SameContent("n", nil, "n", []playlists.Item{}) {
		t.Errorf("nil and empty items differ")
	}
	if got := playlists.TotalDurationMS(append(base, playlists.Item{DurationMS: 500})); got != 1500 {
		t.Errorf("TotalDurationMS = %d, want 1500", got)
	}
}
