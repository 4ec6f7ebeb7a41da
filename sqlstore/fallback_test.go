package sqlstore

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/playlists"
)

// updatePlaylist makes a new revision of playlist id playing items.
func updatePlaylist(t *testing.T, db *DB, id string, items ...playlists.Item) int64 {
	t.Helper()
	p, _, err := db.UpdatePlaylist(context.Background(), id, playlists.Revision{Name: "p", Items: items, CreatedBy: "usr_test"})
	if err != nil {
		t.Fatalf("UpdatePlaylist: %v", err)
	}
	return p.Revision
}

// TestFallbackPin: creating or updating a display pins its fallback
// playlist's current revision, which later edits of the playlist leave
// alone; an update re-pins, even naming the same playlist; the media of the
// pinned revision cannot be deleted while it is pinned.
func TestFallbackPin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dl testDialect) {
		dl.skipUnavailable(t)
		ctx := context.Background()
		db := dl.openMigrated(t)
		red := mustCreateMedia(t, db, newItem("red"))
		blue := mustCreateMedia(t, db, newItem("blue"))
		pl := mustCreatePlaylist(t, db, newPlaylist("p", plItem(red.ID, 5000)))

		d := mustCreateDisplay(t, db, newDisplay("d", func(d *displays.Display) {
			d.FallbackPlaylistID = pl.ID
			d.FallbackRevision = 99 // ignored: the store pins
		}))
		if d.FallbackRevision != 1 || mustFindDisplay(t, db, d.ID).FallbackRevision != 1 {
			t.Fatalf("created with revision %d, want 1", d.FallbackRevision)
		}
		if rev := updatePlaylist(t, db, pl.ID, plItem(blue.ID, 5000)); rev != 2 {
			t.Fatalf("revision %d", rev)
		}
		if got := mustFindDisplay(t, db, d.ID).FallbackRevision; got != 1 {
			t.Fatalf("after an edit of the playlist the fallback is at %d, want 1", got)
		}
		// red is in no current revision, only in the pinned one.
		wantCode(t, db.DeleteMedia(ctx, red.ID), marquee.ECONFLICT)

		d.UpdatedAt = t0
		got, err := db.UpdateDisplay(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if got.FallbackRevision != 2 {
			t.Fatalf("re-pinned at %d, want 2", got.FallbackRevision)
		}
		if err := db.DeleteMedia(ctx, red.ID); err != nil {
			t.Fatalf("delete of media no longer pinned: %v", err)
		}

		d.FallbackPlaylistID = ""
		if got, err = db.UpdateDisplay(ctx, d); err != nil || got.FallbackRevision != 0 {
			t.Fatalf("without a fallback: revision %v, err %v", got, err)
		}
		green := mustCreateMedia(t, db, newItem("green"))
		updatePlaylist(t, db, pl.ID, plItem(green.ID, 5000)) // blue leaves the playlist
		if err := db.DeleteMedia(ctx, blue.ID); err != nil {
			t.Fatalf("delete of media of an unpinned fallback: %v", err)
		}
	})
}

// TestMigratePinsFallbacks: displays with a fallback when migration 10 runs
// pin their playlist's current revision and its media, so that the
// upgrade changes nothing on screens.
func TestMigratePinsFallbacks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dl testDialect) {
		dl.skipUnavailable(t)
		ctx := context.Background()
		db := dl.open(t)
		all := dl.migrationsOf().migrations()
		before := fstest.MapFS{}
		files, err := fs.ReadDir(all, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Name() < "0010" {
				b, err := fs.ReadFile(all, f.Name())
				if err != nil {
					t.Fatal(err)
				}
				before[f.Name()] = &fstest.MapFile{Data: b}
			}
		}
		if _, err := db.migrateFS(ctx, before); err != nil {
			t.Fatalf("migrate to 9: %v", err)
		}
		m1 := mustCreateMedia(t, db, newItem("m1"))
		m2 := mustCreateMedia(t, db, newItem("m2"))
		m3 := mustCreateMedia(t, db, newItem("m3"))
		pl := mustCreatePlaylist(t, db, newPlaylist("p", plItem(m1.ID, 5000)))
		updatePlaylist(t, db, pl.ID, plItem(m2.ID, 5000))
		for _, q := range []string{
			`INSERT INTO displays (id, org_id, name, name_fold, width, height, timezone, fallback_playlist_id,
				token_hash, created_at, updated_at)
				VALUES ('dsp_fb', '` + auth.RootOrgID + `', 'fb', 'fb', 1920, 1080, 'Asia/Ho_Chi_Minh', '` + pl.ID + `',
				'hash_fb', 1000, 1000)`,
			`INSERT INTO displays (id, org_id, name, name_fold, width, height, timezone, token_hash, created_at, updated_at)
				VALUES ('dsp_none', '` + auth.RootOrgID + `', 'none', 'none', 1920, 1080, 'Asia/Ho_Chi_Minh',
				'hash_none', 1000, 1000)`,
		} {
			if _, err := db.exec(ctx, db.write, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate to the latest: %v", err)
		}
		if d := mustFindDisplay(t, db, "dsp_fb"); d.FallbackPlaylistID != pl.ID || d.FallbackRevision != 2 {
			t.Fatalf("after the migration the fallback is %s@%d, want %s@2", d.FallbackPlaylistID, d.FallbackRevision, pl.ID)
		}
		if d := mustFindDisplay(t, db, "dsp_none"); d.FallbackRevision != 0 {
			t.Fatalf("a display without a fallback has revision %d", d.FallbackRevision)
		}
		updatePlaylist(t, db, pl.ID, plItem(m3.ID, 5000))
		wantCode(t, db.DeleteMedia(ctx, m2.ID), marquee.ECONFLICT) // pinned by the fallback only
		if err := db.DeleteMedia(ctx, m1.ID); err != nil {
			t.Fatalf("delete of media in no pinned revision: %v", err)
		}
	})
}
