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

func TestMonthlyReport(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	ict := time.FixedZone("ICT", 7*3600)
	june := time.Date(2025, 6, 1, 0, 0, 0, 0, ict)
	var plays []marquee.Play
	play := func(display, schedule string, at time.Time) {
		p := marquee.Play{ID: newUUID(), DisplayID: display, MediaID: f.mB.ID, MediaSHA256: strings.Repeat("ab", 32),
			MediaName: "b", PlaylistID: f.pB.ID, PlaylistRevision: 1, ScheduleID: schedule, Reason: marquee.ReasonSchedule,
			StartedAt: at.UTC(), EndedAt: at.Add(30 * time.Minute).UTC(), PlannedMS: 1800_000, PlayedMS: 1800_000, Completed: true}
		if schedule == "" {
			p.Reason = marquee.ReasonFallback
		}
		plays = append(plays, p)
	}
	play(f.dB.ID, f.sB.ID, june.Add(30*time.Minute)) // 1 June, 00:30 in Hà Nội (31 May in UTC)
	play(f.dB.ID, f.sB.ID, june.Add(25*time.Hour))
	play(f.dA.ID, "", june.Add(2*time.Hour))
	play(f.dA.ID, "", june.AddDate(0, 1, 0)) // July
	if _, err := s.db.InsertPlays(context.Background(), plays, june); err != nil {
		t.Fatal(err)
	}

	x := readXLSX(t, s.get("/api/v1/reports/monthly?month=2025-06&lang=en"))
	if got, want := strings.Join(x.GetSheetList(), "|"), "Summary|Fallback|Campaign B airport|Display A airport|Display B airport"; got != want {
		t.Fatalf("sheets=%q, want %q", got, want)
	}
	summary, _ := x.GetRows("Summary")
	if got, want := summary[6], []string{"Plays", "3"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("summary plays=%q, want %q (all %q)", got, want, summary)
	}
	campaign, _ := x.GetRows("Campaign B airport")
	if len(campaign) != 3 || campaign[0][1] != "Display ID" || campaign[1][0] != "2025-06-01" || campaign[2][0] != "2025-06-02" ||
		campaign[1][1] != f.dB.ID || campaign[1][5] != "0.5" {
		t.Errorf("campaign sheet=%q", campaign)
	}

	// District A's viewer gets A's display only, and not B's organisation.
	viewer := s.mustStoreSession(s.mustStoreUser(f.a.ID, "viewer_a", auth.RoleViewer, false))
	s.as(viewer, func() {
		x := readXLSX(t, s.get("/api/v1/reports/monthly?month=2025-06"))
		if got, want := strings.Join(x.GetSheetList(), "|"), "Tổng hợp|Nội dung dự phòng|Màn hình A airport"; got != want {
			t.Errorf("district A's sheets=%q, want %q", got, want)
		}
		wantError(t, s.get("/api/v1/reports/monthly?month=2025-06&organisation="+f.b.ID), http.StatusNotFound, "not_found")
	})
	// In UTC the first play (00:30 on 1 June in Hà Nội) is on 31 May: June
	// has two plays, on 1 and 2 June.
	x = readXLSX(t, s.get("/api/v1/reports/monthly?month=2025-06&lang=en&tz=UTC"))
	summary, _ = x.GetRows("Summary")
	if got := strings.Join(summary[3], "|"); got != "Time zone|UTC" {
		t.Errorf("summary zone=%q, want UTC", got)
	}
	if got := strings.Join(summary[6], "|"); got != "Plays|2" {
		t.Errorf("summary plays in UTC=%q, want 2", got)
	}
	for _, q := range []string{"", "month=2025-13", "month=2025-06&format=csv", "month=2025-06&tz=Mars/Olympus", "month=2025-06&tz=Local"} {
		wantError(t, s.get("/api/v1/reports/monthly?"+q), http.StatusBadRequest, "invalid")
	}
}
