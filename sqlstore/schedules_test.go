package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/schedules"
)

// The schedule cases join the one conformance suite (TestConformance), so
// they run against every dialect like the rest.
func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"ScheduleCreateFind", testScheduleCreateFind},
		{"ScheduleReferences", testScheduleReferences},
		{"ScheduleNotFound", testScheduleNotFound},
		{"ScheduleUpdate", testScheduleUpdate},
		{"ScheduleDeleteCascadesTargets", testScheduleDeleteCascadesTargets},
		{"SchedulesForDisplay", testSchedulesForDisplay},
		{"SchedulesForDisplays", testSchedulesForDisplays},
		{"DisplaysForTargets", testDisplaysForTargets},
		{"DisplayDeleteLeavesScheduleTargets", testDisplayDeleteLeavesScheduleTargets},
		{"SchedulePlaylistRestrict", testSchedulePlaylistRestrict},
		{"ScheduleFilters", testScheduleFilters},
	}...)
}

// newSchedule returns a valid schedule of playlist playlistID to store;
// opts adjust it.
func newSchedule(name, playlistID string, opts ...func(*schedules.Schedule)) *schedules.Schedule {
	s := &schedules.Schedule{
		ID:         marquee.NewID("sch_"),
		OrgID:      auth.RootOrgID,
		Name:       name,
		PlaylistID: playlistID,
		Targets:    schedules.Targets{Tags: []string{"airport"}},
		Cron:       "0 7 * * 1-5",
		Duration:   schedules.Duration(10 * time.Hour),
		StartsOn:   "2026-06-05",
		EndsOn:     "2026-12-31",
		Priority:   marquee.LayerCampaign,
		Timezone:   "Asia/Ho_Chi_Minh",
		CreatedAt:  t0,
		UpdatedAt:  t0,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func targeting(ids []string, tags ...string) func(*schedules.Schedule) {
	return func(s *schedules.Schedule) { s.Targets = schedules.Targets{DisplayIDs: ids, Tags: tags} }
}

func mustCreateSchedule(t *testing.T, db *DB, s *schedules.Schedule) *schedules.Schedule {
	t.Helper()
	if err := db.CreateSchedule(context.Background(), s); err != nil {
		t.Fatalf("CreateSchedule(%q): %v", s.Name, err)
	}
	return s
}

func mustFindSchedule(t *testing.T, db *DB, id string) *schedules.Schedule {
	t.Helper()
	s, err := db.FindScheduleByID(context.Background(), id)
	if err != nil {
		t.Fatalf("FindScheduleByID(%q): %v", id, err)
	}
	return s
}

// scheduleIDs returns the IDs of scs, in order.
func scheduleIDs(scs []*schedules.Schedule) []string {
	ids := []string{}
	for _, s := range scs {
		ids = append(ids, s.ID)
	}
	return ids
}

func displayIDs(ds []*displays.Display) []string {
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func testScheduleCreateFind(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("Campaign"))
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	in := newSchedule("Chiến dịch hè", pl.ID, targeting([]string{b.ID, a.ID, b.ID}, "facade", "airport", "facade"))
	if err := db.CreateSchedule(ctx, in); err != nil {
		t.Fatalf("CreateSchedule: %v", err)
	}
	want := schedules.Targets{DisplayIDs: []string{a.ID, b.ID}, Tags: []string{"airport", "facade"}}
	if diff := cmp.Diff(want, in.Targets); diff != "" {
		t.Errorf("stored targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(in, mustFindSchedule(t, db, in.ID)); diff != "" {
		t.Fatalf("FindScheduleByID mismatch (-stored +found):\n%s", diff)
	}

	// All day, open dates, tags only: "" dates and cron, zero duration,
	// empty (non-nil) display list.
	allDay := mustCreateSchedule(t, db, newSchedule("all day", pl.ID, targeting(nil, "lobby"), func(s *schedules.Schedule) {
		s.Cron, s.Duration, s.StartsOn, s.EndsOn, s.Priority = "", 0, "", "", marquee.LayerNormal
	}))
	got := mustFindSchedule(t, db, allDay.ID)
	if diff := cmp.Diff(allDay, got); diff != "" {
		t.Fatalf("all-day schedule (-stored +found):\n%s", diff)
	}
	if got.Targets.DisplayIDs == nil {
		t.Errorf("DisplayIDs is nil, want empty")
	}
	scs, next, err := db.FindSchedules(ctx, schedules.Filter{})
	if err != nil || next != "" || !cmp.Equal(scheduleIDs(scs), []string{allDay.ID, in.ID}) {
		t.Fatalf("FindSchedules = %v, %q, %v", scheduleIDs(scs), next, err)
	}
	if diff := cmp.Diff(in, scs[1]); diff != "" {
		t.Errorf("FindSchedules item (-stored +found):\n%s", diff)
	}
}

func testScheduleReferences(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("Campaign"))
	d := mustCreateDisplay(t, db, newDisplay("a"))
	for _, tt := range []struct {
		name string
		s    *schedules.Schedule
		want string
	}{
		{"playlist", newSchedule("x", "pls_missing"), `playlist "pls_missing" does not exist`},
		{"display", newSchedule("x", pl.ID, targeting([]string{d.ID, "dsp_zz", "dsp_aa"})), `display "dsp_aa" does not exist in organisation "org_root" or below it: a schedule reaches only the displays of its own organisation and those below it`},
		{"organisation", newSchedule("x", pl.ID, func(s *schedules.Schedule) { s.OrgID = "org_nowhere" }), `organisation "org_nowhere" does not exist`},
	} {
		err := db.CreateSchedule(ctx, tt.s)
		wantCode(t, err, marquee.EINVALID)
		if got := marquee.ErrorMessage(err); got != tt.want {
			t.Errorf("%s: CreateSchedule message = %q, want %q", tt.name, got, tt.want)
		}
		if tt.name == "organisation" {
			continue // not a reference CheckScheduleReferences looks at
		}
		err = db.CheckScheduleReferences(ctx, tt.s)
		wantCode(t, err, marquee.EINVALID)
		if got := marquee.ErrorMessage(err); got != tt.want {
			t.Errorf("%s: CheckScheduleReferences message = %q, want %q", tt.name, got, tt.want)
		}
	}
	if err := db.CheckScheduleReferences(ctx, newSchedule("ok", pl.ID, targeting([]string{d.ID}))); err != nil {
		t.Errorf("CheckScheduleReferences(valid): %v", err)
	}
	for _, table := range []string{"schedules", "schedule_displays", "schedule_tags"} {
		if n := countRows(t, db, table); n != 0 {
			t.Errorf("%s rows after refused creates = %d, want 0", table, n)
		}
	}
	s := mustCreateSchedule(t, db, newSchedule("ok", pl.ID))
	wantCode(t, db.CreateSchedule(ctx, newSchedule("dup", pl.ID, func(x *schedules.Schedule) { x.ID = s.ID })), marquee.ECONFLICT)
}

func testScheduleNotFound(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	const id = "sch_missing"
	want := `schedule "sch_missing" not found`
	_, err := db.FindScheduleByID(ctx, id)
	wantCode(t, err, marquee.ENOTFOUND)
	if got := marquee.ErrorMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	_, err = db.UpdateSchedule(ctx, newSchedule("x", pl.ID, func(s *schedules.Schedule) { s.ID = id }))
	wantCode(t, err, marquee.ENOTFOUND)
	wantCode(t, db.DeleteSchedule(ctx, id), marquee.ENOTFOUND)
	_, err = db.FindSchedulesForDisplay(ctx, "dsp_missing")
	wantCode(t, err, marquee.ENOTFOUND)
}

func testScheduleUpdate(t *testing.T, db *DB) {
	ctx := context.Background()
	p1 := mustCreatePlaylist(t, db, newPlaylist("one"))
	p2 := mustCreatePlaylist(t, db, newPlaylist("two"))
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	s := mustCreateSchedule(t, db, newSchedule("Old", p1.ID, targeting([]string{a.ID}, "airport")))
	later := t0.Add(time.Hour)

	repl := &schedules.Schedule{
		ID: s.ID, Name: "Khẩn cấp", PlaylistID: p2.ID,
		Targets: schedules.Targets{DisplayIDs: []string{b.ID}, Tags: []string{"facade"}},
		Cron:    "", StartsOn: "2026-07-01", Priority: marquee.LayerEmergency, Timezone: "Europe/Berlin",
		UpdatedAt: later,
		OrgID:     "org_ignored", CreatedAt: later, // not editable
	}
	got, err := db.UpdateSchedule(ctx, repl)
	if err != nil {
		t.Fatalf("UpdateSchedule: %v", err)
	}
	want := *repl
	want.OrgID, want.CreatedAt, want.UpdatedAt = s.OrgID, s.CreatedAt, later.UTC().Truncate(time.Millisecond)
	want.Approval.Status, want.PlaylistRevision = schedules.StatusDraft, p2.Revision // approval left alone
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("after update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, mustFindSchedule(t, db, s.ID)); diff != "" {
		t.Fatalf("update not stored (-returned +found):\n%s", diff)
	}
	if n := countRows(t, db, "schedule_displays"); n != 1 {
		t.Errorf("schedule_displays rows = %d, want 1", n)
	}

	// A missing reference refuses the whole update.
	bad := want
	bad.Name, bad.Targets = "Refused", schedules.Targets{DisplayIDs: []string{"dsp_missing"}}
	_, err = db.UpdateSchedule(ctx, &bad)
	wantCode(t, err, marquee.EINVALID)
	if got := mustFindSchedule(t, db, s.ID); got.Name != want.Name || !cmp.Equal(got.Targets, want.Targets) {
		t.Errorf("refused update changed the schedule: %+v", got)
	}
}

func testScheduleDeleteCascadesTargets(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	d := mustCreateDisplay(t, db, newDisplay("a"))
	s := mustCreateSchedule(t, db, newSchedule("gone", pl.ID, targeting([]string{d.ID}, "x", "y")))
	if err := db.DeleteSchedule(ctx, s.ID); err != nil {
		t.Fatalf("DeleteSchedule: %v", err)
	}
	_, err := db.FindScheduleByID(ctx, s.ID)
	wantCode(t, err, marquee.ENOTFOUND)
	for _, table := range []string{"schedule_displays", "schedule_tags"} {
		if n := countRows(t, db, table); n != 0 {
			t.Errorf("%s rows = %d, want 0", table, n)
		}
	}
	mustFindDisplay(t, db, d.ID) // the display stays
}

func testSchedulesForDisplay(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	lobby := mustCreateDisplay(t, db, newDisplay("lobby", withDisplayTags("airport", "lobby")))
	street := mustCreateDisplay(t, db, newDisplay("street", withDisplayTags("street")))
	bare := mustCreateDisplay(t, db, newDisplay("bare"))

	byID := mustCreateSchedule(t, db, newSchedule("by id", pl.ID, targeting([]string{lobby.ID})))
	byTag := mustCreateSchedule(t, db, newSchedule("by tag", pl.ID, targeting(nil, "airport")))
	// Reaches the lobby by its ID and by two tags: listed once.
	byBoth := mustCreateSchedule(t, db, newSchedule("by both", pl.ID, targeting([]string{lobby.ID, street.ID}, "airport", "lobby")))
	elsewhere := mustCreateSchedule(t, db, newSchedule("elsewhere", pl.ID, targeting(nil, "street")))

	for _, tt := range []struct {
		display *displays.Display
		want    []string
	}{
		{lobby, []string{byID.ID, byTag.ID, byBoth.ID}},
		{street, []string{byBoth.ID, elsewhere.ID}},
		{bare, []string{}},
	} {
		scs, err := db.FindSchedulesForDisplay(ctx, tt.display.ID)
		if err != nil {
			t.Fatalf("FindSchedulesForDisplay(%s): %v", tt.display.Name, err)
		}
		if diff := cmp.Diff(tt.want, scheduleIDs(scs)); diff != "" {
			t.Errorf("FindSchedulesForDisplay(%s) (-want +got):\n%s", tt.display.Name, diff)
		}
		for _, s := range scs {
			if diff := cmp.Diff(mustFindSchedule(t, db, s.ID), s); diff != "" {
				t.Errorf("schedule %s as found for a display (-by ID +for display):\n%s", s.Name, diff)
			}
		}
	}

	// Tags are looked up when asked: retagging a display changes what reaches it.
	bare.Tags = []string{"airport"}
	if _, err := db.UpdateDisplay(ctx, bare); err != nil {
		t.Fatalf("UpdateDisplay: %v", err)
	}
	scs, err := db.FindSchedulesForDisplay(ctx, bare.ID)
	if err != nil || !cmp.Equal(scheduleIDs(scs), []string{byTag.ID, byBoth.ID}) {
		t.Errorf("after tagging bare airport: %v, %v", scheduleIDs(scs), err)
	}
}

func testSchedulesForDisplays(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	a := mustCreateDisplay(t, db, newDisplay("a", withDisplayTags("airport")))
	b := mustCreateDisplay(t, db, newDisplay("b", withDisplayTags("street")))
	c := mustCreateDisplay(t, db, newDisplay("c"))
	s1 := mustCreateSchedule(t, db, newSchedule("1", pl.ID, targeting([]string{a.ID, b.ID})))
	s2 := mustCreateSchedule(t, db, newSchedule("2", pl.ID, targeting(nil, "street")))
	mustCreateSchedule(t, db, newSchedule("3", pl.ID, targeting([]string{c.ID})))
	s4 := mustCreateSchedule(t, db, newSchedule("4", pl.ID, targeting(nil, "airport")))

	scs, err := db.FindSchedulesForDisplays(ctx, []string{b.ID, a.ID, "dsp_missing", a.ID})
	if err != nil {
		t.Fatalf("FindSchedulesForDisplays: %v", err)
	}
	if diff := cmp.Diff([]string{s1.ID, s2.ID, s4.ID}, scheduleIDs(scs)); diff != "" {
		t.Fatalf("FindSchedulesForDisplays (-want +got):\n%s", diff)
	}
	if !cmp.Equal(scs[0].Targets.DisplayIDs, normalizeTags([]string{a.ID, b.ID})) {
		t.Errorf("targets not loaded: %+v", scs[0].Targets)
	}
	if scs, err := db.FindSchedulesForDisplays(ctx, nil); err != nil || scs == nil || len(scs) != 0 {
		t.Errorf("FindSchedulesForDisplays(nil) = %v, %v; want empty", scs, err)
	}

	// More displays than one batch of IDs.
	many := make([]string, 0, 2*idBatch+1)
	for i := range 2 * idBatch {
		many = append(many, fmt.Sprintf("dsp_x%04d", i))
	}
	many = append(many, c.ID)
	if scs, err := db.FindSchedulesForDisplays(ctx, many); err != nil || len(scs) != 1 || scs[0].Name != "3" {
		t.Errorf("FindSchedulesForDisplays(many) = %v, %v; want [3]", scheduleIDs(scs), err)
	}
}

func testDisplaysForTargets(t *testing.T, db *DB) {
	ctx := context.Background()
	a := mustCreateDisplay(t, db, newDisplay("a", withDisplayTags("airport", "lobby")))
	b := mustCreateDisplay(t, db, newDisplay("b", withDisplayTags("street")))
	c := mustCreateDisplay(t, db, newDisplay("c", withDisplayTags("lobby")))
	d := mustCreateDisplay(t, db, newDisplay("d"))
	for _, tt := range []struct {
		name    string
		targets schedules.Targets
		want    []string
	}{
		{"ids", schedules.Targets{DisplayIDs: []string{d.ID, b.ID, "dsp_missing"}}, []string{b.ID, d.ID}},
		{"tags", schedules.Targets{Tags: []string{"airport", "lobby"}}, []string{a.ID, c.ID}},
		{"both, overlapping", schedules.Targets{DisplayIDs: []string{a.ID, d.ID}, Tags: []string{"lobby"}}, []string{a.ID, c.ID, d.ID}},
		{"nothing", schedules.Targets{Tags: []string{"nowhere"}}, []string{}},
	} {
		ds, err := db.FindDisplaysForTargets(ctx, tt.targets)
		if err != nil {
			t.Fatalf("%s: FindDisplaysForTargets: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, displayIDs(ds)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		for _, x := range ds {
			if diff := cmp.Diff(mustFindDisplay(t, db, x.ID), x); diff != "" {
				t.Errorf("%s: display %s (-by ID +for targets):\n%s", tt.name, x.Name, diff)
			}
		}
	}
}

func testDisplayDeleteLeavesScheduleTargets(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	s := mustCreateSchedule(t, db, newSchedule("s", pl.ID, targeting([]string{a.ID, b.ID}, "airport")))
	if err := db.DeleteDisplay(ctx, a.ID); err != nil {
		t.Fatalf("DeleteDisplay: %v", err)
	}
	got := mustFindSchedule(t, db, s.ID)
	want := schedules.Targets{DisplayIDs: []string{b.ID}, Tags: []string{"airport"}}
	if diff := cmp.Diff(want, got.Targets); diff != "" {
		t.Fatalf("targets after deleting a display (-want +got):\n%s", diff)
	}
	if err := db.DeleteDisplay(ctx, b.ID); err != nil {
		t.Fatalf("DeleteDisplay: %v", err)
	}
	if got := mustFindSchedule(t, db, s.ID); len(got.Targets.DisplayIDs) != 0 {
		t.Fatalf("targets after deleting both displays: %+v", got.Targets)
	}
}

func testSchedulePlaylistRestrict(t *testing.T, db *DB) {
	ctx := context.Background()
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	s := mustCreateSchedule(t, db, newSchedule("s", pl.ID))
	err := db.DeletePlaylist(ctx, pl.ID)
	wantCode(t, err, marquee.ECONFLICT)
	if got := mustFindSchedule(t, db, s.ID); got.PlaylistID != pl.ID {
		t.Fatalf("schedule playlist = %q after a refused delete", got.PlaylistID)
	}
	if err := db.DeleteSchedule(ctx, s.ID); err != nil {
		t.Fatalf("DeleteSchedule: %v", err)
	}
	if err := db.DeletePlaylist(ctx, pl.ID); err != nil {
		t.Fatalf("DeletePlaylist once unused: %v", err)
	}
}

func testScheduleFilters(t *testing.T, db *DB) {
	ctx := context.Background()
	p1 := mustCreatePlaylist(t, db, newPlaylist("one"))
	p2 := mustCreatePlaylist(t, db, newPlaylist("two"))
	lobby := mustCreateDisplay(t, db, newDisplay("lobby", withDisplayTags("airport")))
	street := mustCreateDisplay(t, db, newDisplay("street"))
	layers := []marquee.Layer{marquee.LayerNormal, marquee.LayerCampaign, marquee.LayerEmergency}

	// 12 schedules: playlist alternates; every 3rd targets the lobby by tag,
	// every 4th the street by ID, the rest tag "facade"; layers rotate.
	var all []*schedules.Schedule
	for i := range 12 {
		pl := p1
		if i%2 == 1 {
			pl = p2
		}
		var ids, tags []string
		if i%3 == 0 {
			tags = append(tags, "airport")
		}
		if i%4 == 0 {
			ids = append(ids, street.ID)
		}
		if len(ids)+len(tags) == 0 {
			tags = []string{"facade"}
		}
		name := fmt.Sprintf("Schedule %02d", i)
		if i%5 == 0 {
			name = fmt.Sprintf("Lễ hội %02d", i)
		}
		all = append(all, mustCreateSchedule(t, db, newSchedule(name, pl.ID, targeting(ids, tags...),
			func(s *schedules.Schedule) { s.Priority = layers[i%3] })))
	}
	newestFirst := func(keep func(i int) bool) []string {
		ids := []string{}
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	for _, tt := range []struct {
		name   string
		filter schedules.Filter
		want   []string
	}{
		{"all", schedules.Filter{}, newestFirst(func(int) bool { return true })},
		{"display by tag", schedules.Filter{DisplayID: lobby.ID}, newestFirst(func(i int) bool { return i%3 == 0 })},
		{"display by id", schedules.Filter{DisplayID: street.ID}, newestFirst(func(i int) bool { return i%4 == 0 })},
		{"playlist", schedules.Filter{PlaylistID: p2.ID}, newestFirst(func(i int) bool { return i%2 == 1 })},
		{"tag", schedules.Filter{Tag: "facade"}, newestFirst(func(i int) bool { return i%3 != 0 && i%4 != 0 })},
		{"priority", schedules.Filter{Priority: marquee.LayerEmergency}, newestFirst(func(i int) bool { return i%3 == 2 })},
		{"name", schedules.Filter{NameContains: "LỄ HỘI"}, newestFirst(func(i int) bool { return i%5 == 0 })},
		{"tag+playlist+priority", schedules.Filter{Tag: "facade", PlaylistID: p1.ID, Priority: marquee.LayerEmergency},
			newestFirst(func(i int) bool { return i%3 == 2 && i%4 != 0 && i%2 == 0 })},
		{"display+playlist", schedules.Filter{DisplayID: lobby.ID, PlaylistID: p1.ID},
			newestFirst(func(i int) bool { return i%6 == 0 })},
	} {
		for _, limit := range []int{1, 3, 50} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.name, limit), func(t *testing.T) {
				f := tt.filter
				f.Limit = limit
				got := []string{}
				for page := 0; ; page++ {
					if page > len(all) {
						t.Fatal("pagination does not end")
					}
					scs, next, err := db.FindSchedules(ctx, f)
					if err != nil {
						t.Fatalf("FindSchedules page %d: %v", page, err)
					}
					for _, s := range scs {
						got = append(got, s.ID)
						if want := all[indexOfSchedule(all, s.ID)]; !cmp.Equal(s.Targets, want.Targets) {
							t.Fatalf("schedule %s targets = %+v, want %+v", s.ID, s.Targets, want.Targets)
						}
					}
					if next == "" {
						break
					}
					if len(scs) != limit {
						t.Fatalf("page %d: short page (%d of %d) with a next cursor", page, len(scs), limit)
					}
					f.Cursor = next
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("IDs (-want +got):\n%s", diff)
				}
			})
		}
	}
	_, _, err := db.FindSchedules(ctx, schedules.Filter{Cursor: "!!!"})
	wantCode(t, err, marquee.EINVALID)
}

func indexOfSchedule(scs []*schedules.Schedule, id string) int {
	for i, s := range scs {
		if s.ID == id {
			return i
		}
	}
	return -1
}
