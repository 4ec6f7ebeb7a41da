package admin_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/schedules"
)

// orgJSON is an organisation as the API answers it.
type orgJSON struct {
	ID        string  `json:"id"`
	ParentID  *string `json:"parent_id"`
	Name      string  `json:"name"`
	Depth     int     `json:"depth"`
	CreatedAt string  `json:"created_at"`
}

type orgPage struct {
	Items      []orgJSON `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// as runs fn with the stack's requests made with token, then restores the
// stack's own token.
func (s *stack) as(token string, fn func()) {
	saved := s.token
	s.token = token
	defer func() { s.token = saved }()
	fn()
}

func (s *stack) mustCreateOrg(name, parent string) orgJSON {
	s.t.Helper()
	var o orgJSON
	mustDecodeStrict(s.t, s.doJSON(http.MethodPost, "/api/v1/organisations", map[string]any{"name": name, "parent_id": parent}),
		http.StatusCreated, &o)
	return o
}

// mustUploadIn uploads an image owned by organisation org.
func (s *stack) mustUploadIn(org, name string, seed int) media.Item {
	s.t.Helper()
	resp := s.upload(part{field: "name", data: []byte(name)}, part{field: "organisation_id", data: []byte(org)},
		part{field: "file", filename: "f.jpg", data: mustJPEG(s.t, 64, 32, seed)})
	var it media.Item
	mustDecode(s.t, resp, http.StatusCreated, &it)
	return it
}

func (s *stack) mustCreateSchedule(body map[string]any) schedules.Schedule {
	s.t.Helper()
	var sc schedules.Schedule
	mustDecode(s.t, s.doJSON(http.MethodPost, "/api/v1/schedules", body), http.StatusCreated, &sc)
	return sc
}

func scheduleBody(name, org, playlist string, displayIDs, tags []string) map[string]any {
	return map[string]any{"name": name, "organisation_id": org, "playlist_id": playlist,
		"targets": map[string]any{"display_ids": displayIDs, "tags": tags}}
}

// stateRules returns the schedule IDs in the desired state of display id,
// as the province (root) admin sees it.
func (s *stack) stateRules(id string) []string {
	s.t.Helper()
	var st struct {
		Rules []struct {
			ScheduleID string `json:"schedule_id"`
		} `json:"rules"`
	}
	mustDecode(s.t, s.get("/api/v1/displays/"+id+"/state"), http.StatusOK, &st)
	var ids []string
	for _, r := range st.Rules {
		ids = append(ids, r.ScheduleID)
	}
	slices.Sort(ids)
	return ids
}

func listIDs[T any](t *testing.T, s *stack, path string, id func(T) string) []string {
	t.Helper()
	var page struct {
		Items []T `json:"items"`
	}
	mustDecode(t, s.get(path), http.StatusOK, &page)
	var ids []string
	for _, it := range page.Items {
		ids = append(ids, id(it))
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// scopeFixture: the province (root) with two sibling districts A and B,
// a commune below A; media, a playlist and a display tagged airport in
// each of A, B and the province, and a schedule in B.
type scopeFixture struct {
	*stack
	rootToken               string
	a, b, a1                orgJSON
	editorA, adminA         string // tokens
	mA, mB, mP              media.Item
	pA, pB, pP              playlistJSON
	dA, dB, dP              displayJSON
	sB                      schedules.Schedule
	editorAUser, adminAUser *auth.User
}

func newScopeFixture(t *testing.T) *scopeFixture {
	s := newStack(t, stackOptions{}).login()
	f := &scopeFixture{stack: s, rootToken: s.token}
	f.a = s.mustCreateOrg("District A", "")
	f.b = s.mustCreateOrg("District B", auth.RootOrgID)
	f.a1 = s.mustCreateOrg("Commune A1", f.a.ID)

	f.editorAUser = s.mustStoreUser(f.a.ID, "editor_a", auth.RoleEditor, false)
	f.adminAUser = s.mustStoreUser(f.a.ID, "admin_a", auth.RoleAdmin, false)
	f.editorA, f.adminA = s.mustStoreSession(f.editorAUser), s.mustStoreSession(f.adminAUser)

	f.mA = s.mustUploadIn(f.a.ID, "a.jpg", 1)
	f.mB = s.mustUploadIn(f.b.ID, "b.jpg", 2)
	f.mP = s.mustUploadIn(auth.RootOrgID, "p.jpg", 3)
	item := func(m media.Item) []any { return []any{map[string]any{"media_id": m.ID}} }
	f.pA = s.mustCreatePlaylist(map[string]any{"name": "A", "organisation_id": f.a.ID, "items": item(f.mA)})
	f.pB = s.mustCreatePlaylist(map[string]any{"name": "B", "organisation_id": f.b.ID, "items": item(f.mB)})
	f.pP = s.mustCreatePlaylist(map[string]any{"name": "P", "items": item(f.mP)})
	f.dA = s.mustCreateDisplay(display("A airport", "organisation_id", f.a.ID, "tags", []string{"airport"}))
	f.dB = s.mustCreateDisplay(display("B airport", "organisation_id", f.b.ID, "tags", []string{"airport"}))
	f.dP = s.mustCreateDisplay(display("Province airport", "tags", []string{"airport"}))
	f.sB = s.mustCreateSchedule(scheduleBody("B airport", f.b.ID, f.pB.ID, nil, []string{"airport"}))
	s.mustApproveSchedule(f.sB.ID)
	return f
}

func TestOrganisationsAPI(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack

	// The root admin sees the whole tree, in tree order.
	var page orgPage
	mustDecodeStrict(t, s.get("/api/v1/organisations"), http.StatusOK, &page)
	var got []string
	for _, o := range page.Items {
		parent := "-"
		if o.ParentID != nil {
			parent = *o.ParentID
		}
		got = append(got, o.ID+" "+parent+" "+strings.Repeat(">", o.Depth))
	}
	want := []string{auth.RootOrgID + " - ", f.a.ID + " " + auth.RootOrgID + " >", f.a1.ID + " " + f.a.ID + " >>",
		f.b.ID + " " + auth.RootOrgID + " >"}
	if !slices.Equal(got, want) {
		t.Fatalf("organisations = %q, want %q", got, want)
	}
	if loc := s.doJSON(http.MethodPost, "/api/v1/organisations", map[string]any{"name": "X"}).Header.Get("Location"); !strings.HasPrefix(loc, "/api/v1/organisations/org_") {
		t.Errorf("Location = %q", loc)
	}

	s.as(f.adminA, func() {
		// District A's admin sees A and below, nothing else.
		var page orgPage
		mustDecodeStrict(t, s.get("/api/v1/organisations"), http.StatusOK, &page)
		if len(page.Items) != 2 || page.Items[0].ID != f.a.ID || page.Items[1].ID != f.a1.ID {
			t.Fatalf("district A's organisations = %+v", page.Items)
		}
		wantError(t, s.get("/api/v1/organisations/"+f.b.ID), http.StatusNotFound, "not_found")
		wantError(t, s.get("/api/v1/organisations/"+auth.RootOrgID), http.StatusNotFound, "not_found")
		// Creating under a parent outside the subtree, or renaming or
		// deleting outside it, is refused without revealing anything.
		wantError(t, s.doJSON(http.MethodPost, "/api/v1/organisations", map[string]any{"name": "x", "parent_id": f.b.ID}),
			http.StatusBadRequest, "invalid")
		wantError(t, s.doJSON(http.MethodPatch, "/api/v1/organisations/"+f.b.ID, map[string]any{"name": "x"}),
			http.StatusNotFound, "not_found")
		wantError(t, s.do(http.MethodDelete, "/api/v1/organisations/"+f.b.ID, nil, nil), http.StatusNotFound, "not_found")
		// One's own organisation cannot be deleted by oneself.
		wantError(t, s.do(http.MethodDelete, "/api/v1/organisations/"+f.a.ID, nil, nil), http.StatusForbidden, "forbidden")

		// Below A: create, rename, delete.
		c := s.mustCreateOrg("Commune A2", f.a.ID)
		if c.Depth != 2 || c.ParentID == nil || *c.ParentID != f.a.ID {
			t.Fatalf("created %+v", c)
		}
		var renamed orgJSON
		mustDecodeStrict(t, s.doJSON(http.MethodPatch, "/api/v1/organisations/"+c.ID, map[string]any{"name": "  Xã A2 "}),
			http.StatusOK, &renamed)
		if renamed.Name != "Xã A2" || renamed.ID != c.ID {
			t.Fatalf("renamed %+v", renamed)
		}
		wantError(t, s.doJSON(http.MethodPatch, "/api/v1/organisations/"+c.ID, map[string]any{"parent_id": f.b.ID}),
			http.StatusBadRequest, "invalid") // organisations are never moved
		if resp := s.do(http.MethodDelete, "/api/v1/organisations/"+c.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete empty commune: %d", resp.StatusCode)
		}
		wantError(t, s.get("/api/v1/organisations/"+c.ID), http.StatusNotFound, "not_found")
	})

	// A district with users, objects or communes cannot be deleted.
	env := wantError(t, s.do(http.MethodDelete, "/api/v1/organisations/"+f.a.ID, nil, nil), http.StatusConflict, "conflict")
	for _, what := range []string{"1 organisations below it", "2 users", "1 media items", "1 playlists", "1 displays"} {
		if !strings.Contains(env.Error.Message, what) {
			t.Errorf("conflict message %q does not say %q", env.Error.Message, what)
		}
	}
	wantError(t, s.do(http.MethodDelete, "/api/v1/organisations/"+auth.RootOrgID, nil, nil), http.StatusForbidden, "forbidden")

	// Editors read the tree but may not change it (the matrix test covers
	// every role; this is the scope on top).
	s.as(f.editorA, func() {
		wantError(t, s.doJSON(http.MethodPost, "/api/v1/organisations", map[string]any{"name": "x"}), http.StatusForbidden, "forbidden")
		var o orgJSON
		mustDecodeStrict(t, s.get("/api/v1/organisations/"+f.a1.ID), http.StatusOK, &o)
	})
}

// TestScopeSiblingDistricts: a district's editor neither sees nor changes
// the other district's media, playlists, displays and schedules (404, as
// for what does not exist), while the province admin sees both.
func TestScopeSiblingDistricts(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	mediaID := func(m media.Item) string { return m.ID }
	playlistID := func(p playlistJSON) string { return p.ID }
	displayID := func(d displayJSON) string { return d.ID }
	scheduleID := func(sc schedules.Schedule) string { return sc.ID }

	sA := schedules.Schedule{}
	s.as(f.editorA, func() {
		// Lists hold A's objects only.
		if got, want := listIDs(t, s, "/api/v1/media", mediaID), []string{f.mA.ID}; !slices.Equal(got, want) {
			t.Errorf("district A's media = %v, want %v", got, want)
		}
		if got, want := listIDs(t, s, "/api/v1/playlists", playlistID), []string{f.pA.ID}; !slices.Equal(got, want) {
			t.Errorf("district A's playlists = %v, want %v", got, want)
		}
		if got, want := listIDs(t, s, "/api/v1/displays", displayID), []string{f.dA.ID}; !slices.Equal(got, want) {
			t.Errorf("district A's displays = %v, want %v", got, want)
		}
		if got := listIDs(t, s, "/api/v1/schedules", scheduleID); len(got) != 0 {
			t.Errorf("district A's schedules = %v, want none", got)
		}
		if got := listIDs(t, s, "/api/v1/schedules?display_id="+f.dB.ID, scheduleID); len(got) != 0 {
			t.Errorf("district A's schedules of B's display = %v, want none", got)
		}

		// B's objects answer 404 to every method, as if absent.
		for _, tt := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/api/v1/media/" + f.mB.ID, nil},
			{http.MethodPatch, "/api/v1/media/" + f.mB.ID, map[string]any{"name": "x"}},
			{http.MethodDelete, "/api/v1/media/" + f.mB.ID, nil},
			{http.MethodGet, "/api/v1/media/" + f.mB.ID + "/content", nil},
			{http.MethodGet, "/api/v1/media/" + f.mB.ID + "/rendition?w=32&h=16", nil},
			{http.MethodGet, "/api/v1/media/" + f.mB.ID + "/thumbnail", nil},
			{http.MethodGet, "/api/v1/playlists/" + f.pB.ID, nil},
			{http.MethodPut, "/api/v1/playlists/" + f.pB.ID, map[string]any{"name": "x", "items": []any{}}},
			{http.MethodDelete, "/api/v1/playlists/" + f.pB.ID, nil},
			{http.MethodGet, "/api/v1/playlists/" + f.pB.ID + "/revisions", nil},
			{http.MethodGet, "/api/v1/playlists/" + f.pB.ID + "/revisions/1", nil},
			{http.MethodGet, "/api/v1/displays/" + f.dB.ID, nil},
			{http.MethodGet, "/api/v1/displays/" + f.dB.ID + "/state", nil},
			{http.MethodGet, "/api/v1/displays/" + f.dB.ID + "/timeline", nil},
			{http.MethodGet, "/api/v1/schedules/" + f.sB.ID, nil},
			{http.MethodPut, "/api/v1/schedules/" + f.sB.ID, scheduleBody("x", "", f.pA.ID, nil, []string{"x"})},
			{http.MethodDelete, "/api/v1/schedules/" + f.sB.ID, nil},
			{http.MethodPost, "/api/v1/schedules/check?schedule_id=" + f.sB.ID, scheduleBody("x", "", f.pA.ID, nil, []string{"x"})},
		} {
			var resp *http.Response
			if tt.body != nil {
				resp = s.doJSON(tt.method, tt.path, tt.body)
			} else {
				resp = s.do(tt.method, tt.path, nil, nil)
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s as district A's editor: status %d, want 404", tt.method, tt.path, resp.StatusCode)
			}
		}

		// New objects go to A (the default) or below, never to B.
		for _, tt := range []struct {
			name string
			resp *http.Response
		}{
			{"media", s.upload(part{field: "organisation_id", data: []byte(f.b.ID)}, part{field: "file", filename: "x.jpg", data: mustJPEG(t, 8, 8, 9)})},
			{"playlist", s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": "x", "organisation_id": f.b.ID, "items": []any{}})},
			{"schedule", s.doJSON(http.MethodPost, "/api/v1/schedules", scheduleBody("x", f.b.ID, f.pB.ID, nil, []string{"x"}))},
			{"province schedule", s.doJSON(http.MethodPost, "/api/v1/schedules", scheduleBody("x", auth.RootOrgID, f.pP.ID, nil, []string{"x"}))},
		} {
			env := wantError(t, tt.resp, http.StatusBadRequest, "invalid")
			if !strings.Contains(env.Error.Message, "is not yours") {
				t.Errorf("%s in another organisation: message %q", tt.name, env.Error.Message)
			}
		}
		inA1 := s.mustCreatePlaylist(map[string]any{"name": "Commune", "organisation_id": f.a1.ID, "items": []any{}})
		if inA1.OrgID != f.a1.ID {
			t.Errorf("playlist in commune A1: organisation %q", inA1.OrgID)
		}
		if p := s.mustCreatePlaylist(map[string]any{"name": "Default", "items": []any{}}); p.OrgID != f.a.ID {
			t.Errorf("playlist without organisation_id: organisation %q, want the user's %q", p.OrgID, f.a.ID)
		}

		// Content flows down: A may play the province's media and
		// playlist, not B's.
		s.mustCreatePlaylist(map[string]any{"name": "Province media", "items": []any{map[string]any{"media_id": f.mP.ID}}})
		wantError(t, s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": "x",
			"items": []any{map[string]any{"media_id": f.mB.ID}}}), http.StatusBadRequest, "invalid")
		s.mustCreateSchedule(scheduleBody("Province playlist", "", f.pP.ID, []string{f.dA.ID}, nil))
		env := wantError(t, s.doJSON(http.MethodPost, "/api/v1/schedules", scheduleBody("x", "", f.pB.ID, nil, []string{"airport"})),
			http.StatusBadRequest, "invalid")
		if want := `playlist "` + f.pB.ID + `" does not exist`; env.Error.Message != want {
			t.Errorf("B's playlist: message %q, want %q", env.Error.Message, want)
		}

		// Screens do not flow up: A's schedules name only A's displays.
		for _, d := range []displayJSON{f.dB, f.dP} {
			for _, path := range []string{"/api/v1/schedules", "/api/v1/schedules/check"} {
				env := wantError(t, s.doJSON(http.MethodPost, path, scheduleBody("x", "", f.pA.ID, []string{d.ID}, nil)),
					http.StatusBadRequest, "invalid")
				if want := `display "` + d.ID + `" does not exist in organisation "` + f.a.ID + `" or below it`; !strings.Contains(env.Error.Message, want) {
					t.Errorf("POST %s naming %s: message %q, want it to say %q", path, d.Name, env.Error.Message, want)
				}
			}
		}

		// A's schedule for the tag airport: its conflict report and its
		// reach stop at A's displays.
		var created struct {
			schedules.Schedule
			Conflicts []schedules.Conflict `json:"conflicts"`
		}
		mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/schedules", scheduleBody("A airport", "", f.pA.ID, nil, []string{"airport"})),
			http.StatusCreated, &created)
		sA = created.Schedule
		for _, c := range created.Conflicts {
			if c.DisplayID != f.dA.ID || c.ScheduleID == f.sB.ID {
				t.Errorf("conflict outside district A: %+v", c)
			}
		}
		var rep schedules.Report
		mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/schedules/check", scheduleBody("x", "", f.pA.ID, nil, []string{"airport"})),
			http.StatusOK, &rep)
		if !slices.Equal(rep.Displays, []string{f.dA.ID}) {
			t.Errorf("check of a tag schedule in A examined %v, want only %s", rep.Displays, f.dA.ID)
		}
	})

	s.as(f.adminA, func() {
		// Admins of A manage A's displays only.
		for _, tt := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPut, "/api/v1/displays/" + f.dB.ID, display("x")},
			{http.MethodDelete, "/api/v1/displays/" + f.dB.ID, nil},
			{http.MethodPost, "/api/v1/displays/" + f.dB.ID + "/token", nil},
		} {
			var resp *http.Response
			if tt.body != nil {
				resp = s.doJSON(tt.method, tt.path, tt.body)
			} else {
				resp = s.do(tt.method, tt.path, nil, nil)
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s as district A's admin: status %d, want 404", tt.method, tt.path, resp.StatusCode)
			}
		}
		wantError(t, s.doJSON(http.MethodPost, "/api/v1/displays", display("x", "organisation_id", f.b.ID)), http.StatusBadRequest, "invalid")
		wantError(t, s.doJSON(http.MethodPost, "/api/v1/displays", display("x", "fallback_playlist_id", f.pB.ID)), http.StatusBadRequest, "invalid")
		s.mustCreateDisplay(display("A with the province's fallback", "fallback_playlist_id", f.pP.ID))
		// Objects do not move between organisations.
		wantError(t, s.doJSON(http.MethodPut, "/api/v1/displays/"+f.dA.ID, display("x", "organisation_id", f.a1.ID)),
			http.StatusBadRequest, "invalid")
	})

	// The province admin sees both districts.
	if got, want := listIDs(t, s, "/api/v1/media", mediaID), sorted(f.mA.ID, f.mB.ID, f.mP.ID); !slices.Equal(got, want) {
		t.Errorf("province media = %v, want %v", got, want)
	}
	if got := listIDs(t, s, "/api/v1/displays", displayID); !slices.Contains(got, f.dA.ID) || !slices.Contains(got, f.dB.ID) {
		t.Errorf("province displays = %v, want both districts'", got)
	}
	if got := listIDs(t, s, "/api/v1/schedules", scheduleID); !slices.Contains(got, sA.ID) || !slices.Contains(got, f.sB.ID) {
		t.Errorf("province schedules = %v, want both districts'", got)
	}
	mustDecode(t, s.get("/api/v1/playlists/"+f.pB.ID), http.StatusOK, &playlistJSON{})

	// Tag targets resolve within the schedule's organisation: A's airport
	// schedule reaches A's airport screen only, B's B's only; the
	// province's reaches every airport screen.
	sP := s.mustCreateSchedule(scheduleBody("Province airport", "", f.pP.ID, nil, []string{"airport"}))
	s.mustApproveSchedule(sA.ID) // made by A's editor: the province approves it
	s.mustApproveSchedule(sP.ID)
	if got, want := s.stateRules(f.dA.ID), sorted(sA.ID, sP.ID); !slices.Contains(got, sA.ID) || slices.Contains(got, f.sB.ID) || !slices.Contains(got, sP.ID) {
		t.Errorf("state of A's display: rules %v, want %v (and no B schedule)", got, want)
	}
	if got, want := s.stateRules(f.dB.ID), sorted(f.sB.ID, sP.ID); !slices.Equal(got, want) {
		t.Errorf("state of B's display: rules %v, want %v", got, want)
	}
	if got, want := s.stateRules(f.dP.ID), []string{sP.ID}; !slices.Equal(got, want) {
		t.Errorf("state of the province's display: rules %v, want %v", got, want)
	}

	// The store's targeting queries, which publishing uses, agree.
	ctx := context.Background()
	ds, err := s.db.FindDisplaysForSchedule(ctx, &sA)
	if err != nil || len(ds) != 1 || ds[0].ID != f.dA.ID {
		t.Errorf("FindDisplaysForSchedule(A's airport schedule) = %v, %v; want only %s", ds, err, f.dA.ID)
	}
	reach, err := s.db.FindSchedulesReaching(ctx, []string{f.dA.ID, f.dB.ID, f.dP.ID})
	if err != nil {
		t.Fatal(err)
	}
	for d, scs := range reach {
		for _, sc := range scs {
			if sc.ID == sA.ID && d != f.dA.ID || sc.ID == f.sB.ID && d != f.dB.ID {
				t.Errorf("FindSchedulesReaching: %s reaches %s", sc.Name, d)
			}
		}
	}
	if scs, err := s.db.FindSchedulesForDisplay(ctx, f.dP.ID); err != nil || len(scs) != 1 || scs[0].ID != sP.ID {
		t.Errorf("FindSchedulesForDisplay(province display) = %v, %v; want only the province's schedule", scs, err)
	}
}
