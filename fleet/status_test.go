package fleet_test

import (
	"encoding/json"
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
		events, err := e.db.FindStatusEvents(e.ctx, dsp.ID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents := []fleet.StatusEvent{{DisplayID: dsp.ID, At: t1, Online: true}, {DisplayID: dsp.ID, At: t2, Online: false}}
		if diff := cmp.Diff(wantEvents, events); diff != "" {
			t.Errorf("status events (-want +got):\n%s", diff)
		}
		e.waitStats("2 transitions", func(s fleet.Stats) bool { return s.Status.Transitions == 2 })
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
