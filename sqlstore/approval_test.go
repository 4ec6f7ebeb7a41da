package sqlstore

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"ScheduleApproval", testScheduleApproval},
		{"ScheduleApprovalHoldsContent", testScheduleApprovalHoldsContent},
		{"ScheduleApprovedOnCreate", testScheduleApprovedOnCreate},
	}...)
}

// approve returns a decide function for ChangeScheduleApproval that
// approves, by "usr_approver" at t0.
func approve(*schedules.Schedule) (schedules.Approval, bool, error) {
	at := t0
	return schedules.Approval{Status: schedules.StatusApproved, DecidedBy: "usr_approver", DecidedAt: &at}, true, nil
}

// liveIDs returns the IDs of the schedules live on display id.
func liveIDs(t *testing.T, db *DB, id string) []string {
	t.Helper()
	scs, err := db.FindLiveSchedulesForDisplay(context.Background(), id)
	if err != nil {
		t.Fatalf("FindLiveSchedulesForDisplay: %v", err)
	}
	ids := []string{}
	for _, s := range scs {
		if s.Approval.Approved == nil {
			t.Fatalf("live schedule %s has no approved version", s.ID)
		}
		ids = append(ids, s.ID)
	}
	// The batch query agrees.
	m, err := db.FindLiveSchedulesReaching(context.Background(), []string{id})
	if err != nil {
		t.Fatalf("FindLiveSchedulesReaching: %v", err)
	}
	batch := []string{}
	for _, s := range m[id] {
		batch = append(batch, s.ID)
	}
	if !cmp.Equal(ids, batch) {
		t.Fatalf("live on %s: %v one by one, %v in bulk", id, ids, batch)
	}
	return ids
}

// testScheduleApproval: a schedule reaches displays through its approved
// version only; an approval pins the playlist's current revision and the
// working copy's targets, and later edits of either leave it alone.
func testScheduleApproval(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	lobby := mustCreateDisplay(t, db, newDisplay("lobby", withDisplayTags("airport")))
	street := mustCreateDisplay(t, db, newDisplay("street"))
	s := mustCreateSchedule(t, db, newSchedule("s", pl.ID))

	if s.Approval.Status != schedules.StatusDraft || s.Approval.Live || s.PlaylistRevision != 1 {
		t.Fatalf("created: approval %+v, playlist revision %d; want a draft, not live, revision 1", s.Approval, s.PlaylistRevision)
	}
	if got := liveIDs(t, db, lobby.ID); len(got) != 0 {
		t.Fatalf("a draft is live on the lobby: %v", got)
	}
	// The working copy reaches the lobby all the same.
	if scs, err := db.FindSchedulesForDisplay(ctx, lobby.ID); err != nil || len(scs) != 1 {
		t.Fatalf("FindSchedulesForDisplay = %d schedules, %v; want the draft", len(scs), err)
	}

	// A refusal changes nothing.
	_, err := db.ChangeScheduleApproval(ctx, s.ID, func(sc *schedules.Schedule) (schedules.Approval, bool, error) {
		return schedules.Approval{Status: schedules.StatusApproved}, true, marquee.Errorf(marquee.ECONFLICT, "no")
	})
	wantCode(t, err, marquee.ECONFLICT)
	if got := mustFindSchedule(t, db, s.ID); got.Approval.Status != schedules.StatusDraft || got.Approval.Live {
		t.Fatalf("after a refused change: %+v", got.Approval)
	}
	_, err = db.ChangeScheduleApproval(ctx, "sch_missing", approve)
	wantCode(t, err, marquee.ENOTFOUND)

	got, err := db.ChangeScheduleApproval(ctx, s.ID, approve)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	at := t0.UTC().Truncate(time.Millisecond)
	want := schedules.Approval{Status: schedules.StatusApproved, DecidedBy: "usr_approver", DecidedAt: &at,
		Live: true, ApprovedRevision: 1, Approved: &schedules.Version{Name: "s", PlaylistID: pl.ID, PlaylistRevision: 1,
			Targets: schedules.Targets{DisplayIDs: []string{}, Tags: []string{"airport"}}, Cron: s.Cron, Duration: s.Duration,
			StartsOn: s.StartsOn, EndsOn: s.EndsOn, Priority: s.Priority, Timezone: s.Timezone,
			ApprovedBy: "usr_approver", ApprovedAt: at}}
	if diff := cmp.Diff(want, got.Approval); diff != "" {
		t.Fatalf("approved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, mustFindSchedule(t, db, s.ID)); diff != "" {
		t.Fatalf("approval not stored (-returned +found):\n%s", diff)
	}
	if got := liveIDs(t, db, lobby.ID); !cmp.Equal(got, []string{s.ID}) {
		t.Fatalf("live on the lobby = %v, want the approved schedule", got)
	}

	// A new playlist revision: the approved version keeps revision 1.
	if _, _, err := db.UpdatePlaylist(ctx, pl.ID, playlists.Revision{Name: "p2", CreatedBy: "usr_test"}); err != nil {
		t.Fatal(err)
	}
	got = mustFindSchedule(t, db, s.ID)
	if got.PlaylistRevision != 2 || got.Approval.ApprovedRevision != 1 || !got.Approval.ChangesPending {
		t.Fatalf("after a playlist edit: revision %d, approval %+v; want 2, approved revision 1, changes pending",
			got.PlaylistRevision, got.Approval)
	}

	// The working copy retargeted to the street: still the lobby plays it.
	edit := *got
	edit.Targets = schedules.Targets{DisplayIDs: []string{street.ID}}
	edit.Approval = schedules.Approval{Status: schedules.StatusDraft}
	got, err = db.UpdateSchedule(ctx, &edit)
	if err != nil {
		t.Fatalf("UpdateSchedule: %v", err)
	}
	if got.Approval.Status != schedules.StatusDraft || !got.Approval.Live || got.Approval.Approved.Targets.Tags[0] != "airport" {
		t.Fatalf("after an edit: %+v", got.Approval)
	}
	if l, s := liveIDs(t, db, lobby.ID), liveIDs(t, db, street.ID); len(l) != 1 || len(s) != 0 {
		t.Fatalf("after an edit: live on lobby %v, on street %v; want the approved version on the lobby only", l, s)
	}

	// Approved again: revision 2, on the street.
	if got, err = db.ChangeScheduleApproval(ctx, s.ID, approve); err != nil {
		t.Fatal(err)
	}
	if got.Approval.ApprovedRevision != 2 || got.Approval.ChangesPending {
		t.Fatalf("approved again: %+v", got.Approval)
	}
	if l, s := liveIDs(t, db, lobby.ID), liveIDs(t, db, street.ID); len(l) != 0 || len(s) != 1 {
		t.Fatalf("approved again: live on lobby %v, on street %v; want the street only", l, s)
	}
	_, err = db.FindLiveSchedulesForDisplay(ctx, "dsp_missing")
	wantCode(t, err, marquee.ENOTFOUND)

	// Filter by status.
	page, _, err := db.FindSchedules(ctx, schedules.Filter{Approval: schedules.StatusPending})
	if err != nil || len(page) != 0 {
		t.Fatalf("pending = %d, %v; want none", len(page), err)
	}
	page, _, err = db.FindSchedules(ctx, schedules.Filter{Approval: schedules.StatusApproved})
	if err != nil || len(page) != 1 {
		t.Fatalf("approved = %d, %v; want 1", len(page), err)
	}

	// Deleting the schedule deletes its approved version.
	if err := db.DeleteSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"approved_schedules", "approved_schedule_displays", "approved_schedule_tags", "approved_schedule_media"} {
		if n := countRows(t, db, table); n != 0 {
			t.Errorf("%s: %d rows after the schedule was deleted", table, n)
		}
	}
}

// testScheduleApprovalHoldsContent: what an approved version plays — its
// playlist, the media of its pinned revision — cannot be deleted while it
// does, even once the working copy and the playlist moved on.
func testScheduleApprovalHoldsContent(t *testing.T, db *DB) {
	ctx := context.Background()
	old := mustCreateMedia(t, db, newItem("old"))
	other := mustCreateMedia(t, db, newItem("other"))
	p1 := mustCreatePlaylist(t, db, newPlaylist("p1", playlists.Item{MediaID: old.ID, DurationMS: 5000, Fit: "fill"}))
	p2 := mustCreatePlaylist(t, db, newPlaylist("p2"))
	s := mustCreateSchedule(t, db, newSchedule("s", p1.ID))
	if _, err := db.ChangeScheduleApproval(ctx, s.ID, approve); err != nil {
		t.Fatal(err)
	}
	// The playlist drops the old media; the working copy plays p2.
	if _, _, err := db.UpdatePlaylist(ctx, p1.ID, playlists.Revision{Name: "p1",
		Items: []playlists.Item{{MediaID: other.ID, DurationMS: 5000, Fit: "fill"}}, CreatedBy: "usr_test"}); err != nil {
		t.Fatal(err)
	}
	edit := mustFindSchedule(t, db, s.ID)
	edit.PlaylistID = p2.ID
	edit.Approval = schedules.Approval{} // left as it is: approved, of p1
	if _, err := db.UpdateSchedule(ctx, edit); err != nil {
		t.Fatal(err)
	}

	wantCode(t, db.DeleteMedia(ctx, old.ID), marquee.ECONFLICT)
	wantCode(t, db.DeletePlaylist(ctx, p1.ID), marquee.ECONFLICT)
	// The playlist filter finds the schedule by its approved version too.
	page, _, err := db.FindSchedules(ctx, schedules.Filter{PlaylistID: p1.ID})
	if err != nil || len(page) != 1 {
		t.Fatalf("schedules of p1 = %d, %v; want the one whose approved version plays it", len(page), err)
	}

	// Approving the working copy releases them.
	if _, err := db.ChangeScheduleApproval(ctx, s.ID, approve); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteMedia(ctx, old.ID); err != nil {
		t.Fatalf("DeleteMedia once no approved version plays it: %v", err)
	}
	if err := db.DeletePlaylist(ctx, p1.ID); err != nil {
		t.Fatalf("DeletePlaylist once no approved version plays it: %v", err)
	}
}

// testScheduleApprovedOnCreate: a schedule stored as approved is approved in
// the same transaction, and CreateSchedule fills in what was stored.
func testScheduleApprovedOnCreate(t *testing.T, db *DB) {
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	d := mustCreateDisplay(t, db, newDisplay("d"))
	at := t0
	s := mustCreateSchedule(t, db, newSchedule("s", pl.ID, targeting([]string{d.ID}), func(s *schedules.Schedule) {
		s.Approval = schedules.Approval{Status: schedules.StatusApproved, DecidedBy: schedules.SystemActor, DecidedAt: &at}
	}))
	if !s.Approval.Live || s.Approval.Approved.ApprovedBy != schedules.SystemActor || s.Approval.ApprovedRevision != 1 {
		t.Fatalf("created approved: %+v", s.Approval)
	}
	if got := liveIDs(t, db, d.ID); !cmp.Equal(got, []string{s.ID}) {
		t.Fatalf("live = %v", got)
	}
}

// TestMigrateApprovesExistingSchedules: schedules that exist when migration
// 9 runs were playing; they are approved as they are, with their playlist's
// current revision, so that the upgrade changes nothing on screens.
func TestMigrateApprovesExistingSchedules(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		ctx := context.Background()
		db := d.open(t)
		all := d.migrationsOf().migrations()
		before := fstest.MapFS{}
		files, err := fs.ReadDir(all, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Name() < "0009" {
				b, err := fs.ReadFile(all, f.Name())
				if err != nil {
					t.Fatal(err)
				}
				before[f.Name()] = &fstest.MapFile{Data: b}
			}
		}
		if _, err := db.migrateFS(ctx, before); err != nil {
			t.Fatalf("migrate to 8: %v", err)
		}
		m := mustCreateMedia(t, db, newItem("m"))
		pl := mustCreatePlaylist(t, db, newPlaylist("p", playlists.Item{MediaID: m.ID, DurationMS: 5000, Fit: "fill"}))
		if _, _, err := db.UpdatePlaylist(ctx, pl.ID, playlists.Revision{Name: "p2",
			Items: []playlists.Item{{MediaID: m.ID, DurationMS: 6000, Fit: "fill"}}, CreatedBy: "usr_test"}); err != nil {
			t.Fatal(err)
		}
		// At migration 8 the displays table is older than CreateDisplay.
		disp := struct{ ID string }{"dsp_old"}
		for _, q := range []string{
			`INSERT INTO displays (id, org_id, name, name_fold, width, height, timezone, token_hash, created_at, updated_at)
				VALUES ('dsp_old', '` + auth.RootOrgID + `', 'd', 'd', 1920, 1080, 'Asia/Ho_Chi_Minh', 'hash_old', 1000, 1000)`,
			`INSERT INTO display_tags (display_id, tag) VALUES ('dsp_old', 'airport')`,
			`INSERT INTO schedules (id, org_id, name, name_fold, playlist_id, cron, duration_ms, starts_on, ends_on,
				priority, timezone, created_at, updated_at)
				VALUES ('sch_old', '` + auth.RootOrgID + `', 'Old', 'old', '` + pl.ID + `', '', 0, NULL, NULL, 'normal',
				'Asia/Ho_Chi_Minh', 1000, 2000)`,
			`INSERT INTO schedule_tags (schedule_id, tag) VALUES ('sch_old', 'airport')`,
			`INSERT INTO schedule_displays (schedule_id, display_id) VALUES ('sch_old', '` + disp.ID + `')`,
		} {
			if _, err := db.exec(ctx, db.write, q); err != nil {
				t.Fatalf("%s: %v", strings.Fields(q)[2], err)
			}
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate to the latest: %v", err)
		}
		s := mustFindSchedule(t, db, "sch_old")
		v := s.Approval.Approved
		if s.Approval.Status != schedules.StatusApproved || v == nil || v.PlaylistRevision != 2 ||
			v.ApprovedBy != schedules.SystemActor || !v.ApprovedAt.Equal(fromMS(2000)) || s.Approval.ChangesPending ||
			!cmp.Equal(v.Targets, schedules.Targets{DisplayIDs: []string{disp.ID}, Tags: []string{"airport"}}) {
			t.Fatalf("after the migration: %+v, approved version %+v", s.Approval, v)
		}
		if got := liveIDs(t, db, disp.ID); !cmp.Equal(got, []string{"sch_old"}) {
			t.Fatalf("live = %v", got)
		}
		wantCode(t, db.DeleteMedia(ctx, m.ID), marquee.ECONFLICT)
	})
}
