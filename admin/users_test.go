package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
)

const userPassword = "Nine blue kites 2026"

type userJSON struct {
	ID       string `json:"id"`
	OrgID    string `json:"organisation_id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
}

type usersPage struct {
	Items      []userJSON `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// sendAs makes a JSON request with the given bearer token ("" for none),
// whatever the stack's own token; header adds or (with "") removes headers.
func (s *stack) sendAs(token, method, path string, body any, header map[string]string) *http.Response {
	s.t.Helper()
	h := map[string]string{"Authorization": ""}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
		h["Content-Type"] = "application/json"
	}
	for k, v := range header {
		h[k] = v
	}
	return s.do(method, path, r, h)
}

// bearerLogin logs in with a bearer session and returns its token.
func (s *stack) bearerLogin(username, password string) string {
	s.t.Helper()
	var body struct{ Token string }
	mustDecode(s.t, s.sendAs("", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": password}, nil), http.StatusOK, &body)
	return body.Token
}

// mustPostUser creates a user through the API with the stack's token.
func (s *stack) mustPostUser(username, role, org string) userJSON {
	s.t.Helper()
	var u userJSON
	resp := s.doJSON(http.MethodPost, "/api/v1/users", map[string]string{
		"username": username, "password": userPassword, "role": role, "organisation_id": org})
	mustDecode(s.t, resp, http.StatusCreated, &u)
	return u
}

func TestUsersAPI(t *testing.T) {
	s := newStack(t, stackOptions{}).login()

	resp := s.doJSON(http.MethodPost, "/api/v1/users", map[string]string{
		"username": "Nam.Nguyen", "password": userPassword, "role": "editor"})
	var nam userJSON
	mustDecode(t, resp, http.StatusCreated, &nam)
	if got, want := resp.Header.Get("Location"), "/api/v1/users/"+nam.ID; got != want {
		t.Fatalf("Location=%q, want %q", got, want)
	}
	if nam.Username != "nam.nguyen" || nam.Role != auth.RoleEditor || nam.OrgID != auth.RootOrgID || nam.Disabled {
		t.Fatalf("created %+v", nam)
	}
	var got userJSON
	raw := s.get("/api/v1/users/" + nam.ID)
	mustDecode(t, raw, http.StatusOK, &got)
	if got != nam {
		t.Fatalf("GET user = %+v, want %+v", got, nam)
	}
	wantError(t, s.get("/api/v1/users/usr_nobody"), 404, "not_found")

	// Failures.
	for _, tc := range []struct {
		name   string
		body   map[string]string
		status int
		code   string
	}{
		{"weak password", map[string]string{"username": "lan", "password": "password1234", "role": "viewer"}, 400, "invalid"},
		{"short password", map[string]string{"username": "lan", "password": "Sh0rt!", "role": "viewer"}, 400, "invalid"},
		{"unknown role", map[string]string{"username": "lan", "password": userPassword, "role": "superuser"}, 400, "invalid"},
		{"missing role", map[string]string{"username": "lan", "password": userPassword}, 400, "invalid"},
		{"bad username", map[string]string{"username": "lan nguyen", "password": userPassword, "role": "viewer"}, 400, "invalid"},
		{"unknown organisation", map[string]string{"username": "lan", "password": userPassword, "role": "viewer", "organisation_id": "org_nowhere"}, 400, "invalid"},
		{"duplicate username", map[string]string{"username": "NAM.NGUYEN", "password": userPassword, "role": "viewer"}, 409, "conflict"},
		{"unknown field", map[string]string{"username": "lan", "password": userPassword, "role": "viewer", "email": "x"}, 400, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := wantError(t, s.doJSON(http.MethodPost, "/api/v1/users", tc.body), tc.status, tc.code)
			if strings.Contains(env.Error.Message, userPassword) {
				t.Fatalf("error shows the password: %q", env.Error.Message)
			}
		})
	}

	// List, paginated.
	s.mustPostUser("lan", auth.RoleViewer, "")
	var names []string
	cursor := ""
	for {
		var page usersPage
		mustDecode(t, s.get("/api/v1/users?limit=2&cursor="+cursor), http.StatusOK, &page)
		for _, u := range page.Items {
			names = append(names, u.Username)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if got, want := strings.Join(names, ","), "lan,nam.nguyen,admin"; got != want {
		t.Fatalf("users %s, want %s", got, want)
	}
	wantError(t, s.get("/api/v1/users?limit=0"), 400, "invalid")
	wantError(t, s.get("/api/v1/users?cursor=!!"), 400, "invalid")
	if body := readBody(t, s.get("/api/v1/users")); strings.Contains(body, "$2") || strings.Contains(body, "password") {
		t.Fatalf("user list shows password hashes: %s", body)
	}

	// PATCH: role, then disabled; absent fields stay.
	var patched userJSON
	mustDecode(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"role": "approver"}), 200, &patched)
	if patched.Role != auth.RoleApprover || patched.Disabled {
		t.Fatalf("after role change: %+v", patched)
	}
	wantError(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"role": "owner"}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"disabled": "yes"}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPatch, "/api/v1/users/usr_nobody", map[string]any{"disabled": true}), 404, "not_found")
	mustDecode(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"disabled": true}), 200, &patched)
	if patched.Role != auth.RoleApprover || !patched.Disabled {
		t.Fatalf("after disabling: %+v", patched)
	}

	// Only admins manage users.
	lanToken := s.bearerLogin("lan", userPassword)
	wantError(t, s.sendAs(lanToken, http.MethodGet, "/api/v1/users", nil, nil), 403, "forbidden")
	wantError(t, s.sendAs(lanToken, http.MethodPost, "/api/v1/users", map[string]string{
		"username": "eve", "password": userPassword, "role": "admin"}, nil), 403, "forbidden")
	wantError(t, s.sendAs(lanToken, http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"disabled": false}, nil), 403, "forbidden")
	wantError(t, s.sendAs(lanToken, http.MethodPost, "/api/v1/users/"+nam.ID+"/password", map[string]any{"password": userPassword + "!"}, nil), 403, "forbidden")
	wantError(t, s.sendAs("", http.MethodGet, "/api/v1/users", nil, nil), 401, "unauthorized")
}

func TestUsersOrganisationScope(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	ctx := context.Background()
	for _, o := range []*orgs.Organisation{
		{ID: "org_dept", ParentID: auth.RootOrgID, Name: "Department"},
		{ID: "org_commune", ParentID: "org_dept", Name: "Commune"},
		{ID: "org_district", ParentID: auth.RootOrgID, Name: "District"},
	} {
		if err := s.db.CreateOrganisation(ctx, o); err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
	}
	s.mustPostUser("dept-admin", auth.RoleAdmin, "org_dept")
	district := s.mustPostUser("district-editor", auth.RoleEditor, "org_district")
	rootAdmin := mustAdminID(t, s)

	dept := s.bearerLogin("dept-admin", userPassword)
	var commune userJSON
	mustDecode(t, s.sendAs(dept, http.MethodPost, "/api/v1/users", map[string]string{
		"username": "commune-editor", "password": userPassword, "role": "editor", "organisation_id": "org_commune"}, nil),
		http.StatusCreated, &commune)
	// Above or beside the department: as if it did not exist.
	for _, org := range []string{auth.RootOrgID, "org_district"} {
		wantError(t, s.sendAs(dept, http.MethodPost, "/api/v1/users", map[string]string{
			"username": "x" + org, "password": userPassword, "role": "editor", "organisation_id": org}, nil), 400, "invalid")
	}
	for _, id := range []string{rootAdmin, district.ID} {
		wantError(t, s.sendAs(dept, http.MethodGet, "/api/v1/users/"+id, nil, nil), 404, "not_found")
		wantError(t, s.sendAs(dept, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"disabled": true}, nil), 404, "not_found")
		wantError(t, s.sendAs(dept, http.MethodPost, "/api/v1/users/"+id+"/password", map[string]any{"password": userPassword + "!"}, nil), 404, "not_found")
	}
	var page usersPage
	mustDecode(t, s.sendAs(dept, http.MethodGet, "/api/v1/users", nil, nil), http.StatusOK, &page)
	var names []string
	for _, u := range page.Items {
		names = append(names, u.Username)
	}
	if got, want := strings.Join(names, ","), "commune-editor,dept-admin"; got != want {
		t.Fatalf("department admin lists %s, want %s", got, want)
	}
	mustDecode(t, s.sendAs(dept, http.MethodGet, "/api/v1/users/"+commune.ID, nil, nil), http.StatusOK, &userJSON{})
}

// mustAdminID returns the bootstrap admin's ID.
func mustAdminID(t *testing.T, s *stack) string {
	t.Helper()
	u, err := s.db.FindUserByUsername(context.Background(), auth.BootstrapUsername)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

type tokenJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      *string    `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Token     string     `json:"token"`
}

func (s *stack) mustPostToken(bearer string, body map[string]any) tokenJSON {
	s.t.Helper()
	var tok tokenJSON
	mustDecode(s.t, s.sendAs(bearer, http.MethodPost, "/api/v1/auth/tokens", body, nil), http.StatusCreated, &tok)
	return tok
}

func TestDisableUserRevokesCredentials(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	nam := s.mustPostUser("nam", auth.RoleEditor, "")
	session := s.bearerLogin("nam", userPassword)
	apiToken := s.mustPostToken(session, map[string]any{"name": "uploader"}).Token
	for _, tok := range []string{session, apiToken} {
		mustDecode(t, s.sendAs(tok, http.MethodGet, "/api/v1/media", nil, nil), http.StatusOK, &map[string]any{})
	}

	mustDecode(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"disabled": true}), http.StatusOK, &userJSON{})
	for _, tok := range []string{session, apiToken} {
		wantError(t, s.sendAs(tok, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	}
	wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": "nam", "password": userPassword}, nil), 401, "unauthorized")

	// Enabled again: a new login works, the old credentials stay revoked.
	mustDecode(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+nam.ID, map[string]any{"disabled": false}), http.StatusOK, &userJSON{})
	fresh := s.bearerLogin("nam", userPassword)
	mustDecode(t, s.sendAs(fresh, http.MethodGet, "/api/v1/media", nil, nil), http.StatusOK, &map[string]any{})
	for _, tok := range []string{session, apiToken} {
		wantError(t, s.sendAs(tok, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	}
}

func TestResetPassword(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	nam := s.mustPostUser("nam", auth.RoleViewer, "")
	session := s.bearerLogin("nam", userPassword)
	apiToken := s.mustPostToken(session, map[string]any{"name": "reports"}).Token

	path := "/api/v1/users/" + nam.ID + "/password"
	wantError(t, s.doJSON(http.MethodPost, path, map[string]string{"password": "password1234"}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPost, path, map[string]string{}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/users/usr_nobody/password", map[string]string{"password": "Another good one 77"}), 404, "not_found")
	if resp := s.doJSON(http.MethodPost, path, map[string]string{"password": "Another good one 77"}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: status %d %s", resp.StatusCode, readBody(t, resp))
	}
	for _, tok := range []string{session, apiToken} {
		wantError(t, s.sendAs(tok, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	}
	wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": "nam", "password": userPassword}, nil), 401, "unauthorized")
	s.bearerLogin("nam", "Another good one 77")
}

func TestKeepOneRootAdmin(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	me := mustAdminID(t, s)
	wantError(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+me, map[string]any{"role": "editor"}), 409, "conflict")
	wantError(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+me, map[string]any{"disabled": true}), 409, "conflict")
	// Still an admin, still logged in.
	mustDecode(t, s.get("/api/v1/users/"+me), http.StatusOK, &userJSON{})

	// With a second root admin, the first may step down.
	s.mustPostUser("second", auth.RoleAdmin, "")
	var u userJSON
	mustDecode(t, s.doJSON(http.MethodPatch, "/api/v1/users/"+me, map[string]any{"role": "viewer"}), http.StatusOK, &u)
	if u.Role != auth.RoleViewer {
		t.Fatalf("after demotion: %+v", u)
	}
	wantError(t, s.get("/api/v1/users"), 403, "forbidden")
}

func TestChangeOwnPassword(t *testing.T) {
	s := newStack(t, stackOptions{})
	current := s.bearerLogin("admin", adminPassword)
	other := s.bearerLogin("admin", adminPassword)
	apiToken := s.mustPostToken(current, map[string]any{"name": "cron"}).Token
	const path = "/api/v1/auth/password"
	const newPassword = "Fresh river stones 42"

	wantError(t, s.sendAs(current, http.MethodPost, path, map[string]string{"current_password": "wrong password", "new_password": newPassword}, nil), 403, "forbidden")
	wantError(t, s.sendAs(current, http.MethodPost, path, map[string]string{"current_password": adminPassword, "new_password": "password1234"}, nil), 400, "invalid")
	wantError(t, s.sendAs(current, http.MethodPost, path, map[string]string{"current_password": adminPassword}, nil), 400, "invalid")
	wantError(t, s.sendAs(current, http.MethodPost, path, map[string]string{"old": adminPassword, "new": newPassword}, nil), 400, "invalid")
	if resp := s.sendAs(current, http.MethodPost, path, map[string]string{"current_password": adminPassword, "new_password": newPassword}, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("change password: status %d %s", resp.StatusCode, readBody(t, resp))
	}
	mustDecode(t, s.sendAs(current, http.MethodGet, "/api/v1/media", nil, nil), http.StatusOK, &map[string]any{})
	for _, tok := range []string{other, apiToken} {
		wantError(t, s.sendAs(tok, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	}
	s.bearerLogin("admin", newPassword)
}

// TestLoginLockout: 5 failed logins lock the account for 5 minutes (429
// with Retry-After, even with the right password), an unknown username
// the same way; the lock ends on its own.
func TestLoginLockout(t *testing.T) {
	s := newStack(t, stackOptions{})
	login := func(user, pw string) *http.Response {
		return s.sendAs("", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": pw}, nil)
	}
	var answers [2][]string
	for i, user := range []string{"admin", "ghost"} {
		for range 5 {
			env := wantError(t, login(user, "not the password"), 401, "unauthorized")
			answers[i] = append(answers[i], env.Error.Message)
		}
		resp := login(user, adminPassword)
		env := wantError(t, resp, 429, "too_many_requests")
		if got := resp.Header.Get("Retry-After"); got != "300" {
			t.Fatalf("Retry-After=%q, want 300", got)
		}
		answers[i] = append(answers[i], env.Error.Message)
	}
	if strings.Join(answers[0], "|") != strings.Join(answers[1], "|") {
		t.Fatalf("a real and an unknown username are answered differently:\n%q\n%q", answers[0], answers[1])
	}
	s.clock.Add(4 * time.Minute)
	resp := login("admin", adminPassword)
	wantError(t, resp, 429, "too_many_requests")
	if got := resp.Header.Get("Retry-After"); got != "60" {
		t.Fatalf("Retry-After=%q, want 60", got)
	}
	s.clock.Add(time.Minute)
	s.bearerLogin("admin", adminPassword)
}

// TestLoginIPLimit: 20 failures from one address refuse it for the rest of
// the 15-minute window, whatever the username.
func TestLoginIPLimit(t *testing.T) {
	s := newStack(t, stackOptions{})
	for i := range 20 {
		wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/login",
			map[string]string{"username": "user" + string(rune('a'+i)), "password": "guess"}, nil), 401, "unauthorized")
	}
	resp := s.sendAs("", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword}, nil)
	wantError(t, resp, 429, "too_many_requests")
	if got := resp.Header.Get("Retry-After"); got != "900" {
		t.Fatalf("Retry-After=%q, want 900", got)
	}
	s.clock.Add(15 * time.Minute)
	s.bearerLogin("admin", adminPassword)
}

type sessionJSON struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Current   bool      `json:"current"`
}

func TestSessionsAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	first := s.bearerLogin("admin", adminPassword)
	second := s.bearerLogin("admin", adminPassword)

	var page struct {
		Items      []sessionJSON `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}
	mustDecode(t, s.sendAs(second, http.MethodGet, "/api/v1/auth/sessions", nil, nil), http.StatusOK, &page)
	if len(page.Items) != 2 || !page.Items[0].Current || page.Items[1].Current || page.Items[0].Kind != "bearer" || page.NextCursor != "" {
		t.Fatalf("sessions = %+v", page)
	}
	if got, want := page.Items[0].ExpiresAt, s.clock.Now().Add(sessionTTL); got.Sub(want).Abs() > time.Second {
		t.Fatalf("expires_at=%v, want %v", got, want)
	}
	firstID := page.Items[1].ID

	// Another user cannot see or revoke them.
	s.token = second
	s.mustPostUser("lan", auth.RoleViewer, "")
	lan := s.bearerLogin("lan", userPassword)
	wantError(t, s.sendAs(lan, http.MethodDelete, "/api/v1/auth/sessions/"+firstID, nil, nil), 404, "not_found")
	mustDecode(t, s.sendAs(lan, http.MethodGet, "/api/v1/auth/sessions", nil, nil), http.StatusOK, &page)
	if len(page.Items) != 1 {
		t.Fatalf("lan sees %d sessions, want 1", len(page.Items))
	}

	if resp := s.sendAs(second, http.MethodDelete, "/api/v1/auth/sessions/"+firstID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: status %d", resp.StatusCode)
	}
	wantError(t, s.sendAs(first, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	wantError(t, s.sendAs(second, http.MethodDelete, "/api/v1/auth/sessions/"+firstID, nil, nil), 404, "not_found")
	mustDecode(t, s.sendAs(second, http.MethodGet, "/api/v1/media", nil, nil), http.StatusOK, &map[string]any{})

	// An expired session is neither listed nor accepted.
	s.clock.Add(sessionTTL)
	wantError(t, s.sendAs(second, http.MethodGet, "/api/v1/auth/sessions", nil, nil), 401, "unauthorized")
}

func TestAPITokens(t *testing.T) {
	s := newStack(t, stackOptions{})
	session := s.bearerLogin("admin", adminPassword)

	resp := s.sendAs(session, http.MethodPost, "/api/v1/auth/tokens", map[string]any{"name": "backup", "expires_in": 3600}, nil)
	var tok tokenJSON
	mustDecode(t, resp, http.StatusCreated, &tok)
	if !strings.HasPrefix(tok.Token, "mqa_") || tok.Role != nil || tok.ExpiresAt == nil ||
		tok.ExpiresAt.Sub(s.clock.Now().Add(time.Hour)).Abs() > time.Second || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created token %+v (Cache-Control %q)", tok, resp.Header.Get("Cache-Control"))
	}
	viewer := s.mustPostToken(session, map[string]any{"name": "reports", "role": "viewer"})
	if viewer.Role == nil || *viewer.Role != "viewer" || viewer.ExpiresAt != nil {
		t.Fatalf("viewer token %+v", viewer)
	}

	// Listed without secrets.
	body := readBody(t, s.sendAs(session, http.MethodGet, "/api/v1/auth/tokens", nil, nil))
	if strings.Contains(body, tok.Token[4:]) || strings.Contains(body, "mqa_") || !strings.Contains(body, `"backup"`) || !strings.Contains(body, `"reports"`) {
		t.Fatalf("token list: %s", body)
	}

	// They work as bearer tokens, with their role.
	mustDecode(t, s.sendAs(tok.Token, http.MethodGet, "/api/v1/users", nil, nil), http.StatusOK, &usersPage{})
	mustDecode(t, s.sendAs(viewer.Token, http.MethodGet, "/api/v1/media", nil, nil), http.StatusOK, &map[string]any{})
	wantError(t, s.sendAs(viewer.Token, http.MethodGet, "/api/v1/users", nil, nil), 403, "forbidden")
	wantError(t, s.sendAs(viewer.Token, http.MethodPost, "/api/v1/auth/tokens", map[string]any{"name": "wider", "role": "admin"}, nil), 403, "forbidden")
	var who struct {
		User struct{ Role string } `json:"user"`
		Kind string                `json:"kind"`
		ID   string                `json:"id"`
	}
	mustDecode(t, s.sendAs(viewer.Token, http.MethodGet, "/api/v1/auth/session", nil, nil), http.StatusOK, &who)
	if who.Kind != "api_token" || who.User.Role != "viewer" || who.ID != viewer.ID {
		t.Fatalf("session of a viewer token: %+v", who)
	}

	// Bad requests.
	for _, b := range []map[string]any{
		{"name": ""}, {"name": "x", "expires_in": -1}, {"name": "x", "expires_in": 10},
		{"name": "x", "role": "owner"}, {"name": "x", "scopes": "all"},
	} {
		wantError(t, s.sendAs(session, http.MethodPost, "/api/v1/auth/tokens", b, nil), 400, "invalid")
	}

	// Expiry: an hour later the first token is refused and not listed.
	s.clock.Add(time.Hour)
	wantError(t, s.sendAs(tok.Token, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	var page struct{ Items []tokenJSON }
	mustDecode(t, s.sendAs(viewer.Token, http.MethodGet, "/api/v1/auth/tokens", nil, nil), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != viewer.ID {
		t.Fatalf("tokens after expiry: %+v", page.Items)
	}

	// Revoked: by DELETE, and by logging out with the token itself.
	wantError(t, s.sendAs(session, http.MethodDelete, "/api/v1/auth/tokens/tok_nobody", nil, nil), 404, "not_found")
	if resp := s.sendAs(session, http.MethodDelete, "/api/v1/auth/tokens/"+viewer.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: status %d", resp.StatusCode)
	}
	wantError(t, s.sendAs(viewer.Token, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	script := s.mustPostToken(session, map[string]any{"name": "one-off"})
	if resp := s.sendAs(script.Token, http.MethodPost, "/api/v1/auth/logout", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout with an API token: status %d", resp.StatusCode)
	}
	wantError(t, s.sendAs(script.Token, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	// The session that made them is untouched.
	mustDecode(t, s.sendAs(session, http.MethodGet, "/api/v1/media", nil, nil), http.StatusOK, &map[string]any{})
}

func TestCookieSession(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp := s.sendAs("", http.MethodPost, "/api/v1/auth/login",
		map[string]any{"username": "admin", "password": adminPassword, "cookie": true}, nil)
	raw := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cookie login: %d %s", resp.StatusCode, raw)
	}
	var body struct {
		Token     string    `json:"token"`
		CSRFToken string    `json:"csrf_token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "marquee_session" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatalf("no session cookie: %v", resp.Header["Set-Cookie"])
	}
	if body.Token != "" || body.CSRFToken == "" || strings.Contains(raw, ck.Value) {
		t.Fatalf("cookie login body shows the session token or lacks the CSRF token: %s", raw)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" ||
		ck.Expires.Sub(body.ExpiresAt).Abs() > time.Second || !strings.HasPrefix(ck.Value, "mqt_") {
		t.Fatalf("cookie %+v", ck)
	}
	cookie := map[string]string{"Cookie": "marquee_session=" + ck.Value}
	withCSRF := func(token string) map[string]string {
		return map[string]string{"Cookie": cookie["Cookie"], "X-CSRF-Token": token}
	}

	// Reads need no CSRF token.
	mustDecode(t, s.sendAs("", http.MethodGet, "/api/v1/media", nil, cookie), http.StatusOK, &map[string]any{})
	var who struct {
		Kind      string `json:"kind"`
		CSRFToken string `json:"csrf_token"`
	}
	mustDecode(t, s.sendAs("", http.MethodGet, "/api/v1/auth/session", nil, cookie), http.StatusOK, &who)
	if who.Kind != "cookie" || who.CSRFToken != body.CSRFToken {
		t.Fatalf("GET session = %+v, want cookie with the login's CSRF token", who)
	}

	// Changes need it.
	create := map[string]any{"name": "from the browser"}
	wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/tokens", create, cookie), 403, "forbidden")
	wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/tokens", create, withCSRF("wrong")), 403, "forbidden")
	other := s.bearerLogin("admin", adminPassword) // a bearer session: its CSRF token is not this one
	wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/tokens", create, withCSRF(auth.CSRFToken(other))), 403, "forbidden")
	mustDecode(t, s.sendAs("", http.MethodPost, "/api/v1/auth/tokens", create, withCSRF(body.CSRFToken)), http.StatusCreated, &tokenJSON{})

	// Each kind of session token only in its place.
	wantError(t, s.sendAs(ck.Value, http.MethodGet, "/api/v1/media", nil, nil), 401, "unauthorized")
	wantError(t, s.sendAs("", http.MethodGet, "/api/v1/media", nil, map[string]string{"Cookie": "marquee_session=" + other}), 401, "unauthorized")
	wantError(t, s.sendAs("", http.MethodGet, "/api/v1/media", nil, map[string]string{"Cookie": "marquee_session=mqt_forged"}), 401, "unauthorized")
	// A bearer header wins over a cookie and needs no CSRF token.
	mustDecode(t, s.sendAs(other, http.MethodPost, "/api/v1/auth/tokens", create, cookie), http.StatusCreated, &tokenJSON{})

	// Logout needs the CSRF token too, then clears the cookie.
	wantError(t, s.sendAs("", http.MethodPost, "/api/v1/auth/logout", nil, cookie), 403, "forbidden")
	resp = s.sendAs("", http.MethodPost, "/api/v1/auth/logout", nil, withCSRF(body.CSRFToken))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: status %d", resp.StatusCode)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || c.Name == "marquee_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Fatalf("logout did not clear the cookie: %v", resp.Header["Set-Cookie"])
	}
	wantError(t, s.sendAs("", http.MethodGet, "/api/v1/media", nil, cookie), 401, "unauthorized")
}
