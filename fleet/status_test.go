package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

// waitStatus waits until the display's stored status satisfies ok.
func (e *env) waitStatus(displayID, what string, ok func(*fleet.DisplayStatus) bool) *fleet.DisplayStatus {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		sts, err := e.fleet.DisplayStatuses(e.ctx, []string{displayID})
		if err != nil {
			e.t.Fatal(err)
		}
		if st := sts[displayID]; st != nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %v; status %+v", what, waitTimeout, sts[displayID])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStatusHeartbeatAndLastWill(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d, nil)
		e.start()
		dsp, token := e.display("Lobby")
		// Through a proxy, so the test can make the display vanish.
		proxy := mqtttest.NewProxy(t, e.broker.Addr())
		will := &mqtt.Message{Topic: e.topics.Status(dsp.ID), Payload: []byte(`{"online":false}`), QoS: 1, Retained: true}
		c := e.connectDisplay(dsp, token, proxy.URL(), will)

		t1 := e.clock.Now()
		since := t1.Add(-3 * time.Second)
		offset := int64(-120)
		beat, _ := json.Marshal(marquee.Status{
			Format: 1, DisplayID: dsp.ID, Online: true, StateRevision: 4,
			Current: &marquee.NowPlaying{MediaID: "med_a", MediaName: "Tết", PlaylistID: "pls_a", PlaylistRevision: 2,
				ScheduleID: "sch_a", Reason: marquee.ReasonSchedule, Since: since},
			CacheBytes: 1 << 20, FreeDiskBytes: 1 << 30, UptimeSeconds: 60, Version: "0.9.0",
			ClockOffsetMS: &offset, SentAt: t1,
		})
		e.publish(c, e.topics.Status(dsp.ID), beat, true)
		st := e.waitStatus(dsp.ID, "online", func(st *fleet.DisplayStatus) bool { return st.Online })
		want := &fleet.DisplayStatus{
			DisplayID: dsp.ID, Online: true, LastSeen: &t1, StateRevision: 4,
			Current: &marquee.NowPlaying{MediaID: "med_a", MediaName: "Tết", PlaylistID: "pls_a", PlaylistRevision: 2,
				ScheduleID: "sch_a", Reason: marquee.ReasonSchedule, Since: since},
			Version: "0.9.0", CacheBytes: 1 << 20, FreeDiskBytes: 1 << 30, UptimeSeconds: 60, ClockOffsetMS: &offset,
			UpdatedAt: t1,
		}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Fatalf("status (-want +got):\n%s", diff)
		}

		// The display vanishes: the broker publishes its Last Will.
		t2 := t1.Add(90 * time.Second)
		e.clock.Set(t2)
		proxy.Close()
		st = e.waitStatus(dsp.ID, "offline", func(st *fleet.DisplayStatus) bool { return !st.Online })
		if st.LastSeen == nil || !st.LastSeen.Equal(t1) || st.Current != nil || st.StateRevision != 4 {
			t.Errorf("offline status %+v: want last_seen kept at %v, no current, revision kept", st, t1)
		}
		// The API sees the status at once; the store once it is flushed,
		// which is when transitions are counted.
		e.waitStats("2 transitions", func(s fleet.Stats) bool { return s.Status.Transitions == 2 })
		events, err := e.db.FindStatusEvents(e.ctx, dsp.ID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents := []fleet.StatusEvent{{DisplayID: dsp.ID, At: t1, Online: true}, {DisplayID: dsp.ID, At: t2, Online: false}}
		if diff := cmp.Diff(wantEvents, events); diff != "" {
			t.Errorf("status events (-want +got):\n%s", diff)
		}
	})
}

func TestStatusDropped(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	dsp, _ := e.display("Lobby")
	rogue := e.connectServer("rogue", 0)
	topic := e.topics.Status(dsp.ID)
	for _, payload := range []string{
		"garbage",
		`{"format":9,"online":true}`,
		`{"format":1,"display_id":"dsp_other","online":true}`,
		`{"format":1,"online":true,"cache_bytes":-1}`,
		`{"format":1,"online":true,"version":"\u0000"}`,
	} {
		e.publish(rogue, topic, []byte(payload), false)
	}
	e.publish(rogue, e.topics.Status("dsp_ghost"), []byte(`{"format":1,"online":true}`), false)
	e.publish(rogue, topic, nil, true) // clearing a retained status: ignored
	e.waitStats("statuses dropped", func(s fleet.Stats) bool {
		return s.Status.Dropped == 5 && s.Status.UnknownDisplay == 1 && s.Status.Received == 7
	})
	// Still working.
	e.publish(rogue, topic, []byte(`{"format":1,"online":true,"state_revision":2}`), false)
	e.waitStatus(dsp.ID, "online", func(st *fleet.DisplayStatus) bool { return st.Online && st.StateRevision == 2 })
}

// statusJSON is a status message of the display.
func statusJSON(t *testing.T, displayID string, online bool, rev int64) []byte {
	t.Helper()
	st := marquee.Status{Format: marquee.WireFormat, DisplayID: displayID, Online: online}
	if online {
		st.StateRevision, st.Version, st.CacheBytes = rev, "1.0", rev<<10
		st.Current = &marquee.NowPlaying{MediaID: "med_a", PlaylistID: "pls_a", Reason: marquee.ReasonSchedule,
			Since: time.Date(2025, 6, 10, 2, 0, 0, 0, time.UTC)}
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStatusCoalescedOverlaidAndFlushedOnClose: with a flush window that
// never ends, statuses stay pending: the API sees each at once, a newer
// one of the same online value replaces the pending one, a Last Will and
// a reconnection within the window are both kept, and Close writes them
// all — one transaction, three saves, three status events at the times
// the runs began.
func TestStatusCoalescedOverlaidAndFlushedOnClose(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d, func(c *fleet.Config) { c.StatusFlush = time.Hour })
		e.start()
		dsp, token := e.display("Lobby")
		c := e.connectDisplay(dsp, token, "", nil)
		topic := e.topics.Status(dsp.ID)
		stored := func() *fleet.DisplayStatus {
			t.Helper()
			sts, err := e.db.FindDisplayStatuses(e.ctx, []string{dsp.ID})
			if err != nil {
				t.Fatal(err)
			}
			return sts[dsp.ID]
		}

		// Three heartbeats: the API shows each; the store nothing yet.
		t1 := e.clock.Now()
		for rev := int64(1); rev <= 3; rev++ {
			e.clock.Set(t1.Add(time.Duration(rev-1) * time.Second))
			e.publish(c, topic, statusJSON(t, dsp.ID, true, rev), true)
			e.waitStatus(dsp.ID, "revision", func(st *fleet.DisplayStatus) bool { return st.Online && st.StateRevision == rev })
		}
		t3 := t1.Add(2 * time.Second)
		if st := stored(); st != nil {
			t.Fatalf("stored before any flush: %+v", st)
		}
		// (Received may count a status twice: QoS 1 is at least once, and
		// the broker may send a retained copy too.)
		if s := e.fleet.Stats().Status; s.Coalesced != s.Received-1 || s.Received < 3 || s.Saved != 0 || s.Flushes != 0 {
			t.Errorf("stats %+v: want all but one coalesced, nothing saved", s)
		}

		// The Last Will: the API shows the display offline with the last
		// heartbeat's figures and last_seen, nothing on screen.
		tOff := t1.Add(time.Minute)
		e.clock.Set(tOff)
		e.publish(c, topic, []byte(`{"online":false}`), true)
		off := e.waitStatus(dsp.ID, "offline", func(st *fleet.DisplayStatus) bool { return !st.Online })
		if off.LastSeen == nil || !off.LastSeen.Equal(t3) || off.StateRevision != 3 || off.CacheBytes != 3<<10 ||
			off.Current != nil || !off.UpdatedAt.Equal(tOff) {
			t.Errorf("offline status %+v: want last_seen %v, revision 3 and its figures kept, nothing on screen", off, t3)
		}
		// Back within the same window.
		tOn := tOff.Add(5 * time.Second)
		e.clock.Set(tOn)
		e.publish(c, topic, statusJSON(t, dsp.ID, true, 4), true)
		e.waitStatus(dsp.ID, "back online", func(st *fleet.DisplayStatus) bool { return st.Online && st.StateRevision == 4 })
		e.clock.Set(tOn.Add(time.Second))
		e.publish(c, topic, statusJSON(t, dsp.ID, true, 5), true)
		want := e.waitStatus(dsp.ID, "revision 5", func(st *fleet.DisplayStatus) bool { return st.StateRevision == 5 })
		if st := stored(); st != nil {
			t.Fatalf("stored before any flush: %+v", st)
		}

		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		defer cancel()
		if err := e.fleet.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored()); diff != "" {
			t.Errorf("stored after Close (-API before +store):\n%s", diff)
		}
		events, err := e.db.FindStatusEvents(e.ctx, dsp.ID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents := []fleet.StatusEvent{
			{DisplayID: dsp.ID, At: t1, Online: true}, // the first of the run, not the last
			{DisplayID: dsp.ID, At: tOff, Online: false},
			{DisplayID: dsp.ID, At: tOn, Online: true},
		}
		if diff := cmp.Diff(wantEvents, events); diff != "" {
			t.Errorf("status events (-want +got):\n%s", diff)
		}
		if s := e.fleet.Stats().Status; s.Coalesced != s.Received-3 || s.Saved != 3 || s.Flushes != 1 || s.Transitions != 3 || s.WriteErrors != 0 {
			t.Errorf("stats %+v: want all but 3 coalesced, 3 saved in 1 flush, 3 transitions", s)
		}
	})
}

// TestStatusFlushedWithinWindow: with the default window, a burst of
// statuses of many displays is coalesced into few transactions — never
// more than one a window, however long the burst takes — and, once the
// writer is idle, a status reaches the store within about a window.
//
// The test makes no wall-clock bound that a loaded machine could miss: the
// one-flush-a-window property is checked against the time that actually
// passed (the writer starts its flushes at least a window apart, by
// design), and the latency of a lone round only within a generous
// tolerance. It waits on counters rather than sleeping. And it expects no
// order within the burst: the client runs handlers on several workers, so
// two statuses of one display published close together may be applied in
// either order (see status.go); only a round published after the burst was
// fully handled has a known outcome.
func TestStatusFlushedWithinWindow(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	rogue := e.connectServer("burst", 0)
	const n, rounds = 20, 5
	var ids []string
	for i := range n {
		dsp, _ := e.display(fmt.Sprintf("Screen %d", i))
		ids = append(ids, dsp.ID)
	}
	// maxFlushes is the most transactions a writer flushing at most once
	// a window can have committed since began.
	began := time.Now()
	maxFlushes := func() uint64 { return uint64(time.Since(began)/fleet.DefaultStatusFlush) + 1 }

	// The burst: every status handled, and applied or flushed.
	for round := range rounds {
		for _, id := range ids {
			e.publish(rogue, e.topics.Status(id), statusJSON(t, id, true, int64(round+1)), false)
		}
	}
	s := e.waitStats("the burst saved or coalesced", func(s fleet.Stats) bool {
		return s.Status.Received >= rounds*n && s.Status.Saved+s.Status.Coalesced == s.Status.Received
	}).Status
	if limit := maxFlushes(); s.Flushes == 0 || s.Flushes > limit {
		t.Fatalf("stats %+v: %d flushes, want 1 to %d (one a window at most)", s, s.Flushes, limit)
	}
	// (Received may count a status twice: QoS 1 is at least once.)
	if s.Transitions != n || s.Saved < n || s.Flushes*5 > s.Received {
		t.Fatalf("stats %+v: want %d transitions, every display saved, at least 5 statuses a transaction", s, n)
	}
	stored := func() map[string]*fleet.DisplayStatus {
		t.Helper()
		sts, err := e.db.FindDisplayStatuses(e.ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return sts
	}
	api, err := e.fleet.DisplayStatuses(e.ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		// Nothing pending: the store holds what the API shows.
		if st := stored()[id]; st == nil || !st.Online || st.StateRevision < 1 || st.StateRevision > rounds ||
			api[id] == nil || api[id].StateRevision != st.StateRevision {
			t.Fatalf("%s: stored %+v, API %+v: want the status applied last stored", id, st, api[id])
		}
	}

	// One more round, one status a display: each reaches the store within
	// about a window (the writer waits out what is left of the window of
	// its last flush, at most one).
	sent := time.Now()
	for _, id := range ids {
		e.publish(rogue, e.topics.Status(id), statusJSON(t, id, true, rounds+1), false)
	}
	deadline := sent.Add(waitTimeout)
	for {
		done := true
		sts := stored()
		for _, id := range ids {
			done = done && sts[id] != nil && sts[id].StateRevision == rounds+1
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last round not stored within %v", waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	latency := time.Since(sent)
	t.Logf("last round stored %v after it was sent (window %v)", latency.Round(time.Millisecond), fleet.DefaultStatusFlush)
	// Tolerance for a loaded 2-core machine under the race detector.
	if tolerance := 4 * time.Second; latency > fleet.DefaultStatusFlush+tolerance {
		t.Errorf("the last round took %v to reach the store, want about %v (tolerance %v)", latency, fleet.DefaultStatusFlush, tolerance)
	}
	s2 := e.waitStats("the last round saved", func(s fleet.Stats) bool {
		return s.Status.Received >= (rounds+1)*n && s.Status.Saved+s.Status.Coalesced == s.Status.Received
	}).Status
	if limit := maxFlushes(); s2.Flushes <= s.Flushes || s2.Flushes > limit {
		t.Errorf("stats %+v: %d flushes (after the burst %d), want more, and at most %d", s2, s2.Flushes, s.Flushes, limit)
	}
	if s2.Transitions != n || s2.WriteErrors != 0 {
		t.Errorf("stats %+v: want %d transitions, no write errors", s2, n)
	}
}

// TestPlaysNotStarvedByStatuses: the default handler queue (statuses and
// command results) is stuck and overflowing; play batches, on their own
// queue, are still stored and acknowledged.
func TestPlaysNotStarvedByStatuses(t *testing.T) {
	e := newEnv(t, sqlite, func(c *fleet.Config) { c.MQTT.HandlerWorkers, c.MQTT.HandlerQueue = 1, 4 })
	e.start()
	// Hold the default queue's only worker.
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the service closes
	blocked := make(chan struct{}, 1)
	if err := e.fleet.Client().Subscribe(e.ctx, "test/block", 1, func(context.Context, mqtt.Message) {
		blocked <- struct{}{}
		<-release
	}); err != nil {
		t.Fatal(err)
	}
	rogue := e.connectServer("flood", 0)
	e.publish(rogue, "test/block", []byte("x"), false)
	select {
	case <-blocked:
	case <-time.After(waitTimeout):
		t.Fatal("the blocking handler did not run")
	}

	dsp, token := e.display("Lobby")
	c := e.connectDisplay(dsp, token, "", nil)
	acks := e.subscribe(c, e.topics.PlaysAck(dsp.ID))
	const batches = 10
	for i := range batches {
		for range 20 {
			e.publish(rogue, e.topics.Status(dsp.ID), statusJSON(t, dsp.ID, true, 1), false)
		}
		e.publish(c, e.topics.Plays(dsp.ID), batchJSON(t, dsp.ID, e.play(dsp.ID, uint64(i+1))), false)
	}
	acks.Wait(t, waitTimeout, "ack of the last batch", isAck(e.topics, dsp.ID, batches))
	if n := len(e.storedPlays(dsp.ID)); n != batches {
		t.Errorf("%d plays stored, want %d", n, batches)
	}
	s := e.fleet.Stats()
	def, plays := s.Queues[mqtt.DefaultQueue], s.Queues[fleet.PlaysQueue]
	if def.Dropped < batches*20-5 || plays.Dropped != 0 || plays.Handled != batches {
		t.Errorf("queues %+v: want statuses dropped on the default queue, every batch handled on %q", s.Queues, fleet.PlaysQueue)
	}
	if s.Status.Received != 0 {
		t.Errorf("status stats %+v: want none handled while the queue is stuck", s.Status)
	}
	unblock()
	e.waitStatus(dsp.ID, "a status once the queue moves", func(st *fleet.DisplayStatus) bool { return st.Online })
}
