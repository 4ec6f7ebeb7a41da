package admin_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/desired"
)

// changeLog records the changes the server reports.
type changeLog struct {
	mu  sync.Mutex
	got []string
}

func (l *changeLog) Notify(kind, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, kind+" "+id)
}

// take returns the changes reported since the last take.
func (l *changeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// TestChangesNotified: every successful create, update and delete of
// media, playlists, displays and schedules, and every step of a schedule's
// approval, is reported once, with its kind and ID; reads, failures and
// token rotation are not.
func TestChangesNotified(t *testing.T) {
	log := &changeLog{}
	s := newStack(t, stackOptions{changes: log}).login()
	expect := func(step string, want ...string) {
		t.Helper()
		if got := log.take(); !cmp.Equal(got, want) {
			t.Fatalf("%s: changes %q, want %q", step, got, want)
		}
	}
	expect("login")

	m := s.mustUpload("Banner", "", mustJPEG(t, 64, 32, 1))
	expect("upload", desired.ChangeMedia+" "+m.ID)
	mustDecode(t, s.doJSON(http.MethodPatch, "/api/v1/media/"+m.ID, map[string]any{"name": "Banner 2"}), http.StatusOK, &map[string]any{})
	expect("rename media", desired.ChangeMedia+" "+m.ID)

	p := s.mustCreatePlaylist(map[string]any{"name": "A", "items": []map[string]any{{"media_id": m.ID}}})
	expect("create playlist", desired.ChangePlaylist+" "+p.ID)
	mustDecode(t, s.doJSON(http.MethodPut, "/api/v1/playlists/"+p.ID, map[string]any{"name": "A2", "items": []map[string]any{{"media_id": m.ID}}}), http.StatusOK, &map[string]any{})
	expect("update playlist", desired.ChangePlaylist+" "+p.ID)

	var d struct{ ID string }
	mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/displays", map[string]any{"name": "Lobby", "width": 192, "height": 96}), http.StatusCreated, &d)
	expect("create display", desired.ChangeDisplay+" "+d.ID)
	mustDecode(t, s.doJSON(http.MethodPut, "/api/v1/displays/"+d.ID, map[string]any{"name": "Lobby 2", "width": 192, "height": 96}), http.StatusOK, &map[string]any{})
	expect("update display", desired.ChangeDisplay+" "+d.ID)
	mustDecode(t, s.do(http.MethodPost, "/api/v1/displays/"+d.ID+"/token", nil, nil), http.StatusOK, &map[string]any{})
	expect("rotate token", admin.TokenRotated+" "+d.ID)
	mustDecode(t, s.get("/api/v1/displays/"+d.ID+"/state"), http.StatusOK, &map[string]any{})
	expect("read state")

	var sc struct{ ID string }
	body := map[string]any{"name": "S", "playlist_id": p.ID, "targets": map[string]any{"display_ids": []string{d.ID}}}
	mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/schedules", body), http.StatusCreated, &sc)
	id := sc.ID
	expect("create schedule", desired.ChangeSchedule+" "+id)
	mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/schedules/check", body), http.StatusOK, &map[string]any{})
	expect("check schedule (a dry run)")
	body["name"] = "S2"
	mustDecode(t, s.doJSON(http.MethodPut, "/api/v1/schedules/"+id, body), http.StatusOK, &map[string]any{})
	expect("update schedule", desired.ChangeSchedule+" "+id)
	for _, step := range []string{"submit", "approve"} {
		mustDecode(t, s.do(http.MethodPost, "/api/v1/schedules/"+id+"/"+step, nil, nil), http.StatusOK, &map[string]any{})
		expect(step+" schedule", desired.ChangeSchedule+" "+id)
	}
	wantError(t, s.do(http.MethodPost, "/api/v1/schedules/"+id+"/approve", nil, nil), http.StatusConflict, "conflict")
	expect("approve twice")
	body["name"] = "S3"
	mustDecode(t, s.doJSON(http.MethodPut, "/api/v1/schedules/"+id, body), http.StatusOK, &map[string]any{})
	mustDecode(t, s.do(http.MethodPost, "/api/v1/schedules/"+id+"/submit", nil, nil), http.StatusOK, &map[string]any{})
	log.take()
	mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/schedules/"+id+"/reject", map[string]any{"reason": "no"}), http.StatusOK, &map[string]any{})
	expect("reject schedule", desired.ChangeSchedule+" "+id)

	// Failures report nothing.
	wantError(t, s.do(http.MethodDelete, "/api/v1/playlists/"+p.ID, nil, nil), http.StatusConflict, "conflict")
	wantError(t, s.do(http.MethodDelete, "/api/v1/displays/dsp_missing", nil, nil), http.StatusNotFound, "not_found")
	expect("failed deletes")

	for _, del := range []struct{ path, kind, id string }{
		{"/api/v1/schedules/" + id, desired.ChangeSchedule, id},
		{"/api/v1/displays/" + d.ID, desired.ChangeDisplay, d.ID},
		{"/api/v1/playlists/" + p.ID, desired.ChangePlaylist, p.ID},
		{"/api/v1/media/" + m.ID, desired.ChangeMedia, m.ID},
	} {
		if resp := s.do(http.MethodDelete, del.path, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s = %d", del.path, resp.StatusCode)
		}
		expect("delete "+del.kind, del.kind+" "+del.id)
	}
}
