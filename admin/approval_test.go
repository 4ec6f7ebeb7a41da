package admin_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// approvalFixture: the province (root, whose admin the stack is logged in
// as) with two sibling districts A and B; in A an editor and an approver,
// in B an approver; in A a playlist of one image and a lobby display.
type approvalFixture struct {
	*stack
	a, b                        orgJSON
	editor, approver, approverB string // tokens
	editorID, approverID        string
	playlist                    playlistJSON
	red, blue                   string // media IDs
	lobby                       displayJSON
}

func newApprovalFixture(t *testing.T) *approvalFixture {
	s := newStack(t, stackOptions{}).login()
	s.clock.set(time.Date(2026, 6, 1, 0, 0, 0, 0, ict)) // Monday
	f := &approvalFixture{stack: s}
	f.a = s.mustCreateOrg("District A", auth.RootOrgID)
	f.b = s.mustCreateOrg("District B", auth.RootOrgID)
	editor := s.mustStoreUser(f.a.ID, "editor_a", auth.RoleEditor, false)
	approver := s.mustStoreUser(f.a.ID, "approver_a", auth.RoleApprover, false)
	approverB := s.mustStoreUser(f.b.ID, "approver_b", auth.RoleApprover, false)
	f.editor, f.approver, f.approverB = s.mustStoreSession(editor), s.mustStoreSession(approver), s.mustStoreSession(approverB)
	f.editorID, f.approverID = editor.ID, approver.ID

	f.red = s.mustUploadIn(f.a.ID, "red.jpg", 1).ID
	f.blue = s.mustUploadIn(f.a.ID, "blue.jpg", 2).ID
	s.as(f.editor, func() {
		f.playlist = s.mustCreatePlaylist(map[string]any{"name": "Campaign", "items": []any{map[string]any{"media_id": f.red}}})
	})
	f.lobby = s.mustCreateDisplay(display("Lobby", "organisation_id", f.a.ID, "tags", []string{"lobby"}))
	return f
}

// scheduleBody is a schedule of the playlist on the lobby tag, all day;
// kv pairs override fields.
func (f *approvalFixture) scheduleBody(name string, kv ...any) map[string]any {
	m := map[string]any{"name": name, "playlist_id": f.playlist.ID, "targets": map[string]any{"tags": []string{"lobby"}}}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func schedulePathOf(id, step string) string { return "/api/v1/schedules/" + id + "/" + step }

// step posts one approval step (submit, approve or reject) as token and
// decodes the schedule answered with status.
func (f *approvalFixture) step(token, id, step string, body any, status int) scheduleJSON {
	f.t.Helper()
	var sc scheduleJSON
	f.as(token, func() {
		var resp *http.Response
		if body == nil {
			resp = f.do(http.MethodPost, schedulePathOf(id, step), nil, nil)
		} else {
			resp = f.doJSON(http.MethodPost, schedulePathOf(id, step), body)
		}
		if status != http.StatusOK {
			f.wantStepError(resp, status)
			return
		}
		mustDecodeStrict(f.t, resp, http.StatusOK, &sc)
	})
	return sc
}

func (f *approvalFixture) wantStepError(resp *http.Response, status int) errorEnvelope {
	f.t.Helper()
	code := map[int]string{http.StatusBadRequest: "invalid", http.StatusForbidden: "forbidden",
		http.StatusNotFound: "not_found", http.StatusConflict: "conflict"}[status]
	return wantError(f.t, resp, status, code)
}

// liveRules returns the rules of the lobby's desired state, as the
// province admin reads it: schedule ID → "name@playlist revision".
func (f *approvalFixture) liveRules() map[string]string {
	f.t.Helper()
	var st marquee.DesiredState
	mustDecode(f.t, f.get("/api/v1/displays/"+f.lobby.ID+"/state"), http.StatusOK, &st)
	if err := st.Validate(); err != nil {
		f.t.Fatalf("state does not validate: %v", err)
	}
	out := map[string]string{}
	for _, r := range st.Rules {
		out[r.ScheduleID] = r.Name + "@" + strconv.FormatInt(r.Playlist.Revision, 10)
	}
	return out
}

func (f *approvalFixture) wantLive(step string, want map[string]string) {
	f.t.Helper()
	got := f.liveRules()
	if len(got) != len(want) {
		f.t.Fatalf("%s: lobby plays %v, want %v", step, got, want)
	}
	for id, w := range want {
		if got[id] != w {
			f.t.Fatalf("%s: lobby plays %v, want %v", step, got, want)
		}
	}
}

func (f *approvalFixture) getSchedule(token, id string) scheduleJSON {
	f.t.Helper()
	var sc scheduleJSON
	f.as(token, func() { mustDecodeStrict(f.t, f.get("/api/v1/schedules/"+id), http.StatusOK, &sc) })
	return sc
}

func (f *approvalFixture) editPlaylist(items ...string) {
	f.t.Helper()
	var its []any
	for _, m := range items {
		its = append(its, map[string]any{"media_id": m})
	}
	f.as(f.editor, func() {
		mustDecode(f.t, f.doJSON(http.MethodPut, "/api/v1/playlists/"+f.playlist.ID, map[string]any{"name": "Campaign", "items": its}),
			http.StatusOK, &playlistJSON{})
	})
}

// TestApprovalWorkflow: a schedule and the playlist revision it names reach
// displays only once approved; edits wait for approval while the approved
// version keeps playing.
func TestApprovalWorkflow(t *testing.T) {
	f := newApprovalFixture(t)
	none := map[string]string{}

	// An editor creates a schedule: a draft, on no screen.
	var sc scheduleJSON
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.scheduleBody("Summer")), http.StatusCreated, &sc)
	})
	id := sc.ID
	if a := sc.Approval; a.Status != "draft" || a.Live || a.Approved != nil || sc.OrgID != f.a.ID {
		t.Fatalf("created: %+v in %s", a, sc.OrgID)
	}
	f.wantLive("created", none)

	// Submitted: pending, still on no screen; listed as awaiting approval
	// for the district's approver and the province, not for district B.
	sc = f.step(f.editor, id, "submit", nil, http.StatusOK)
	if a := sc.Approval; a.Status != "pending" || a.SubmittedBy != f.editorID || a.SubmittedAt == nil || a.SubmittedRevision != 1 || a.Live {
		t.Fatalf("submitted: %+v", a)
	}
	f.wantLive("submitted", none)
	pending := func(token string) []string {
		var ids []string
		f.as(token, func() {
			var p schedulePage
			mustDecodeStrict(t, f.get("/api/v1/schedules?approval=pending"), http.StatusOK, &p)
			for _, s := range p.Items {
				ids = append(ids, s.ID)
			}
		})
		return ids
	}
	if got := pending(f.approver); len(got) != 1 || got[0] != id {
		t.Fatalf("pending for A's approver = %v, want [%s]", got, id)
	}
	if got := pending(f.token); len(got) != 1 {
		t.Fatalf("pending for the province = %v, want [%s]", got, id)
	}
	if got := pending(f.approverB); len(got) != 0 {
		t.Fatalf("pending for B's approver = %v, want none", got)
	}
	wantError(t, f.get("/api/v1/schedules?approval=waiting"), http.StatusBadRequest, "invalid")

	// Who may not decide: an editor (403), a sibling district's approver
	// (404: not in their subtree).
	f.step(f.editor, id, "approve", nil, http.StatusForbidden)
	f.step(f.editor, id, "reject", map[string]any{"reason": "x"}, http.StatusForbidden)
	f.as(f.approverB, func() { wantError(t, f.get("/api/v1/schedules/"+id), http.StatusNotFound, "not_found") })
	f.step(f.approverB, id, "approve", nil, http.StatusNotFound)
	f.step(f.approverB, id, "reject", map[string]any{"reason": "x"}, http.StatusNotFound)
	f.wantLive("refused approvals", none)

	// A's approver approves: live, pinned to revision 1.
	sc = f.step(f.approver, id, "approve", nil, http.StatusOK)
	if a := sc.Approval; a.Status != "approved" || !a.Live || a.ApprovedRevision != 1 || a.ChangesPending ||
		a.DecidedBy != f.approverID || a.Approved == nil || a.Approved.ApprovedBy != f.approverID || a.Approved.Name != "Summer" {
		t.Fatalf("approved: %+v", a)
	}
	f.wantLive("approved", map[string]string{id: "Summer@1"})

	// Wrong transitions.
	env := f.wantStepError(f.asDo(f.approver, schedulePathOf(id, "approve"), nil), http.StatusConflict)
	if !strings.Contains(env.Error.Message, "already approved") {
		t.Errorf("approve twice: %q", env.Error.Message)
	}
	f.step(f.approver, id, "reject", map[string]any{"reason": "late"}, http.StatusConflict)
	env = f.wantStepError(f.asDo(f.editor, schedulePathOf(id, "submit"), nil), http.StatusConflict)
	if !strings.Contains(env.Error.Message, "nothing to submit") {
		t.Errorf("submit an unchanged approved schedule: %q", env.Error.Message)
	}

	// The editor edits the playlist: a new revision, which does not play.
	f.editPlaylist(f.red, f.blue)
	f.wantLive("playlist edited", map[string]string{id: "Summer@1"})
	if a := f.getSchedule(f.editor, id).Approval; a.Status != "approved" || !a.ChangesPending || a.ApprovedRevision != 1 {
		t.Fatalf("after the playlist edit: %+v, want approved revision 1 with changes pending", a)
	}
	// Submitted and approved, the new revision plays.
	f.step(f.editor, id, "submit", nil, http.StatusOK)
	f.wantLive("playlist edit submitted", map[string]string{id: "Summer@1"})
	f.step(f.approver, id, "approve", nil, http.StatusOK)
	f.wantLive("playlist edit approved", map[string]string{id: "Summer@2"})

	// The editor edits the schedule: a draft again, while the approved
	// version keeps playing, in the state and in the preview.
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+id, f.scheduleBody("Summer v2")), http.StatusOK, &sc)
	})
	if a := sc.Approval; a.Status != "draft" || !a.Live || !a.ChangesPending || a.Approved.Name != "Summer" {
		t.Fatalf("after an edit: %+v", a)
	}
	f.wantLive("schedule edited", map[string]string{id: "Summer@2"})
	var tl timelineJSON
	mustDecode(t, f.get("/api/v1/displays/"+f.lobby.ID+"/timeline?limit=1"), http.StatusOK, &tl)
	if len(tl.Entries) != 1 || tl.Entries[0].ScheduleName != "Summer" {
		t.Fatalf("preview after an edit: %+v, want the approved version", tl.Entries)
	}
	// A PUT that changes nothing keeps the status.
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+id, f.scheduleBody("Summer v2")), http.StatusOK, &sc)
	})
	if sc.Approval.Status != "draft" {
		t.Fatalf("an unchanged PUT: status %q", sc.Approval.Status)
	}

	// A draft cannot be approved or rejected.
	env = f.wantStepError(f.asDo(f.approver, schedulePathOf(id, "approve"), nil), http.StatusConflict)
	if !strings.Contains(env.Error.Message, "draft") || !strings.Contains(env.Error.Message, "submitted") {
		t.Errorf("approve a draft: %q", env.Error.Message)
	}
	f.step(f.approver, id, "reject", map[string]any{"reason": "no"}, http.StatusConflict)

	// Submitted; a reject needs a reason.
	f.step(f.editor, id, "submit", nil, http.StatusOK)
	f.step(f.editor, id, "submit", nil, http.StatusConflict) // already pending
	f.step(f.approver, id, "reject", nil, http.StatusBadRequest)
	f.step(f.approver, id, "reject", map[string]any{}, http.StatusBadRequest)
	f.step(f.approver, id, "reject", map[string]any{"reason": "   "}, http.StatusBadRequest)
	f.step(f.approver, id, "reject", map[string]any{"reason": "x", "extra": 1}, http.StatusBadRequest)
	sc = f.step(f.approver, id, "reject", map[string]any{"reason": "Wrong dates"}, http.StatusOK)
	if a := sc.Approval; a.Status != "rejected" || a.Reason != "Wrong dates" || a.DecidedBy != f.approverID || !a.Live {
		t.Fatalf("rejected: %+v", a)
	}
	f.wantLive("edit rejected", map[string]string{id: "Summer@2"})

	// Resubmitted; the playlist changes meanwhile: approving now would
	// play what was not submitted, so it must be submitted again.
	sc = f.step(f.editor, id, "submit", nil, http.StatusOK)
	if sc.Approval.Reason != "" || sc.Approval.Status != "pending" {
		t.Fatalf("resubmitted: %+v", sc.Approval)
	}
	f.editPlaylist(f.blue)
	env = f.wantStepError(f.asDo(f.approver, schedulePathOf(id, "approve"), nil), http.StatusConflict)
	if !strings.Contains(env.Error.Message, "submitted again") {
		t.Errorf("approve after a playlist change: %q", env.Error.Message)
	}
	f.step(f.editor, id, "submit", nil, http.StatusConflict) // still pending: the editor edits or waits
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+id, f.scheduleBody("Summer v3")), http.StatusOK, &sc)
	})
	f.step(f.editor, id, "submit", nil, http.StatusOK)
	f.step(f.approver, id, "approve", nil, http.StatusOK)
	f.wantLive("edit approved", map[string]string{id: "Summer v3@3"})

	// Every step is in the audit log, the approval with what it approved.
	entries := f.auditLog("object_id=" + id + "&action=approve").Items
	if len(entries) != 3 || entries[0].UserID != f.approverID {
		t.Fatalf("approve entries: %+v", entries)
	}
	if got := field(entries[0].summary(t), "after", "approval", "approved", "playlist_revision"); got != float64(3) {
		t.Fatalf("the audit entry of the approval says revision %v, want 3", got)
	}
	if n := len(f.auditLog("object_id=" + id + "&action=reject").Items); n != 1 {
		t.Fatalf("%d reject entries, want 1", n)
	}

	// Deleting takes it off the screens at once.
	f.as(f.editor, func() {
		if resp := f.do(http.MethodDelete, "/api/v1/schedules/"+id, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
	})
	f.wantLive("deleted", none)
}

// asDo posts to path as token, with a JSON body unless nil.
func (f *approvalFixture) asDo(token, path string, body any) *http.Response {
	var resp *http.Response
	f.as(token, func() {
		if body == nil {
			resp = f.do(http.MethodPost, path, nil, nil)
		} else {
			resp = f.doJSON(http.MethodPost, path, body)
		}
	})
	return resp
}

// TestApprovalEmergency: approvers publish emergency-layer schedules
// directly, and only those; an editor's emergency schedule waits for
// approval like any other.
func TestApprovalEmergency(t *testing.T) {
	f := newApprovalFixture(t)
	storm := f.scheduleBody("Storm warning", "priority", "emergency")

	// The approver's emergency schedule plays at once, approved by them.
	var em scheduleJSON
	f.as(f.approver, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", storm), http.StatusCreated, &em)
	})
	if a := em.Approval; a.Status != "approved" || !a.Live || a.DecidedBy != f.approverID || a.ApprovedRevision != 1 {
		t.Fatalf("approver's emergency: %+v", a)
	}
	f.wantLive("approver's emergency", map[string]string{em.ID: "Storm warning@1"})
	// So does their edit of it.
	f.as(f.approver, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+em.ID, f.scheduleBody("Storm warning 2", "priority", "emergency")),
			http.StatusOK, &em)
	})
	f.wantLive("approver's emergency edited", map[string]string{em.ID: "Storm warning 2@1"})

	// Approvers write nothing but emergencies.
	f.as(f.approver, func() {
		wantError(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.scheduleBody("Campaign")), http.StatusForbidden, "forbidden")
		wantError(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+em.ID, f.scheduleBody("Campaign")), http.StatusForbidden, "forbidden")
		// A body that is not a schedule is still a 400.
		wantError(t, f.doJSON(http.MethodPost, "/api/v1/schedules", map[string]any{}), http.StatusBadRequest, "invalid")
	})
	var normal scheduleJSON
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.scheduleBody("Campaign")), http.StatusCreated, &normal)
	})
	f.as(f.approver, func() {
		wantError(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+normal.ID, f.scheduleBody("Campaign", "priority", "emergency")),
			http.StatusForbidden, "forbidden")
		wantError(t, f.do(http.MethodDelete, "/api/v1/schedules/"+normal.ID, nil, nil), http.StatusForbidden, "forbidden")
	})
	f.step(f.approver, normal.ID, "submit", nil, http.StatusForbidden)

	// The editor's emergency waits.
	var editors scheduleJSON
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.scheduleBody("Editor's storm", "priority", "emergency")),
			http.StatusCreated, &editors)
	})
	if a := editors.Approval; a.Status != "draft" || a.Live {
		t.Fatalf("editor's emergency: %+v", a)
	}
	f.wantLive("editor's emergency", map[string]string{em.ID: "Storm warning 2@1"})
	f.step(f.editor, editors.ID, "submit", nil, http.StatusOK)
	f.step(f.approver, editors.ID, "approve", nil, http.StatusOK)
	f.wantLive("editor's emergency approved", map[string]string{em.ID: "Storm warning 2@1", editors.ID: "Editor's storm@1"})

	// The approver deletes their emergency: off the screens.
	f.as(f.approver, func() {
		if resp := f.do(http.MethodDelete, "/api/v1/schedules/"+em.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
	})
	f.wantLive("approver's emergency deleted", map[string]string{editors.ID: "Editor's storm@1"})
}

// TestApprovalByAdmins: an admin's normal schedule goes through approval
// too (an admin may approve their own submission); an admin above the
// schedule's organisation approves it, one of a sibling district cannot
// see it.
func TestApprovalByAdmins(t *testing.T) {
	f := newApprovalFixture(t)
	var sc scheduleJSON
	mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.scheduleBody("Province campaign")), http.StatusCreated, &sc)
	if sc.Approval.Status != "draft" {
		t.Fatalf("an admin's normal schedule: %+v", sc.Approval)
	}
	f.wantLive("admin's draft", map[string]string{})
	f.step(f.token, sc.ID, "submit", nil, http.StatusOK)
	f.step(f.token, sc.ID, "approve", nil, http.StatusOK)
	f.wantLive("admin approved", map[string]string{sc.ID: "Province campaign@1"})

	// District A's schedule, approved by the province's admin.
	var a scheduleJSON
	f.as(f.editor, func() {
		mustDecodeStrict(t, f.doJSON(http.MethodPost, "/api/v1/schedules", f.scheduleBody("District campaign")), http.StatusCreated, &a)
	})
	f.step(f.editor, a.ID, "submit", nil, http.StatusOK)
	adminB := f.mustStoreSession(f.mustStoreUser(f.b.ID, "admin_b", auth.RoleAdmin, false))
	f.step(adminB, a.ID, "approve", nil, http.StatusNotFound)
	f.step(f.token, a.ID, "approve", nil, http.StatusOK)
	f.wantLive("district approved by the province", map[string]string{sc.ID: "Province campaign@1", a.ID: "District campaign@1"})
}
