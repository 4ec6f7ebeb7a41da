package sqlstore

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/alerts"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/fleet"
)

// The alert cases join the one conformance suite (TestConformance).
func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"AlertsOpenClose", testAlertsOpenClose},
		{"AlertsScope", testAlertsScope},
		{"AlertDeliveries", testAlertDeliveries},
		{"AlertsPaging", testAlertsPaging},
	}...)
}

func mustStatus(t *testing.T, db *DB, id string, online bool, at time.Time) {
	t.Helper()
	st := &fleet.DisplayStatus{DisplayID: id, Online: online, UpdatedAt: at}
	if online {
		st.LastSeen = &at
	}
	if _, err := db.SaveDisplayStatus(context.Background(), st); err != nil {
		t.Fatalf("SaveDisplayStatus: %v", err)
	}
}

func testAlertsOpenClose(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("Gate"))
	mustCreateDisplay(t, db, newDisplay("Never seen")) // no status: no candidate
	if _, err := db.exec(ctx, db.write, `UPDATE displays SET offline_alert_after = 90 WHERE id = ?`, d.ID); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, db, d.ID, true, t0)
	cs, err := db.FindAlertCandidates(ctx)
	if err != nil {
		t.Fatalf("FindAlertCandidates: %v", err)
	}
	if len(cs) != 1 || cs[0].DisplayID != d.ID || !cs[0].Online || cs[0].Threshold != 90*time.Second ||
		!cs[0].StatusAt.Equal(t0.Truncate(time.Millisecond)) || cs[0].Open != nil || cs[0].OrgID != auth.RootOrgID {
		t.Fatalf("candidates=%+v", cs)
	}

	opened := t0.Add(10 * time.Minute).UTC().Truncate(time.Millisecond)
	a := &alerts.Alert{ID: marquee.NewID("alr_"), DisplayID: d.ID, DisplayName: d.Name, OrgID: d.OrgID, OpenedAt: opened, LastSeen: cs[0].LastSeen}
	if ok, err := db.OpenAlert(ctx, a); err != nil || !ok {
		t.Fatalf("OpenAlert=%v, %v", ok, err)
	}
	dup := *a
	dup.ID = marquee.NewID("alr_")
	if ok, err := db.OpenAlert(ctx, &dup); err != nil || ok {
		t.Fatalf("second OpenAlert=%v, %v; want false, nil", ok, err)
	}
	cs, _ = db.FindAlertCandidates(ctx)
	if cs[0].Open == nil || cs[0].Open.ID != a.ID || !cs[0].Open.OpenedAt.Equal(opened) {
		t.Fatalf("candidate's open alert=%+v", cs[0].Open)
	}

	closed := opened.Add(time.Minute)
	a.ClosedAt = &closed
	if ok, err := db.CloseAlert(ctx, a); err != nil || !ok {
		t.Fatalf("CloseAlert=%v, %v", ok, err)
	}
	if ok, err := db.CloseAlert(ctx, a); err != nil || ok {
		t.Fatalf("second CloseAlert=%v, %v; want false, nil", ok, err)
	}
	for _, tt := range []struct {
		f    alerts.Filter
		want int
	}{
		{alerts.Filter{}, 1},
		{alerts.Filter{State: "open"}, 0},
		{alerts.Filter{State: "closed"}, 1},
		{alerts.Filter{DisplayID: d.ID}, 1},
		{alerts.Filter{DisplayID: "dsp_other"}, 0},
		{alerts.Filter{From: opened}, 1},
		{alerts.Filter{From: opened.Add(time.Millisecond)}, 0},
		{alerts.Filter{To: opened}, 0},
		{alerts.Filter{Within: auth.NoOrg}, 0},
	} {
		as, _, err := db.FindAlerts(ctx, tt.f)
		if err != nil {
			t.Fatalf("FindAlerts(%+v): %v", tt.f, err)
		}
		if len(as) != tt.want {
			t.Errorf("FindAlerts(%+v)=%d alerts, want %d", tt.f, len(as), tt.want)
		}
	}
	as, _, _ := db.FindAlerts(ctx, alerts.Filter{})
	if got := as[0]; got.ClosedAt == nil || !got.ClosedAt.Equal(closed) || got.LastSeen == nil || got.DisplayName != "Gate" {
		t.Fatalf("alert=%+v", got)
	}
	// A new episode may open once the last one is closed.
	again := &alerts.Alert{ID: marquee.NewID("alr_"), DisplayID: d.ID, DisplayName: d.Name, OrgID: d.OrgID, OpenedAt: closed.Add(time.Hour)}
	if ok, err := db.OpenAlert(ctx, again); err != nil || !ok {
		t.Fatalf("OpenAlert after close=%v, %v", ok, err)
	}
	// Deleting the display leaves its open alert as a Gone candidate.
	if err := db.DeleteDisplay(ctx, d.ID); err != nil {
		t.Fatalf("DeleteDisplay: %v", err)
	}
	cs, err = db.FindAlertCandidates(ctx)
	if err != nil {
		t.Fatalf("FindAlertCandidates: %v", err)
	}
	if len(cs) != 1 || !cs[0].Gone || cs[0].Open == nil || cs[0].Open.ID != again.ID || cs[0].DisplayName != "Gate" {
		t.Fatalf("candidates after delete=%+v", cs)
	}
}

func testAlertsScope(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	dA1 := mustCreateDisplay(t, db, newDisplay("a1", inOrg(tr.a1.ID)))
	dB := mustCreateDisplay(t, db, newDisplay("b", inOrg(tr.b.ID)))
	for _, d := range []string{dA1.ID, dB.ID} {
		mustStatus(t, db, d, true, t0)
	}
	hooks := map[string]string{} // webhook ID → organisation
	for _, org := range []string{auth.RootOrgID, tr.a.ID, tr.a1.ID, tr.b.ID} {
		w := &alerts.Webhook{ID: marquee.NewID("whk_"), OrgID: org, URL: "https://example.com/" + org, Secret: "s",
			Events: []string{alerts.EventClosed, alerts.EventOpened}, CreatedAt: t0}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
		hooks[w.ID] = org
	}
	if err := db.CreateWebhook(ctx, &alerts.Webhook{ID: "whk_x", OrgID: "org_missing", URL: "https://x/", Events: []string{alerts.EventOpened}}); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("webhook of a missing organisation: %v, want %s", err, marquee.EINVALID)
	}
	for _, org := range []string{"", tr.a.ID} {
		ws, err := db.FindWebhooks(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"": 4, tr.a.ID: 2}[org]
		if len(ws) != want {
			t.Errorf("FindWebhooks(%q)=%d, want %d", org, len(ws), want)
		}
	}

	a := &alerts.Alert{ID: marquee.NewID("alr_"), DisplayID: dA1.ID, DisplayName: "a1", OrgID: tr.a1.ID, OpenedAt: t0}
	if _, err := db.OpenAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ClaimDeliveries(ctx, t0.Add(time.Second), 100, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	got := map[string]bool{}
	for _, d := range ds {
		got[hooks[d.WebhookID]] = true
	}
	if len(ds) != 3 || !got[auth.RootOrgID] || !got[tr.a.ID] || !got[tr.a1.ID] {
		t.Fatalf("deliveries go to %v; want the root, a and a1 (not b)", got)
	}
	for within, want := range map[string]int{"": 1, tr.a.ID: 1, tr.a1.ID: 1, tr.b.ID: 0} {
		as, _, err := db.FindAlerts(ctx, alerts.Filter{Within: within})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != want {
			t.Errorf("alerts within %q=%d, want %d", within, len(as), want)
		}
	}
	for id, org := range hooks {
		if org == tr.a.ID {
			if err := db.DeleteWebhook(ctx, id, tr.b.ID); marquee.ErrorCode(err) != marquee.ENOTFOUND {
				t.Fatalf("delete outside scope: %v", err)
			}
			if err := db.DeleteWebhook(ctx, id, tr.a.ID); err != nil {
				t.Fatalf("DeleteWebhook: %v", err)
			}
		}
	}
}

func testAlertDeliveries(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("Gate"))
	w := &alerts.Webhook{ID: marquee.NewID("whk_"), OrgID: auth.RootOrgID, URL: "https://example.com/", Secret: "s",
		Events: []string{alerts.EventOpened}, CreatedAt: t0}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	at := t0.UTC().Truncate(time.Millisecond)
	a := &alerts.Alert{ID: marquee.NewID("alr_"), DisplayID: d.ID, DisplayName: "Gate", OrgID: auth.RootOrgID, OpenedAt: at}
	if _, err := db.OpenAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	claim := func(now time.Time) []alerts.Delivery {
		t.Helper()
		ds, err := db.ClaimDeliveries(ctx, now, 10, time.Minute)
		if err != nil {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		return ds
	}
	ds := claim(at)
	if len(ds) != 1 || ds[0].URL != w.URL || ds[0].Secret != "s" || ds[0].Event != alerts.EventOpened || ds[0].Attempts != 0 || !ds[0].CreatedAt.Equal(at) {
		t.Fatalf("deliveries=%+v", ds)
	}
	if got := claim(at.Add(30 * time.Second)); len(got) != 0 {
		t.Fatalf("claimed again within the lease: %d", len(got))
	}
	if err := db.FinishDelivery(ctx, ds[0].ID, alerts.DeliveryResult{State: alerts.StatePending, Attempts: 1, Next: at.Add(2 * time.Minute), Error: "500", At: at}); err != nil {
		t.Fatal(err)
	}
	if got := claim(at.Add(90 * time.Second)); len(got) != 0 {
		t.Fatalf("claimed before its retry time: %d", len(got))
	}
	ds = claim(at.Add(2 * time.Minute))
	if len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("retry=%+v", ds)
	}
	if err := db.FinishDelivery(ctx, ds[0].ID, alerts.DeliveryResult{State: alerts.StateDelivered, Attempts: 2, At: at}); err != nil {
		t.Fatal(err)
	}
	if got := claim(at.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("claimed after delivery: %d", len(got))
	}
	// The webhook wants no alert.closed: closing enqueues nothing.
	closed := at.Add(time.Minute)
	a.ClosedAt = &closed
	if _, err := db.CloseAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := claim(at.Add(2 * time.Hour)); len(got) != 0 {
		t.Fatalf("deliveries of an unwanted event: %d", len(got))
	}
}

// testAlertsPaging pages through more alerts than one page, several
// opened at the same millisecond, within a scope and from a cursor.
func testAlertsPaging(t *testing.T, db *DB) {
	ctx := context.Background()
	tr := mustTree(t, db)
	dA := mustCreateDisplay(t, db, newDisplay("a", inOrg(tr.a.ID)))
	dA1 := mustCreateDisplay(t, db, newDisplay("a1", inOrg(tr.a1.ID)))
	dB := mustCreateDisplay(t, db, newDisplay("b", inOrg(tr.b.ID)))
	base := t0.UTC().Truncate(time.Millisecond)
	var inA []*alerts.Alert // the alerts in A's subtree
	for i := range 9 {
		// Episode i of each display opens at base+i minutes (so three
		// alerts share each opened_at) and closes 30 s later, except the
		// last, which stays open.
		opened := base.Add(time.Duration(i) * time.Minute)
		for _, d := range []struct{ id, name, org string }{{dA.ID, "a", tr.a.ID}, {dA1.ID, "a1", tr.a1.ID}, {dB.ID, "b", tr.b.ID}} {
			a := &alerts.Alert{ID: marquee.NewID("alr_"), DisplayID: d.id, DisplayName: d.name, OrgID: d.org, OpenedAt: opened}
			if ok, err := db.OpenAlert(ctx, a); err != nil || !ok {
				t.Fatalf("OpenAlert=%v, %v", ok, err)
			}
			if i < 8 {
				closed := opened.Add(30 * time.Second)
				a.ClosedAt = &closed
				if ok, err := db.CloseAlert(ctx, a); err != nil || !ok {
					t.Fatalf("CloseAlert=%v, %v", ok, err)
				}
			}
			if d.org != tr.b.ID {
				inA = append(inA, a)
			}
		}
	}
	// Newest opened first, ties by ID descending.
	slices.SortFunc(inA, func(x, y *alerts.Alert) int {
		if c := y.OpenedAt.Compare(x.OpenedAt); c != 0 {
			return c
		}
		return strings.Compare(y.ID, x.ID)
	})
	var want []string
	for _, a := range inA {
		want = append(want, a.ID)
	}

	page := func(f alerts.Filter) []string {
		t.Helper()
		var got []string
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatalf("more than 20 pages of %+v", f)
			}
			as, next, err := db.FindAlerts(ctx, f)
			if err != nil {
				t.Fatalf("FindAlerts(%+v): %v", f, err)
			}
			if len(as) > f.Limit {
				t.Fatalf("page of %d alerts, limit %d", len(as), f.Limit)
			}
			for _, a := range as {
				got = append(got, a.ID)
			}
			if next == "" {
				return got
			}
			if len(as) != f.Limit {
				t.Fatalf("short page of %d (limit %d) with a next cursor", len(as), f.Limit)
			}
			f.Cursor = next
		}
	}
	for _, limit := range []int{1, 4, 5, 18, 100} {
		if got := page(alerts.Filter{Within: tr.a.ID, Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("paging A's subtree by %d:\n got %q\nwant %q", limit, got, want)
		}
	}
	// An exact page: next is "" with the last alert.
	as, next, err := db.FindAlerts(ctx, alerts.Filter{Within: tr.a.ID, Limit: len(want)})
	if err != nil || len(as) != len(want) || next != "" {
		t.Fatalf("one exact page: %d alerts, next %q, %v; want %d, \"\"", len(as), next, err, len(want))
	}
	// Filters hold across pages: closed alerts of A1 only.
	var wantA1 []string
	for _, a := range inA {
		if a.DisplayID == dA1.ID && a.ClosedAt != nil {
			wantA1 = append(wantA1, a.ID)
		}
	}
	if got := page(alerts.Filter{Within: tr.a.ID, DisplayID: dA1.ID, State: "closed", Limit: 3}); !slices.Equal(got, wantA1) {
		t.Errorf("closed alerts of a1:\n got %q\nwant %q", got, wantA1)
	}
	// B's scope never sees A's alerts, whatever the cursor.
	_, next, _ = db.FindAlerts(ctx, alerts.Filter{Within: tr.a.ID, Limit: 2})
	bs := page(alerts.Filter{Within: tr.b.ID, Limit: 2, Cursor: next})
	for _, id := range bs {
		if slices.Contains(want, id) {
			t.Fatalf("B's page from A's cursor holds A's alert %s", id)
		}
	}

	// Forged cursors are EINVALID before any SQL.
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []string{"!!!", enc("no-dot"), enc("123."), enc("x.alr_1"), enc("123.ALR_1"),
		enc("123.alr_1' OR '1'='1"), enc("123." + strings.Repeat("a", 65))} {
		if _, _, err := db.FindAlerts(ctx, alerts.Filter{Cursor: c}); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("cursor %q: %v, want %s", c, err, marquee.EINVALID)
		}
	}
}
