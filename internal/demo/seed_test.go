package demo_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/internal/demo"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/scheduler"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

func TestSeedIsIdempotentAndPlayable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	lib, err := media.NewLibrary(db, media.Config{Dir: filepath.Join(dir, "media"), FFprobePath: "-", FFmpegPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close(ctx)
	ds := displays.NewService(db, displays.Config{})
	svc := demo.Services{Library: lib, Playlists: playlists.NewService(db, db, playlists.Config{}), Displays: ds,
		Schedules: schedules.NewService(db, schedules.Config{}), OrgID: auth.RootOrgID}

	first, err := demo.Seed(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 {
		t.Fatalf("seeded %d displays, want 3", len(first))
	}
	second, err := demo.Seed(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 3 {
		t.Fatalf("second seed: %d displays, want the same 3", len(second))
	}
	items, _, err := lib.List(ctx, media.Filter{Limit: 100})
	if err != nil || len(items) != 5 {
		t.Fatalf("media after two seeds: %d (%v), want 5 (4 banners and a clip)", len(items), err)
	}
	b := desired.NewBuilder(db, lib, admin.URLs{}, desired.Config{})
	for i, d := range second {
		// Tokens were rotated: the first ones no longer work, the new ones do.
		if _, err := ds.Authenticate(ctx, d.ID, first[i].Token); err == nil {
			t.Fatalf("%s: old token still accepted", d.Name)
		}
		if _, err := ds.Authenticate(ctx, d.ID, d.Token); err != nil {
			t.Fatalf("%s: new token refused: %v", d.Name, err)
		}
		st, _, err := b.State(ctx, d.ID)
		if err != nil {
			t.Fatalf("%s: state: %v", d.Name, err)
		}
		// Seeded without an actor: approved by the system, so it plays.
		if len(st.Rules) == 0 || st.Fallback == nil {
			t.Fatalf("%s: %d rules, fallback %v", d.Name, len(st.Rules), st.Fallback)
		}
		for _, a := range st.Media {
			if a.Kind == "image" && (a.Width != d.Width || a.Height != d.Height) {
				t.Fatalf("%s: image asset %dx%d, want the display's %dx%d", d.Name, a.Width, a.Height, d.Width, d.Height)
			}
		}
		if _, err := scheduler.Compile(st); err != nil {
			t.Fatalf("%s: state does not compile: %v", d.Name, err)
		}
	}
}
