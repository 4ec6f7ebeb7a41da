package fleet_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

// waitTimeout bounds every wait for something the server does.
const waitTimeout = 10 * time.Second

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// connectDisplay connects a player-like client as display d with its token,
// at url ("" means the env's broker), with an optional Last Will.
func (e *env) connectDisplay(d *displays.Display, token, url string, will *mqtt.Message) *mqtt.Client {
	e.t.Helper()
	if url == "" {
		url = "tcp://" + e.broker.Addr()
	}
	return mqtttest.Connect(e.t, mqtt.Config{BrokerURL: url, ClientID: d.ID, Username: d.ID, Password: token,
		Will: will, MaxReconnectInterval: 200 * time.Millisecond, ConnectTimeout: 3 * time.Second})
}

// connectServer connects a client with the server account (allowed any
// topic), as a misbehaving publisher or a witness.
func (e *env) connectServer(name string, maxPayload int) *mqtt.Client {
	e.t.Helper()
	return mqtttest.Connect(e.t, mqtt.Config{BrokerURL: "tcp://" + e.broker.Addr(), ClientID: "test-" + name,
		Username: serverUser, Password: serverPassword, CleanSession: true, MaxPayload: maxPayload,
		MaxReconnectInterval: 200 * time.Millisecond, ConnectTimeout: 3 * time.Second})
}

func (e *env) subscribe(c *mqtt.Client, filter string) *mqtttest.Recorder {
	e.t.Helper()
	r := mqtttest.NewRecorder()
	if err := c.Subscribe(e.ctx, filter, 1, r.Handle); err != nil {
		e.t.Fatalf("subscribe %s: %v", filter, err)
	}
	return r
}

func (e *env) publish(c *mqtt.Client, topic string, payload []byte, retained bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, mqtt.Message{Topic: topic, Payload: payload, QoS: 1, Retained: retained}); err != nil {
		e.t.Fatalf("publish %s: %v", topic, err)
	}
}

// useBroker moves the env to a new embedded broker with cfg (its auth and
// topics filled in) and a new, unstarted fleet service on it whose client
// accepts maxPayload bytes.
func (e *env) useBroker(cfg broker.Config, maxPayload int) {
	e.t.Helper()
	cfg.TCPAddr, cfg.Topics, cfg.Displays = "127.0.0.1:0", e.topics, displayAuth{e.displays}
	cfg.ServerUsername, cfg.ServerPassword = serverUser, serverPassword
	b, err := broker.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { b.Close(context.Background()) })
	f, err := fleet.New(fleet.Config{
		Store: e.db, States: e.builder,
		MQTT: mqtt.Config{BrokerURL: "tcp://" + b.Addr(), ClientID: "marquee-server-big", Username: serverUser,
			Password: serverPassword, CleanSession: true, MaxPayload: maxPayload},
		Topics: e.topics, Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Close(ctx); err != nil {
			e.t.Errorf("fleet Close: %v", err)
		}
	})
	e.broker, e.fleet = b, f
}

// play returns a valid journaled play of the display at seq, started
// minutes ago by the env's clock.
func (e *env) play(displayID string, seq uint64, opts ...func(*marquee.Play)) marquee.JournaledPlay {
	start := e.clock.Now().Add(-time.Duration(100-seq) * time.Minute).Truncate(time.Millisecond)
	p := marquee.Play{
		ID: newUUID(), DisplayID: displayID, MediaID: "med_a", MediaSHA256: strings.Repeat("ab", 32),
		MediaName: "Căn cước", PlaylistID: "pls_a", PlaylistRevision: 1, ScheduleID: "sch_a",
		Reason: marquee.ReasonSchedule, StartedAt: start, EndedAt: start.Add(10 * time.Second),
		PlannedMS: 10_000, PlayedMS: 10_000, Completed: true,
	}
	for _, o := range opts {
		o(&p)
	}
	return marquee.JournaledPlay{Seq: seq, Play: p}
}

func batchJSON(t *testing.T, displayID string, plays ...marquee.JournaledPlay) []byte {
	t.Helper()
	b, err := json.Marshal(marquee.PlayBatch{Format: marquee.WireFormat, DisplayID: displayID, Plays: plays})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isAck matches an ack of seq on the display's ack topic.
func isAck(tp mqtt.Topics, displayID string, seq uint64) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		var a marquee.PlayAck
		return m.Topic == tp.PlaysAck(displayID) && json.Unmarshal(m.Payload, &a) == nil &&
			a.Format == marquee.WireFormat && a.Seq == seq
	}
}

// storedPlays returns the display's plays, newest first.
func (e *env) storedPlays(displayID string) []marquee.Play {
	e.t.Helper()
	ps, _, err := e.db.FindPlays(e.ctx, fleet.PlayFilter{DisplayID: displayID, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	return ps
}

// waitStats waits until ok holds for the service's counters.
func (e *env) waitStats(what string, ok func(fleet.Stats) bool) fleet.Stats {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		st := e.fleet.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %v; stats %+v", what, waitTimeout, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPlaysStoredOnceAndAcked(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d, nil)
		e.start()
		dsp, token := e.display("Lobby")
		c := e.connectDisplay(dsp, token, "", nil)
		acks := e.subscribe(c, e.topics.PlaysAck(dsp.ID))

		// The client's completed is never trusted: p1 says false but ran in
		// full, p2 says true but ran 1 s of 10.
		p1 := e.play(dsp.ID, 1, func(p *marquee.Play) { p.Completed = false })
		p2 := e.play(dsp.ID, 2, func(p *marquee.Play) { p.PlayedMS, p.Completed = 1_000, true })
		dup := p1
		dup.Seq = 3 // the same play journaled twice
		first := batchJSON(t, dsp.ID, p1, p2, dup)
		e.publish(c, e.topics.Plays(dsp.ID), first, false)
		acks.Wait(t, waitTimeout, "ack of seq 3", isAck(e.topics, dsp.ID, 3))
		// The ack comes after the commit: the plays are there already.
		got := e.storedPlays(dsp.ID)
		if len(got) != 2 {
			t.Fatalf("after the first batch: %d plays stored, want 2", len(got))
		}
		byID := map[string]marquee.Play{}
		for _, p := range got {
			byID[p.ID] = p
		}
		if !byID[p1.ID].Completed || byID[p2.ID].Completed {
			t.Errorf("completed = %v, %v; want true (ran in full), false (1 s of 10)", byID[p1.ID].Completed, byID[p2.ID].Completed)
		}
		if got, want := byID[p2.ID].StartedAt, p2.StartedAt.UTC(); !got.Equal(want) || byID[p2.ID].MediaName != "Căn cước" {
			t.Errorf("stored play %+v, want started %v", byID[p2.ID], want)
		}

		// Re-sent after a lost ack: acked again, stored once.
		e.publish(c, e.topics.Plays(dsp.ID), first, false)
		waitCount(t, acks, 2, isAck(e.topics, dsp.ID, 3))
		if n := len(e.storedPlays(dsp.ID)); n != 2 {
			t.Fatalf("after re-sending: %d plays, want 2", n)
		}

		// The next batch repeats a play from the first.
		p4 := e.play(dsp.ID, 4)
		p2again := p2
		p2again.Seq = 5
		e.publish(c, e.topics.Plays(dsp.ID), batchJSON(t, dsp.ID, p4, p2again), false)
		acks.Wait(t, waitTimeout, "ack of seq 5", isAck(e.topics, dsp.ID, 5))
		if n := len(e.storedPlays(dsp.ID)); n != 3 {
			t.Fatalf("after the second batch: %d plays, want 3", n)
		}
		// The ack counter moves once the broker confirmed the ack, which
		// may be just after the display received it.
		st := e.waitStats("3 acks counted", func(s fleet.Stats) bool { return s.Plays.Acks >= 3 }).Plays
		if st.Stored != 3 || st.Duplicates != 5 || st.Invalid != 0 || st.BatchesDropped != 0 {
			t.Errorf("stats %+v, want 3 stored, 5 duplicates", st)
		}
	})
}

// waitCount waits until n recorded messages match ok.
func waitCount(t *testing.T, r *mqtttest.Recorder, n int, ok func(mqtt.Message) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		k := 0
		for _, m := range r.Messages() {
			if ok(m) {
				k++
			}
		}
		if k >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching messages within %v, want %d: %s", k, waitTimeout, n, mqtttest.Describe(r.Messages()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPlaysInvalidDroppedStillAcked(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	dsp, token := e.display("Lobby")
	c := e.connectDisplay(dsp, token, "", nil)
	acks := e.subscribe(c, e.topics.PlaysAck(dsp.ID))

	good := e.play(dsp.ID, 10)
	e.publish(c, e.topics.Plays(dsp.ID), batchJSON(t, dsp.ID,
		good,
		e.play(dsp.ID, 11, func(p *marquee.Play) { p.ID = "not-a-uuid" }),
		e.play(dsp.ID, 12, func(p *marquee.Play) { p.DisplayID = "dsp_someone_else" }),
		e.play(dsp.ID, 13, func(p *marquee.Play) { p.EndedAt = p.StartedAt.Add(-time.Second) }),
	), false)
	acks.Wait(t, waitTimeout, "ack of seq 13", isAck(e.topics, dsp.ID, 13))
	if got := e.storedPlays(dsp.ID); len(got) != 1 || got[0].ID != good.ID {
		t.Fatalf("stored %v, want only the valid play", got)
	}
	// A batch of poison only is acknowledged too.
	e.publish(c, e.topics.Plays(dsp.ID), batchJSON(t, dsp.ID,
		e.play(dsp.ID, 14, func(p *marquee.Play) { p.Reason = "whim" })), false)
	acks.Wait(t, waitTimeout, "ack of seq 14", isAck(e.topics, dsp.ID, 14))
	if st := e.fleet.Stats().Plays; st.Invalid != 4 || st.Stored != 1 {
		t.Errorf("stats %+v, want 4 invalid, 1 stored", st)
	}
	if n := len(e.storedPlays("dsp_someone_else")); n != 0 {
		t.Errorf("%d plays stored under the claimed display", n)
	}
}

func TestPlaysGarbageDropped(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	// A broker that carries 1 MiB, so the payload reaches the service.
	e.useBroker(broker.Config{MaxPacketSize: 4 << 20}, 4<<20)
	e.start()
	dsp, token := e.display("Lobby")
	rogue := e.connectServer("rogue", 4<<20)
	witness := e.subscribe(rogue, e.topics.AllDisplays(mqtt.KindPlaysAck))
	topic := e.topics.Plays(dsp.ID)

	huge := batchJSON(t, dsp.ID, e.play(dsp.ID, 1, func(p *marquee.Play) { p.MediaName = strings.Repeat("x", 1<<20) }))
	for _, payload := range [][]byte{
		[]byte("not JSON at all"),
		[]byte(`{"format":1,"display_id":"` + dsp.ID + `","plays":{"oops":1}}`),
		huge,
		[]byte(strings.Replace(string(batchJSON(t, dsp.ID, e.play(dsp.ID, 1))), `"format":1`, `"format":2`, 1)),
		batchJSON(t, "dsp_other", e.play("dsp_other", 1)), // another display's batch on this topic
	} {
		e.publish(rogue, topic, payload, false)
	}
	// A well-formed batch of a display that does not exist.
	e.publish(rogue, e.topics.Plays("dsp_ghost"), batchJSON(t, "dsp_ghost", e.play("dsp_ghost", 7)), false)
	e.waitStats("garbage counted", func(s fleet.Stats) bool {
		return s.Plays.BatchesDropped == 5 && s.Plays.UnknownDisplay == 1
	})

	// The service keeps ingesting.
	c := e.connectDisplay(dsp, token, "", nil)
	acks := e.subscribe(c, e.topics.PlaysAck(dsp.ID))
	p := e.play(dsp.ID, 1)
	e.publish(c, topic, batchJSON(t, dsp.ID, p), false)
	acks.Wait(t, waitTimeout, "ack after the garbage", isAck(e.topics, dsp.ID, 1))
	if got := e.storedPlays(dsp.ID); len(got) != 1 || got[0].ID != p.ID {
		t.Fatalf("stored %v, want the one valid play", got)
	}
	witness.Wait(t, waitTimeout, "the ack, seen by the witness", isAck(e.topics, dsp.ID, 1))
	witness.None(t, "ack for an unknown display", mqtttest.OnTopic(e.topics.PlaysAck("dsp_ghost")))
	if n := len(e.storedPlays("dsp_ghost")); n != 0 {
		t.Errorf("%d plays stored for an unknown display", n)
	}
}

// On the default broker a 1 MiB batch never reaches the service: the
// broker disconnects its sender. The service is unaffected.
func TestPlaysOversizedOnDefaultBroker(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	dsp, token := e.display("Lobby")
	rogue := e.connectServer("rogue", 4<<20)
	huge := batchJSON(t, dsp.ID, e.play(dsp.ID, 1, func(p *marquee.Play) { p.MediaName = strings.Repeat("x", 1<<20) }))
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Second)
	if err := rogue.Publish(ctx, mqtt.Message{Topic: e.topics.Plays(dsp.ID), Payload: huge, QoS: 1}); err == nil {
		t.Error("the broker took a 1 MiB publish")
	}
	cancel()

	c := e.connectDisplay(dsp, token, "", nil)
	acks := e.subscribe(c, e.topics.PlaysAck(dsp.ID))
	e.publish(c, e.topics.Plays(dsp.ID), batchJSON(t, dsp.ID, e.play(dsp.ID, 2)), false)
	acks.Wait(t, waitTimeout, "ack after the oversized batch", isAck(e.topics, dsp.ID, 2))
	if n := len(e.storedPlays(dsp.ID)); n != 1 {
		t.Fatalf("%d plays stored, want 1", n)
	}
}

// Many displays at once share transactions; every one gets its ack.
func TestPlaysManyDisplays(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	const n = 8
	var acks [n]*mqtttest.Recorder
	var clients [n]*mqtt.Client
	var ids [n]string
	for i := range n {
		d, token := e.display(fmt.Sprintf("Screen %d", i))
		ids[i] = d.ID
		clients[i] = e.connectDisplay(d, token, "", nil)
		acks[i] = e.subscribe(clients[i], e.topics.PlaysAck(d.ID))
	}
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			for b := range 5 {
				var ps []marquee.JournaledPlay
				for k := range 20 {
					ps = append(ps, e.play(ids[i], uint64(b*20+k+1)))
				}
				payload, _ := json.Marshal(marquee.PlayBatch{Format: 1, DisplayID: ids[i], Plays: ps})
				ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
				_ = clients[i].Publish(ctx, mqtt.Message{Topic: e.topics.Plays(ids[i]), Payload: payload, QoS: 1})
				cancel()
			}
		}()
	}
	for range n {
		<-done
	}
	for i := range n {
		acks[i].Wait(t, waitTimeout, "ack of the last batch", isAck(e.topics, ids[i], 100))
		if got := len(e.storedPlays(ids[i])); got != 100 {
			t.Errorf("display %d: %d plays stored, want 100", i, got)
		}
	}
	if st := e.fleet.Stats().Plays; st.Stored != n*100 || st.Shed != 0 {
		t.Errorf("stats %+v", st)
	}
}
