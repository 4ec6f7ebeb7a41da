package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/reports"
)

func TestComplianceReport(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	ict := time.FixedZone("ICT", 7*3600)
	day := time.Date(2025, 6, 1, 0, 0, 0, 0, ict)
	// B's airport display is offline 10:00–14:00, and plays B's schedule
	// for the 20 hours it is online (one hour-long play each hour).
	s.mustSetStatus(f.dB.ID, true, day.Add(-time.Hour))
	s.mustSetStatus(f.dB.ID, false, day.Add(10*time.Hour))
	s.mustSetStatus(f.dB.ID, true, day.Add(14*time.Hour))
	var plays []marquee.Play
	play := func(at time.Time, schedule string) {
		p := marquee.Play{ID: newUUID(), DisplayID: f.dB.ID, MediaID: f.mB.ID, MediaSHA256: strings.Repeat("ab", 32),
			MediaName: "b", PlaylistID: f.pB.ID, PlaylistRevision: 1, ScheduleID: schedule, Reason: marquee.ReasonSchedule,
			StartedAt: at.UTC(), EndedAt: at.Add(time.Hour).UTC(), PlannedMS: 3600_000, PlayedMS: 3600_000, Completed: true}
		plays = append(plays, p)
	}
	for h := range 24 {
		if h < 10 || h >= 14 {
			play(day.Add(time.Duration(h)*time.Hour), f.sB.ID)
		}
	}
	play(day.Add(-time.Hour), f.sB.ID) // before the period
	play(day.Add(25*time.Hour), f.sB.ID)
	play(day.Add(12*time.Hour), "sch_other") // another schedule
	if _, err := s.db.InsertPlays(context.Background(), plays, day); err != nil {
		t.Fatal(err)
	}

	var got struct {
		ScheduleID   string                  `json:"schedule_id"`
		ScheduleName string                  `json:"schedule_name"`
		From         time.Time               `json:"from"`
		To           time.Time               `json:"to"`
		Timezone     string                  `json:"timezone"`
		Items        []reports.ComplianceRow `json:"items"`
	}
	q := "/api/v1/reports/compliance?from=2025-06-01&to=2025-06-01&schedule_id=" + f.sB.ID
	mustDecodeStrict(t, s.get(q), http.StatusOK, &got)
	h := func(n int64) int64 { return n * 3600_000 }
	want := reports.ComplianceRow{DisplayID: f.dB.ID, Name: "B airport", PlannedMS: h(24), DeliveredMS: h(20), GapMS: h(4),
		Plays: 20, Completed: 20, Ratio: 20.0 / 24, OfflineMS: h(4)}
	if len(got.Items) != 1 || got.Items[0] != want {
		t.Fatalf("compliance=%+v, want only %+v", got.Items, want)
	}
	if got.ScheduleID != f.sB.ID || !got.From.Equal(day) || !got.To.Equal(day.Add(24*time.Hour)) {
		t.Errorf("report header=%+v", got)
	}

	// A display the schedule no longer reaches, whose state named it that
	// day (its state history), is listed with what it should have shown.
	ctx := context.Background()
	if resp := s.get("/api/v1/displays/" + f.dB.ID + "/state"); resp.StatusCode != http.StatusOK { // builds and saves it
		t.Fatalf("state of B's display: %d", resp.StatusCode)
	}
	var doc string
	if err := s.db.SQL().QueryRowContext(ctx, `SELECT state_json FROM display_states WHERE display_id = ?`, f.dB.ID).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.SQL().ExecContext(ctx, `INSERT INTO display_state_history (display_id, revision, valid_from, state_json)
		VALUES (?, 999, ?, ?)`, f.dA.ID, day.Add(-time.Hour).UnixMilli(), doc); err != nil {
		t.Fatal(err)
	}
	mustDecodeStrict(t, s.get(q), http.StatusOK, &got)
	wantA := reports.ComplianceRow{DisplayID: f.dA.ID, Name: f.dA.Name, PlannedMS: h(24), GapMS: h(24), UnknownMS: h(24)}
	if len(got.Items) != 2 || got.Items[0] != wantA && got.Items[1] != wantA {
		t.Fatalf("compliance with A's past state=%+v, want also %+v", got.Items, wantA)
	}
	if _, err := s.db.SQL().ExecContext(ctx, `DELETE FROM display_state_history WHERE revision = 999`); err != nil {
		t.Fatal(err)
	}

	recs := readCSV(t, s.get(q+"&format=csv&lang=en"))
	if len(recs) != 2 || recs[0][4] != "Gap (h)" || recs[1][2] != "24" || recs[1][3] != "20" || recs[1][4] != "4" || recs[1][8] != "4" {
		t.Errorf("csv=%q, want planned 24 h, delivered 20 h, gap 4 h, offline 4 h", recs)
	}
	x := readXLSX(t, s.get(q+"&format=xlsx"))
	if rows, err := x.GetRows("Tuân thủ lịch phát"); err != nil || len(rows) != 2 || rows[0][2] != "Dự kiến (giờ)" {
		t.Errorf("xlsx rows=%q, err=%v", rows, err)
	}

	// District A's viewer cannot report on B's schedule.
	viewer := s.mustStoreSession(s.mustStoreUser(f.a.ID, "viewer_a", auth.RoleViewer, false))
	s.as(viewer, func() {
		wantError(t, s.get(q), http.StatusNotFound, "not_found")
	})
	for _, q := range []string{"", "schedule_id=" + f.sB.ID + "&from=2025-06-02&to=2025-06-01", "schedule_id=" + f.sB.ID + "&format=doc"} {
		wantError(t, s.get("/api/v1/reports/compliance?"+q), http.StatusBadRequest, "invalid")
	}
	wantError(t, s.get("/api/v1/reports/compliance?schedule_id=sch_none"), http.StatusNotFound, "not_found")
}
