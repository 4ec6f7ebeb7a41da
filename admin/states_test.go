package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
)

type timelineJSON struct {
	DisplayID string `json:"display_id"`
	Revision  int64  `json:"revision"`
	Entries   []struct {
		Start        time.Time `json:"start"`
		End          time.Time `json:"end"`
		PlaylistName string    `json:"playlist_name"`
		ItemIndex    int       `json:"item_index"`
		MediaID      string    `json:"media_id"`
		MediaName    string    `json:"media_name"`
		Priority     string    `json:"priority"`
		Reason       string    `json:"reason"`
		ScheduleID   string    `json:"schedule_id"`
		ScheduleName string    `json:"schedule_name"`
	} `json:"entries"`
	Truncated bool `json:"truncated"`
}

// TestDisplayStateAndTimeline: the state endpoint serves the desired state
// with a revision ETag; the timeline previews it with the shared resolver.
func TestDisplayStateAndTimeline(t *testing.T) {
	f := newScheduleFixture(t) // Monday 1 June 2026 00:00 in Vietnam
	a := f.mustUpload("Căn cước", "", mustJPEG(t, 320, 160, 1))
	b := f.mustUpload("Bảo hiểm", "", mustJPEG(t, 320, 160, 2))
	var pl struct{ ID string }
	mustDecode(t, f.doJSON(http.MethodPut, "/api/v1/playlists/"+f.playlist, map[string]any{
		"name": "Campaign", "items": []any{
			map[string]any{"media_id": a.ID, "duration_ms": 8000},
			map[string]any{"media_id": b.ID, "duration_ms": 12000},
		}}), http.StatusOK, &pl)
	sc := f.mustPublishSchedule(f.schedule("Weekday mornings"))

	resp := f.get("/api/v1/displays/" + f.lobby.ID + "/state")
	var st marquee.DesiredState
	mustDecode(t, resp, http.StatusOK, &st)
	if st.DisplayID != f.lobby.ID || st.Revision != 1 || len(st.Rules) != 1 || st.Rules[0].ScheduleID != sc.ID {
		t.Fatalf("state: display=%s revision=%d rules=%+v", st.DisplayID, st.Revision, st.Rules)
	}
	if got, want := resp.Header.Get("ETag"), `"rev-1"`; got != want {
		t.Fatalf("ETag=%q, want %q", got, want)
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("served state does not validate: %v", err)
	}
	if resp := f.do(http.MethodGet, "/api/v1/displays/"+f.lobby.ID+"/state", nil, map[string]string{"If-None-Match": `"rev-1"`}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match rev-1: status %d, want 304", resp.StatusCode)
	}
	// The street display is not targeted: no rules, black.
	var street marquee.DesiredState
	mustDecode(t, f.get("/api/v1/displays/"+f.street.ID+"/state"), http.StatusOK, &street)
	if len(street.Rules) != 0 {
		t.Fatalf("street display has rules %+v", street.Rules)
	}

	// 06:59:44 → 07:00:20 local: black until 07:00, then the loop from the
	// top: Căn cước 8 s, Bảo hiểm 12 s, Căn cước again.
	from := time.Date(2026, 6, 1, 6, 59, 44, 0, ict)
	to := time.Date(2026, 6, 1, 7, 0, 24, 0, ict)
	var tl timelineJSON
	mustDecode(t, f.get("/api/v1/displays/"+f.lobby.ID+"/timeline?from="+from.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339)), http.StatusOK, &tl)
	type want struct {
		start, end time.Time
		media      string
		reason     string
	}
	at := func(h, m, s int) time.Time { return time.Date(2026, 6, 1, h, m, s, 0, ict) }
	wants := []want{
		{from, at(7, 0, 0), "", "idle"},
		{at(7, 0, 0), at(7, 0, 8), a.ID, "schedule"},
		{at(7, 0, 8), at(7, 0, 20), b.ID, "schedule"},
		{at(7, 0, 20), to, a.ID, "schedule"},
	}
	if len(tl.Entries) != len(wants) {
		t.Fatalf("timeline has %d entries, want %d: %+v", len(tl.Entries), len(wants), tl.Entries)
	}
	for i, w := range wants {
		e := tl.Entries[i]
		if !e.Start.Equal(w.start) || !e.End.Equal(w.end) || e.MediaID != w.media || e.Reason != w.reason {
			t.Fatalf("entry %d = %+v, want %+v", i, e, w)
		}
		if w.reason == "schedule" && (e.ScheduleName != "Weekday mornings" || e.PlaylistName != "Campaign" || e.Priority != "campaign" || e.MediaName == "") {
			t.Fatalf("entry %d lacks names: %+v", i, e)
		}
	}

	// A schedule edit changes nothing on screens until it is approved;
	// then it bumps the revision and the old ETag no longer matches.
	mustDecode(t, f.doJSON(http.MethodPut, "/api/v1/schedules/"+sc.ID, f.schedule("Weekday mornings", "cron", "0 8 * * 1-5")), http.StatusOK, &json.RawMessage{})
	if resp := f.do(http.MethodGet, "/api/v1/displays/"+f.lobby.ID+"/state", nil, map[string]string{"If-None-Match": `"rev-1"`}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("after an edit, before its approval: status %d, want 304", resp.StatusCode)
	}
	f.mustApproveSchedule(sc.ID)
	resp = f.do(http.MethodGet, "/api/v1/displays/"+f.lobby.ID+"/state", nil, map[string]string{"If-None-Match": `"rev-1"`})
	mustDecode(t, resp, http.StatusOK, &st)
	if st.Revision != 2 || resp.Header.Get("ETag") != `"rev-2"` {
		t.Fatalf("after edit: revision=%d ETag=%q, want 2", st.Revision, resp.Header.Get("ETag"))
	}
}

func TestDisplayTimelineErrors(t *testing.T) {
	f := newScheduleFixture(t)
	base := "/api/v1/displays/" + f.lobby.ID + "/timeline"
	for _, q := range []string{
		"?from=yesterday",
		"?to=2026-13-01T00:00:00Z",
		"?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z",
		"?from=2026-06-01T00:00:00Z&to=2026-08-01T00:00:00Z",
		"?limit=0",
		"?limit=1000001",
	} {
		wantError(t, f.get(base+q), http.StatusBadRequest, "invalid")
	}
	wantError(t, f.get("/api/v1/displays/dsp_nope/timeline"), http.StatusNotFound, "not_found")
	wantError(t, f.get("/api/v1/displays/dsp_nope/state"), http.StatusNotFound, "not_found")

	// The default window is the next 24 hours: nothing scheduled → one black entry.
	var tl timelineJSON
	mustDecode(t, f.get(base), http.StatusOK, &tl)
	if len(tl.Entries) != 1 || tl.Entries[0].Reason != "idle" || tl.Entries[0].End.Sub(tl.Entries[0].Start) != 24*time.Hour {
		t.Fatalf("default timeline %+v", tl.Entries)
	}
	// limit truncates.
	var pl struct{ ID string }
	mustDecode(t, f.doJSON(http.MethodPut, "/api/v1/playlists/"+f.playlist, map[string]any{
		"name": "Campaign", "items": []any{map[string]any{"media_id": f.mustUpload("x", "", mustJPEG(t, 64, 32, 3)).ID}}}), http.StatusOK, &pl)
	f.mustPublishSchedule(f.schedule("All day", "cron", "", "duration", ""))
	mustDecode(t, f.get(base+"?limit=5"), http.StatusOK, &tl)
	if len(tl.Entries) != 5 || !tl.Truncated {
		t.Fatalf("limit=5: %d entries truncated=%v", len(tl.Entries), tl.Truncated)
	}
}
