package sqlstore

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// The organisation cases join the one conformance suite (TestConformance).
func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"OrgTree", testOrgTree},
		{"OrgDelete", testOrgDelete},
		{"OrgScopedLists", testOrgScopedLists},
		{"OrgBranchReferences", testOrgBranchReferences},
		{"OrgScopedTargeting", testOrgScopedTargeting},
	}...)
}

func mustAddOrg(t *testing.T, db *DB, name, parent string) *orgs.Organisation {
	t.Helper()
	o := &orgs.Organisation{Name: name, ParentID: parent, CreatedAt: t0}
	if err := db.CreateOrganisation(context.Background(), o); err != nil {
		t.Fatalf("CreateOrganisation(%q): %v", name, err)
	}
	return o
}

func inOrg(id string) func(*displays.Display) { return func(d *displays.Display) { d.OrgID = id } }

func orgIDs(os []*orgs.Organisation) []string {
	var ids []string
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return ids
}

// tree is the province (root) with districts a and b, and commune a1
// below a.
type tree struct{ a, b, a1 *orgs.Organisation }

func mustTree(t *testing.T, db *DB) tree {
	t.Helper()
	var tr tree
	tr.a = mustAddOrg(t, db, "District A", auth.RootOrgID)
	tr.b = mustAddOrg(t, db, "District B", auth.RootOrgID)
	tr.a1 = mustAddOrg(t, db, "Commune A1", tr.a.ID)
	return tr
}

func testOrgTree(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	if got, want := tr.a1.Path, "/"+auth.RootOrgID+"/"+tr.a.ID+"/"+tr.a1.ID+"/"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if tr.a1.Depth() != 2 || tr.a1.CreatedAt != t0.UTC().Truncate(1e6) {
		t.Errorf("created %+v", tr.a1)
	}
	got, err := db.FindOrganisationByID(ctx, tr.a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tr.a1, got); diff != "" {
		t.Errorf("FindOrganisationByID (-created +found):\n%s", diff)
	}
	root, err := db.FindOrganisationByID(ctx, auth.RootOrgID)
	if err != nil || root.Path != "/"+auth.RootOrgID+"/" || root.ParentID != "" || root.Depth() != 0 {
		t.Fatalf("root = %+v, %v", root, err)
	}

	all, err := db.FindOrganisations(ctx, auth.RootOrgID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := orgIDs(all), []string{auth.RootOrgID, tr.a.ID, tr.a1.ID, tr.b.ID}; !slices.Equal(got, want) {
		t.Errorf("FindOrganisations(root) = %v, want %v (tree order)", got, want)
	}
	sub, err := db.FindOrganisations(ctx, tr.a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := orgIDs(sub), []string{tr.a.ID, tr.a1.ID}; !slices.Equal(got, want) {
		t.Errorf("FindOrganisations(a) = %v, want %v", got, want)
	}
	_, err = db.FindOrganisations(ctx, "org_nowhere")
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = db.FindOrganisationByID(ctx, "org_nowhere")
	wantCode(t, err, marquee.ENOTFOUND)

	err = db.CreateOrganisation(ctx, &orgs.Organisation{Name: "x", ParentID: "org_nowhere"})
	wantCode(t, err, marquee.EINVALID)
	err = db.CreateOrganisation(ctx, &orgs.Organisation{ID: tr.b.ID, Name: "x", ParentID: auth.RootOrgID})
	wantCode(t, err, marquee.ECONFLICT)
	err = db.CreateOrganisation(ctx, &orgs.Organisation{ID: "org/x", Name: "x", ParentID: auth.RootOrgID})
	wantCode(t, err, marquee.EINVALID)

	renamed, err := db.RenameOrganisation(ctx, tr.a.ID, "Quận A")
	if err != nil || renamed.Name != "Quận A" || renamed.Path != tr.a.Path {
		t.Fatalf("RenameOrganisation = %+v, %v", renamed, err)
	}
	_, err = db.RenameOrganisation(ctx, "org_nowhere", "x")
	wantCode(t, err, marquee.ENOTFOUND)
}

func testOrgDelete(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	// a has a commune below it; a1 a display; b a user.
	mustCreateDisplay(t, db, newDisplay("d", inOrg(tr.a1.ID)))
	if err := db.CreateUser(ctx, &auth.User{OrgID: tr.b.ID, Username: "u", PasswordHash: "x", Role: auth.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	for id, what := range map[string]string{tr.a.ID: "1 organisations below it", tr.a1.ID: "1 displays", tr.b.ID: "1 users",
		auth.RootOrgID: "organisations below it"} {
		err := db.DeleteOrganisation(ctx, id)
		wantCode(t, err, marquee.ECONFLICT)
		if !strings.Contains(marquee.ErrorMessage(err), what) {
			t.Errorf("DeleteOrganisation(%s) = %q, want it to say %q", id, marquee.ErrorMessage(err), what)
		}
	}
	c := mustAddOrg(t, db, "Empty", tr.a.ID)
	if err := db.DeleteOrganisation(ctx, c.ID); err != nil {
		t.Fatalf("DeleteOrganisation(empty): %v", err)
	}
	wantCode(t, db.DeleteOrganisation(ctx, c.ID), marquee.ENOTFOUND)
}

func testOrgScopedLists(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	byOrg := map[string]string{} // object ID → organisation
	var mediaAll, playlistsAll, displaysAll, schedulesAll []string
	for _, org := range []string{auth.RootOrgID, tr.a.ID, tr.a1.ID, tr.b.ID} {
		m := mustCreateMedia(t, db, newItem("m", func(it *media.Item) { it.OrgID = org }))
		p := newPlaylist("p")
		p.OrgID = org
		mustCreatePlaylist(t, db, p)
		d := mustCreateDisplay(t, db, newDisplay("d", inOrg(org)))
		s := mustCreateSchedule(t, db, newSchedule("s", p.ID, func(s *schedules.Schedule) { s.OrgID = org }))
		for _, id := range []string{m.ID, p.ID, d.ID, s.ID} {
			byOrg[id] = org
		}
		mediaAll, playlistsAll = append(mediaAll, m.ID), append(playlistsAll, p.ID)
		displaysAll, schedulesAll = append(displaysAll, d.ID), append(schedulesAll, s.ID)
		mustInsertPlays(t, db, newPlay(d.ID, t0))
	}
	for _, tt := range []struct {
		within string
		orgs   []string
	}{
		{"", []string{auth.RootOrgID, tr.a.ID, tr.a1.ID, tr.b.ID}},
		{auth.RootOrgID, []string{auth.RootOrgID, tr.a.ID, tr.a1.ID, tr.b.ID}},
		{tr.a.ID, []string{tr.a.ID, tr.a1.ID}},
		{tr.a1.ID, []string{tr.a1.ID}},
		{tr.b.ID, []string{tr.b.ID}},
		{auth.NoOrg, nil},
	} {
		want := func(all []string) []string {
			var out []string
			for _, id := range all {
				if slices.Contains(tt.orgs, byOrg[id]) {
					out = append(out, id)
				}
			}
			slices.Sort(out)
			return out
		}
		ms, _, err := db.FindMedia(ctx, media.Filter{Within: tt.within})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want(mediaAll)) {
			t.Errorf("FindMedia within %q = %v, want %v", tt.within, got, want(mediaAll))
		}
		ps, _, err := db.FindPlaylists(ctx, playlists.Filter{Within: tt.within})
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, p := range ps {
			got = append(got, p.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want(playlistsAll)) {
			t.Errorf("FindPlaylists within %q = %v, want %v", tt.within, got, want(playlistsAll))
		}
		ds, _, err := db.FindDisplays(ctx, displays.Filter{Within: tt.within})
		if err != nil {
			t.Fatal(err)
		}
		if got := sortedIDs(displayIDs(ds)); !slices.Equal(got, want(displaysAll)) {
			t.Errorf("FindDisplays within %q = %v, want %v", tt.within, got, want(displaysAll))
		}
		scs, _, err := db.FindSchedules(ctx, schedules.Filter{Within: tt.within})
		if err != nil {
			t.Fatal(err)
		}
		if got := sortedIDs(scheduleIDs(scs)); !slices.Equal(got, want(schedulesAll)) {
			t.Errorf("FindSchedules within %q = %v, want %v", tt.within, got, want(schedulesAll))
		}
		plays, _, err := db.FindPlays(ctx, fleet.PlayFilter{Within: tt.within})
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, p := range plays {
			got = append(got, p.DisplayID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want(displaysAll)) {
			t.Errorf("FindPlays within %q: displays %v, want %v", tt.within, got, want(displaysAll))
		}
	}
}

func sortedIDs(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// testOrgBranchReferences: content flows down the tree and up it, never
// across; displays never flow up.
func testOrgBranchReferences(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	mediaIn := map[string]string{}
	playlistIn := map[string]string{}
	displayIn := map[string]string{}
	for _, org := range []string{auth.RootOrgID, tr.a.ID, tr.a1.ID, tr.b.ID} {
		mediaIn[org] = mustCreateMedia(t, db, newItem("m", func(it *media.Item) { it.OrgID = org })).ID
		p := newPlaylist("p")
		p.OrgID = org
		playlistIn[org] = mustCreatePlaylist(t, db, p).ID
		displayIn[org] = mustCreateDisplay(t, db, newDisplay("d", inOrg(org))).ID
	}
	// A playlist of a may play the media of the root, a and a1, not b's.
	var all []string
	for _, id := range mediaIn {
		all = append(all, id)
	}
	found, err := db.FindMediaInfo(ctx, tr.a.ID, all)
	if err != nil {
		t.Fatal(err)
	}
	for org, id := range mediaIn {
		if _, ok := found[id]; ok != (org != tr.b.ID) {
			t.Errorf("FindMediaInfo for a playlist of a: media of %s found=%v", org, ok)
		}
	}

	// A display of a may fall back to the playlists of the root, a and
	// a1, not b's; so may a schedule of a play them.
	for org, pid := range playlistIn {
		d := newDisplay("fallback", inOrg(tr.a.ID), func(d *displays.Display) { d.FallbackPlaylistID = pid })
		err := db.CreateDisplay(ctx, d)
		if org == tr.b.ID {
			wantCode(t, err, marquee.EINVALID)
		} else if err != nil {
			t.Errorf("display of a with the fallback of %s: %v", org, err)
		}
		err = db.CheckScheduleReferences(ctx, newSchedule("s", pid, func(s *schedules.Schedule) { s.OrgID = tr.a.ID }))
		if org == tr.b.ID {
			wantCode(t, err, marquee.EINVALID)
		} else if err != nil {
			t.Errorf("schedule of a with the playlist of %s: %v", org, err)
		}
	}
	// Updates check against the stored organisation.
	da := mustFindDisplay(t, db, displayIn[tr.a.ID])
	da.FallbackPlaylistID = playlistIn[tr.b.ID]
	da.OrgID = tr.b.ID // ignored
	_, err = db.UpdateDisplay(ctx, da)
	wantCode(t, err, marquee.EINVALID)

	// A schedule of a names the displays of a and a1 only.
	for org, did := range displayIn {
		s := newSchedule("s", playlistIn[tr.a.ID], targeting([]string{did}), func(s *schedules.Schedule) { s.OrgID = tr.a.ID })
		err := db.CreateSchedule(ctx, s)
		if org == tr.a.ID || org == tr.a1.ID {
			if err != nil {
				t.Errorf("schedule of a naming the display of %s: %v", org, err)
			}
			continue
		}
		wantCode(t, err, marquee.EINVALID)
		if want := `display "` + did + `" does not exist in organisation "` + tr.a.ID + `" or below it`; !strings.HasPrefix(marquee.ErrorMessage(err), want) {
			t.Errorf("schedule of a naming the display of %s: %q, want %q…", org, marquee.ErrorMessage(err), want)
		}
	}
	// UpdateSchedule uses the stored organisation, whatever it is given.
	s := mustCreateSchedule(t, db, newSchedule("s", playlistIn[tr.a.ID], func(s *schedules.Schedule) { s.OrgID = tr.a.ID }))
	s.OrgID = auth.RootOrgID
	s.Targets = schedules.Targets{DisplayIDs: []string{displayIn[auth.RootOrgID]}}
	_, err = db.UpdateSchedule(ctx, s)
	wantCode(t, err, marquee.EINVALID)
}

// testOrgScopedTargeting: a schedule's tags reach the displays of its
// organisation and below; a commune's airport tag never reaches the
// province's airport screens.
func testOrgScopedTargeting(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	pl := mustCreatePlaylist(t, db, newPlaylist("p"))
	dRoot := mustCreateDisplay(t, db, newDisplay("root", withDisplayTags("airport")))
	dA := mustCreateDisplay(t, db, newDisplay("a", inOrg(tr.a.ID), withDisplayTags("airport")))
	dA1 := mustCreateDisplay(t, db, newDisplay("a1", inOrg(tr.a1.ID), withDisplayTags("airport")))
	dB := mustCreateDisplay(t, db, newDisplay("b", inOrg(tr.b.ID), withDisplayTags("airport")))
	inA := func(s *schedules.Schedule) { s.OrgID = tr.a.ID }
	sRoot := mustCreateSchedule(t, db, newSchedule("root", pl.ID))
	sA := mustCreateSchedule(t, db, newSchedule("a", pl.ID, inA))
	sA1 := mustCreateSchedule(t, db, newSchedule("a1", pl.ID, func(s *schedules.Schedule) { s.OrgID = tr.a1.ID }))
	sB := mustCreateSchedule(t, db, newSchedule("b", pl.ID, func(s *schedules.Schedule) { s.OrgID = tr.b.ID }))

	reaches := map[string][]string{
		dRoot.ID: {sRoot.ID},
		dA.ID:    sortedIDs([]string{sRoot.ID, sA.ID}),
		dA1.ID:   sortedIDs([]string{sRoot.ID, sA.ID, sA1.ID}),
		dB.ID:    sortedIDs([]string{sRoot.ID, sB.ID}),
	}
	for did, want := range reaches {
		scs, err := db.FindSchedulesForDisplay(ctx, did)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, scheduleIDs(scs)); diff != "" {
			t.Errorf("FindSchedulesForDisplay(%s) (-want +got):\n%s", did, diff)
		}
		page, _, err := db.FindSchedules(ctx, schedules.Filter{DisplayID: did})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, sortedIDs(scheduleIDs(page))); diff != "" {
			t.Errorf("FindSchedules{DisplayID: %s} (-want +got):\n%s", did, diff)
		}
		scs, err = db.FindSchedulesForDisplays(ctx, []string{did})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, scheduleIDs(scs)); diff != "" {
			t.Errorf("FindSchedulesForDisplays(%s) (-want +got):\n%s", did, diff)
		}
	}
	all := []string{dRoot.ID, dA.ID, dA1.ID, dB.ID, "dsp_nowhere"}
	byDisplay, err := db.FindSchedulesReaching(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for did, scs := range byDisplay {
		got[did] = scheduleIDs(scs)
		for _, s := range scs {
			if len(s.Targets.Tags) == 0 {
				t.Errorf("FindSchedulesReaching: schedule %s without its targets", s.ID)
			}
		}
	}
	if diff := cmp.Diff(reaches, got); diff != "" {
		t.Errorf("FindSchedulesReaching (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		s    *schedules.Schedule
		want []string
	}{
		{sRoot, []string{dRoot.ID, dA.ID, dA1.ID, dB.ID}},
		{sA, []string{dA.ID, dA1.ID}},
		{sA1, []string{dA1.ID}},
		{sB, []string{dB.ID}},
	} {
		ds, err := db.FindDisplaysForSchedule(ctx, tt.s)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sortedIDs(tt.want), displayIDs(ds)); diff != "" {
			t.Errorf("FindDisplaysForSchedule(%s) (-want +got):\n%s", tt.s.Name, diff)
		}
	}
	// By ID too (the store refuses to store such targets; this checks
	// the query on its own).
	ds, err := db.FindDisplaysForSchedule(ctx, &schedules.Schedule{OrgID: tr.a.ID, Targets: schedules.Targets{DisplayIDs: []string{dB.ID, dA1.ID}}})
	if err != nil || !slices.Equal(displayIDs(ds), []string{dA1.ID}) {
		t.Errorf("FindDisplaysForSchedule(a, by ID) = %v, %v; want only %s", displayIDs(ds), err, dA1.ID)
	}
	// FindDisplaysForTargets ignores organisations: a superset.
	ds, err = db.FindDisplaysForTargets(ctx, sA.Targets)
	if err != nil || len(ds) != 4 {
		t.Errorf("FindDisplaysForTargets(airport) = %v, %v; want all four", displayIDs(ds), err)
	}
}
