package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marquee-signage/marquee/audit"
	"github.com/marquee-signage/marquee/auth"
)

func TestAuditSpecFor(t *testing.T) {
	none := auditSpec{}
	for _, tc := range []struct {
		method, path string
		perm         auth.Permission
		want         auditSpec // zero: not recorded
	}{
		{http.MethodPost, mediaPrefix, auth.PermContentWrite, auditSpec{objectType: "media", action: "create"}},
		{http.MethodPatch, mediaPrefix + "/:id", auth.PermContentWrite, auditSpec{objectType: "media", action: "update", idParam: true}},
		{http.MethodDelete, mediaPrefix + "/:id", auth.PermContentWrite, auditSpec{objectType: "media", action: "delete", idParam: true}},
		{http.MethodPut, playlistsPrefix + "/:id", auth.PermContentWrite, auditSpec{objectType: "playlist", action: "update", idParam: true}},
		{http.MethodPost, displaysPrefix + "/:id/token", auth.PermDisplayManage, auditSpec{objectType: "display", action: "rotate_token", idParam: true}},
		{http.MethodPost, displaysPrefix + "/:id/commands", auth.PermDisplayManage, auditSpec{objectType: "display", action: "send_command", idParam: true}},
		{http.MethodPost, schedulesPrefix + "/:id/approve", auth.PermScheduleApprove, auditSpec{objectType: "schedule", action: "approve", idParam: true}},
		{http.MethodPost, apiPrefix + "/users", auth.PermUserManage, auditSpec{objectType: "user", action: "create"}},
		{http.MethodPost, apiPrefix + "/users/:id/password", auth.PermUserManage, auditSpec{objectType: "user", action: "reset_password", idParam: true}},
		{http.MethodPost, apiPrefix + "/auth/password", auth.PermSelf, auditSpec{objectType: "user", action: "change_password", self: true}},
		{http.MethodPost, apiPrefix + "/auth/tokens", auth.PermSelf, auditSpec{objectType: "token", action: "create"}},
		{http.MethodDelete, apiPrefix + "/auth/tokens/:id", auth.PermSelf, auditSpec{objectType: "token", action: "delete", idParam: true}},
		{http.MethodPost, apiPrefix + "/auth/login", permPublic, auditSpec{objectType: "user", action: "login", self: true, login: true}},
		{http.MethodPost, apiPrefix + "/auth/logout", auth.PermSelf, auditSpec{objectType: "user", action: "logout", self: true}},
		// Reads, even by POST, and public routes are no changes.
		{http.MethodPost, schedulesPrefix + "/check", auth.PermRead, none},
		{http.MethodGet, mediaPrefix, auth.PermRead, none},
		{http.MethodGet, playerPrefix + "/state", permPublic, none},
	} {
		got, ok := auditSpecFor(route{method: tc.method, path: tc.path, perm: tc.perm})
		if ok != (tc.want != none) || got != tc.want {
			t.Errorf("%s %s: %+v (recorded %v), want %+v", tc.method, tc.path, got, ok, tc.want)
		}
	}
}

// TestEveryChangeIsAudited walks the route table: every route that can
// change something records an entry. A new route that changes something
// but is public (and so has no user to record) must be decided on here.
func TestEveryChangeIsAudited(t *testing.T) {
	notChanges := map[string]bool{
		http.MethodPost + " " + schedulesPrefix + "/check": true, // reads
	}
	for _, r := range (&Server{}).routes() {
		switch r.method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			continue
		}
		sp, ok := auditSpecFor(r)
		key := r.method + " " + r.path
		switch {
		case notChanges[key] && ok:
			t.Errorf("%s is recorded, but listed as no change", key)
		case notChanges[key]:
		case !ok:
			t.Errorf("%s changes something but is not audited (public? add an auditOverrides entry, or list it here if it changes nothing)", key)
		case sp.objectType == "" || sp.action == "":
			t.Errorf("%s: audited as %+v, with no object type or action", key, sp)
		}
	}
}

func TestAuditSummaryRedacts(t *testing.T) {
	got := auditSummary(map[string]any{
		"request": json.RawMessage(`{"username":"an","password":"hunter2","nested":{"api_token":"tok","Authorization":"Bearer x",
			"list":[{"new_password":"p2","name":"kept"}],"secret":null},"key":"k","keys":["a"],"token":"mqt_x"}`),
	})
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("summary %s: %v", got, err)
	}
	want := `{"request":{"key":"[redacted]","keys":["a"],"nested":{"Authorization":"[redacted]","api_token":"[redacted]",` +
		`"list":[{"name":"kept","new_password":"[redacted]"}],"secret":null},"password":"[redacted]","token":"[redacted]","username":"an"}}`
	if string(got) != want {
		t.Fatalf("summary =\n%s\nwant\n%s", got, want)
	}
	for _, secret := range []string{"hunter2", "tok", "Bearer x", "p2", "k", "mqt_x"} {
		if strings.Contains(string(got), `"`+secret+`"`) {
			t.Errorf("summary holds %q", secret)
		}
	}
}

func TestAuditSummaryFits(t *testing.T) {
	items := make([]map[string]any, 5000)
	for i := range items {
		items[i] = map[string]any{"media_id": fmt.Sprintf("med_%d", i), "note": strings.Repeat("dài ", 200)}
	}
	big := map[string]any{"name": "Sảnh", "items": items}
	tests := []struct {
		name    string
		summary map[string]any
		keep    string // a fragment the shrunk summary still holds
	}{
		{"long playlist", map[string]any{"before": big, "after": big}, `"name":"Sảnh"`},
		{"many fields", map[string]any{"request": manyFields(5000)}, `"truncated":true`},
	}
	for _, tt := range tests {
		got := auditSummary(tt.summary)
		if len(got) > audit.MaxSummaryBytes {
			t.Errorf("%s: %d bytes, want at most %d", tt.name, len(got), audit.MaxSummaryBytes)
		}
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Errorf("%s: not a JSON object: %v", tt.name, err)
		}
		if !strings.Contains(string(got), tt.keep) {
			t.Errorf("%s: %.300s… lacks %s", tt.name, got, tt.keep)
		}
	}
}

func manyFields(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprintf("field_%05d", i)] = i
	}
	return m
}

func TestHeldWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &heldWriter{ResponseWriter: rec, max: 8}
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte("1234"))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("sent before release: %d %q", rec.Code, rec.Body)
	}
	if got := string(w.body()); got != "1234" {
		t.Fatalf("held body = %q", got)
	}
	w.release()
	w.release()
	w.Write([]byte("5"))
	if rec.Code != http.StatusCreated || rec.Body.String() != "12345" {
		t.Fatalf("after release: %d %q, want 201 12345", rec.Code, rec.Body)
	}

	// Past max it lets go of everything and keeps no body.
	rec = httptest.NewRecorder()
	w = &heldWriter{ResponseWriter: rec, max: 8}
	w.Write([]byte("12345"))
	w.Write([]byte("67890"))
	if rec.Body.String() != "1234567890" || w.body() != nil {
		t.Fatalf("overflow: sent %q, held %q", rec.Body, w.body())
	}
}
