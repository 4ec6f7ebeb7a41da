package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/audit"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/sqlstore"
	"golang.org/x/crypto/bcrypt"
)

// auditLogOr is l, or the store when l is nil (newStack's default).
func auditLogOr(l admin.AuditLog, db *sqlstore.DB) admin.AuditLog {
	if l != nil {
		return l
	}
	return db
}

type auditJSON struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	UserID     string          `json:"user_id"`
	Username   string          `json:"username"`
	OrgID      string          `json:"organisation_id"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Summary    json.RawMessage `json:"summary"`
	RequestID  string          `json:"request_id"`
	RemoteIP   string          `json:"remote_ip"`
}

type auditPage struct {
	Items      []auditJSON `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// auditLog returns one page of GET /api/v1/audit?query.
func (s *stack) auditLog(query string) auditPage {
	s.t.Helper()
	var p auditPage
	mustDecodeStrict(s.t, s.get("/api/v1/audit?"+query), http.StatusOK, &p)
	return p
}

// summary decodes an entry's summary.
func (e auditJSON) summary(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Summary, &m); err != nil {
		t.Fatalf("summary %s: %v", e.Summary, err)
	}
	return m
}

// field returns the value at a path of nested objects, or nil.
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func (s *stack) mustUserID(username string) string {
	s.t.Helper()
	u, err := s.db.FindUserByUsername(context.Background(), username)
	if err != nil {
		s.t.Fatalf("find user %s: %v", username, err)
	}
	return u.ID
}

// mustCreateUser stores a user with password and returns its ID.
func (s *stack) mustCreateUser(org, username, role, password string) string {
	s.t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		s.t.Fatal(err)
	}
	u := &auth.User{OrgID: org, Username: username, PasswordHash: string(hash), Role: role}
	if err := s.db.CreateUser(context.Background(), u); err != nil {
		s.t.Fatalf("create user %s: %v", username, err)
	}
	return u.ID
}

// loginAs logs in and makes the stack act as that user.
func (s *stack) loginAs(username, password string) {
	s.t.Helper()
	s.token = ""
	resp := s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	var body struct{ Token string }
	mustDecode(s.t, resp, http.StatusOK, &body)
	s.token = body.Token
}

// step is one change made in a test and what its entry must say.
type step struct {
	action    string
	requestID string
	check     func(t *testing.T, summary map[string]any)
}

func wantStatus(t *testing.T, resp *http.Response, status int) string {
	t.Helper()
	if resp.StatusCode != status {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: status=%d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	id := resp.Header.Get("X-Request-ID")
	if id == "" {
		t.Fatalf("%s %s: no X-Request-ID", resp.Request.Method, resp.Request.URL.Path)
	}
	return id
}

func wantSummary(path []string, want any) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		t.Helper()
		if got := field(m, path...); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("summary %v = %v, want %v (summary %v)", path, got, want, m)
		}
	}
}

func TestAuditRecordsChanges(t *testing.T) {
	f := newScheduleFixture(t)
	adminID := f.mustUserID("admin")
	var steps = map[string][]step{} // by object type + id, oldest first
	var ids = map[string]string{}   // object type → ID

	// Media: the upload's entry keeps the stored item (its body is a file).
	resp := f.upload(part{field: "name", data: []byte("Băng rôn")}, part{field: "file", filename: "b.jpg", data: mustJPEG(t, 32, 16, 1)})
	rid := wantStatus(t, resp, http.StatusCreated)
	var it struct{ ID string }
	mustDecode(t, resp, http.StatusCreated, &it)
	ids["media"] = it.ID
	steps["media"] = append(steps["media"], step{audit.ActionCreate, rid, func(t *testing.T, m map[string]any) {
		wantSummary([]string{"after", "name"}, "Băng rôn")(t, m)
		wantSummary([]string{"before"}, nil)(t, m)
	}})
	rid = wantStatus(t, f.doJSON(http.MethodPatch, "/api/v1/media/"+it.ID, map[string]any{"name": "Băng rôn mới"}), http.StatusOK)
	steps["media"] = append(steps["media"], step{audit.ActionUpdate, rid, func(t *testing.T, m map[string]any) {
		wantSummary([]string{"before", "name"}, "Băng rôn")(t, m)
		wantSummary([]string{"after", "name"}, "Băng rôn mới")(t, m)
	}})
	rid = wantStatus(t, f.do(http.MethodDelete, "/api/v1/media/"+it.ID, nil, nil), http.StatusNoContent)
	steps["media"] = append(steps["media"], step{audit.ActionDelete, rid, func(t *testing.T, m map[string]any) {
		wantSummary([]string{"before", "name"}, "Băng rôn mới")(t, m)
		wantSummary([]string{"after"}, nil)(t, m)
	}})

	// Playlist: the create's entry keeps the request.
	resp = f.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": "Sảnh", "items": []any{}})
	rid = wantStatus(t, resp, http.StatusCreated)
	var pl struct{ ID string }
	mustDecode(t, resp, http.StatusCreated, &pl)
	ids["playlist"] = pl.ID
	steps["playlist"] = []step{{audit.ActionCreate, rid, wantSummary([]string{"request", "name"}, "Sảnh")}}
	rid = wantStatus(t, f.doJSON(http.MethodPut, "/api/v1/playlists/"+pl.ID, map[string]any{"name": "Sảnh 2", "items": []any{}}), http.StatusOK)
	steps["playlist"] = append(steps["playlist"], step{audit.ActionUpdate, rid, func(t *testing.T, m map[string]any) {
		wantSummary([]string{"before", "name"}, "Sảnh")(t, m)
		wantSummary([]string{"after", "name"}, "Sảnh 2")(t, m)
	}})
	rid = wantStatus(t, f.do(http.MethodDelete, "/api/v1/playlists/"+pl.ID, nil, nil), http.StatusNoContent)
	steps["playlist"] = append(steps["playlist"], step{audit.ActionDelete, rid, wantSummary([]string{"before", "name"}, "Sảnh 2")})

	// Display.
	resp = f.doJSON(http.MethodPost, "/api/v1/displays", display("Cổng", "tags", []string{"gate"}))
	rid = wantStatus(t, resp, http.StatusCreated)
	var d struct{ ID string }
	mustDecode(t, resp, http.StatusCreated, &d)
	ids["display"] = d.ID
	steps["display"] = []step{{audit.ActionCreate, rid, wantSummary([]string{"request", "name"}, "Cổng")}}
	rid = wantStatus(t, f.doJSON(http.MethodPut, "/api/v1/displays/"+d.ID, display("Cổng 2")), http.StatusOK)
	steps["display"] = append(steps["display"], step{audit.ActionUpdate, rid, func(t *testing.T, m map[string]any) {
		wantSummary([]string{"before", "tags"}, []any{"gate"})(t, m)
		wantSummary([]string{"after", "name"}, "Cổng 2")(t, m)
	}})
	rid = wantStatus(t, f.do(http.MethodPost, "/api/v1/displays/"+d.ID+"/token", nil, nil), http.StatusOK)
	steps["display"] = append(steps["display"], step{"rotate_token", rid, nil})
	rid = wantStatus(t, f.do(http.MethodDelete, "/api/v1/displays/"+d.ID, nil, nil), http.StatusNoContent)
	steps["display"] = append(steps["display"], step{audit.ActionDelete, rid, wantSummary([]string{"before", "name"}, "Cổng 2")})

	// Schedule.
	resp = f.doJSON(http.MethodPost, "/api/v1/schedules", f.schedule("Hè"))
	rid = wantStatus(t, resp, http.StatusCreated)
	var sc struct{ ID string }
	mustDecode(t, resp, http.StatusCreated, &sc)
	ids["schedule"] = sc.ID
	steps["schedule"] = []step{{audit.ActionCreate, rid, wantSummary([]string{"request", "cron"}, "0 7 * * 1-5")}}
	rid = wantStatus(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+sc.ID, f.schedule("Hè 2", "cron", "0 8 * * *")), http.StatusOK)
	steps["schedule"] = append(steps["schedule"], step{audit.ActionUpdate, rid, func(t *testing.T, m map[string]any) {
		wantSummary([]string{"before", "cron"}, "0 7 * * 1-5")(t, m)
		wantSummary([]string{"after", "cron"}, "0 8 * * *")(t, m)
	}})
	rid = wantStatus(t, f.do(http.MethodDelete, "/api/v1/schedules/"+sc.ID, nil, nil), http.StatusNoContent)
	steps["schedule"] = append(steps["schedule"], step{audit.ActionDelete, rid, wantSummary([]string{"before", "name"}, "Hè 2")})

	for typ, want := range steps {
		t.Run(typ, func(t *testing.T) {
			p := f.auditLog("object_type=" + typ + "&object_id=" + url.QueryEscape(ids[typ]))
			if len(p.Items) != len(want) || p.NextCursor != "" {
				t.Fatalf("%d entries (next %q), want %d: %+v", len(p.Items), p.NextCursor, len(want), p.Items)
			}
			for i, w := range want {
				e := p.Items[len(want)-1-i] // newest first
				if e.Action != w.action || e.ObjectType != typ || e.ObjectID != ids[typ] {
					t.Errorf("entry %d = %s %s %s, want %s %s %s", i, e.Action, e.ObjectType, e.ObjectID, w.action, typ, ids[typ])
				}
				if e.UserID != adminID || e.Username != "admin" || e.OrgID != auth.RootOrgID {
					t.Errorf("entry %d by %s %q of %s, want %s \"admin\" of %s", i, e.UserID, e.Username, e.OrgID, adminID, auth.RootOrgID)
				}
				if e.RequestID != w.requestID {
					t.Errorf("entry %d request_id = %q, want the response's X-Request-ID %q", i, e.RequestID, w.requestID)
				}
				if e.RemoteIP != "127.0.0.1" || !strings.HasPrefix(e.ID, "aud_") {
					t.Errorf("entry %d: remote_ip %q, id %q", i, e.RemoteIP, e.ID)
				}
				if !e.At.Equal(f.clock.Now().Truncate(time.Millisecond)) {
					t.Errorf("entry %d at %v, want the server's clock %v", i, e.At, f.clock.Now())
				}
				if w.check != nil {
					w.check(t, e.summary(t))
				}
			}
		})
	}
}

func TestAuditRedactsSecrets(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	const wrongPassword = "not the password 987"
	d := s.mustCreateDisplay(display("Kiosk"))
	var rotated struct{ Token string }
	mustDecode(t, s.do(http.MethodPost, "/api/v1/displays/"+d.ID+"/token", nil, nil), http.StatusOK, &rotated)
	sessionToken := s.token

	s.token = ""
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin", "password": wrongPassword}),
		http.StatusUnauthorized, "unauthorized")
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "nobody", "password": adminPassword}),
		http.StatusUnauthorized, "unauthorized")
	// A malformed login is no attempt: not recorded.
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin"}), http.StatusBadRequest, "invalid")
	s.login()

	resp := s.get("/api/v1/audit?limit=500")
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/audit: %d %s", resp.StatusCode, raw)
	}
	for name, secret := range map[string]string{
		"display token": d.Token, "rotated token": rotated.Token, "session token": sessionToken,
		"password": adminPassword, "wrong password": wrongPassword,
	} {
		if secret == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit log holds the %s: %s", name, raw)
		}
	}

	var p auditPage
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Items {
		got = append(got, e.Action+":"+e.Username)
	}
	want := []string{"login:admin", "login_failed:nobody", "login_failed:admin", "rotate_token:admin", "create:admin", "login:admin"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	failed := p.Items[2]
	if failed.UserID != "" || failed.OrgID != auth.RootOrgID || failed.ObjectType != "user" || failed.RemoteIP != "127.0.0.1" {
		t.Errorf("failed login entry = %+v, want no user, the root organisation, object type user", failed)
	}
	if got := field(failed.summary(t), "reason"); got == nil {
		t.Errorf("failed login summary %s has no reason", failed.Summary)
	}
	login := p.Items[0]
	if login.UserID != s.mustUserID("admin") || login.ObjectID != login.UserID {
		t.Errorf("login entry = %+v, want the admin as user and object", login)
	}
}

func TestAuditLogout(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	rid := wantStatus(t, s.do(http.MethodPost, "/api/v1/auth/logout", nil, nil), http.StatusNoContent)
	s.login()
	p := s.auditLog("action=logout")
	if len(p.Items) != 1 || p.Items[0].RequestID != rid || p.Items[0].ObjectID != s.mustUserID("admin") {
		t.Fatalf("logout entries = %+v, want one with request ID %s", p.Items, rid)
	}
}

func TestAuditRequestIDFromClient(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	resp := s.do(http.MethodPost, "/api/v1/playlists", strings.NewReader(`{"name":"P","items":[]}`),
		map[string]string{"Content-Type": "application/json", "X-Request-ID": "client-req-42"})
	if got := wantStatus(t, resp, http.StatusCreated); got != "client-req-42" {
		t.Fatalf("X-Request-ID = %q, want the client's", got)
	}
	p := s.auditLog("object_type=playlist")
	if len(p.Items) != 1 || p.Items[0].RequestID != "client-req-42" {
		t.Fatalf("entries = %+v, want one with request ID client-req-42", p.Items)
	}
}

func TestAuditFiltersAndPages(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	adminID := s.mustUserID("admin")
	editorID := s.mustCreateUser(auth.RootOrgID, "editor", auth.RoleEditor, "editor password 1")
	t0 := s.clock.Now().Truncate(time.Millisecond)

	create := func(name string) string {
		var p struct{ ID string }
		mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": name, "items": []any{}}), http.StatusCreated, &p)
		return p.ID
	}
	var byAdmin, byEditor []string
	for i := range 3 {
		byAdmin = append(byAdmin, create(fmt.Sprint("admin ", i)))
		s.clock.Add(30 * time.Minute)
	}
	s.loginAs("editor", "editor password 1")
	// Editors may not read the audit log.
	wantError(t, s.get("/api/v1/audit"), http.StatusForbidden, "forbidden")
	for i := range 2 {
		byEditor = append(byEditor, create(fmt.Sprint("editor ", i)))
		s.clock.Add(30 * time.Minute)
	}
	s.login() // the admin's first session has expired

	ids := func(p auditPage) []string {
		out := []string{}
		for _, e := range p.Items {
			out = append(out, e.ObjectID)
		}
		return out
	}
	reverse := func(xs ...string) []string {
		out := []string{}
		for i := len(xs) - 1; i >= 0; i-- {
			out = append(out, xs[i])
		}
		return out
	}
	rfc := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
	tests := []struct {
		query string
		want  []string
	}{
		{"object_type=playlist", reverse(append(append([]string{}, byAdmin...), byEditor...)...)},
		{"object_type=playlist&user_id=" + editorID, reverse(byEditor...)},
		{"object_type=playlist&user_id=" + adminID, reverse(byAdmin...)},
		{"object_type=playlist&object_id=" + byAdmin[1], []string{byAdmin[1]}},
		{"object_type=playlist&from=" + rfc(t0.Add(30*time.Minute)) + "&to=" + rfc(t0.Add(90*time.Minute)), []string{byAdmin[2], byAdmin[1]}},
		{"object_type=playlist&from=" + rfc(t0.Add(2*time.Hour)), []string{byEditor[1]}},
		{"user_id=" + editorID, []string{byEditor[1], byEditor[0], editorID}}, // and the editor's login
		{"object_type=display", []string{}},
	}
	for _, tt := range tests {
		if got := ids(s.auditLog(tt.query)); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	// Pages of 2 walk the same list.
	all := ids(s.auditLog("object_type=playlist"))
	var walked []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		p := s.auditLog("object_type=playlist&limit=2&cursor=" + url.QueryEscape(cursor))
		walked = append(walked, ids(p)...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if strings.Join(walked, ",") != strings.Join(all, ",") {
		t.Errorf("paged = %v, want %v", walked, all)
	}

	for _, q := range []string{"limit=0", "limit=501", "cursor=%21%21", "from=yesterday", "to=2026-13-01T00:00:00Z",
		"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "user_id=" + strings.Repeat("x", 200)} {
		wantError(t, s.get("/api/v1/audit?"+q), http.StatusBadRequest, "invalid")
	}
}

func TestAuditOrganisationScope(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	ctx := context.Background()
	for _, o := range []*orgs.Organisation{
		{ID: "org_dept", ParentID: auth.RootOrgID, Name: "Sở"},
		{ID: "org_commune", ParentID: "org_dept", Name: "Xã"},
		{ID: "org_other", ParentID: auth.RootOrgID, Name: "Huyện"},
	} {
		if err := s.db.CreateOrganisation(ctx, o); err != nil {
			t.Fatalf("create organisation %s: %v", o.ID, err)
		}
	}
	rootToken := s.token
	changeAs := func(org, name string) {
		s.mustCreateUser(org, name, auth.RoleAdmin, "password of "+name)
		s.loginAs(name, "password of "+name)
		wantStatus(t, s.doJSON(http.MethodPost, "/api/v1/displays", display("Display of "+name)), http.StatusCreated)
	}
	changeAs("org_dept", "dept")
	changeAs("org_commune", "commune")
	changeAs("org_other", "other")

	seen := func() []string {
		out := []string{}
		for _, e := range s.auditLog("object_type=display").Items {
			out = append(out, e.Username)
		}
		return out
	}
	s.loginAs("dept", "password of dept")
	if got, want := seen(), []string{"commune", "dept"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the department sees %v, want %v", got, want)
	}
	s.loginAs("commune", "password of commune")
	if got, want := seen(), []string{"commune"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the commune sees %v, want %v", got, want)
	}
	s.token = rootToken
	if got, want := seen(), []string{"other", "commune", "dept"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the province sees %v, want %v", got, want)
	}
}

func TestAuditRecordsOnlySuccesses(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	s.mustCreateUser(auth.RootOrgID, "viewer", auth.RoleViewer, "viewer password 1")
	before := len(s.auditLog("limit=500").Items)
	wantError(t, s.doJSON(http.MethodPut, "/api/v1/playlists/pls_missing", map[string]any{"name": "x", "items": []any{}}), http.StatusNotFound, "not_found")
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": ""}), http.StatusBadRequest, "invalid")
	wantError(t, s.do(http.MethodDelete, "/api/v1/displays/dsp_missing", nil, nil), http.StatusNotFound, "not_found")
	wantStatus(t, s.get("/api/v1/playlists"), http.StatusOK)
	adminToken := s.token
	s.loginAs("viewer", "viewer password 1") // recorded: one entry
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": "x", "items": []any{}}), http.StatusForbidden, "forbidden")
	s.token = adminToken
	if got := len(s.auditLog("limit=500").Items); got != before+1 {
		t.Fatalf("entries = %d, want %d (the viewer's login only)", got, before+1)
	}
}

// TestAuditCannotBeChangedThroughTheAPI: the audit log has one route, a
// GET; every other method on it, or on an entry, is refused.
func TestAuditCannotBeChangedThroughTheAPI(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	p := s.auditLog("")
	if len(p.Items) != 1 {
		t.Fatalf("entries = %+v, want the login", p.Items)
	}
	id := p.Items[0].ID
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, path := range []string{"/api/v1/audit", "/api/v1/audit/" + id} {
			resp := s.do(method, path, strings.NewReader(`{"username":"x"}`), map[string]string{"Content-Type": "application/json"})
			if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404 or 405", method, path, resp.StatusCode)
			}
		}
	}
	if got := s.auditLog(""); len(got.Items) != 1 || string(got.Items[0].Summary) != string(p.Items[0].Summary) || got.Items[0].Username != "admin" {
		t.Fatalf("entries after the attempts = %+v, want the login unchanged", got.Items)
	}
}

// failingLog stores nothing.
type failingLog struct{ admin.AuditLog }

func (failingLog) AppendAudit(context.Context, *audit.Entry) error {
	return errors.New("disk full")
}

// TestAuditFailureIsLoudNotSilent: when the entry cannot be stored after
// the change committed, the change is answered as done, and the loss is
// logged with the entry and counted.
func TestAuditFailureIsLoudNotSilent(t *testing.T) {
	s := newStack(t, stackOptions{audit: failingLog{}})
	s.login()
	rid := wantStatus(t, s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": "Kept", "items": []any{}}), http.StatusCreated)
	var page playlistPage
	mustDecode(t, s.get("/api/v1/playlists"), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "Kept" {
		t.Fatalf("playlists = %+v, want the one created", page.Items)
	}
	var stats struct {
		Audit struct{ Appended, Failed int64 }
	}
	mustDecode(t, s.get("/api/v1/stats"), http.StatusOK, &stats)
	if stats.Audit.Failed != 2 || stats.Audit.Appended != 0 { // the login and the create
		t.Errorf("audit stats = %+v, want 2 failed", stats.Audit)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "AUDIT ENTRY LOST") || !strings.Contains(logs, rid) || !strings.Contains(logs, `\"object_type\":\"playlist\"`) {
		t.Errorf("logs do not report the lost entry of request %s:\n%s", rid, logs)
	}
	if strings.Contains(logs, adminPassword) {
		t.Errorf("logs hold the password")
	}
}
