package admin_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/alerts"
)

type alertPage struct {
	Items      []alerts.Alert `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

type webhookPage struct {
	Items []alerts.Webhook `json:"items"`
}

func TestAlertsAndWebhooksAPI(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	now := s.clock.Now()
	s.mustSetStatus(f.dA.ID, true, now)
	s.mustSetStatus(f.dB.ID, true, now)
	s.mustSetStatus(f.dP.ID, true, now)

	// District A's admin gives its display a 2-minute threshold; B's is
	// out of its reach.
	s.as(f.adminA, func() {
		var th alerts.Threshold
		mustDecode(t, s.doJSON(http.MethodPut, "/api/v1/displays/"+f.dA.ID+"/offline-alert", map[string]any{"offline_alert_after": 120}), http.StatusOK, &th)
		if th.AfterSeconds == nil || *th.AfterSeconds != 120 || th.DefaultSeconds != 300 {
			t.Fatalf("threshold=%+v", th)
		}
		if got := s.doJSON(http.MethodPut, "/api/v1/displays/"+f.dB.ID+"/offline-alert", map[string]any{"offline_alert_after": 120}).StatusCode; got != http.StatusNotFound {
			t.Fatalf("PUT threshold of B's display: %d, want 404", got)
		}
		if got := s.doJSON(http.MethodPut, "/api/v1/displays/"+f.dA.ID+"/offline-alert", map[string]any{"offline_alert_after": 5}).StatusCode; got != http.StatusBadRequest {
			t.Fatalf("PUT a 5 s threshold: %d, want 400", got)
		}
	})

	// Webhooks: A's admin creates one in A; it is listed to A and the
	// root without its secret, and not to B.
	var w alerts.Webhook
	s.as(f.adminA, func() {
		mustDecode(t, s.doJSON(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/a", "events": []string{"alert.opened"}}),
			http.StatusCreated, &w)
		if got := s.doJSON(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": "file:///etc/passwd"}).StatusCode; got != http.StatusBadRequest {
			t.Fatalf("POST a file: URL: %d, want 400", got)
		}
		if got := s.doJSON(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": "https://x.example.com/", "organisation_id": f.b.ID}).StatusCode; got != http.StatusBadRequest {
			t.Fatalf("POST a webhook for B: %d, want 400", got)
		}
	})
	if w.OrgID != f.a.ID || len(w.Secret) != 64 {
		t.Fatalf("created webhook=%+v: want A's, with a generated secret shown once", w)
	}
	var wp webhookPage
	mustDecode(t, s.get("/api/v1/webhooks"), http.StatusOK, &wp)
	if len(wp.Items) != 1 || wp.Items[0].Secret != "" {
		t.Fatalf("root's webhooks=%+v", wp.Items)
	}
	bAdmin := s.mustStoreSession(s.mustStoreUser(f.b.ID, "admin_b", "admin", false))
	s.as(bAdmin, func() {
		mustDecode(t, s.get("/api/v1/webhooks"), http.StatusOK, &wp)
		if len(wp.Items) != 0 {
			t.Fatalf("B's webhooks=%+v", wp.Items)
		}
		if got := s.do(http.MethodDelete, "/api/v1/webhooks/"+w.ID, nil, nil).StatusCode; got != http.StatusNotFound {
			t.Fatalf("B deletes A's webhook: %d, want 404", got)
		}
	})

	// Three minutes of silence: A's display (2 min) is offline, the others
	// (5 min) not yet.
	s.clock.Add(3 * time.Minute)
	det := alerts.New(alerts.Config{Store: s.db, Now: s.clock.Now})
	if res, err := det.Check(context.Background()); err != nil || res.Opened != 1 {
		t.Fatalf("Check=%+v, %v; want 1 opened", res, err)
	}
	var ap alertPage
	s.as(f.editorA, func() {
		mustDecode(t, s.get("/api/v1/alerts?state=open"), http.StatusOK, &ap)
	})
	if len(ap.Items) != 1 || ap.Items[0].DisplayID != f.dA.ID || ap.Items[0].DisplayName != "A airport" || ap.Items[0].LastSeen == nil {
		t.Fatalf("A's open alerts=%+v", ap.Items)
	}
	s.as(bAdmin, func() {
		mustDecode(t, s.get("/api/v1/alerts"), http.StatusOK, &ap)
	})
	if len(ap.Items) != 0 {
		t.Fatalf("B sees %d alerts, want 0", len(ap.Items))
	}
	if got := s.get("/api/v1/alerts?state=maybe").StatusCode; got != http.StatusBadRequest {
		t.Fatalf("state=maybe: %d, want 400", got)
	}
	mustDecode(t, s.get("/api/v1/alerts?state=closed&display_id="+f.dA.ID), http.StatusOK, &ap)
	if len(ap.Items) != 0 {
		t.Fatalf("closed alerts=%+v", ap.Items)
	}

	s.as(f.adminA, func() {
		if got := s.do(http.MethodDelete, "/api/v1/webhooks/"+w.ID, nil, nil).StatusCode; got != http.StatusNoContent {
			t.Fatalf("A deletes its webhook: %d, want 204", got)
		}
	})
}

// TestAlertsPagingAndExport pages through district A's alerts by
// next_cursor and exports them, more than one page of the export, as CSV
// and XLSX; district B's alert never shows.
func TestAlertsPagingAndExport(t *testing.T) {
	f := newScopeFixture(t)
	s := f.stack
	base := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	const n = 505 // more than one export page (maxListLimit)

	// Alert i of A's display opens at base+i minutes and closes 90 s
	// later, the last one is still open; its display was last seen 5
	// minutes before, except for the first. B's display has one alert.
	tx, err := s.db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	insert := func(id, display, name, org string, opened time.Time, closed, lastSeen sql.NullInt64) {
		t.Helper()
		if _, err := tx.Exec(`INSERT INTO alerts (id, display_id, display_name, org_id, opened_at, closed_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, display, name, org, opened.UnixMilli(), closed, lastSeen); err != nil {
			t.Fatal(err)
		}
	}
	ms := func(t time.Time) sql.NullInt64 { return sql.NullInt64{Int64: t.UnixMilli(), Valid: true} }
	var want []string // A's alert IDs, newest first
	for i := range n {
		id, opened := marquee.NewID("alr_"), base.Add(time.Duration(i)*time.Minute)
		closed, lastSeen := ms(opened.Add(90*time.Second)), ms(opened.Add(-5*time.Minute))
		if i == n-1 {
			closed = sql.NullInt64{}
		}
		if i == 0 {
			lastSeen = sql.NullInt64{}
		}
		insert(id, f.dA.ID, "A airport", f.a.ID, opened, closed, lastSeen)
		want = append(want, id)
	}
	slices.Reverse(want)
	bAlert := marquee.NewID("alr_")
	insert(bAlert, f.dB.ID, "B airport", f.b.ID, base.Add(10*time.Minute), ms(base.Add(11*time.Minute)), sql.NullInt64{})
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	s.as(f.editorA, func() {
		// JSON: pages of 200 by next_cursor, each alert once, in order.
		var got []string
		pages := 0
		for path := "/api/v1/alerts?limit=200"; ; pages++ {
			if pages > 5 {
				t.Fatalf("more than 5 pages")
			}
			var ap alertPage
			mustDecode(t, s.get(path), http.StatusOK, &ap)
			for _, a := range ap.Items {
				got = append(got, a.ID)
			}
			if ap.NextCursor == "" {
				break
			}
			path = "/api/v1/alerts?limit=200&cursor=" + url.QueryEscape(ap.NextCursor)
		}
		if pages != 2 || !slices.Equal(got, want) {
			t.Fatalf("paged %d times through %d alerts; want 3 pages of A's %d alerts, newest first", pages+1, len(got), len(want))
		}
		wantError(t, s.get("/api/v1/alerts?cursor=bm90LWEtY3Vyc29y"), http.StatusBadRequest, "invalid")
		wantError(t, s.get("/api/v1/alerts?format=pdf"), http.StatusBadRequest, "invalid")
		wantError(t, s.get("/api/v1/alerts?format=csv&lang=fr"), http.StatusBadRequest, "invalid")
		wantError(t, s.get("/api/v1/alerts?from=2026-04-01T00:00:00Z&to=2026-03-01T00:00:00Z"), http.StatusBadRequest, "invalid")
		wantError(t, s.get("/api/v1/alerts?from=yesterday"), http.StatusBadRequest, "invalid")

		// CSV in Vietnamese (the default): every alert of A, over two
		// store pages; limit and cursor are ignored.
		recs := readCSV(t, s.get("/api/v1/alerts?format=csv&limit=1&cursor=ignored"))
		if got, want := len(recs), 1+n; got != want {
			t.Fatalf("csv records=%d, want %d", got, want)
		}
		if got, want := strings.Join(recs[0], "|"), "Mã cảnh báo|Mã màn hình|Tên màn hình|Mã đơn vị|Bắt đầu mất kết nối|Kết thúc mất kết nối|Trực tuyến lần cuối|Thời lượng mất kết nối (giây)"; got != want {
			t.Errorf("titles=%q, want %q", got, want)
		}
		var ids []string
		for _, r := range recs[1:] {
			ids = append(ids, r[0])
			if r[1] != f.dA.ID || r[3] != f.a.ID {
				t.Fatalf("row of another display or organisation: %q", r)
			}
		}
		if !slices.Equal(ids, want) {
			t.Errorf("csv rows are not A's alerts, newest first")
		}
		// Times are written in Asia/Ho_Chi_Minh (UTC+7).
		open := recs[1] // opened at base+504 min = 09:24 UTC
		if open[4] != "2026-03-01 16:24:00" || open[5] != "" || open[6] != "2026-03-01 16:19:00" {
			t.Errorf("open alert row=%q", open)
		}
		if d, err := strconv.ParseInt(open[7], 10, 64); err != nil || d < 90 {
			t.Errorf("open alert duration=%q, want seconds up to now", open[7])
		}
		if got, want := strings.Join(recs[2][4:], "|"), "2026-03-01 16:23:00|2026-03-01 16:24:30|2026-03-01 16:18:00|90"; got != want {
			t.Errorf("closed alert row=%q, want %q", got, want)
		}
		if got, want := strings.Join(recs[n][4:], "|"), "2026-03-01 08:00:00|2026-03-01 08:01:30||90"; got != want {
			t.Errorf("oldest alert row (never seen)=%q, want %q", got, want)
		}

		// English titles, filters applied.
		en := readCSV(t, s.get("/api/v1/alerts?format=csv&lang=en&state=closed&from=2026-03-01T01:00:00Z&to=2026-03-01T01:10:00Z"))
		if got, want := strings.Join(en[0], "|"), "Alert ID|Display ID|Display name|Organisation ID|Opened at|Closed at|Last seen|Offline duration (s)"; got != want {
			t.Errorf("English titles=%q, want %q", got, want)
		}
		if got, want := len(en), 1+10; got != want {
			t.Errorf("csv records in 10 min=%d, want %d", got, want)
		}

		x := readXLSX(t, s.get("/api/v1/alerts?format=xlsx&lang=en"))
		rows, err := x.GetRows("Offline alerts")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(rows), 1+n; got != want {
			t.Errorf("xlsx rows=%d, want %d", got, want)
		}
	})

	// The root sees B's alert too, which A's export left out.
	recs := readCSV(t, s.get("/api/v1/alerts?format=csv&lang=en"))
	if got, want := len(recs), 1+n+1; got != want {
		t.Fatalf("root's csv records=%d, want %d", got, want)
	}
	if !slices.ContainsFunc(recs, func(r []string) bool { return r[0] == bAlert && r[1] == f.dB.ID }) {
		t.Errorf("root's export lacks B's alert")
	}
	s.as(f.adminA, func() {
		recs := readCSV(t, s.get("/api/v1/alerts?format=csv"))
		if slices.ContainsFunc(recs, func(r []string) bool { return r[0] == bAlert || r[1] == f.dB.ID }) {
			t.Errorf("A's admin exports B's alert")
		}
	})
}
