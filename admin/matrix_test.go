package admin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// access is who may call a route.
type access struct {
	public  bool     // anyone, with or without a token (health, login)
	display bool     // a display's token only: no user's token ever opens it
	roles   []string // the roles whose users may (with a valid, enabled account)
}

var (
	public      = access{public: true}
	displayOnly = access{display: true}
)

func allow(roles ...string) access { return access{roles: roles} }

// Role sets, spelt out rather than derived from auth.Allows: the matrix is a
// second statement of the policy that the route table must agree with.
const (
	rAdmin    = auth.RoleAdmin
	rEditor   = auth.RoleEditor
	rApprover = auth.RoleApprover
	rViewer   = auth.RoleViewer
)

var everyone = []string{rAdmin, rEditor, rApprover, rViewer}

// routeMatrix maps every "METHOD path" of the route table to who may call
// it. TestRouteMatrixCoversRouteTable fails when a route is added without
// an entry here (or an entry outlives its route).
var routeMatrix = map[string]access{
	"GET /healthz":             public,
	"GET /readyz":              public,
	"POST /api/v1/auth/login":  public,
	"POST /api/v1/auth/logout": allow(everyone...),

	// One's own session, password and API tokens.
	"GET /api/v1/auth/session":         allow(everyone...),
	"POST /api/v1/auth/password":       allow(everyone...),
	"GET /api/v1/auth/sessions":        allow(everyone...),
	"DELETE /api/v1/auth/sessions/:id": allow(everyone...),
	"GET /api/v1/auth/tokens":          allow(everyone...),
	"POST /api/v1/auth/tokens":         allow(everyone...),
	"DELETE /api/v1/auth/tokens/:id":   allow(everyone...),

	// User management: admins only.
	"GET /api/v1/users":               allow(rAdmin),
	"POST /api/v1/users":              allow(rAdmin),
	"GET /api/v1/users/:id":           allow(rAdmin),
	"PATCH /api/v1/users/:id":         allow(rAdmin),
	"POST /api/v1/users/:id/password": allow(rAdmin),

	// Media: everyone reads; media staff (editors) and admins write.
	"GET /api/v1/media":                        allow(everyone...),
	"POST /api/v1/media":                       allow(rAdmin, rEditor),
	"GET /api/v1/media/:id":                    allow(everyone...),
	"PATCH /api/v1/media/:id":                  allow(rAdmin, rEditor),
	"DELETE /api/v1/media/:id":                 allow(rAdmin, rEditor),
	"GET /api/v1/media/:id/content":            allow(everyone...),
	"HEAD /api/v1/media/:id/content":           allow(everyone...),
	"GET /api/v1/media/:id/rendition":          allow(everyone...),
	"HEAD /api/v1/media/:id/rendition":         allow(everyone...),
	"GET /api/v1/media/:id/thumbnail":          allow(everyone...),
	"HEAD /api/v1/media/:id/thumbnail":         allow(everyone...),
	"GET /api/v1/playlists":                    allow(everyone...),
	"POST /api/v1/playlists":                   allow(rAdmin, rEditor),
	"GET /api/v1/playlists/:id":                allow(everyone...),
	"PUT /api/v1/playlists/:id":                allow(rAdmin, rEditor),
	"DELETE /api/v1/playlists/:id":             allow(rAdmin, rEditor),
	"GET /api/v1/playlists/:id/revisions":      allow(everyone...),
	"GET /api/v1/playlists/:id/revisions/:rev": allow(everyone...),

	// Displays: everyone reads; admins manage them.
	"GET /api/v1/displays":               allow(everyone...),
	"POST /api/v1/displays":              allow(rAdmin),
	"GET /api/v1/displays/:id":           allow(everyone...),
	"PUT /api/v1/displays/:id":           allow(rAdmin),
	"DELETE /api/v1/displays/:id":        allow(rAdmin),
	"POST /api/v1/displays/:id/token":    allow(rAdmin),
	"GET /api/v1/displays/:id/state":     allow(everyone...),
	"GET /api/v1/displays/:id/timeline":  allow(everyone...),
	"POST /api/v1/displays/:id/commands": allow(rAdmin),
	"GET /api/v1/displays/:id/commands":  allow(everyone...),

	// Organisations: everyone reads their subtree; admins manage it.
	"GET /api/v1/organisations":        allow(everyone...),
	"POST /api/v1/organisations":       allow(rAdmin),
	"GET /api/v1/organisations/:id":    allow(everyone...),
	"PATCH /api/v1/organisations/:id":  allow(rAdmin),
	"DELETE /api/v1/organisations/:id": allow(rAdmin),

	"GET /api/v1/plays":              allow(everyone...),
	"GET /api/v1/reports/airtime":    allow(everyone...),
	"GET /api/v1/reports/uptime":     allow(everyone...),
	"GET /api/v1/reports/compliance": allow(everyone...),
	"GET /api/v1/reports/monthly":    allow(everyone...),
	"GET /api/v1/stats":              allow(everyone...),
	"GET /api/v1/audit":              allow(rAdmin, rApprover, rViewer),

	// Offline alerts: everyone reads; webhooks are admins' (they hold secrets
	// and send data out of the server).
	"GET /api/v1/alerts":          allow(everyone...),
	"GET /api/v1/webhooks":        allow(rAdmin),
	"POST /api/v1/webhooks":       allow(rAdmin),
	"DELETE /api/v1/webhooks/:id": allow(rAdmin),
	// A display's own silence threshold: read by all, set by who manages
	// displays.
	"GET /api/v1/displays/:id/offline-alert": allow(everyone...),
	"PUT /api/v1/displays/:id/offline-alert": allow(rAdmin),

	// Player routes take a display's token, never a user's.
	"GET /api/v1/player/state":                displayOnly,
	"GET /api/v1/player/media/:id/content":    displayOnly,
	"HEAD /api/v1/player/media/:id/content":   displayOnly,
	"GET /api/v1/player/media/:id/rendition":  displayOnly,
	"HEAD /api/v1/player/media/:id/rendition": displayOnly,

	// Schedules: approvers write too (the service holds them to the
	// emergency layer).
	"GET /api/v1/schedules":        allow(everyone...),
	"POST /api/v1/schedules":       allow(rAdmin, rEditor, rApprover),
	"POST /api/v1/schedules/check": allow(everyone...),
	"GET /api/v1/schedules/:id":    allow(everyone...),
	"PUT /api/v1/schedules/:id":    allow(rAdmin, rEditor, rApprover),
	"DELETE /api/v1/schedules/:id": allow(rAdmin, rEditor, rApprover),
	// Approval: whoever writes schedules submits them; approvers and
	// admins decide.
	"POST /api/v1/schedules/:id/submit":  allow(rAdmin, rEditor, rApprover),
	"POST /api/v1/schedules/:id/approve": allow(rAdmin, rApprover),
	"POST /api/v1/schedules/:id/reject":  allow(rAdmin, rApprover),
}

func TestRouteMatrixCoversRouteTable(t *testing.T) {
	s := newStack(t, stackOptions{})
	inTable := map[string]bool{}
	for _, k := range s.server.RouteKeys() {
		inTable[k] = true
		if _, ok := routeMatrix[k]; !ok {
			t.Errorf("route %q has no entry in routeMatrix (matrix_test.go): say which roles may call it", k)
		}
	}
	for k := range routeMatrix {
		if !inTable[k] {
			t.Errorf("routeMatrix has %q, which is not in the route table", k)
		}
	}
}

// caller is one kind of client of the matrix: a role's user, a disabled
// user, or nobody (no token).
type caller struct {
	name     string
	role     string // "" for nobody
	disabled bool
}

var callers = []caller{
	{name: rAdmin, role: rAdmin},
	{name: rEditor, role: rEditor},
	{name: rApprover, role: rApprover},
	{name: rViewer, role: rViewer},
	{name: "disabled " + rAdmin, role: rAdmin, disabled: true},
	{name: "no token"},
}

// TestRouteMatrix calls every route of the route table as each caller and
// checks the answer against routeMatrix: 401 without a token or with a
// disabled account, 403 exactly for the roles the route does not allow, and
// neither for those it does. Path parameters name nothing, so an allowed
// call typically ends in 404 or 400: what matters here is that it got past
// authentication and the permission check.
func TestRouteMatrix(t *testing.T) {
	s := newStack(t, stackOptions{})
	users := map[string]*auth.User{}
	for _, c := range callers {
		if c.role == "" {
			continue
		}
		users[c.name] = s.mustStoreUser(auth.RootOrgID, "matrix_"+strings.ReplaceAll(c.name, " ", "_"), c.role, c.disabled)
	}
	keys := s.server.RouteKeys()
	sort.Strings(keys)
	for _, key := range keys {
		want, ok := routeMatrix[key]
		if !ok {
			continue // TestRouteMatrixCoversRouteTable reports it
		}
		method, path, _ := strings.Cut(key, " ")
		for _, c := range callers {
			token := ""
			if u := users[c.name]; u != nil {
				// A fresh session per call: logout revokes its own.
				token = s.mustStoreSession(u)
			}
			status := s.call(method, concretePath(path), token)
			if msg := want.check(c, status); msg != "" {
				t.Errorf("%s as %s: status %d; %s", key, c.name, status, msg)
			}
		}
	}
}

// check returns what is wrong with status as the answer to c, or "".
func (a access) check(c caller, status int) string {
	switch {
	case a.public:
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			return "a public route must not refuse anyone"
		}
	case a.display:
		if status == http.StatusForbidden || status < 300 {
			return "a player route must refuse a user's token (401, or 503 without player routes)"
		}
	case c.role == "" || c.disabled:
		if status != http.StatusUnauthorized {
			return "want 401"
		}
	case slices.Contains(a.roles, c.role):
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			return "the role may call this route"
		}
	default:
		if status != http.StatusForbidden {
			return "want 403"
		}
	}
	return ""
}

// concretePath fills a route's parameters with values that name nothing.
func concretePath(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch {
		case p == ":rev":
			parts[i] = "1"
		case strings.HasPrefix(p, ":"):
			parts[i] = "nothing_" + p[1:]
		}
	}
	return strings.Join(parts, "/")
}

// call sends method path with the bearer token ("" for none) and an empty
// JSON object as the body of methods that take one, and returns the status.
func (s *stack) call(method, path, token string) int {
	s.t.Helper()
	var body io.Reader
	header := map[string]string{"Authorization": ""}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		body = bytes.NewReader([]byte(`{}`))
		header["Content-Type"] = "application/json"
	}
	resp := s.do(method, path, body, header)
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// mustStoreUser stores a user of org with role, straight through the
// store (the password is never used: see mustStoreSession).
func (s *stack) mustStoreUser(org, username, role string, disabled bool) *auth.User {
	s.t.Helper()
	u := &auth.User{OrgID: org, Username: username, PasswordHash: "not a bcrypt hash", Role: role, Disabled: disabled}
	if err := s.db.CreateUser(context.Background(), u); err != nil {
		s.t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// mustStoreSession opens a bearer session for u straight through the store and
// returns its token.
func (s *stack) mustStoreSession(u *auth.User) string {
	s.t.Helper()
	token, hash := auth.NewToken()
	now := s.clock.Now()
	sess := &auth.Session{ID: marquee.NewID("ses_"), UserID: u.ID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.db.CreateSession(context.Background(), sess); err != nil {
		s.t.Fatalf("create session: %v", err)
	}
	return token
}
