package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/alerts"
)

type alertPage struct {
	Items []alerts.Alert `json:"items"`
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
