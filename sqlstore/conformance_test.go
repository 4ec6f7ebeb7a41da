package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/media"
)

// conformance lists the behaviour every dialect must show. Each test gets a
// fresh database at the latest schema.
var conformance = []struct {
	name string
	fn   func(t *testing.T, db *DB)
}{
	{"RootOrganisation", testRootOrganisation},
	{"MediaCreateFind", testMediaCreateFind},
	{"MediaDefaults", testMediaDefaults},
	{"MediaNotFound", testMediaNotFound},
	{"MediaConflicts", testMediaConflicts},
	{"MediaUpdate", testMediaUpdate},
	{"MediaDeleteCascadesTags", testMediaDeleteCascadesTags},
	{"MediaDeleteReferenced", testMediaDeleteReferenced},
	{"MediaPagination", testMediaPagination},
	{"MediaLimits", testMediaLimits},
	{"MediaNameSearch", testMediaNameSearch},
	{"MediaMalformedCursor", testMediaMalformedCursor},
	{"CountMediaBySHA256", testCountMediaBySHA256},
	{"Users", testUsers},
	{"Sessions", testSessions},
	{"SessionsExpiry", testSessionsExpiry},
	{"SessionsCascadeOnUserDelete", testSessionsCascadeOnUserDelete},
}

func TestConformance(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		for _, tt := range conformance {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tt.fn(t, d.openMigrated(t))
			})
		}
	})
}

// t0 is a fixed instant with sub-millisecond digits and a non-UTC zone, so
// tests see truncation and UTC conversion.
var t0 = time.Date(2026, 3, 14, 9, 30, 15, 123456789, time.FixedZone("ICT", 7*3600))

// newItem returns a valid item to store; opts adjust it.
func newItem(name string, opts ...func(*media.Item)) *media.Item {
	it := &media.Item{
		ID:        marquee.NewID("med_"),
		OrgID:     auth.RootOrgID,
		Name:      name,
		Kind:      media.KindImage,
		MIME:      "image/png",
		SHA256:    strings.Repeat("ab", 32),
		Size:      1234,
		Width:     384,
		Height:    192,
		CreatedBy: "usr_test",
		CreatedAt: t0,
		UpdatedAt: t0,
	}
	for _, o := range opts {
		o(it)
	}
	return it
}

func withTags(tags ...string) func(*media.Item) { return func(it *media.Item) { it.Tags = tags } }

func withKind(k media.Kind) func(*media.Item) { return func(it *media.Item) { it.Kind = k } }

func mustCreateMedia(t *testing.T, db *DB, it *media.Item) *media.Item {
	t.Helper()
	if err := db.CreateMedia(context.Background(), it); err != nil {
		t.Fatalf("CreateMedia(%q): %v", it.Name, err)
	}
	return it
}

func mustFindMedia(t *testing.T, db *DB, id string) *media.Item {
	t.Helper()
	it, err := db.FindMediaByID(context.Background(), id)
	if err != nil {
		t.Fatalf("FindMediaByID(%q): %v", id, err)
	}
	return it
}

func testRootOrganisation(t *testing.T, db *DB) {
	var name string
	var parent *string
	err := db.queryRow(context.Background(), db.read, `SELECT name, parent_id FROM organisations WHERE id = ?`,
		auth.RootOrgID).Scan(&name, &parent)
	if err != nil {
		t.Fatalf("root organisation: %v", err)
	}
	if got, want := name, "Province"; got != want || parent != nil {
		t.Fatalf("root organisation = %q (parent %v), want %q with no parent", got, parent, want)
	}
}

func testMediaCreateFind(t *testing.T, db *DB) {
	ctx := context.Background()
	in := newItem("Chiến dịch Căn cước 2026", withKind(media.KindVideo), withTags("tết", "campaign", "tết"),
		func(it *media.Item) {
			it.MIME, it.Size, it.DurationMS = "video/mp4", 5<<30, 15_000
		})
	if err := db.CreateMedia(ctx, in); err != nil {
		t.Fatalf("CreateMedia: %v", err)
	}
	// CreateMedia reports what it stored.
	if got, want := in.Tags, []string{"campaign", "tết"}; !cmp.Equal(got, want) {
		t.Errorf("stored tags = %q, want %q", got, want)
	}
	if want := time.Date(2026, 3, 14, 2, 30, 15, 123000000, time.UTC); in.CreatedAt != want {
		t.Errorf("stored CreatedAt = %v, want %v", in.CreatedAt, want)
	}

	got := mustFindMedia(t, db, in.ID)
	if diff := cmp.Diff(in, got); diff != "" {
		t.Fatalf("FindMediaByID mismatch (-stored +found):\n%s", diff)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.CreatedAt.Location(), got.UpdatedAt.Location())
	}

	// Untagged items have an empty, non-nil tag list, in both finders.
	bare := mustCreateMedia(t, db, newItem("bare"))
	if got := mustFindMedia(t, db, bare.ID); got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("FindMediaByID tags = %#v, want empty non-nil", got.Tags)
	}
	items, _, err := db.FindMedia(ctx, media.Filter{})
	if err != nil {
		t.Fatalf("FindMedia: %v", err)
	}
	if len(items) != 2 || items[0].ID != bare.ID || items[0].Tags == nil {
		t.Fatalf("FindMedia = %v, want [bare, campaign] with non-nil tags", items)
	}
	if diff := cmp.Diff(in, items[1]); diff != "" {
		t.Errorf("FindMedia item mismatch (-stored +found):\n%s", diff)
	}
}

func testMediaDefaults(t *testing.T, db *DB) {
	db.now = func() time.Time { return t0 }
	it := newItem("defaults", func(it *media.Item) {
		it.ID, it.CreatedAt, it.UpdatedAt = "", time.Time{}, time.Time{}
	})
	mustCreateMedia(t, db, it)
	if !strings.HasPrefix(it.ID, "med_") || len(it.ID) != 30 {
		t.Errorf("ID = %q, want med_ and a new ID", it.ID)
	}
	want := t0.UTC().Truncate(time.Millisecond)
	if it.CreatedAt != want || it.UpdatedAt != want {
		t.Errorf("times = %v, %v, want %v", it.CreatedAt, it.UpdatedAt, want)
	}
	if diff := cmp.Diff(it, mustFindMedia(t, db, it.ID)); diff != "" {
		t.Errorf("FindMediaByID mismatch (-stored +found):\n%s", diff)
	}
}

func testMediaNotFound(t *testing.T, db *DB) {
	ctx := context.Background()
	const id = "med_missing"
	want := `media "med_missing" not found`
	_, err := db.FindMediaByID(ctx, id)
	wantCode(t, err, marquee.ENOTFOUND)
	if got := marquee.ErrorMessage(err); got != want {
		t.Errorf("FindMediaByID message = %q, want %q", got, want)
	}
	name := "x"
	_, err = db.UpdateMedia(ctx, id, media.Update{Name: &name}, t0)
	wantCode(t, err, marquee.ENOTFOUND)
	if got := marquee.ErrorMessage(err); got != want {
		t.Errorf("UpdateMedia message = %q, want %q", got, want)
	}
	err = db.DeleteMedia(ctx, id)
	wantCode(t, err, marquee.ENOTFOUND)
	if got := marquee.ErrorMessage(err); got != want {
		t.Errorf("DeleteMedia message = %q, want %q", got, want)
	}
}

func testMediaConflicts(t *testing.T, db *DB) {
	ctx := context.Background()
	it := mustCreateMedia(t, db, newItem("first", withTags("a")))
	dup := newItem("second", withTags("b"), func(d *media.Item) { d.ID = it.ID })
	wantCode(t, db.CreateMedia(ctx, dup), marquee.ECONFLICT)

	orphan := newItem("orphan", func(o *media.Item) { o.OrgID = "org_nowhere" })
	err := db.CreateMedia(ctx, orphan)
	wantCode(t, err, marquee.EINVALID)
	if got, want := marquee.ErrorMessage(err), `organisation "org_nowhere" does not exist`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// The failed inserts left nothing behind: not the row, not its tags.
	if got := mustFindMedia(t, db, it.ID); got.Name != "first" || !cmp.Equal(got.Tags, []string{"a"}) {
		t.Errorf("after conflicts: %q %q, want first [a]", got.Name, got.Tags)
	}
	if n := countRows(t, db, "media"); n != 1 {
		t.Errorf("media rows = %d, want 1", n)
	}
	if n := countRows(t, db, "media_tags"); n != 1 {
		t.Errorf("media_tags rows = %d, want 1", n)
	}
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func testMediaUpdate(t *testing.T, db *DB) {
	ctx := context.Background()
	it := mustCreateMedia(t, db, newItem("Old name", withTags("a", "b")))
	later := t0.Add(time.Hour)

	// Rename only: tags stay.
	name := "Băng rôn MỚI"
	got, err := db.UpdateMedia(ctx, it.ID, media.Update{Name: &name}, later)
	if err != nil {
		t.Fatalf("UpdateMedia(name): %v", err)
	}
	want := *it
	want.Name, want.UpdatedAt = name, later.UTC().Truncate(time.Millisecond)
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("after rename (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, mustFindMedia(t, db, it.ID)); diff != "" {
		t.Fatalf("rename not stored (-returned +found):\n%s", diff)
	}
	// The fold follows the new name.
	if items, _, err := db.FindMedia(ctx, media.Filter{NameContains: "băng rôn mới"}); err != nil || len(items) != 1 {
		t.Fatalf("FindMedia(new name) = %d items, %v; want 1", len(items), err)
	}
	if items, _, err := db.FindMedia(ctx, media.Filter{NameContains: "old"}); err != nil || len(items) != 0 {
		t.Fatalf("FindMedia(old name) = %d items, %v; want 0", len(items), err)
	}

	// Replace tags; duplicates collapse, order is sorted.
	tags := []string{"z", "c", "z"}
	got, err = db.UpdateMedia(ctx, it.ID, media.Update{Tags: &tags}, later.Add(time.Minute))
	if err != nil {
		t.Fatalf("UpdateMedia(tags): %v", err)
	}
	if !cmp.Equal(got.Tags, []string{"c", "z"}) || got.Name != name {
		t.Fatalf("after tag update: %q %q, want %q [c z]", got.Name, got.Tags, name)
	}
	if items, _, _ := db.FindMedia(ctx, media.Filter{Tag: "a"}); len(items) != 0 {
		t.Errorf("old tag still matches %d items", len(items))
	}

	// An empty (non-nil) list clears them.
	empty := []string{}
	got, err = db.UpdateMedia(ctx, it.ID, media.Update{Tags: &empty}, later.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("UpdateMedia(clear tags): %v", err)
	}
	if got.Tags == nil || len(got.Tags) != 0 {
		t.Fatalf("after clearing: tags = %#v, want empty non-nil", got.Tags)
	}
	if got.CreatedAt != it.CreatedAt {
		t.Errorf("CreatedAt changed: %v, want %v", got.CreatedAt, it.CreatedAt)
	}
	if want := later.Add(2 * time.Minute).UTC().Truncate(time.Millisecond); got.UpdatedAt != want {
		t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, want)
	}
}

func testMediaDeleteCascadesTags(t *testing.T, db *DB) {
	ctx := context.Background()
	gone := mustCreateMedia(t, db, newItem("gone", withTags("a", "b", "c")))
	kept := mustCreateMedia(t, db, newItem("kept", withTags("a")))
	if err := db.DeleteMedia(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteMedia: %v", err)
	}
	_, err := db.FindMediaByID(ctx, gone.ID)
	wantCode(t, err, marquee.ENOTFOUND)
	if n := countRows(t, db, "media_tags"); n != 1 {
		t.Errorf("media_tags rows after delete = %d, want 1 (kept's)", n)
	}
	if got := mustFindMedia(t, db, kept.ID); !cmp.Equal(got.Tags, []string{"a"}) {
		t.Errorf("kept tags = %q, want [a]", got.Tags)
	}
	wantCode(t, db.DeleteMedia(ctx, gone.ID), marquee.ENOTFOUND)
}

// testMediaDeleteReferenced stands in for playlist items, which will
// reference media with ON DELETE RESTRICT.
func testMediaDeleteReferenced(t *testing.T, db *DB) {
	ctx := context.Background()
	it := mustCreateMedia(t, db, newItem("in a playlist", withTags("a")))
	if _, err := db.SQL().Exec(`CREATE TABLE test_refs (
		media_id TEXT NOT NULL REFERENCES media (id) ON DELETE RESTRICT)`); err != nil {
		t.Fatalf("create referencing table: %v", err)
	}
	if _, err := db.exec(ctx, db.write, `INSERT INTO test_refs (media_id) VALUES (?)`, it.ID); err != nil {
		t.Fatalf("insert reference: %v", err)
	}
	err := db.DeleteMedia(ctx, it.ID)
	wantCode(t, err, marquee.ECONFLICT)
	if got, want := marquee.ErrorMessage(err), "media is used by a playlist"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// Refused as a whole: the tags did not cascade away.
	if got := mustFindMedia(t, db, it.ID); !cmp.Equal(got.Tags, []string{"a"}) {
		t.Errorf("tags after refused delete = %q, want [a]", got.Tags)
	}
	if _, err := db.SQL().Exec(`DELETE FROM test_refs`); err != nil {
		t.Fatalf("delete reference: %v", err)
	}
	if err := db.DeleteMedia(ctx, it.ID); err != nil {
		t.Fatalf("DeleteMedia after unreferencing: %v", err)
	}
}

func testMediaPagination(t *testing.T, db *DB) {
	ctx := context.Background()
	// 23 items, created in order (so IDs ascend): every 2nd a video, every
	// 3rd tagged "tet", names "Banner 00" … with every 4th a "Chiến dịch".
	var all []*media.Item
	for i := range 23 {
		name := fmt.Sprintf("Banner %02d", i)
		if i%4 == 0 {
			name = fmt.Sprintf("Chiến dịch Căn cước %02d", i)
		}
		it := newItem(name, withTags(fmt.Sprintf("n%02d", i)))
		if i%2 == 1 {
			it.Kind = media.KindVideo
		}
		if i%3 == 0 {
			it.Tags = append(it.Tags, "tet")
		}
		all = append(all, mustCreateMedia(t, db, it))
	}
	newestFirst := func(keep func(i int, it *media.Item) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	tests := []struct {
		name   string
		filter media.Filter
		want   []string
	}{
		{"all", media.Filter{}, newestFirst(func(int, *media.Item) bool { return true })},
		{"tag", media.Filter{Tag: "tet"}, newestFirst(func(i int, _ *media.Item) bool { return i%3 == 0 })},
		{"kind", media.Filter{Kind: media.KindVideo}, newestFirst(func(i int, _ *media.Item) bool { return i%2 == 1 })},
		{"name", media.Filter{NameContains: "CĂN CƯỚC"}, newestFirst(func(i int, _ *media.Item) bool { return i%4 == 0 })},
		{"tag+kind", media.Filter{Tag: "tet", Kind: media.KindVideo},
			newestFirst(func(i int, _ *media.Item) bool { return i%3 == 0 && i%2 == 1 })},
		{"tag+kind+name", media.Filter{Tag: "tet", Kind: media.KindImage, NameContains: "căn"},
			newestFirst(func(i int, _ *media.Item) bool { return i%3 == 0 && i%2 == 0 && i%4 == 0 })},
		{"no match", media.Filter{Tag: "nothing"}, nil},
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
					items, next, err := db.FindMedia(ctx, f)
					if err != nil {
						t.Fatalf("FindMedia page %d: %v", page, err)
					}
					if len(items) > limit {
						t.Fatalf("page %d has %d items, limit %d", page, len(items), limit)
					}
					for _, it := range items {
						got = append(got, it.ID)
						// Tags come with every page.
						if want := all[indexOf(all, it.ID)].Tags; !cmp.Equal(it.Tags, want) {
							t.Fatalf("item %s tags = %q, want %q", it.ID, it.Tags, want)
						}
					}
					if next == "" {
						break
					}
					if len(items) != limit {
						t.Fatalf("page %d: short page (%d of %d) with a next cursor", page, len(items), limit)
					}
					f.Cursor = next
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("IDs (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func indexOf(items []*media.Item, id string) int {
	for i, it := range items {
		if it.ID == id {
			return i
		}
	}
	return -1
}

func testMediaLimits(t *testing.T, db *DB) {
	ctx := context.Background()
	for i := range 3 {
		mustCreateMedia(t, db, newItem(fmt.Sprintf("item %d", i)))
	}
	// The last item of an exactly full page: no next cursor.
	items, next, err := db.FindMedia(ctx, media.Filter{Limit: 3})
	if err != nil || len(items) != 3 || next != "" {
		t.Fatalf("FindMedia(limit 3 of 3) = %d items, next %q, %v; want 3, \"\", nil", len(items), next, err)
	}
	for _, limit := range []int{0, 501, 1 << 30} {
		items, next, err := db.FindMedia(ctx, media.Filter{Limit: limit})
		if err != nil || len(items) != 3 || next != "" {
			t.Fatalf("FindMedia(limit %d) = %d items, next %q, %v; want 3, \"\", nil", limit, len(items), next, err)
		}
	}
	_, _, err = db.FindMedia(ctx, media.Filter{Limit: -1})
	wantCode(t, err, marquee.EINVALID)
	// No match: an empty page, not nil (it is JSON [] to API clients).
	if items, next, err := db.FindMedia(ctx, media.Filter{Tag: "nothing"}); err != nil || items == nil || len(items) != 0 || next != "" {
		t.Fatalf("FindMedia(no match) = %#v, %q, %v; want empty non-nil, \"\", nil", items, next, err)
	}

	for _, tt := range []struct{ in, want int }{{0, 50}, {1, 1}, {500, 500}, {501, 500}} {
		if got, err := pageLimit(tt.in); err != nil || got != tt.want {
			t.Errorf("pageLimit(%d) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func testMediaNameSearch(t *testing.T, db *DB) {
	ctx := context.Background()
	names := []string{
		"Chiến dịch Căn cước",
		norm.NFD.String("Căn cước gắn chip"), // as macOS file names arrive
		"Can cuoc khong dau",
		"Giảm 50% hôm nay",
		"Giảm 500 đồng",
		"file_a.png",
		"fileXa.png",
		`back\slash`,
		"ĐƯỜNG PHỐ ĐI BỘ",
	}
	byName := map[string]string{}
	for _, n := range names {
		byName[n] = mustCreateMedia(t, db, newItem(n)).ID
	}
	tests := []struct {
		needle string
		want   []string // names, any order
	}{
		{"căn cước", []string{names[0], names[1]}},
		{"CĂN CƯỚC", []string{names[0], names[1]}},
		{norm.NFD.String("căn cước"), []string{names[0], names[1]}},
		{"Chiến dịch Căn cước", []string{names[0]}},
		{"can cuoc", []string{names[2]}},
		{"50%", []string{names[3]}},
		{"%", []string{names[3]}},
		{"e_a", []string{names[5]}},
		{"_", []string{names[5]}},
		{`\`, []string{names[7]}},
		{`k\s`, []string{names[7]}},
		{"đường phố", []string{names[8]}},
		{"giảm", []string{names[3], names[4]}},
		{"không có", nil},
	}
	for _, tt := range tests {
		items, _, err := db.FindMedia(ctx, media.Filter{NameContains: tt.needle})
		if err != nil {
			t.Fatalf("FindMedia(%q): %v", tt.needle, err)
		}
		got := map[string]bool{}
		for _, it := range items {
			got[it.Name] = true
		}
		want := map[string]bool{}
		for _, n := range tt.want {
			want[n] = true
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("NameContains %q (-want +got):\n%s", tt.needle, diff)
		}
	}
	// The name itself is kept exactly as given (here: decomposed).
	if got := mustFindMedia(t, db, byName[names[1]]).Name; got != names[1] {
		t.Errorf("stored name = %+q, want %+q", got, names[1])
	}
}

func testMediaMalformedCursor(t *testing.T, db *DB) {
	ctx := context.Background()
	mustCreateMedia(t, db, newItem("one"))
	for _, c := range []string{
		"!!!",
		"bWVk=",                          // padded
		encodeCursor("med_x' OR '1'='1"), // not an ID
		encodeCursor("MED_UPPER"),        // not an ID
		encodeCursor(strings.Repeat("a", 65)),
	} {
		_, _, err := db.FindMedia(ctx, media.Filter{Cursor: c})
		wantCode(t, err, marquee.EINVALID)
		if got, want := marquee.ErrorMessage(err), "invalid cursor"; got != want {
			t.Errorf("cursor %q: message %q, want %q", c, got, want)
		}
	}
	// A well-formed cursor for an ID that no longer exists still works.
	items, _, err := db.FindMedia(ctx, media.Filter{Cursor: encodeCursor("med_zzzzzzzzzzzzzzzzzzzzzzzzzz")})
	if err != nil || len(items) != 1 {
		t.Fatalf("FindMedia(cursor past the end) = %d items, %v; want 1", len(items), err)
	}
}

func testCountMediaBySHA256(t *testing.T, db *DB) {
	ctx := context.Background()
	shared, other := strings.Repeat("11", 32), strings.Repeat("22", 32)
	withSHA := func(s string) func(*media.Item) { return func(it *media.Item) { it.SHA256 = s } }
	mustCreateMedia(t, db, newItem("a", withSHA(shared)))
	b := mustCreateMedia(t, db, newItem("b", withSHA(shared)))
	mustCreateMedia(t, db, newItem("c", withSHA(other)))
	for _, tt := range []struct {
		sha  string
		want int
	}{{shared, 2}, {other, 1}, {strings.Repeat("33", 32), 0}} {
		if got, err := db.CountMediaBySHA256(ctx, tt.sha); err != nil || got != tt.want {
			t.Errorf("CountMediaBySHA256(%.4s…) = %d, %v; want %d", tt.sha, got, err, tt.want)
		}
	}
	if err := db.DeleteMedia(ctx, b.ID); err != nil {
		t.Fatalf("DeleteMedia: %v", err)
	}
	if got, err := db.CountMediaBySHA256(ctx, shared); err != nil || got != 1 {
		t.Errorf("after delete: %d, %v; want 1", got, err)
	}
}

func newUser(username string) *auth.User {
	return &auth.User{
		ID:           marquee.NewID("usr_"),
		OrgID:        auth.RootOrgID,
		Username:     username,
		PasswordHash: "$2a$10$abcdefghijklmnopqrstuv",
		Role:         auth.RoleAdmin,
		CreatedAt:    t0,
	}
}

func mustCreateUser(t *testing.T, db *DB, u *auth.User) *auth.User {
	t.Helper()
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", u.Username, err)
	}
	return u
}

func testUsers(t *testing.T, db *DB) {
	ctx := context.Background()
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on an empty DB = %d, %v; want 0", n, err)
	}
	admin := mustCreateUser(t, db, newUser("admin"))
	if want := t0.UTC().Truncate(time.Millisecond); admin.CreatedAt != want {
		t.Errorf("stored CreatedAt = %v, want %v", admin.CreatedAt, want)
	}
	viewer := newUser("nguyễn.văn.a")
	viewer.Role, viewer.Disabled = auth.RoleViewer, true
	mustCreateUser(t, db, viewer)
	if n, err := db.CountUsers(ctx); err != nil || n != 2 {
		t.Fatalf("CountUsers = %d, %v; want 2", n, err)
	}

	for _, want := range []*auth.User{admin, viewer} {
		got, err := db.FindUserByUsername(ctx, want.Username)
		if err != nil {
			t.Fatalf("FindUserByUsername(%q): %v", want.Username, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindUserByUsername (-want +got):\n%s", diff)
		}
		got, err = db.FindUserByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("FindUserByID(%q): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindUserByID (-want +got):\n%s", diff)
		}
	}

	err := db.CreateUser(ctx, newUser("admin"))
	wantCode(t, err, marquee.ECONFLICT)
	if got, want := marquee.ErrorMessage(err), `username "admin" is taken`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	orphan := newUser("orphan")
	orphan.OrgID = "org_nowhere"
	wantCode(t, db.CreateUser(ctx, orphan), marquee.EINVALID)

	_, err = db.FindUserByUsername(ctx, "nobody")
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = db.FindUserByUsername(ctx, "ADMIN") // exact match
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = db.FindUserByID(ctx, "usr_nobody")
	wantCode(t, err, marquee.ENOTFOUND)

	// Defaults.
	db.now = func() time.Time { return t0 }
	bare := newUser("bare")
	bare.ID, bare.CreatedAt = "", time.Time{}
	mustCreateUser(t, db, bare)
	if !strings.HasPrefix(bare.ID, "usr_") || bare.CreatedAt != t0.UTC().Truncate(time.Millisecond) {
		t.Errorf("defaults: ID %q, CreatedAt %v", bare.ID, bare.CreatedAt)
	}
}

func newSession(userID, tokenHash string, expires time.Time) *auth.Session {
	return &auth.Session{
		ID:        marquee.NewID("ses_"),
		UserID:    userID,
		TokenHash: tokenHash,
		CreatedAt: t0,
		ExpiresAt: expires,
	}
}

func mustCreateSession(t *testing.T, db *DB, s *auth.Session) *auth.Session {
	t.Helper()
	if err := db.CreateSession(context.Background(), s); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s
}

func testSessions(t *testing.T, db *DB) {
	ctx := context.Background()
	u := mustCreateUser(t, db, newUser("admin"))
	s := mustCreateSession(t, db, newSession(u.ID, strings.Repeat("a1", 32), t0.Add(12*time.Hour)))

	got, err := db.FindSessionByTokenHash(ctx, s.TokenHash)
	if err != nil {
		t.Fatalf("FindSessionByTokenHash: %v", err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("FindSessionByTokenHash (-stored +found):\n%s", diff)
	}
	if got.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt location = %v, want UTC", got.ExpiresAt.Location())
	}

	wantCode(t, db.CreateSession(ctx, newSession(u.ID, s.TokenHash, t0)), marquee.ECONFLICT)
	wantCode(t, db.CreateSession(ctx, newSession("usr_nobody", "ff", t0)), marquee.EINVALID)

	_, err = db.FindSessionByTokenHash(ctx, "nothing")
	wantCode(t, err, marquee.ENOTFOUND)

	if err := db.DeleteSession(ctx, s.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = db.FindSessionByTokenHash(ctx, s.TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)
	wantCode(t, db.DeleteSession(ctx, s.ID), marquee.ENOTFOUND)
}

func testSessionsExpiry(t *testing.T, db *DB) {
	ctx := context.Background()
	u := mustCreateUser(t, db, newUser("admin"))
	now := t0.Add(24 * time.Hour)
	expired := mustCreateSession(t, db, newSession(u.ID, "h1", now.Add(-time.Hour)))
	boundary := mustCreateSession(t, db, newSession(u.ID, "h2", now))
	live := mustCreateSession(t, db, newSession(u.ID, "h3", now.Add(time.Millisecond)))

	// An expired session is still found: expiry is the caller's decision.
	if _, err := db.FindSessionByTokenHash(ctx, expired.TokenHash); err != nil {
		t.Fatalf("FindSessionByTokenHash(expired): %v", err)
	}
	n, err := db.DeleteExpiredSessions(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	for _, s := range []*auth.Session{expired, boundary} {
		_, err := db.FindSessionByTokenHash(ctx, s.TokenHash)
		wantCode(t, err, marquee.ENOTFOUND)
	}
	if _, err := db.FindSessionByTokenHash(ctx, live.TokenHash); err != nil {
		t.Fatalf("live session: %v", err)
	}
	if n, err := db.DeleteExpiredSessions(ctx, now); err != nil || n != 0 {
		t.Fatalf("DeleteExpiredSessions again = %d, %v; want 0", n, err)
	}
}

func testSessionsCascadeOnUserDelete(t *testing.T, db *DB) {
	ctx := context.Background()
	u := mustCreateUser(t, db, newUser("admin"))
	s := mustCreateSession(t, db, newSession(u.ID, "h1", t0.Add(time.Hour)))
	if _, err := db.exec(ctx, db.write, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	_, err := db.FindSessionByTokenHash(ctx, s.TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)
}
