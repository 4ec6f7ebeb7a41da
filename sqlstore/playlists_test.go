package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
)

// The playlist cases join the one conformance suite (TestConformance), so
// they run against every dialect like the rest.
func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"PlaylistCreateFind", testPlaylistCreateFind},
		{"PlaylistDefaults", testPlaylistDefaults},
		{"PlaylistCreateInvalid", testPlaylistCreateInvalid},
		{"PlaylistNotFound", testPlaylistNotFound},
		{"PlaylistRevisions", testPlaylistRevisions},
		{"PlaylistConcurrentUpdates", testPlaylistConcurrentUpdates},
		{"PlaylistRevisionPagination", testPlaylistRevisionPagination},
		{"PlaylistList", testPlaylistList},
		{"PlaylistDeleteCascades", testPlaylistDeleteCascades},
		{"PlaylistDeleteReferenced", testPlaylistDeleteReferenced},
		{"MediaDeleteUsedByPlaylist", testMediaDeleteUsedByPlaylist},
		{"FindMediaInfo", testFindMediaInfo},
	}...)
}

// newPlaylist returns a valid playlist to store.
func newPlaylist(name string, items ...playlists.Item) *playlists.Playlist {
	return &playlists.Playlist{
		ID:        marquee.NewID("pls_"),
		OrgID:     auth.RootOrgID,
		Name:      name,
		Items:     items,
		CreatedBy: "usr_test",
		CreatedAt: t0,
	}
}

// plItem returns a resolved item of media id playing for ms.
func plItem(id string, ms int64) playlists.Item {
	return playlists.Item{MediaID: id, DurationMS: ms, Fit: playlists.FitFill}
}

func mustCreatePlaylist(t *testing.T, db *DB, p *playlists.Playlist) *playlists.Playlist {
	t.Helper()
	if err := db.CreatePlaylist(context.Background(), p); err != nil {
		t.Fatalf("CreatePlaylist(%q): %v", p.Name, err)
	}
	return p
}

func mustFindPlaylist(t *testing.T, db *DB, id string) *playlists.Playlist {
	t.Helper()
	p, err := db.FindPlaylistByID(context.Background(), id)
	if err != nil {
		t.Fatalf("FindPlaylistByID(%q): %v", id, err)
	}
	return p
}

func mustUpdatePlaylist(t *testing.T, db *DB, id string, r playlists.Revision) (*playlists.Playlist, bool) {
	t.Helper()
	p, created, err := db.UpdatePlaylist(context.Background(), id, r)
	if err != nil {
		t.Fatalf("UpdatePlaylist(%q): %v", id, err)
	}
	return p, created
}

// mediaIDs creates n image items and returns their IDs.
func mediaIDs(t *testing.T, db *DB, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = mustCreateMedia(t, db, newItem(fmt.Sprintf("media %d", i))).ID
	}
	return ids
}

// playlistMedia returns the media IDs recorded for playlist id, sorted.
func playlistMedia(t *testing.T, db *DB, id string) []string {
	t.Helper()
	rows, err := db.query(context.Background(), db.read, `SELECT media_id FROM playlist_media WHERE playlist_id = ? ORDER BY media_id`, id)
	if err != nil {
		t.Fatalf("playlist media: %v", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func testPlaylistCreateFind(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 2)
	from := t0.Add(24 * time.Hour)
	until := from.Add(7 * 24 * time.Hour)
	windowed := playlists.Item{MediaID: m[1], DurationMS: 15_000, Fit: playlists.FitFit, ValidFrom: &from, ValidUntil: &until}
	in := newPlaylist("Sảnh chính — Tết", plItem(m[0], 10_000), windowed, plItem(m[0], 5_000))
	if err := db.CreatePlaylist(ctx, in); err != nil {
		t.Fatalf("CreatePlaylist: %v", err)
	}

	// CreatePlaylist reports what it stored.
	wantAt := time.Date(2026, 3, 14, 2, 30, 15, 123000000, time.UTC)
	if in.Revision != 1 || in.CreatedAt != wantAt || in.UpdatedAt != wantAt || in.RevisedBy != "usr_test" || in.DurationMS != 30_000 {
		t.Errorf("stored = rev %d, created %v, updated %v, revised by %q, duration %d; want 1, %v, %v, usr_test, 30000",
			in.Revision, in.CreatedAt, in.UpdatedAt, in.RevisedBy, in.DurationMS, wantAt, wantAt)
	}
	if got := *in.Items[1].ValidFrom; got != from.UTC().Truncate(time.Millisecond) || got.Location() != time.UTC {
		t.Errorf("stored valid_from = %v, want %v in UTC", got, from.UTC().Truncate(time.Millisecond))
	}
	if *windowed.ValidFrom != from {
		t.Errorf("CreatePlaylist changed the caller's item times")
	}

	got := mustFindPlaylist(t, db, in.ID)
	if diff := cmp.Diff(in, got); diff != "" {
		t.Fatalf("FindPlaylistByID mismatch (-stored +found):\n%s", diff)
	}
	rev, err := db.FindPlaylistRevision(ctx, in.ID, 1)
	if err != nil {
		t.Fatalf("FindPlaylistRevision: %v", err)
	}
	if diff := cmp.Diff(in, rev); diff != "" {
		t.Fatalf("FindPlaylistRevision mismatch (-stored +found):\n%s", diff)
	}
	if got, want := playlistMedia(t, db, in.ID), []string{m[0], m[1]}; !cmp.Equal(got, want) {
		t.Errorf("playlist_media = %v, want %v", got, want)
	}

	// An empty playlist is allowed, and reads back with empty, non-nil items.
	empty := mustCreatePlaylist(t, db, newPlaylist("empty"))
	if got := mustFindPlaylist(t, db, empty.ID); got.Items == nil || len(got.Items) != 0 || got.DurationMS != 0 {
		t.Errorf("empty playlist = %#v, want empty non-nil items", got)
	}
}

func testPlaylistDefaults(t *testing.T, db *DB) {
	db.now = func() time.Time { return t0 }
	p := newPlaylist("defaults")
	p.ID, p.CreatedAt = "", time.Time{}
	mustCreatePlaylist(t, db, p)
	if !strings.HasPrefix(p.ID, "pls_") || len(p.ID) != 30 {
		t.Errorf("ID = %q, want pls_ and a new ID", p.ID)
	}
	want := t0.UTC().Truncate(time.Millisecond)
	if p.CreatedAt != want || p.UpdatedAt != want {
		t.Errorf("times = %v, %v, want %v", p.CreatedAt, p.UpdatedAt, want)
	}
	// A revision with no time is stamped now too.
	db.now = func() time.Time { return t0.Add(time.Hour) }
	got, _ := mustUpdatePlaylist(t, db, p.ID, playlists.Revision{Name: "renamed", CreatedBy: "usr_b"})
	if want := t0.Add(time.Hour).UTC().Truncate(time.Millisecond); got.UpdatedAt != want || got.CreatedAt != p.CreatedAt {
		t.Errorf("after update: created %v, updated %v; want %v, %v", got.CreatedAt, got.UpdatedAt, p.CreatedAt, want)
	}
}

func testPlaylistCreateInvalid(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 1)
	first := mustCreatePlaylist(t, db, newPlaylist("first", plItem(m[0], 10_000)))

	dup := newPlaylist("dup", plItem(m[0], 10_000))
	dup.ID = first.ID
	wantCode(t, db.CreatePlaylist(ctx, dup), marquee.ECONFLICT)

	orphan := newPlaylist("orphan")
	orphan.OrgID = "org_nowhere"
	err := db.CreatePlaylist(ctx, orphan)
	wantCode(t, err, marquee.EINVALID)
	if got, want := marquee.ErrorMessage(err), `organisation "org_nowhere" does not exist`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}

	// Media that does not exist (deleted after the service checked it).
	err = db.CreatePlaylist(ctx, newPlaylist("ghost", plItem(m[0], 10_000), plItem("med_ghost", 10_000)))
	wantCode(t, err, marquee.EINVALID)
	if got, want := marquee.ErrorMessage(err), "a media item of the playlist does not exist"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	_, _, err = db.UpdatePlaylist(ctx, first.ID, playlists.Revision{Name: "x", Items: []playlists.Item{plItem("med_ghost", 1000)}})
	wantCode(t, err, marquee.EINVALID)

	// The failed writes left nothing behind.
	for table, want := range map[string]int{"playlists": 1, "playlist_revisions": 1, "playlist_media": 1} {
		if n := countRows(t, db, table); n != want {
			t.Errorf("%s rows = %d, want %d", table, n, want)
		}
	}
	if diff := cmp.Diff(first, mustFindPlaylist(t, db, first.ID)); diff != "" {
		t.Errorf("first playlist changed (-want +got):\n%s", diff)
	}
}

func testPlaylistNotFound(t *testing.T, db *DB) {
	ctx := context.Background()
	const id = "pls_missing"
	want := `playlist "pls_missing" not found`
	check := func(op string, err error) {
		t.Helper()
		wantCode(t, err, marquee.ENOTFOUND)
		if got := marquee.ErrorMessage(err); got != want {
			t.Errorf("%s message = %q, want %q", op, got, want)
		}
	}
	_, err := db.FindPlaylistByID(ctx, id)
	check("FindPlaylistByID", err)
	_, err = db.FindPlaylistRevision(ctx, id, 1)
	check("FindPlaylistRevision", err)
	_, _, err = db.FindPlaylistRevisions(ctx, id, 0, "")
	check("FindPlaylistRevisions", err)
	_, _, err = db.UpdatePlaylist(ctx, id, playlists.Revision{Name: "x"})
	check("UpdatePlaylist", err)
	check("DeletePlaylist", db.DeletePlaylist(ctx, id))

	p := mustCreatePlaylist(t, db, newPlaylist("one"))
	_, err = db.FindPlaylistRevision(ctx, p.ID, 2)
	wantCode(t, err, marquee.ENOTFOUND)
	if got, want := marquee.ErrorMessage(err), fmt.Sprintf("playlist %q has no revision 2", p.ID); got != want {
		t.Errorf("FindPlaylistRevision(2) message = %q, want %q", got, want)
	}
}

func testPlaylistRevisions(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 3)
	v1 := mustCreatePlaylist(t, db, newPlaylist("Lobby", plItem(m[0], 10_000), plItem(m[1], 20_000)))

	// A change makes revision 2; revision 1 stays exactly as it was.
	later := t0.Add(time.Hour)
	r2 := playlists.Revision{Name: "Lobby", Items: []playlists.Item{plItem(m[1], 20_000), plItem(m[2], 5_000)}, CreatedBy: "usr_editor", CreatedAt: later}
	v2, created := mustUpdatePlaylist(t, db, v1.ID, r2)
	if !created || v2.Revision != 2 || v2.DurationMS != 25_000 || v2.RevisedBy != "usr_editor" || v2.CreatedBy != "usr_test" {
		t.Fatalf("update = %+v (created %v), want revision 2 by usr_editor, created by usr_test, 25000 ms", v2, created)
	}
	if want := later.UTC().Truncate(time.Millisecond); v2.UpdatedAt != want || v2.CreatedAt != v1.CreatedAt {
		t.Errorf("times = %v, %v; want %v, %v", v2.CreatedAt, v2.UpdatedAt, v1.CreatedAt, want)
	}
	if diff := cmp.Diff(v2, mustFindPlaylist(t, db, v1.ID)); diff != "" {
		t.Fatalf("FindPlaylistByID after update (-returned +found):\n%s", diff)
	}
	old, err := db.FindPlaylistRevision(ctx, v1.ID, 1)
	if err != nil {
		t.Fatalf("FindPlaylistRevision(1): %v", err)
	}
	if diff := cmp.Diff(v1, old); diff != "" {
		t.Fatalf("revision 1 changed (-created +found):\n%s", diff)
	}
	// The media references follow the current revision only.
	if got, want := playlistMedia(t, db, v1.ID), []string{m[1], m[2]}; !cmp.Equal(got, want) {
		t.Errorf("playlist_media = %v, want %v", got, want)
	}

	// The same content again writes nothing and answers the current revision.
	r2.CreatedAt, r2.CreatedBy = later.Add(time.Hour), "usr_other"
	same, created := mustUpdatePlaylist(t, db, v1.ID, r2)
	if created {
		t.Fatalf("an unchanged update made revision %d", same.Revision)
	}
	if diff := cmp.Diff(v2, same); diff != "" {
		t.Fatalf("unchanged update (-current +returned):\n%s", diff)
	}
	if n := countRows(t, db, "playlist_revisions"); n != 2 {
		t.Errorf("playlist_revisions rows = %d, want 2", n)
	}

	// Equal times in another zone are the same content.
	from := t0
	withWindow := playlists.Revision{Name: "Lobby", Items: []playlists.Item{{MediaID: m[0], DurationMS: 1000, Fit: "fit", ValidFrom: &from}}}
	v3, created := mustUpdatePlaylist(t, db, v1.ID, withWindow)
	if !created || v3.Revision != 3 {
		t.Fatalf("update with a window = revision %d (created %v), want 3", v3.Revision, created)
	}
	inUTC := from.UTC()
	withWindow.Items[0].ValidFrom = &inUTC
	if p, created := mustUpdatePlaylist(t, db, v1.ID, withWindow); created || p.Revision != 3 {
		t.Fatalf("same window in UTC = revision %d (created %v), want 3 unchanged", p.Revision, created)
	}

	// A rename alone is a change too, and moves the searchable name.
	v4, created := mustUpdatePlaylist(t, db, v1.ID, playlists.Revision{Name: "Sảnh", Items: withWindow.Items})
	if !created || v4.Revision != 4 || v4.Name != "Sảnh" {
		t.Fatalf("rename = revision %d %q (created %v), want 4 Sảnh", v4.Revision, v4.Name, created)
	}
	if ps, _, err := db.FindPlaylists(ctx, playlists.Filter{NameContains: "sảnh"}); err != nil || len(ps) != 1 {
		t.Fatalf("FindPlaylists(new name) = %d, %v; want 1", len(ps), err)
	}
	if ps, _, err := db.FindPlaylists(ctx, playlists.Filter{NameContains: "lobby"}); err != nil || len(ps) != 0 {
		t.Fatalf("FindPlaylists(old name) = %d, %v; want 0", len(ps), err)
	}
	// Every revision still reads back as it was made.
	for rev, want := range map[int64]string{1: "Lobby", 2: "Lobby", 3: "Lobby", 4: "Sảnh"} {
		p, err := db.FindPlaylistRevision(ctx, v1.ID, rev)
		if err != nil || p.Name != want || p.Revision != rev {
			t.Errorf("revision %d = %+v, %v; want name %q", rev, p, err, want)
		}
	}
}

// testPlaylistConcurrentUpdates races updates of one playlist: each must get
// its own revision number, none may fail.
func testPlaylistConcurrentUpdates(t *testing.T, db *DB) {
	const writers = 12
	ctx := context.Background()
	m := mediaIDs(t, db, writers)
	p := mustCreatePlaylist(t, db, newPlaylist("contended"))

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs []int64
	)
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			got, created, err := db.UpdatePlaylist(ctx, p.ID, playlists.Revision{
				Name:  fmt.Sprintf("writer %d", w),
				Items: []playlists.Item{plItem(m[w], 1000)},
			})
			if err != nil || !created {
				t.Errorf("writer %d: created %v, %v", w, created, err)
				return
			}
			mu.Lock()
			revs = append(revs, got.Revision)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	slices.Sort(revs)
	var want []int64
	for r := int64(2); r <= writers+1; r++ {
		want = append(want, r)
	}
	if !cmp.Equal(revs, want) {
		t.Fatalf("revisions = %v, want each of 2..%d once", revs, writers+1)
	}
	cur := mustFindPlaylist(t, db, p.ID)
	if cur.Revision != writers+1 {
		t.Fatalf("current revision = %d, want %d", cur.Revision, writers+1)
	}
	// The media references are those of the current revision, whichever
	// writer came last.
	if got, want := playlistMedia(t, db, p.ID), []string{cur.Items[0].MediaID}; !cmp.Equal(got, want) {
		t.Errorf("playlist_media = %v, want %v", got, want)
	}
}

func testPlaylistRevisionPagination(t *testing.T, db *DB) {
	ctx := context.Background()
	p := mustCreatePlaylist(t, db, newPlaylist("rev 1"))
	for r := 2; r <= 7; r++ {
		mustUpdatePlaylist(t, db, p.ID, playlists.Revision{Name: fmt.Sprintf("rev %d", r)})
	}
	for _, limit := range []int{1, 2, 3, 7, 0} {
		var got []int64
		cursor := ""
		for page := 0; ; page++ {
			if page > 7 {
				t.Fatal("pagination does not end")
			}
			ps, next, err := db.FindPlaylistRevisions(ctx, p.ID, limit, cursor)
			if err != nil {
				t.Fatalf("limit %d page %d: %v", limit, page, err)
			}
			for _, r := range ps {
				got = append(got, r.Revision)
				if want := fmt.Sprintf("rev %d", r.Revision); r.Name != want {
					t.Errorf("revision %d name %q, want %q", r.Revision, r.Name, want)
				}
			}
			if next == "" {
				break
			}
			if len(ps) != limit {
				t.Fatalf("limit %d page %d: short page (%d) with a next cursor", limit, page, len(ps))
			}
			cursor = next
		}
		if want := []int64{7, 6, 5, 4, 3, 2, 1}; !cmp.Equal(got, want) {
			t.Errorf("limit %d: revisions %v, want %v", limit, got, want)
		}
	}
	for _, c := range []string{"!!!", encodeCursor("pls_x"), encodeCursor("0"), encodeCursor("-1")} {
		_, _, err := db.FindPlaylistRevisions(ctx, p.ID, 2, c)
		wantCode(t, err, marquee.EINVALID)
	}
	_, _, err := db.FindPlaylistRevisions(ctx, p.ID, -1, "")
	wantCode(t, err, marquee.EINVALID)
}

func testPlaylistList(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 2)
	// 11 playlists, created in order (so IDs ascend); every 3rd plays m[0],
	// every 2nd m[1]; every 4th named "Chiến dịch …".
	var all []*playlists.Playlist
	for i := range 11 {
		name := fmt.Sprintf("Playlist %02d", i)
		if i%4 == 0 {
			name = fmt.Sprintf("Chiến dịch %02d", i)
		}
		var items []playlists.Item
		if i%3 == 0 {
			items = append(items, plItem(m[0], 1000), plItem(m[0], 2000)) // twice: one reference
		}
		if i%2 == 0 {
			items = append(items, plItem(m[1], 1000))
		}
		all = append(all, mustCreatePlaylist(t, db, newPlaylist(name, items...)))
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
	tests := []struct {
		name   string
		filter playlists.Filter
		want   []string
	}{
		{"all", playlists.Filter{}, newestFirst(func(int) bool { return true })},
		{"media", playlists.Filter{MediaID: m[0]}, newestFirst(func(i int) bool { return i%3 == 0 })},
		{"name", playlists.Filter{NameContains: "CHIẾN DỊCH"}, newestFirst(func(i int) bool { return i%4 == 0 })},
		{"media+name", playlists.Filter{MediaID: m[1], NameContains: "playlist"},
			newestFirst(func(i int) bool { return i%2 == 0 && i%4 != 0 })},
		{"unknown media", playlists.Filter{MediaID: "med_nothing"}, nil},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 5, 50} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.name, limit), func(t *testing.T) {
				f := tt.filter
				f.Limit = limit
				var got []string
				for page := 0; ; page++ {
					if page > len(all) {
						t.Fatal("pagination does not end")
					}
					ps, next, err := db.FindPlaylists(ctx, f)
					if err != nil {
						t.Fatalf("FindPlaylists page %d: %v", page, err)
					}
					if ps == nil {
						t.Fatalf("page %d is nil, want a non-nil slice", page)
					}
					for _, p := range ps {
						got = append(got, p.ID)
						if want := all[indexOfPlaylist(all, p.ID)]; !cmp.Equal(p, want) {
							t.Fatalf("listed %s differs from created (-want +got):\n%s", p.ID, cmp.Diff(want, p))
						}
					}
					if next == "" {
						break
					}
					if len(ps) != limit {
						t.Fatalf("page %d: short page (%d of %d) with a next cursor", page, len(ps), limit)
					}
					f.Cursor = next
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("IDs (-want +got):\n%s", diff)
				}
			})
		}
	}
	_, _, err := db.FindPlaylists(ctx, playlists.Filter{Cursor: "!!!"})
	wantCode(t, err, marquee.EINVALID)
	_, _, err = db.FindPlaylists(ctx, playlists.Filter{Limit: -1})
	wantCode(t, err, marquee.EINVALID)
}

func indexOfPlaylist(ps []*playlists.Playlist, id string) int {
	for i, p := range ps {
		if p.ID == id {
			return i
		}
	}
	return -1
}

func testPlaylistDeleteCascades(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 1)
	gone := mustCreatePlaylist(t, db, newPlaylist("gone", plItem(m[0], 1000)))
	mustUpdatePlaylist(t, db, gone.ID, playlists.Revision{Name: "gone 2", Items: []playlists.Item{plItem(m[0], 2000)}})
	kept := mustCreatePlaylist(t, db, newPlaylist("kept"))

	if err := db.DeletePlaylist(ctx, gone.ID); err != nil {
		t.Fatalf("DeletePlaylist: %v", err)
	}
	_, err := db.FindPlaylistByID(ctx, gone.ID)
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = db.FindPlaylistRevision(ctx, gone.ID, 1)
	wantCode(t, err, marquee.ENOTFOUND)
	for table, want := range map[string]int{"playlists": 1, "playlist_revisions": 1, "playlist_media": 0} {
		if n := countRows(t, db, table); n != want {
			t.Errorf("%s rows after delete = %d, want %d", table, n, want)
		}
	}
	mustFindPlaylist(t, db, kept.ID)
	// Its media is free to go now.
	if err := db.DeleteMedia(ctx, m[0]); err != nil {
		t.Fatalf("DeleteMedia after the playlist went: %v", err)
	}
	wantCode(t, db.DeletePlaylist(ctx, gone.ID), marquee.ENOTFOUND)
}

// testPlaylistDeleteReferenced stands in for schedules and displays, which
// reference playlists with ON DELETE RESTRICT.
func testPlaylistDeleteReferenced(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 1)
	p := mustCreatePlaylist(t, db, newPlaylist("scheduled", plItem(m[0], 1000)))
	mustUpdatePlaylist(t, db, p.ID, playlists.Revision{Name: "scheduled", Items: []playlists.Item{plItem(m[0], 2000)}})
	if _, err := db.SQL().Exec(`CREATE TABLE test_playlist_refs (
		playlist_id TEXT NOT NULL REFERENCES playlists (id) ON DELETE RESTRICT)`); err != nil {
		t.Fatalf("create referencing table: %v", err)
	}
	if _, err := db.exec(ctx, db.write, `INSERT INTO test_playlist_refs (playlist_id) VALUES (?)`, p.ID); err != nil {
		t.Fatalf("insert reference: %v", err)
	}
	err := db.DeletePlaylist(ctx, p.ID)
	wantCode(t, err, marquee.ECONFLICT)
	if got, want := marquee.ErrorMessage(err), "playlist is used by a schedule or a display"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// Refused as a whole: no revision or media reference cascaded away.
	for table, want := range map[string]int{"playlist_revisions": 2, "playlist_media": 1} {
		if n := countRows(t, db, table); n != want {
			t.Errorf("%s rows after refused delete = %d, want %d", table, n, want)
		}
	}
	if _, err := db.SQL().Exec(`DELETE FROM test_playlist_refs`); err != nil {
		t.Fatalf("delete reference: %v", err)
	}
	if err := db.DeletePlaylist(ctx, p.ID); err != nil {
		t.Fatalf("DeletePlaylist after unreferencing: %v", err)
	}
}

func testMediaDeleteUsedByPlaylist(t *testing.T, db *DB) {
	ctx := context.Background()
	m := mediaIDs(t, db, 2)
	p := mustCreatePlaylist(t, db, newPlaylist("uses both", plItem(m[0], 1000), plItem(m[1], 1000)))
	for _, id := range m {
		err := db.DeleteMedia(ctx, id)
		wantCode(t, err, marquee.ECONFLICT)
		if got, want := marquee.ErrorMessage(err), "media is used by a playlist"; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
	}
	// Once the current revision drops m[0], it may go, though revision 1
	// still names it; m[1] is still held.
	mustUpdatePlaylist(t, db, p.ID, playlists.Revision{Name: "uses one", Items: []playlists.Item{plItem(m[1], 1000)}})
	if err := db.DeleteMedia(ctx, m[0]); err != nil {
		t.Fatalf("DeleteMedia(dropped): %v", err)
	}
	wantCode(t, db.DeleteMedia(ctx, m[1]), marquee.ECONFLICT)
	if old, err := db.FindPlaylistRevision(ctx, p.ID, 1); err != nil || old.Items[0].MediaID != m[0] {
		t.Fatalf("revision 1 = %+v, %v; want it intact", old, err)
	}
}

func testFindMediaInfo(t *testing.T, db *DB) {
	ctx := context.Background()
	img := mustCreateMedia(t, db, newItem("still"))
	clip := mustCreateMedia(t, db, newItem("clip", withKind(media.KindVideo), func(it *media.Item) { it.DurationMS = 12_345 }))
	// More IDs than one query takes, with duplicates and unknowns.
	ids := []string{clip.ID, img.ID, clip.ID}
	for i := range 1200 {
		ids = append(ids, fmt.Sprintf("med_unknown%04d", i))
	}
	got, err := db.FindMediaInfo(ctx, auth.RootOrgID, ids)
	if err != nil {
		t.Fatalf("FindMediaInfo: %v", err)
	}
	want := map[string]playlists.MediaInfo{
		img.ID:  {Kind: "image"},
		clip.ID: {Kind: "video", DurationMS: 12_345},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("FindMediaInfo (-want +got):\n%s", diff)
	}
	if got, err := db.FindMediaInfo(ctx, auth.RootOrgID, nil); err != nil || len(got) != 0 {
		t.Fatalf("FindMediaInfo(nil) = %v, %v; want empty", got, err)
	}
}
