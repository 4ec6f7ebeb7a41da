package desired_test

import (
	"image/color"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// TestStoredIndex: a saved state records every schedule, playlist and media
// ID it references, and when its earliest rule expires.
func TestStoredIndex(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	blue := f.png("Xanh", color.NRGBA{B: 255, A: 255}, 64, 32)
	twin := f.png("Đỏ bản sao", color.NRGBA{R: 255, A: 255}, 64, 32) // same bytes as red: one asset
	pl := f.playlist("A", playlists.Item{MediaID: red.ID}, playlists.Item{MediaID: twin.ID})
	fb := f.playlist("Fallback", playlists.Item{MediaID: blue.ID})
	unrelated := f.playlist("Other", playlists.Item{MediaID: blue.ID})
	d, _, err := f.displays.Create(f.ctx, displays.Input{OrgID: "org_root", Name: "Xã", Width: 192, Height: 96, FallbackPlaylistID: fb.ID})
	if err != nil {
		t.Fatal(err)
	}
	june := f.schedule(schedules.Input{Name: "Tháng 6", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
		Cron: "0 22 * * *", Duration: 4 * time.Hour, StartsOn: "2025-06-01", EndsOn: "2025-06-30"})
	year := f.schedule(schedules.Input{Name: "Cả năm", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
		StartsOn: "2025-01-01", EndsOn: "2025-12-31"})
	f.schedule(schedules.Input{Name: "Mãi mãi", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}}})
	_ = unrelated

	st, _ := f.state(d.ID)
	refs := desired.Refs(st)
	for _, id := range []string{june.ID, year.ID, pl.ID, fb.ID, red.ID, twin.ID, blue.ID} {
		if !hasID(refs, id) {
			t.Errorf("refs %v lack %s", refs, id)
		}
	}
	if hasID(refs, unrelated.ID) || hasID(refs, d.ID) {
		t.Errorf("refs %v hold an unrelated playlist or the display itself", refs)
	}
	got, err := f.db.FindDisplaysReferencing(f.ctx, twin.ID)
	if err != nil || !cmp.Equal(got, []string{d.ID}) {
		t.Fatalf("displays referencing the twin media = %v, %v; want [%s]", got, err, d.ID)
	}

	// The June rule's last window (30 June 22:00 + 4 h, Hà Nội) closes at
	// 1 July 02:00 local = 30 June 19:00 UTC.
	juneEnd := time.Date(2025, 6, 30, 19, 0, 0, 0, time.UTC)
	if got := desired.NextPrune(st); !got.Equal(juneEnd) {
		t.Fatalf("NextPrune = %v, want %v", got, juneEnd)
	}
	stored, err := f.db.FindDisplayState(f.ctx, d.ID)
	if err != nil || !stored.NextPruneAt.Equal(juneEnd) {
		t.Fatalf("stored next prune %v (%v), want %v", stored.NextPruneAt, err, juneEnd)
	}
	// Due exactly then, and the rebuild then prunes the rule and moves the
	// instant to the end of the all-year rule (1 Jan 2026 00:00 local).
	if due, _ := f.db.FindDisplaysDueForPruning(f.ctx, juneEnd.Add(-time.Millisecond)); len(due) != 0 {
		t.Fatalf("due before the rule expired: %v", due)
	}
	if due, _ := f.db.FindDisplaysDueForPruning(f.ctx, juneEnd); !cmp.Equal(due, []string{d.ID}) {
		t.Fatalf("due when the rule expired: %v", due)
	}
	f.now = juneEnd
	st, changed := f.state(d.ID)
	if !changed || len(st.Rules) != 2 {
		t.Fatalf("rebuild at expiry: changed=%v rules=%d, want true 2", changed, len(st.Rules))
	}
	yearEnd := time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC)
	if stored, _ := f.db.FindDisplayState(f.ctx, d.ID); !stored.NextPruneAt.Equal(yearEnd) {
		t.Fatalf("next prune after pruning %v, want %v", stored.NextPruneAt, yearEnd)
	}
	if got, _ := f.db.FindDisplaysReferencing(f.ctx, june.ID); len(got) != 0 {
		t.Fatalf("the pruned schedule is still referenced by %v", got)
	}
}

// TestNextPruneMatchesExpired: for assorted rules, a build just before
// NextPrune keeps the rule and a build at it drops it.
func TestNextPruneMatchesExpired(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    marquee.Rule
	}{
		{"all day", marquee.Rule{EndsOn: "2025-06-30", Timezone: "Asia/Ho_Chi_Minh"}},
		{"evening window crossing midnight", marquee.Rule{Cron: "0 22 * * *", DurationMS: 4 * 3600_000, EndsOn: "2025-06-30", Timezone: "Asia/Ho_Chi_Minh"}},
		{"weekdays only, ends on a Sunday", marquee.Rule{Cron: "0 8 * * 1-5", DurationMS: 3600_000, EndsOn: "2025-06-29", Timezone: "Asia/Ho_Chi_Minh"}},
		{"DST zone", marquee.Rule{Cron: "30 1 * * *", DurationMS: 2 * 3600_000, EndsOn: "2025-03-30", Timezone: "Europe/Berlin"}},
		{"last window before the last day", marquee.Rule{Cron: "0 8 1 * *", DurationMS: 3600_000, EndsOn: "2025-06-30", Timezone: "UTC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
			pl := f.playlist("A", playlists.Item{MediaID: red.ID})
			d := f.display("D", 192, 96)
			f.now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			f.schedule(schedules.Input{Name: "R", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}},
				Cron: tc.r.Cron, Duration: time.Duration(tc.r.DurationMS) * time.Millisecond,
				EndsOn: tc.r.EndsOn, Timezone: tc.r.Timezone})
			st, _ := f.state(d.ID)
			at := desired.NextPrune(st)
			if at.IsZero() {
				t.Fatal("no prune instant")
			}
			f.now = at.Add(-time.Millisecond)
			if st, _ := f.state(d.ID); len(st.Rules) != 1 {
				t.Fatalf("1 ms before %v the rule is gone", at)
			}
			f.now = at
			if st, _ := f.state(d.ID); len(st.Rules) != 0 {
				t.Fatalf("at %v the rule is still there", at)
			}
		})
	}
}

// TestReindexKeepsRevision: a state stored before its references were
// recorded is indexed on its next build without a new revision.
func TestReindexKeepsRevision(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	pl := f.playlist("A", playlists.Item{MediaID: red.ID})
	d := f.display("D", 192, 96)
	f.schedule(schedules.Input{Name: "R", PlaylistID: pl.ID, Targets: schedules.Targets{DisplayIDs: []string{d.ID}}})
	st, _ := f.state(d.ID)
	// Forget the index, as a database migrated from schema 4 has it.
	if _, err := f.db.SQL().Exec(`DELETE FROM display_state_refs`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SQL().Exec(`UPDATE display_states SET index_version = 0`); err != nil {
		t.Fatal(err)
	}
	again, changed := f.state(d.ID)
	if changed || again.Revision != st.Revision {
		t.Fatalf("re-index: revision %d changed=%v, want %d false", again.Revision, changed, st.Revision)
	}
	if got, _ := f.db.FindDisplaysReferencing(f.ctx, pl.ID); !cmp.Equal(got, []string{d.ID}) {
		t.Fatalf("after re-index, displays referencing the playlist = %v", got)
	}
	if stored, _ := f.db.FindDisplayState(f.ctx, d.ID); stored.IndexVersion != desired.IndexVersion {
		t.Fatalf("index version %d", stored.IndexVersion)
	}
}

func hasID(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
