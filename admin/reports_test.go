package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

type airtimeJSON struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	GroupBy  string    `json:"group_by"`
	Timezone string    `json:"timezone"`
	Items    []struct {
		Key       string `json:"key"`
		Label     string `json:"label"`
		Plays     int64  `json:"plays"`
		Completed int64  `json:"completed"`
		AirtimeMS int64  `json:"airtime_ms"`
		Airtime   string `json:"airtime"`
	} `json:"items"`
}

func TestAirtimeReport(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	// One play on each of the displays of A, B and the province at 23:30
	// on 1 June in Vietnam, and one more on A's at 00:30 on 2 June.
	late := time.Date(2026, 6, 1, 16, 30, 0, 0, time.UTC)
	var plays []marquee.Play
	for i, d := range []string{f.dA.ID, f.dB.ID, f.dP.ID, f.dA.ID} {
		at := late
		if i == 3 {
			at = late.Add(time.Hour)
		}
		plays = append(plays, marquee.Play{ID: newUUID(), DisplayID: d, MediaID: "med_x", MediaSHA256: strings.Repeat("ab", 32),
			MediaName: "Tết", PlaylistID: "pls_a", PlaylistRevision: 1, ScheduleID: f.sB.ID, Reason: marquee.ReasonSchedule,
			StartedAt: at, EndedAt: at.Add(90 * time.Minute), PlannedMS: 5_400_000, PlayedMS: 5_400_000, Completed: true})
	}
	if _, err := s.db.InsertPlays(context.Background(), plays, late); err != nil {
		t.Fatal(err)
	}
	const q = "/api/v1/reports/airtime?from=2026-06-01&to=2026-06-02"

	var r airtimeJSON
	mustDecodeStrict(t, s.get(q+"&group_by=day"), http.StatusOK, &r)
	if r.Timezone != "Asia/Ho_Chi_Minh" || len(r.Items) != 2 || r.Items[0].Key != "2026-06-01" || r.Items[0].Plays != 3 ||
		r.Items[1].Plays != 1 || r.Items[0].Airtime != "4:30:00" {
		t.Fatalf("root's days = %+v", r)
	}
	// In UTC, everything is on 1 June.
	mustDecodeStrict(t, s.get(q+"&group_by=day&tz=UTC"), http.StatusOK, &r)
	if len(r.Items) != 1 || r.Items[0].Plays != 4 {
		t.Fatalf("root's days in UTC = %+v", r.Items)
	}

	// A district viewer sees its own display's airtime only.
	viewerA := s.mustStoreSession(s.mustStoreUser(f.a.ID, "viewer_a", auth.RoleViewer, false))
	s.as(viewerA, func() {
		var r airtimeJSON
		mustDecodeStrict(t, s.get(q+"&group_by=display"), http.StatusOK, &r)
		if len(r.Items) != 1 || r.Items[0].Key != f.dA.ID || r.Items[0].Plays != 2 || r.Items[0].Label != "A airport" {
			t.Fatalf("district A's viewer by display = %+v", r.Items)
		}
		if resp := s.get(q + "&display_id=" + f.dB.ID); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("district A's viewer asking for B's display: status=%d, want 404", resp.StatusCode)
		}
		mustDecodeStrict(t, s.get(q+"&group_by=organisation&organisation_id="+f.b.ID), http.StatusOK, &r)
		if len(r.Items) != 0 {
			t.Fatalf("district A's viewer asking for B = %+v", r.Items)
		}
	})

	// CSV parses, with a title row and one row per group.
	recs := readCSV(t, s.get(q+"&group_by=organisation&format=csv&lang=en"))
	if len(recs) != 4 || recs[0][0] != "Organisation ID" || recs[0][5] != "Airtime" {
		t.Fatalf("csv = %q", recs)
	}
	for _, rec := range recs[1:] {
		if rec[0] == f.a.ID && (rec[2] != "2" || rec[4] != "10800000" || rec[5] != "3:00:00") {
			t.Fatalf("district A's csv row = %q", rec)
		}
	}
	xf := readXLSX(t, s.get(q+"&group_by=media&format=xlsx"))
	if rows, err := xf.GetRows(xf.GetSheetList()[0]); err != nil || len(rows) != 2 {
		t.Fatalf("xlsx rows = %q, %v", rows, err)
	}

	for _, bad := range []string{q + "&group_by=week", q + "&tz=Mars/Olympus", "/api/v1/reports/airtime?from=June",
		"/api/v1/reports/airtime?from=2026-06-02&to=2026-06-01"} {
		if resp := s.get(bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status=%d, want 400", bad, resp.StatusCode)
		}
	}
}
