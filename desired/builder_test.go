package desired_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/scheduler"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

type fixture struct {
	t         testing.TB
	ctx       context.Context
	now       time.Time
	db        *sqlstore.DB
	lib       *media.Library
	playlists *playlists.Service
	displays  *displays.Service
	schedules *schedules.Service
	builder   *desired.Builder
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	lib, err := media.NewLibrary(db, media.Config{Dir: filepath.Join(dir, "media"), FFprobePath: "-", FFmpegPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close(context.Background()) })
	f := &fixture{t: t, ctx: ctx, db: db, lib: lib,
		now: time.Date(2025, 6, 10, 3, 0, 0, 0, time.UTC)} // 10:00 in Hà Nội, a Tuesday
	clock := func() time.Time { return f.now }
	f.playlists = playlists.NewService(db, db, playlists.Config{Now: clock})
	f.displays = displays.NewService(db, displays.Config{Now: clock})
	f.schedules = schedules.NewService(db, schedules.Config{Now: clock})
	f.builder = desired.NewBuilder(db, lib, admin.URLs{}, desired.Config{Now: clock})
	return f
}

func (f *fixture) png(name string, c color.NRGBA, w, h int) *media.Item {
	f.t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		f.t.Fatal(err)
	}
	it, err := f.lib.Upload(f.ctx, &buf, media.Meta{Name: name, OrgID: "org_root"})
	if err != nil {
		f.t.Fatal(err)
	}
	return it
}

func (f *fixture) video() *media.Item {
	f.t.Helper()
	b, err := os.ReadFile("../media/testdata/clip.mp4")
	if err != nil {
		f.t.Fatal(err)
	}
	it, err := f.lib.Upload(f.ctx, bytes.NewReader(b), media.Meta{Name: "Clip BHYT", OrgID: "org_root"})
	if err != nil {
		f.t.Fatal(err)
	}
	return it
}

func (f *fixture) playlist(name string, items ...playlists.Item) *playlists.Playlist {
	f.t.Helper()
	p, err := f.playlists.Create(f.ctx, playlists.Input{Name: name, Items: items, OrgID: "org_root"})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) display(name string, w, h int, tags ...string) *displays.Display {
	f.t.Helper()
	d, _, err := f.displays.Create(f.ctx, displays.Input{OrgID: "org_root", Name: name, Width: w, Height: h, Tags: tags})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) schedule(in schedules.Input) *schedules.Schedule {
	f.t.Helper()
	in.OrgID = "org_root"
	s, _, err := f.schedules.Create(f.ctx, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// reapprove submits and approves schedule id again through svc, as the
// server itself (no actor), so that it plays what it names now: its
// playlist's current revision.
func reapprove(t testing.TB, ctx context.Context, svc *schedules.Service, id string) {
	t.Helper()
	if _, err := svc.Submit(ctx, id); err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
	if _, err := svc.Approve(ctx, id); err != nil {
		t.Fatalf("approve %s: %v", id, err)
	}
}

// as returns ctx acting for a user of the root organisation with role.
func as(ctx context.Context, userID, role string) context.Context {
	u := &auth.User{ID: userID, OrgID: auth.RootOrgID, Username: userID, Role: role}
	return auth.NewContext(ctx, auth.Actor{User: u, Scope: auth.Everything()})
}

func (f *fixture) state(id string) (*marquee.DesiredState, bool) {
	f.t.Helper()
	st, changed, err := f.builder.State(f.ctx, id)
	if err != nil {
		f.t.Fatalf("State(%s): %v", id, err)
	}
	return st, changed
}

func TestStateContent(t *testing.T) {
	f := newFixture(t)
	red := f.png("Căn cước điện tử", color.NRGBA{R: 255, A: 255}, 400, 200)
	clip := f.video()
	pl := f.playlist("Chiến dịch VNeID",
		playlists.Item{MediaID: red.ID, Fit: "fit"},
		playlists.Item{MediaID: clip.ID})
	d := f.display("Mặt tiền Bưu điện", 384, 192, "facade")
	sc := f.schedule(schedules.Input{Name: "Sáng các ngày thường", PlaylistID: pl.ID,
		Targets: schedules.Targets{Tags: []string{"facade"}}, Cron: "0 7 * * 1-5", Duration: 10 * time.Hour,
		StartsOn: "2025-06-05", EndsOn: "2025-12-31", Priority: marquee.LayerCampaign})

	st, changed := f.state(d.ID)
	if !changed || st.Revision != 1 {
		t.Fatalf("first build: revision=%d changed=%v, want 1 true", st.Revision, changed)
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("state does not validate: %v", err)
	}
	if got, want := len(st.Rules), 1; got != want {
		t.Fatalf("rules=%d, want %d", got, want)
	}
	if r := st.Rules[0]; r.ScheduleID != sc.ID || r.Playlist != pl.Ref() || r.Cron != "0 7 * * 1-5" || r.DurationMS != 36_000_000 {
		t.Fatalf("rule %+v", r)
	}
	// The image item plays a rendition cut to exactly 384×192, whose
	// manifest hash is the hash of the bytes the URL serves.
	img := st.Asset(st.Playlists[0].Items[0].SHA256)
	if img == nil || img.Width != 384 || img.Height != 192 || img.MediaID != red.ID {
		t.Fatalf("image asset %+v", img)
	}
	if want := "/api/v1/player/media/" + red.ID + "/rendition?fit=fit&h=192&w=384"; img.URL != want {
		t.Fatalf("image URL %q, want %q", img.URL, want)
	}
	r, err := f.lib.Rendition(f.ctx, red.ID, 384, 192, media.FitFit)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != img.SHA256 || int64(len(b)) != img.Size {
		t.Fatalf("manifest sha256/size do not match the rendition bytes")
	}
	// The video plays its original, with the clip's own length by default.
	vid := st.Asset(st.Playlists[0].Items[1].SHA256)
	if vid == nil || vid.SHA256 != clip.SHA256 || vid.URL != "/api/v1/player/media/"+clip.ID+"/content" || vid.Kind != "video" {
		t.Fatalf("video asset %+v", vid)
	}
	if got, want := st.Playlists[0].Items[1].DurationMS, clip.DurationMS; got != want {
		t.Fatalf("video item duration=%d, want the clip's %d", got, want)
	}

	// The state compiles for the resolver, which plays it on Tuesday 10:00.
	plan, err := scheduler.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	if now := plan.At(f.now); now.Reason.ScheduleID != sc.ID {
		t.Fatalf("at %v the resolver says %+v, want schedule %s", f.now, now.Reason, sc.ID)
	}
}

// TestRevision: the revision increases on every change that affects the
// display, and on nothing else.
func TestRevision(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	blue := f.png("Xanh", color.NRGBA{B: 255, A: 255}, 64, 32)
	pl := f.playlist("A", playlists.Item{MediaID: red.ID})
	other := f.playlist("B", playlists.Item{MediaID: blue.ID})
	d := f.display("Sân bay", 192, 96, "airport")
	d2 := f.display("Phố đi bộ", 384, 192, "walking-street")
	sc := f.schedule(schedules.Input{Name: "Sân bay cả ngày", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}}})

	rev := int64(1)
	expect := func(step string, wantChange bool) {
		t.Helper()
		st, changed := f.state(d.ID)
		if wantChange {
			rev++
		}
		if changed != wantChange || st.Revision != rev {
			t.Fatalf("%s: revision=%d changed=%v, want %d %v", step, st.Revision, changed, rev, wantChange)
		}
	}
	if st, _ := f.state(d.ID); st.Revision != 1 {
		t.Fatalf("first revision=%d", st.Revision)
	}
	expect("rebuild with no change", false)

	// Changes elsewhere leave the revision alone.
	f.png("Unrelated upload", color.NRGBA{G: 255, A: 255}, 10, 10)
	f.schedule(schedules.Input{Name: "Phố đi bộ", PlaylistID: other.ID, Targets: schedules.Targets{DisplayIDs: []string{d2.ID}}})
	if _, err := f.playlists.Update(f.ctx, other.ID, playlists.Input{Name: "B2", Items: []playlists.Item{{MediaID: blue.ID}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.displays.Update(f.ctx, d2.ID, displays.Input{Name: "Phố đi bộ 2", Width: 384, Height: 192}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lib.Update(f.ctx, blue.ID, media.Update{Name: ptr("Xanh 2")}); err != nil {
		t.Fatal(err)
	}
	expect("changes to other displays, playlists and media", false)

	// Each change that reaches the display bumps it once.
	if _, _, err := f.schedules.Update(f.ctx, sc.ID, schedules.Input{Name: "Sân bay buổi sáng", PlaylistID: pl.ID,
		Targets: schedules.Targets{Tags: []string{"airport"}}, Cron: "0 6 * * *", Duration: 4 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	expect("schedule edited", true)
	if _, err := f.playlists.Update(f.ctx, pl.ID, playlists.Input{Name: "A", Items: []playlists.Item{{MediaID: red.ID}, {MediaID: blue.ID}}}); err != nil {
		t.Fatal(err)
	}
	expect("playlist edited: the approved revision keeps playing", false)
	reapprove(t, f.ctx, f.schedules, sc.ID)
	expect("schedule approved again with the new revision", true)
	if _, err := f.lib.Update(f.ctx, red.ID, media.Update{Name: ptr("Đỏ 2")}); err != nil {
		t.Fatal(err)
	}
	expect("media renamed", true)
	if _, err := f.displays.Update(f.ctx, d.ID, displays.Input{Name: "Sân bay", Width: 384, Height: 192, Tags: []string{"airport"}}); err != nil {
		t.Fatal(err)
	}
	expect("display resized", true)
	if _, err := f.displays.Update(f.ctx, d.ID, displays.Input{Name: "Sân bay", Width: 384, Height: 192, Tags: []string{"airport"}, FallbackPlaylistID: other.ID}); err != nil {
		t.Fatal(err)
	}
	expect("fallback set", true)
	f.schedule(schedules.Input{Name: "Khẩn cấp", PlaylistID: other.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}}, Priority: marquee.LayerEmergency})
	expect("new schedule targets it", true)
	if _, err := f.displays.Update(f.ctx, d.ID, displays.Input{Name: "Sân bay", Width: 384, Height: 192, FallbackPlaylistID: other.ID}); err != nil {
		t.Fatal(err)
	}
	expect("tag removed: the tag schedule no longer reaches it", true)
	expect("rebuild with no change", false)
}

// TestExpiredRulesArePruned: a rule whose last window has ended leaves the
// state (once), a current one stays.
func TestExpiredRulesArePruned(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	pl := f.playlist("A", playlists.Item{MediaID: red.ID})
	d := f.display("Xã", 192, 96)
	f.schedule(schedules.Input{Name: "Tháng 6", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
		Cron: "0 22 * * *", Duration: 4 * time.Hour, StartsOn: "2025-06-01", EndsOn: "2025-06-30"})
	f.schedule(schedules.Input{Name: "Cả năm", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
		StartsOn: "2025-01-01", EndsOn: "2025-12-31"})

	if st, _ := f.state(d.ID); len(st.Rules) != 2 {
		t.Fatalf("in June: %d rules, want 2", len(st.Rules))
	}
	// 1 July 01:59 local: the 30 June 22:00 window still runs.
	f.now = time.Date(2025, 6, 30, 18, 59, 0, 0, time.UTC)
	if st, changed := f.state(d.ID); len(st.Rules) != 2 || changed {
		t.Fatalf("1 July 01:59: %d rules changed=%v, want 2 false", len(st.Rules), changed)
	}
	// 1 July 02:00 local: it has ended for good.
	f.now = time.Date(2025, 6, 30, 19, 0, 0, 0, time.UTC)
	st, changed := f.state(d.ID)
	if len(st.Rules) != 1 || st.Rules[0].Name != "Cả năm" || !changed {
		t.Fatalf("1 July 02:00: rules %+v changed=%v, want only Cả năm", st.Rules, changed)
	}
}

// TestStateGolden pins the JSON of a built state, with IDs, hashes and
// times replaced by stable placeholders. Refresh with -update.
func TestStateGolden(t *testing.T) {
	f := newFixture(t)
	red := f.png("Căn cước điện tử", color.NRGBA{R: 255, A: 255}, 400, 300)
	blue := f.png("Bảo hiểm y tế", color.NRGBA{B: 255, A: 255}, 400, 300)
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	pl := f.playlist("Chiến dịch", playlists.Item{MediaID: red.ID, DurationMS: 8000, Fit: "fill"},
		playlists.Item{MediaID: blue.ID, Fit: "fit", ValidFrom: &from, ValidUntil: &until})
	fb := f.playlist("Mặc định", playlists.Item{MediaID: blue.ID})
	d, _, err := f.displays.Create(f.ctx, displays.Input{OrgID: "org_root", Name: "Sân bay Thọ Xuân", Width: 384, Height: 192,
		Tags: []string{"airport"}, FallbackPlaylistID: fb.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.schedule(schedules.Input{Name: "Giờ cao điểm", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}},
		Cron: "0 7 * * 1-5", Duration: 10 * time.Hour, StartsOn: "2025-06-05", EndsOn: "2025-12-31", Priority: marquee.LayerCampaign})
	f.schedule(schedules.Input{Name: "Tin khẩn", PlaylistID: fb.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
		Cron: "30 12 * * *", Duration: 15 * time.Minute, Priority: marquee.LayerEmergency})

	st, _ := f.state(d.ID)
	got, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = placeholders(got)
	golden := filepath.Join("testdata", "state.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./desired -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatalf("state JSON differs from %s (run with -update if the change is intended):\n%s", golden, got)
	}
}

// placeholders replaces generated IDs and hashes, in order of first
// appearance, with stable names.
func placeholders(b []byte) []byte {
	re := regexp.MustCompile(`(med|pls|dsp|sch)_[0-9a-z]{26}|[0-9a-f]{64}`)
	seen := map[string]string{}
	count := map[string]int{}
	return re.ReplaceAllFunc(b, func(m []byte) []byte {
		s := string(m)
		if r, ok := seen[s]; ok {
			return []byte(r)
		}
		kind := "sha256"
		if i := strings.IndexByte(s, '_'); i > 0 {
			kind = s[:i]
		}
		count[kind]++
		r := kind + "_" + string(rune('A'-1+count[kind]))
		seen[s] = r
		return []byte(r)
	})
}

func ptr[T any](v T) *T { return &v }

// TestPinnedRevisions: each rule plays the playlist revision its
// schedule's approval pinned, so one state may hold two revisions of a
// playlist; the fallback plays the one pinned when it was set (not the
// playlist's later edits) until it is set again, listed once when a rule
// pins it too. The batch builds the same.
func TestPinnedRevisions(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	blue := f.png("Xanh", color.NRGBA{B: 255, A: 255}, 64, 32)
	pl := f.playlist("A", playlists.Item{MediaID: red.ID})
	d, _, err := f.displays.Create(f.ctx, displays.Input{OrgID: "org_root", Name: "Sân bay", Width: 192, Height: 96,
		Tags: []string{"airport"}, FallbackPlaylistID: pl.ID})
	if err != nil {
		t.Fatal(err)
	}
	old := f.schedule(schedules.Input{Name: "Cũ", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}}})
	renewed := f.schedule(schedules.Input{Name: "Mới", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
		Priority: marquee.LayerCampaign})
	if _, err := f.playlists.Update(f.ctx, pl.ID, playlists.Input{Name: "A2", Items: []playlists.Item{{MediaID: blue.ID}}}); err != nil {
		t.Fatal(err)
	}
	reapprove(t, f.ctx, f.schedules, renewed.ID)

	st, _ := f.state(d.ID)
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := scheduler.Compile(st); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range st.Playlists {
		got = append(got, p.Name)
	}
	if want := []string{"A", "A2"}; !slices.Equal(got, want) {
		t.Fatalf("playlists %q, want %q (revisions 1 and 2, once each)", got, want)
	}
	rules := map[string]int64{}
	for _, r := range st.Rules {
		rules[r.ScheduleID] = r.Playlist.Revision
	}
	if rules[old.ID] != 1 || rules[renewed.ID] != 2 || *st.Fallback != (marquee.PlaylistRef{PlaylistID: pl.ID, Revision: 1}) {
		t.Fatalf("rules play revisions %v, fallback %v; want %s at 1, %s at 2, fallback at 1 (pinned when set)", rules, st.Fallback, old.ID, renewed.ID)
	}
	r := f.builder.States(f.ctx, []string{d.ID})[0]
	if r.Err != nil || r.Changed || !bytes.Equal(mustJSON(t, r.State), mustJSON(t, st)) {
		t.Fatalf("the batch builds another state: err %v changed %v", r.Err, r.Changed)
	}

	// Setting the fallback again (an update naming the same playlist)
	// pins the current revision.
	if _, err := f.displays.Update(f.ctx, d.ID, displays.Input{Name: "Sân bay", Width: 192, Height: 96,
		Tags: []string{"airport"}, FallbackPlaylistID: pl.ID}); err != nil {
		t.Fatal(err)
	}
	st, _ = f.state(d.ID)
	if *st.Fallback != (marquee.PlaylistRef{PlaylistID: pl.ID, Revision: 2}) || len(st.Playlists) != 2 {
		t.Fatalf("after re-pinning: fallback %v, %d playlists; want revision 2 listed once with the rule's", st.Fallback, len(st.Playlists))
	}
	r = f.builder.States(f.ctx, []string{d.ID})[0]
	if r.Err != nil || r.Changed || !bytes.Equal(mustJSON(t, r.State), mustJSON(t, st)) {
		t.Fatalf("after re-pinning the batch builds another state: err %v changed %v", r.Err, r.Changed)
	}
}
