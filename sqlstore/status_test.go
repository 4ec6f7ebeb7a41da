package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"StatusTransitions", testStatusTransitions},
		{"StatusBatch", testStatusBatch},
		{"StatusUnknownDisplay", testStatusUnknownDisplay},
		{"StatusCascadesEventsStay", testStatusCascadesEventsStay},
		{"DisplayByTokenHash", testDisplayByTokenHash},
	}...)
}

func int64p(v int64) *int64 { return &v }

func testStatusTransitions(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("lobby"))
	other := mustCreateDisplay(t, db, newDisplay("other"))
	save := func(st fleet.DisplayStatus) bool {
		t.Helper()
		tr, err := db.SaveDisplayStatus(ctx, &st)
		if err != nil {
			t.Fatalf("SaveDisplayStatus: %v", err)
		}
		return tr
	}
	find := func() *fleet.DisplayStatus {
		t.Helper()
		got, err := db.FindDisplayStatuses(ctx, []string{d.ID, other.ID, "dsp_none"})
		if err != nil {
			t.Fatalf("FindDisplayStatuses: %v", err)
		}
		if len(got) != 1 {
			t.Fatalf("FindDisplayStatuses = %d statuses, want 1 (only %s reported)", len(got), d.ID)
		}
		return got[d.ID]
	}

	t1 := t0.UTC().Truncate(time.Millisecond)
	online := fleet.DisplayStatus{
		DisplayID: d.ID, Online: true, LastSeen: &t1, StateRevision: 7,
		Current: &marquee.NowPlaying{MediaID: "med_a", MediaName: "Tết", PlaylistID: "pls_a", PlaylistRevision: 2,
			ScheduleID: "sch_a", Reason: marquee.ReasonSchedule, Since: t1.Add(-time.Second)},
		Version: "1.2.3", CacheBytes: 1 << 30, FreeDiskBytes: 5 << 30, UptimeSeconds: 3600,
		ClockOffsetMS: int64p(-42), UpdatedAt: t1,
	}
	if !save(online) {
		t.Error("first status: no transition")
	}
	if diff := cmp.Diff(&online, find()); diff != "" {
		t.Fatalf("stored status (-want +got):\n%s", diff)
	}

	// Another heartbeat: no transition, fields replaced.
	t2 := t1.Add(30 * time.Second)
	beat := online
	beat.LastSeen, beat.UpdatedAt, beat.StateRevision, beat.Current, beat.ClockOffsetMS = &t2, t2, 8, nil, nil
	if save(beat) {
		t.Error("heartbeat: transition")
	}
	if diff := cmp.Diff(&beat, find()); diff != "" {
		t.Fatalf("after heartbeat (-want +got):\n%s", diff)
	}

	// The Last Will: offline, last_seen and figures kept, current cleared.
	t3 := t2.Add(45 * time.Second)
	beat.Current = online.Current
	save(beat)
	if !save(fleet.DisplayStatus{DisplayID: d.ID, Online: false, UpdatedAt: t3}) {
		t.Error("offline: no transition")
	}
	want := beat
	want.Online, want.Current, want.UpdatedAt = false, nil, t3
	if diff := cmp.Diff(&want, find()); diff != "" {
		t.Fatalf("after the Last Will (-want +got):\n%s", diff)
	}
	if save(fleet.DisplayStatus{DisplayID: d.ID, Online: false, UpdatedAt: t3.Add(time.Second)}) {
		t.Error("offline twice: transition")
	}
	t4 := t3.Add(time.Minute)
	back := online
	back.LastSeen, back.UpdatedAt = &t4, t4
	if !save(back) {
		t.Error("back online: no transition")
	}

	events, err := db.FindStatusEvents(ctx, d.ID, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []fleet.StatusEvent{
		{DisplayID: d.ID, At: t1, Online: true},
		{DisplayID: d.ID, At: t3, Online: false},
		{DisplayID: d.ID, At: t4, Online: true},
	}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	events, err = db.FindStatusEvents(ctx, d.ID, t2, t4)
	if err != nil || len(events) != 1 || events[0].At != t3 {
		t.Fatalf("events in [t2, t4) = %v, %v; want the offline one", events, err)
	}

	// A display that only ever went offline has no last_seen.
	if !save(fleet.DisplayStatus{DisplayID: other.ID, UpdatedAt: t1}) {
		t.Error("first status offline: no transition")
	}
	got, err := db.FindDisplayStatuses(ctx, []string{other.ID})
	if err != nil || got[other.ID] == nil || got[other.ID].LastSeen != nil || got[other.ID].Online {
		t.Fatalf("offline-only status = %+v, %v", got[other.ID], err)
	}
}

// testStatusBatch: SaveDisplayStatuses applies its saves in order, each as
// SaveDisplayStatus would, with events at EventAt; an unknown display is
// reported, not an error, and does not stop the others.
func testStatusBatch(t *testing.T, db *DB) {
	ctx := context.Background()
	a := mustCreateDisplay(t, db, newDisplay("a"))
	b := mustCreateDisplay(t, db, newDisplay("b"))
	if res, err := db.SaveDisplayStatuses(ctx, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty batch = %v, %v", res, err)
	}
	t1 := t0.UTC().Truncate(time.Millisecond)
	t2, t3, t4 := t1.Add(time.Minute), t1.Add(2*time.Minute), t1.Add(3*time.Minute)
	online := func(id string, at time.Time, rev int64) *fleet.DisplayStatus {
		return &fleet.DisplayStatus{DisplayID: id, Online: true, LastSeen: &at, StateRevision: rev, Version: "v",
			CacheBytes: rev << 10, Current: &marquee.NowPlaying{MediaID: "med_a", Reason: marquee.ReasonSchedule, Since: t1},
			UpdatedAt: at}
	}
	offline := func(id string, at time.Time) *fleet.DisplayStatus {
		return &fleet.DisplayStatus{DisplayID: id, UpdatedAt: at}
	}
	saves := []fleet.StatusSave{
		{Status: online(a.ID, t1.Add(2*time.Second), 1), EventAt: t1}, // a run of heartbeats that began at t1
		{Status: online("dsp_ghost", t1, 1)},
		{Status: offline(b.ID, t1)},
		{Status: offline(a.ID, t2), EventAt: t2},
		{Status: online(a.ID, t3, 2)}, // EventAt zero: UpdatedAt
	}
	res, err := db.SaveDisplayStatuses(ctx, saves)
	if err != nil {
		t.Fatalf("SaveDisplayStatuses: %v", err)
	}
	want := []fleet.StatusSaved{{Transition: true}, {NotFound: true}, {Transition: true}, {Transition: true}, {Transition: true}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	events := func(id string) []fleet.StatusEvent {
		t.Helper()
		evs, err := db.FindStatusEvents(ctx, id, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	wantA := []fleet.StatusEvent{{DisplayID: a.ID, At: t1, Online: true}, {DisplayID: a.ID, At: t2}, {DisplayID: a.ID, At: t3, Online: true}}
	if diff := cmp.Diff(wantA, events(a.ID)); diff != "" {
		t.Errorf("events of a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]fleet.StatusEvent{{DisplayID: b.ID, At: t1}}, events(b.ID)); diff != "" {
		t.Errorf("events of b (-want +got):\n%s", diff)
	}
	if n := len(events("dsp_ghost")); n != 0 {
		t.Errorf("%d events of an unknown display", n)
	}

	// Same online values again: no transition; the offline one keeps the
	// figures of the online one before it, in the same batch.
	res, err = db.SaveDisplayStatuses(ctx, []fleet.StatusSave{
		{Status: online(a.ID, t4, 3)}, {Status: offline(b.ID, t4)}, {Status: offline(a.ID, t4.Add(time.Second))}, {Status: offline(a.ID, t4.Add(2*time.Second))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fleet.StatusSaved{{}, {}, {Transition: true}, {}}, res); diff != "" {
		t.Fatalf("second batch (-want +got):\n%s", diff)
	}
	got, err := db.FindDisplayStatuses(ctx, []string{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := online(a.ID, t4, 3)
	wantStatus.Online, wantStatus.Current, wantStatus.UpdatedAt = false, nil, t4.Add(2*time.Second)
	if diff := cmp.Diff(wantStatus, got[a.ID]); diff != "" {
		t.Errorf("a after the second batch (-want +got):\n%s", diff)
	}
	if st := got[b.ID]; st == nil || st.Online || !st.UpdatedAt.Equal(t4) || st.LastSeen != nil {
		t.Errorf("b after the second batch: %+v", st)
	}
}

func testStatusUnknownDisplay(t *testing.T, db *DB) {
	_, err := db.SaveDisplayStatus(context.Background(), &fleet.DisplayStatus{DisplayID: "dsp_nope", Online: true, UpdatedAt: t0})
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = db.SaveDisplayStatus(context.Background(), &fleet.DisplayStatus{DisplayID: "dsp_nope", UpdatedAt: t0})
	wantCode(t, err, marquee.ENOTFOUND)
	if n := countRows(t, db, "status_events"); n != 0 {
		t.Fatalf("status_events = %d, want 0", n)
	}
}

func testStatusCascadesEventsStay(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("lobby"))
	if _, err := db.SaveDisplayStatus(ctx, &fleet.DisplayStatus{DisplayID: d.ID, Online: true, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDisplay(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "display_status"); n != 0 {
		t.Errorf("display_status rows after delete = %d, want 0", n)
	}
	if n := countRows(t, db, "status_events"); n != 1 {
		t.Errorf("status_events rows after delete = %d, want 1 (history stays)", n)
	}
}

func testDisplayByTokenHash(t *testing.T, db *DB) {
	ctx := context.Background()
	token := "mqd_secret"
	d := mustCreateDisplay(t, db, newDisplay("lobby", withDisplayTags("a"), func(d *displays.Display) {
		d.TokenHash = auth.HashToken(token)
	}))
	mustCreateDisplay(t, db, newDisplay("other"))
	got, err := db.FindDisplayByTokenHash(ctx, auth.HashToken(token))
	if err != nil {
		t.Fatalf("FindDisplayByTokenHash: %v", err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Fatalf("display (-want +got):\n%s", diff)
	}
	_, err = db.FindDisplayByTokenHash(ctx, auth.HashToken("mqd_wrong"))
	wantCode(t, err, marquee.ENOTFOUND)
}

// BenchmarkSaveDisplayStatuses writes one status for each of 1,000
// displays: in one SaveDisplayStatuses call (the fleet service's flush),
// and, as the baseline, with one SaveDisplayStatus call (one transaction)
// each, as the service did before it coalesced. statuses/s is the figure
// to compare.
func BenchmarkSaveDisplayStatuses(b *testing.B) {
	const n = 1000
	for _, d := range testDialects {
		setup := func(b *testing.B) (*DB, []fleet.StatusSave) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			saves := make([]fleet.StatusSave, n)
			for i := range saves {
				dsp := newDisplay(fmt.Sprintf("screen %d", i))
				if err := db.CreateDisplay(context.Background(), dsp); err != nil {
					b.Fatal(err)
				}
				seen := t0
				saves[i].Status = &fleet.DisplayStatus{DisplayID: dsp.ID, Online: true, LastSeen: &seen, StateRevision: 3,
					Current: &marquee.NowPlaying{MediaID: "med_a", PlaylistID: "pls_a", Reason: marquee.ReasonSchedule, Since: t0},
					Version: "1.0.0", CacheBytes: 1 << 30, FreeDiskBytes: 5 << 30, UptimeSeconds: 3600, UpdatedAt: t0}
			}
			return db, saves
		}
		b.Run(d.name+"/batched", func(b *testing.B) {
			db, saves := setup(b)
			ctx := context.Background()
			for b.Loop() {
				if _, err := db.SaveDisplayStatuses(ctx, saves); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "statuses/s")
		})
		b.Run(d.name+"/one-by-one", func(b *testing.B) {
			db, saves := setup(b)
			ctx := context.Background()
			for b.Loop() {
				for _, sv := range saves {
					if _, err := db.SaveDisplayStatus(ctx, sv.Status); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "statuses/s")
		})
	}
}
