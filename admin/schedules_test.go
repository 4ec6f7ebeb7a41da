package admin_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee/auth"
)

// scheduleJSON is a schedule as the API answers it; Conflicts and
// Truncated only on create and PUT.
type scheduleJSON struct {
	ID         string         `json:"id"`
	OrgID      string         `json:"organisation_id"`
	Name       string         `json:"name"`
	PlaylistID string         `json:"playlist_id"`
	Targets    targetsJSON    `json:"targets"`
	Cron       string         `json:"cron"`
	Duration   string         `json:"duration"`
	StartsOn   string         `json:"starts_on"`
	EndsOn     string         `json:"ends_on"`
	Priority   string         `json:"priority"`
	Timezone   string         `json:"timezone"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Approval   approvalJSON   `json:"approval"`
	Conflicts  []conflictJSON `json:"conflicts,omitempty"`
	Truncated  bool           `json:"truncated,omitempty"`
}

// approvalJSON is a schedule's "approval" object.
type approvalJSON struct {
	Status            string       `json:"status"`
	Reason            string       `json:"reason"`
	SubmittedBy       string       `json:"submitted_by"`
	SubmittedAt       *time.Time   `json:"submitted_at"`
	SubmittedRevision int64        `json:"submitted_playlist_revision"`
	DecidedBy         string       `json:"decided_by"`
	DecidedAt         *time.Time   `json:"decided_at"`
	Live              bool         `json:"live"`
	ApprovedRevision  int64        `json:"approved_playlist_revision"`
	ChangesPending    bool         `json:"changes_pending"`
	Approved          *versionJSON `json:"approved"`
}

// versionJSON is an approved version of a schedule.
type versionJSON struct {
	Name             string      `json:"name"`
	PlaylistID       string      `json:"playlist_id"`
	PlaylistRevision int64       `json:"playlist_revision"`
	Targets          targetsJSON `json:"targets"`
	Cron             string      `json:"cron"`
	Duration         string      `json:"duration"`
	StartsOn         string      `json:"starts_on"`
	EndsOn           string      `json:"ends_on"`
	Priority         string      `json:"priority"`
	Timezone         string      `json:"timezone"`
	ApprovedBy       string      `json:"approved_by"`
	ApprovedAt       time.Time   `json:"approved_at"`
}

type targetsJSON struct {
	DisplayIDs []string `json:"display_ids"`
	Tags       []string `json:"tags"`
}

type conflictJSON struct {
	DisplayID    string    `json:"display_id"`
	DisplayName  string    `json:"display_name"`
	ScheduleID   string    `json:"schedule_id"`
	ScheduleName string    `json:"schedule_name"`
	Kind         string    `json:"kind"`
	First        time.Time `json:"first"`
	OverlapMS    int64     `json:"overlap_ms"`
}

// checkJSON is the answer of POST /api/v1/schedules/check.
type checkJSON struct {
	Conflicts []conflictJSON `json:"conflicts"`
	Displays  []string       `json:"displays"`
	Truncated bool           `json:"truncated"`
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
}

type schedulePage struct {
	Items      []scheduleJSON `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// ict is the zone schedules default to.
var ict = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		panic(err)
	}
	return loc
}()

// set sets the clock.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// scheduleFixture is a logged-in stack at 00:00 on Monday 1 June 2026 in
// Vietnam, with one playlist and two displays: lobby (airport) and street.
type scheduleFixture struct {
	*stack
	playlist      string
	lobby, street displayJSON
}

func newScheduleFixture(t *testing.T) *scheduleFixture {
	s := newStack(t, stackOptions{}).login()
	s.clock.set(time.Date(2026, 6, 1, 0, 0, 0, 0, ict))
	f := &scheduleFixture{stack: s}
	f.playlist = s.mustCreatePlaylist(map[string]any{"name": "Campaign", "items": []any{}}).ID
	f.lobby = s.mustCreateDisplay(display("Lobby", "tags", []string{"airport"}))
	f.street = s.mustCreateDisplay(display("Street"))
	return f
}

// schedule returns a valid body: a campaign 07:00–17:00 on weekdays in June
// 2026 on every airport display; kv pairs override fields.
func (f *scheduleFixture) schedule(name string, kv ...any) map[string]any {
	m := map[string]any{
		"name":        name,
		"playlist_id": f.playlist,
		"targets":     map[string]any{"display_ids": []string{}, "tags": []string{"airport"}},
		"cron":        "0 7 * * 1-5",
		"duration":    "10h",
		"starts_on":   "2026-06-01",
		"ends_on":     "2026-06-30",
		"priority":    "campaign",
		"timezone":    "Asia/Ho_Chi_Minh",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (f *scheduleFixture) mustCreateSchedule(body any) scheduleJSON {
	f.t.Helper()
	var sc scheduleJSON
	mustDecodeStrict(f.t, f.doJSON(http.MethodPost, "/api/v1/schedules", body), http.StatusCreated, &sc)
	return sc
}

// mustPublishSchedule creates a schedule, submits it and approves it (the
// stack's user is the root admin), and returns the answer to the create:
// the schedule with its conflict report.
func (f *scheduleFixture) mustPublishSchedule(body any) scheduleJSON {
	f.t.Helper()
	sc := f.mustCreateSchedule(body)
	f.mustApproveSchedule(sc.ID)
	return sc
}

// mustApproveSchedule submits schedule id and approves it, as the stack's
// user, unless it is approved already (an admin's emergency schedule is
// approved on creation); it returns the approved schedule.
func (s *stack) mustApproveSchedule(id string) scheduleJSON {
	s.t.Helper()
	var sc scheduleJSON
	mustDecodeStrict(s.t, s.get("/api/v1/schedules/"+id), http.StatusOK, &sc)
	if sc.Approval.Status == "approved" && !sc.Approval.ChangesPending {
		return sc
	}
	mustDecodeStrict(s.t, s.do(http.MethodPost, "/api/v1/schedules/"+id+"/submit", nil, nil), http.StatusOK, &sc)
	mustDecodeStrict(s.t, s.do(http.MethodPost, "/api/v1/schedules/"+id+"/approve", nil, nil), http.StatusOK, &sc)
	return sc
}

func (f *scheduleFixture) countSchedules() int {
	f.t.Helper()
	var p schedulePage
	mustDecodeStrict(f.t, f.get("/api/v1/schedules?limit=500"), http.StatusOK, &p)
	return len(p.Items)
}

func TestCreateSchedule(t *testing.T) {
	f := newScheduleFixture(t)
	resp := f.doJSON(http.MethodPost, "/api/v1/schedules", f.schedule("Chiến dịch hè",
		"targets", map[string]any{"display_ids": []string{f.street.ID}, "tags": []string{"Airport"}}))
	var sc scheduleJSON
	mustDecodeStrict(t, resp, http.StatusCreated, &sc)
	if got, want := resp.Header.Get("Location"), "/api/v1/schedules/"+sc.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, ict).UTC()
	want := scheduleJSON{
		ID: sc.ID, OrgID: auth.RootOrgID, Name: "Chiến dịch hè", PlaylistID: f.playlist,
		Targets: targetsJSON{DisplayIDs: []string{f.street.ID}, Tags: []string{"airport"}},
		Cron:    "0 7 * * 1-5", Duration: "10h0m0s", StartsOn: "2026-06-01", EndsOn: "2026-06-30",
		Priority: "campaign", Timezone: "Asia/Ho_Chi_Minh", CreatedAt: now, UpdatedAt: now,
		Approval:  approvalJSON{Status: "draft"}, // to be submitted and approved before it plays
		Conflicts: []conflictJSON{},
	}
	if diff := cmp.Diff(want, sc); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}
	want.Conflicts = nil // GET carries no report
	// The conflict report is part of the answer, empty here.
	raw := readBody(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.schedule("Alone", "targets", map[string]any{"tags": []string{"nowhere"}})))
	if !strings.Contains(raw, `"conflicts":[]`) || !strings.Contains(raw, `"truncated":false`) {
		t.Fatalf("create answer without an empty report: %s", raw)
	}

	var got scheduleJSON
	mustDecodeStrict(t, f.get("/api/v1/schedules/"+sc.ID), http.StatusOK, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GET (-want +got):\n%s", diff)
	}
	if raw := readBody(t, f.get("/api/v1/schedules/"+sc.ID)); strings.Contains(raw, "conflicts") {
		t.Errorf("GET carries a conflict report: %s", raw)
	}

	// Defaults: priority normal, Vietnam's zone; all day needs no duration.
	var d scheduleJSON
	mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", map[string]any{
		"name": "All day", "playlist_id": f.playlist, "targets": map[string]any{"display_ids": []string{f.lobby.ID}},
	}), http.StatusCreated, &d)
	if d.Priority != "normal" || d.Timezone != "Asia/Ho_Chi_Minh" || d.Cron != "" || d.Duration != "" ||
		d.StartsOn != "" || d.EndsOn != "" || d.Targets.Tags == nil {
		t.Fatalf("defaults: %+v", d)
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestCreateScheduleInvalid(t *testing.T) {
	f := newScheduleFixture(t)
	for _, tt := range []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"4 fields", f.schedule("x", "cron", "0 7 * *"), `cron "0 7 * *": expected 5 fields (minute hour day-of-month month day-of-week), found 4`},
		{"6 fields", f.schedule("x", "cron", "0 0 7 * * 1"), "expected 5 fields"},
		{"field out of range", f.schedule("x", "cron", "0 25 * * *"), `cron "0 25 * * *"`},
		{"TZ= (panics robfig's parser)", f.schedule("x", "cron", "TZ=0"), `cron "TZ=0": must not name a zone`},
		{"never fires", f.schedule("x", "cron", "0 0 30 2 *"), `cron "0 0 30 2 *" never fires`},
		{"fires only outside the dates", f.schedule("x", "cron", "0 7 * * 6", "starts_on", "2026-06-01", "ends_on", "2026-06-05"),
			`cron "0 7 * * 6" never fires between starts_on 2026-06-01 and ends_on 2026-06-05`},
		{"ends before it starts", f.schedule("x", "ends_on", "2026-05-31"), "ends_on 2026-05-31 is before starts_on 2026-06-01"},
		{"bad date", f.schedule("x", "starts_on", "1/6/2026"), `starts_on "1/6/2026" is not a date (YYYY-MM-DD)`},
		{"cron without duration", f.schedule("x", "duration", ""), "a schedule with a cron needs a duration"},
		{"duration without cron", f.schedule("x", "cron", ""), "duration needs a cron"},
		{"unparsable duration", f.schedule("x", "duration", "10 hours"), `duration "10 hours" is not a duration such as "10h"`},
		{"duration as number", f.schedule("x", "duration", 36000), `field "duration" must be a string`},
		{"duration over 31 days", f.schedule("x", "duration", "800h"), "longer than 31 days"},
		{"unknown priority", f.schedule("x", "priority", "urgent"), `priority "urgent" is not one of fallback, normal, campaign, takeover, emergency`},
		{"unknown zone", f.schedule("x", "timezone", "Asia/Hanoi"), `timezone "Asia/Hanoi" is not a known IANA zone`},
		{"no targets", f.schedule("x", "targets", map[string]any{}), "targets must name at least one display or tag"},
		{"unknown display", f.schedule("x", "targets", map[string]any{"display_ids": []string{"dsp_missing"}}), `display "dsp_missing" does not exist`},
		{"bad tag", f.schedule("x", "targets", map[string]any{"tags": []string{"a b"}}), `tag "a b"`},
		{"unknown target field", f.schedule("x", "targets", map[string]any{"groups": []string{"a"}}), `unknown field "groups"`},
		{"unknown playlist", f.schedule("x", "playlist_id", "pls_missing"), `playlist "pls_missing" does not exist`},
		{"no playlist", f.schedule("x", "playlist_id", ""), "playlist_id is required"},
		{"no name", f.schedule(""), "name is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/schedules", "/api/v1/schedules/check"} {
				env := wantError(t, f.doJSON(http.MethodPost, path, tt.body), http.StatusBadRequest, "invalid")
				if !strings.Contains(env.Error.Message, tt.msg) {
					t.Fatalf("POST %s: message = %q, want it to say %q", path, env.Error.Message, tt.msg)
				}
			}
		})
	}
	if n := f.countSchedules(); n != 0 {
		t.Fatalf("refused creates stored %d schedules", n)
	}
}

func TestScheduleConflictReport(t *testing.T) {
	f := newScheduleFixture(t)
	at := func(day, hour int) time.Time { return time.Date(2026, 6, day, hour, 0, 0, 0, ict).UTC() }

	a := f.mustPublishSchedule(f.schedule("Summer campaign"))
	if len(a.Conflicts) != 0 {
		t.Fatalf("first schedule has conflicts: %+v", a.Conflicts)
	}
	// Two campaigns overlapping on the lobby share it: B runs 09:00–11:00
	// on weekdays in June, inside A's 07:00–17:00, so 2 h × 22 weekdays.
	b := f.mustPublishSchedule(f.schedule("Festival", "cron", "0 9 * * 1-5", "duration", "2h",
		"targets", map[string]any{"display_ids": []string{f.lobby.ID, f.street.ID}}))
	want := []conflictJSON{{
		DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: a.ID, ScheduleName: "Summer campaign",
		Kind: "shares", First: at(1, 9), OverlapMS: (44 * time.Hour).Milliseconds(),
	}}
	if diff := cmp.Diff(want, b.Conflicts); diff != "" {
		t.Fatalf("conflicts of the second campaign (-want +got):\n%s", diff)
	}

	// The report compares with what plays: a draft plays nowhere, so it
	// conflicts with nothing.
	f.mustCreateSchedule(f.schedule("Draft on the lobby", "targets", map[string]any{"display_ids": []string{f.lobby.ID}}))

	// An emergency on the lobby, all day on 10 June, pre-empts both
	// (an admin's emergency schedule plays at once).
	em := f.mustCreateSchedule(f.schedule("Storm warning", "priority", "emergency", "cron", "", "duration", "",
		"starts_on", "2026-06-10", "ends_on", "2026-06-10", "targets", map[string]any{"display_ids": []string{f.lobby.ID}}))
	want = []conflictJSON{
		{DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: a.ID, ScheduleName: "Summer campaign",
			Kind: "preempts", First: at(10, 7), OverlapMS: (10 * time.Hour).Milliseconds()},
		{DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: b.ID, ScheduleName: "Festival",
			Kind: "preempts", First: at(10, 9), OverlapMS: (2 * time.Hour).Milliseconds()},
	}
	if diff := cmp.Diff(want, em.Conflicts); diff != "" {
		t.Fatalf("conflicts of the emergency (-want +got):\n%s", diff)
	}

	// Editing the first campaign (PUT) shows it from its side: it shares
	// with B and the emergency pre-empts it; its own approved version is
	// not a conflict.
	var edited scheduleJSON
	mustDecodeStrict(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+a.ID, f.schedule("Summer campaign v2")), http.StatusOK, &edited)
	want = []conflictJSON{
		{DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: b.ID, ScheduleName: "Festival",
			Kind: "shares", First: at(1, 9), OverlapMS: (44 * time.Hour).Milliseconds()},
		{DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: em.ID, ScheduleName: "Storm warning",
			Kind: "preempted_by", First: at(10, 7), OverlapMS: (10 * time.Hour).Milliseconds()},
	}
	if diff := cmp.Diff(want, edited.Conflicts); diff != "" {
		t.Fatalf("conflicts of the edit (-want +got):\n%s", diff)
	}
	if edited.Name != "Summer campaign v2" || edited.ID != a.ID {
		t.Fatalf("edited = %+v", edited)
	}
}

func TestCheckSchedule(t *testing.T) {
	f := newScheduleFixture(t)
	a := f.mustPublishSchedule(f.schedule("Campaign"))
	before := f.countSchedules()

	body := f.schedule("Takeover", "priority", "takeover", "cron", "0 12 * * *", "duration", "1h",
		"targets", map[string]any{"display_ids": []string{f.street.ID}, "tags": []string{"airport"}})
	var rep checkJSON
	mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules/check", body), http.StatusOK, &rep)
	want := checkJSON{
		Conflicts: []conflictJSON{{DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: a.ID, ScheduleName: "Campaign",
			Kind: "preempts", First: time.Date(2026, 6, 1, 12, 0, 0, 0, ict).UTC(), OverlapMS: (22 * time.Hour).Milliseconds()}},
		Displays: sortedIDs(f.lobby.ID, f.street.ID),
		From:     time.Date(2026, 6, 1, 0, 0, 0, 0, ict).UTC(),
		To:       time.Date(2026, 7, 1, 0, 0, 0, 0, ict).UTC(),
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Fatalf("check (-want +got):\n%s", diff)
	}
	if n := f.countSchedules(); n != before {
		t.Fatalf("check stored a schedule: %d schedules, want %d", n, before)
	}

	// Checking an edit of the campaign leaves its stored self out.
	mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules/check?schedule_id="+a.ID, f.schedule("Campaign")), http.StatusOK, &rep)
	if len(rep.Conflicts) != 0 {
		t.Fatalf("an edit conflicts with itself: %+v", rep.Conflicts)
	}
	mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules/check", f.schedule("Campaign")), http.StatusOK, &rep)
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Kind != "shares" {
		t.Fatalf("a copy of the campaign: %+v, want it to share with the original", rep.Conflicts)
	}
	wantError(t, f.doJSON(http.MethodPost, "/api/v1/schedules/check", map[string]any{"name": "x", "oops": 1}), http.StatusBadRequest, "invalid")
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestUpdateDeleteSchedule(t *testing.T) {
	f := newScheduleFixture(t)
	sc := f.mustCreateSchedule(f.schedule("Campaign"))
	path := "/api/v1/schedules/" + sc.ID

	// PUT replaces: absent fields take their defaults.
	var got scheduleJSON
	mustDecodeStrict(t, f.doJSON(http.MethodPut, path, map[string]any{
		"name": "All day", "playlist_id": f.playlist, "targets": map[string]any{"display_ids": []string{f.street.ID}},
	}), http.StatusOK, &got)
	if got.Cron != "" || got.Duration != "" || got.StartsOn != "" || got.Priority != "normal" ||
		!cmp.Equal(got.Targets, targetsJSON{DisplayIDs: []string{f.street.ID}, Tags: []string{}}) || !got.CreatedAt.Equal(sc.CreatedAt) {
		t.Fatalf("after PUT: %+v", got)
	}
	env := wantError(t, f.doJSON(http.MethodPut, path, f.schedule("x", "cron", "0 0 31 4 *")), http.StatusBadRequest, "invalid")
	if !strings.Contains(env.Error.Message, "never fires") {
		t.Fatalf("message %q", env.Error.Message)
	}
	wantError(t, f.doJSON(http.MethodPut, "/api/v1/schedules/sch_missing", f.schedule("x")), http.StatusNotFound, "not_found")
	wantError(t, f.get("/api/v1/schedules/sch_missing"), http.StatusNotFound, "not_found")

	if resp := f.do(http.MethodDelete, path, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE status %d", resp.StatusCode)
	}
	wantError(t, f.get(path), http.StatusNotFound, "not_found")
	wantError(t, f.do(http.MethodDelete, path, nil, nil), http.StatusNotFound, "not_found")
}

func TestDeletePlaylistUsedBySchedule(t *testing.T) {
	f := newScheduleFixture(t)
	sc := f.mustCreateSchedule(f.schedule("Campaign"))
	env := wantError(t, f.do(http.MethodDelete, "/api/v1/playlists/"+f.playlist, nil, nil), http.StatusConflict, "conflict")
	if !strings.Contains(env.Error.Message, "schedule") {
		t.Errorf("message %q does not say what uses the playlist", env.Error.Message)
	}
	if resp := f.do(http.MethodDelete, "/api/v1/schedules/"+sc.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE schedule status %d", resp.StatusCode)
	}
	if resp := f.do(http.MethodDelete, "/api/v1/playlists/"+f.playlist, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE unused playlist status %d", resp.StatusCode)
	}
}

func TestDeleteDisplayLeavesSchedule(t *testing.T) {
	f := newScheduleFixture(t)
	sc := f.mustCreateSchedule(f.schedule("Campaign", "targets",
		map[string]any{"display_ids": []string{f.lobby.ID, f.street.ID}, "tags": []string{"airport"}}))
	if resp := f.do(http.MethodDelete, "/api/v1/displays/"+f.street.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE display status %d", resp.StatusCode)
	}
	var got scheduleJSON
	mustDecodeStrict(t, f.get("/api/v1/schedules/"+sc.ID), http.StatusOK, &got)
	if want := (targetsJSON{DisplayIDs: []string{f.lobby.ID}, Tags: []string{"airport"}}); !cmp.Equal(got.Targets, want) {
		t.Fatalf("targets after deleting the street display = %+v, want %+v", got.Targets, want)
	}
}

func TestListSchedules(t *testing.T) {
	f := newScheduleFixture(t)
	other := f.mustCreatePlaylist(map[string]any{"name": "Other", "items": []any{}})
	// 0: campaign on airport; 1: emergency on the street; 2: normal on the
	// street and "facade", other playlist; 3: campaign on "facade".
	s0 := f.mustCreateSchedule(f.schedule("Alpha"))
	s1 := f.mustCreateSchedule(f.schedule("Bravo", "priority", "emergency",
		"targets", map[string]any{"display_ids": []string{f.street.ID}}))
	s2 := f.mustCreateSchedule(f.schedule("Charlie", "priority", "normal", "playlist_id", other.ID,
		"targets", map[string]any{"display_ids": []string{f.street.ID}, "tags": []string{"facade"}}))
	s3 := f.mustCreateSchedule(f.schedule("Delta alpha", "targets", map[string]any{"tags": []string{"facade"}}))

	ids := func(p schedulePage) []string {
		out := []string{}
		for _, s := range p.Items {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{s3.ID, s2.ID, s1.ID, s0.ID}},
		{"display_id=" + f.lobby.ID, []string{s0.ID}},
		{"display_id=" + f.street.ID, []string{s2.ID, s1.ID}},
		{"playlist_id=" + other.ID, []string{s2.ID}},
		{"tag=FACADE", []string{s3.ID, s2.ID}},
		{"priority=campaign", []string{s3.ID, s0.ID}},
		{"q=alpha", []string{s3.ID, s0.ID}},
		{"tag=facade&priority=normal", []string{s2.ID}},
		{"display_id=dsp_missing", []string{}},
	} {
		var p schedulePage
		mustDecodeStrict(t, f.get("/api/v1/schedules?"+tt.query), http.StatusOK, &p)
		if diff := cmp.Diff(tt.want, ids(p)); diff != "" {
			t.Errorf("?%s (-want +got):\n%s", tt.query, diff)
		}
	}

	var got []string
	cursor := ""
	for range 4 {
		var p schedulePage
		mustDecodeStrict(t, f.get("/api/v1/schedules?limit=3&cursor="+cursor), http.StatusOK, &p)
		got = append(got, ids(p)...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if want := []string{s3.ID, s2.ID, s1.ID, s0.ID}; !cmp.Equal(got, want) {
		t.Fatalf("paged = %v, want %v", got, want)
	}
	for _, q := range []string{"priority=urgent", "limit=0", "limit=501", "cursor=%21%21"} {
		wantError(t, f.get("/api/v1/schedules?"+q), http.StatusBadRequest, "invalid")
	}
	wantError(t, f.get("/api/v1/schedules/check"), http.StatusNotFound, "not_found")
}
