package sqlstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/reports"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"UptimeReport", testUptimeReport},
	}...)
}

func testUptimeReport(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	inOrg := func(org string) func(*displays.Display) { return func(d *displays.Display) { d.OrgID = org } }
	a := mustCreateDisplay(t, db, newDisplay("a", inOrg("org_a"), withDisplayTags("lobby")))
	b := mustCreateDisplay(t, db, newDisplay("b", inOrg("org_a1")))
	c := mustCreateDisplay(t, db, newDisplay("c", inOrg("org_b"), withDisplayTags("lobby")))
	set := func(id string, online bool, at time.Time) {
		t.Helper()
		st := fleet.DisplayStatus{DisplayID: id, Online: online, UpdatedAt: at}
		if online {
			st.LastSeen = &at
		}
		if _, err := db.SaveDisplayStatus(ctx, &st); err != nil {
			t.Fatalf("SaveDisplayStatus: %v", err)
		}
	}
	// a: online since the day before, offline 10:00–16:00.
	set(a.ID, true, from.Add(-time.Hour))
	set(a.ID, false, from.Add(10*time.Hour))
	set(a.ID, true, from.Add(16*time.Hour))
	// b: first heard at 06:00, online.
	set(b.ID, true, from.Add(6*time.Hour))
	// c: offline throughout, then online after the period.
	set(c.ID, false, from.Add(-48*time.Hour))
	set(c.ID, true, to.Add(time.Hour))

	h := func(n int64) int64 { return n * 3600_000 }
	got, err := db.UptimeReport(ctx, reports.UptimeFilter{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	last := func(n time.Duration) *time.Time { v := from.Add(n); return &v }
	want := []reports.DisplayUptime{
		{DisplayID: a.ID, Name: "a", OrgID: "org_a", OnlineMS: h(18), OfflineMS: h(6), Transitions: 2, Ratio: 0.75, Online: true, LastSeen: last(16 * time.Hour)},
		{DisplayID: b.ID, Name: "b", OrgID: "org_a1", OnlineMS: h(18), UnknownMS: h(6), Transitions: 1, Ratio: 1, Online: true, LastSeen: last(6 * time.Hour)},
		{DisplayID: c.ID, Name: "c", OrgID: "org_b", OfflineMS: h(24), Online: true, LastSeen: last(25 * time.Hour)},
	}
	sortUptime(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uptime (-want +got):\n%s", diff)
	}

	// Scope, tag and display filters; Now clips the period.
	for _, tt := range []struct {
		name string
		f    reports.UptimeFilter
		want []string
	}{
		{"within org_a", reports.UptimeFilter{Within: "org_a"}, []string{a.ID, b.ID}},
		{"tag", reports.UptimeFilter{Tag: "lobby"}, []string{a.ID, c.ID}},
		{"tag within org_b", reports.UptimeFilter{Tag: "lobby", Within: "org_b"}, []string{c.ID}},
		{"display outside scope", reports.UptimeFilter{DisplayID: c.ID, Within: "org_a"}, nil},
	} {
		tt.f.From, tt.f.To = from, to
		got, err := db.UptimeReport(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range got {
			ids = append(ids, u.DisplayID)
		}
		wantIDs := append([]string(nil), tt.want...)
		sortStrings(wantIDs)
		if diff := cmp.Diff(wantIDs, ids); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	clipped, err := db.UptimeReport(ctx, reports.UptimeFilter{From: from, To: to, DisplayID: a.ID, Now: from.Add(12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := clipped[0].OnlineMS+clipped[0].OfflineMS, h(12); got != want {
		t.Errorf("clipped to now: %d ms, want %d", got, want)
	}
	if _, err := db.UptimeReport(ctx, reports.UptimeFilter{From: to, To: from}); err == nil {
		t.Error("inverted period accepted")
	}
}

func sortUptime(us []reports.DisplayUptime) {
	slices.SortFunc(us, func(x, y reports.DisplayUptime) int { return strings.Compare(x.DisplayID, y.DisplayID) })
}

func sortStrings(s []string) { slices.Sort(s) }
