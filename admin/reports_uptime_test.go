package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/reports"
)

// mustSetStatus records a display's status at a time, as fleet does for a
// heartbeat or a Last Will.
func (s *stack) mustSetStatus(displayID string, online bool, at time.Time) {
	s.t.Helper()
	st := fleet.DisplayStatus{DisplayID: displayID, Online: online, UpdatedAt: at}
	if online {
		st.LastSeen = &at
	}
	if _, err := s.db.SaveDisplayStatus(context.Background(), &st); err != nil {
		s.t.Fatalf("save status: %v", err)
	}
}

func TestUptimeReport(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	ict := time.FixedZone("ICT", 7*3600)
	day := time.Date(2025, 6, 1, 0, 0, 0, 0, ict)
	// A: online before the day, offline 09:00–15:00 (a transition mid-window).
	s.mustSetStatus(f.dA.ID, true, day.Add(-time.Hour))
	s.mustSetStatus(f.dA.ID, false, day.Add(9*time.Hour))
	s.mustSetStatus(f.dA.ID, true, day.Add(15*time.Hour))
	s.mustSetStatus(f.dB.ID, true, day.Add(-time.Hour))

	var got struct {
		From     time.Time               `json:"from"`
		To       time.Time               `json:"to"`
		Timezone string                  `json:"timezone"`
		Items    []reports.DisplayUptime `json:"items"`
	}
	mustDecodeStrict(t, s.get("/api/v1/reports/uptime?from=2025-06-01&to=2025-06-01&display_id="+f.dA.ID), http.StatusOK, &got)
	if len(got.Items) != 1 {
		t.Fatalf("items=%+v, want one", got.Items)
	}
	u := got.Items[0]
	if u.OnlineMS != 18*3600_000 || u.OfflineMS != 6*3600_000 || u.UnknownMS != 0 || u.Transitions != 2 || u.Ratio != 0.75 {
		t.Errorf("uptime of A=%+v, want 18 h online, 6 h offline, 2 transitions", u)
	}
	if !got.From.Equal(day) || !got.To.Equal(day.Add(24*time.Hour)) || got.Timezone != "Asia/Ho_Chi_Minh" {
		t.Errorf("period=%v–%v %s", got.From, got.To, got.Timezone)
	}

	// The province sees the three airport displays; CSV and XLSX agree.
	recs := readCSV(t, s.get("/api/v1/reports/uptime?from=2025-06-01&to=2025-06-01&tag=Airport&format=csv&lang=en"))
	if got, want := len(recs), 4; got != want {
		t.Fatalf("csv records=%d, want %d: %q", got, want, recs)
	}
	if got, want := recs[0][3], "Online (h)"; got != want {
		t.Errorf("title=%q, want %q", got, want)
	}
	for _, r := range recs[1:] {
		if r[0] == f.dA.ID && (r[3] != "18" || r[4] != "6" || r[6] != "75") {
			t.Errorf("csv row of A=%q, want 18 h online, 6 h offline, 75 %%", r)
		}
		if r[0] == f.dP.ID && r[5] != "24" {
			t.Errorf("csv row of the province's display=%q, want 24 h unknown", r)
		}
	}
	x := readXLSX(t, s.get("/api/v1/reports/uptime?from=2025-06-01&to=2025-06-01&format=xlsx"))
	rows, err := x.GetRows("Thời gian hoạt động")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), 4; got != want || rows[0][0] != "Mã màn hình" {
		t.Errorf("xlsx rows=%q, want %d with Vietnamese titles", rows, want)
	}

	// A district viewer reports on its own displays only.
	viewer := s.mustStoreSession(s.mustStoreUser(f.a.ID, "viewer_a", auth.RoleViewer, false))
	s.as(viewer, func() {
		mustDecodeStrict(t, s.get("/api/v1/reports/uptime?from=2025-06-01&to=2025-06-01"), http.StatusOK, &got)
		if len(got.Items) != 1 || got.Items[0].DisplayID != f.dA.ID {
			t.Errorf("district A's viewer sees %+v, want only A's display", got.Items)
		}
		wantError(t, s.get("/api/v1/reports/uptime?display_id="+url.QueryEscape(f.dB.ID)), http.StatusNotFound, "not_found")
	})

	for _, q := range []string{"from=2025-06-02&to=2025-06-01", "from=yesterday", "format=pdf", "tz=Mars/Olympus"} {
		wantError(t, s.get("/api/v1/reports/uptime?"+q), http.StatusBadRequest, "invalid")
	}
}
