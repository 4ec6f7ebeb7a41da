package player_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
	"github.com/marquee-signage/marquee/player"
)

func brokerURL(addr string) string { return "tcp://" + addr }

func TestStatesOverMQTT(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(1, 300, "s1"))
	b := startBroker(t, "127.0.0.1:0")
	server := serverClient(t, brokerURL(b.Addr()), "server-states")
	r := startAgent(t, t.TempDir(), srv.URL(), brokerURL(b.Addr()))
	eventually(t, 10*time.Second, "connected with revision 1", func() bool {
		s := r.Stats()
		return s.Connected && s.StateRevision == 1
	})

	stateTopic := topics.State(displayID)
	publish(t, server, stateTopic, mustJSON(t, c.loopState(2, 300, "s2")), true)
	eventually(t, 10*time.Second, "revision 2 applied and s2 shown", func() bool {
		return r.Stats().StateRevision == 2 && countSHA(r.out, c.sha("s2")) > 0
	})
	base := r.Stats()

	unknown := c.loopState(10, 300, "s3")
	unknown.Format = marquee.StateFormat + 1
	invalid := c.loopState(11, 300, "s3")
	invalid.Rules[0].Playlist.PlaylistID = "pls_missing"
	badCron := c.loopState(12, 300, "s3")
	badCron.Rules[0].Cron, badCron.Rules[0].DurationMS = "61 * * * *", 1000
	other := c.loopState(13, 300, "s3")
	other.DisplayID = "dsp_other"
	for _, p := range [][]byte{
		mustJSON(t, c.loopState(2, 300, "s3")), // equal revision
		mustJSON(t, c.loopState(1, 300, "s3")), // older
		[]byte(`{"format":1,"revision":9,`),    // malformed
		[]byte(`[1,2,3]`),                      // malformed
		mustJSON(t, unknown),
		mustJSON(t, invalid),
		mustJSON(t, badCron),
		mustJSON(t, other),
	} {
		publish(t, server, stateTopic, p, false)
	}
	eventually(t, 10*time.Second, "every bad state counted", func() bool {
		s := r.Stats()
		return s.StatesStale >= base.StatesStale+2 && s.StatesMalformed >= base.StatesMalformed+2 &&
			s.StatesUnknownFormat >= base.StatesUnknownFormat+1 && s.StatesInvalid >= base.StatesInvalid+3
	})
	if got := r.Stats().StateRevision; got != 2 {
		t.Fatalf("revision = %d after bad states, want 2", got)
	}
	if n := countSHA(r.out, c.sha("s3")); n != 0 {
		t.Fatalf("s3 (only in dropped states) shown %d times", n)
	}

	publish(t, server, stateTopic, mustJSON(t, c.loopState(3, 300, "s3")), true)
	eventually(t, 10*time.Second, "revision 3 applied and s3 shown", func() bool {
		return r.Stats().StateRevision == 3 && countSHA(r.out, c.sha("s3")) > 0
	})
	// The applied state is what was persisted.
	raw, err := os.ReadFile(filepath.Join(r.dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var persisted marquee.DesiredState
	if err := json.Unmarshal(raw, &persisted); err != nil || persisted.Revision != 3 {
		t.Fatalf("state.json: revision %d, err %v; want 3", persisted.Revision, err)
	}
}

func TestStatesOverHTTP(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(1, 300, "h1"))
	r := startAgent(t, t.TempDir(), srv.URL(), "")
	eventually(t, 10*time.Second, "revision 1 over HTTP", func() bool { return r.Stats().StateRevision == 1 })
	eventually(t, 10*time.Second, "a 304", func() bool { return srv.notModified.Load() > 0 })

	// Over 1 MiB: dropped.
	big := c.loopState(5, 300, "h2")
	big.Display.Name = strings.Repeat("x", player.MaxStateBytes)
	srv.setState(t, big)
	eventually(t, 10*time.Second, "the oversized state counted", func() bool { return r.Stats().StatesMalformed > 0 })

	srv.setState(t, c.loopState(6, 300, "h2"))
	eventually(t, 10*time.Second, "revision 6 over HTTP", func() bool { return r.Stats().StateRevision == 6 })
	if off := r.Status().ClockOffsetMS; off == nil || *off < -1500 || *off > 1500 {
		t.Errorf("clock offset %v, want about 0 from the Date header", off)
	}
}

// acker is the server side of plays: it records every batch and, when
// enabled, acknowledges the highest sequence it has seen.
type acker struct {
	t      *testing.T
	client *mqtt.Client

	mu      sync.Mutex
	on      bool
	batches []marquee.PlayBatch
	seqs    map[uint64]string // seq → play id
	ids     map[string]int    // play id → times received
	high    uint64
}

func newAcker(t *testing.T, client *mqtt.Client) *acker {
	a := &acker{t: t, client: client, seqs: map[uint64]string{}, ids: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Subscribe(ctx, topics.Plays(displayID), 1, a.handle); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *acker) handle(ctx context.Context, m mqtt.Message) {
	var b marquee.PlayBatch
	if err := json.Unmarshal(m.Payload, &b); err != nil {
		a.t.Errorf("batch: %v", err)
		return
	}
	a.mu.Lock()
	a.batches = append(a.batches, b)
	for _, p := range b.Plays {
		if id, ok := a.seqs[p.Seq]; ok && id != p.ID {
			a.t.Errorf("seq %d sent as %s and as %s", p.Seq, id, p.ID)
		}
		a.seqs[p.Seq] = p.ID
		a.ids[p.ID]++
		a.high = max(a.high, p.Seq)
	}
	on, high := a.on, a.high
	a.mu.Unlock()
	if on {
		a.ack(ctx, high)
	}
}

func (a *acker) ack(ctx context.Context, seq uint64) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, _ := json.Marshal(marquee.PlayAck{Format: marquee.WireFormat, Seq: seq})
	if err := a.client.Publish(ctx, mqtt.Message{Topic: topics.PlaysAck(displayID), Payload: b, QoS: 1}); err != nil {
		a.t.Logf("ack %d: %v", seq, err)
	}
}

func (a *acker) setOn(on bool) {
	a.mu.Lock()
	a.on = on
	a.mu.Unlock()
}

func (a *acker) snapshot() (batches []marquee.PlayBatch, seqs map[uint64]string, high uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	seqs = make(map[uint64]string, len(a.seqs))
	for k, v := range a.seqs {
		seqs[k] = v
	}
	return append([]marquee.PlayBatch(nil), a.batches...), seqs, a.high
}

func (a *acker) resent() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.ids {
		if n > 1 {
			return true
		}
	}
	return false
}

func TestPlaysUploadAckAndResend(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(1, 200, "u1", "u2"))
	b := startBroker(t, "127.0.0.1:0")
	server := serverClient(t, brokerURL(b.Addr()), "server-plays")
	ack := newAcker(t, server)
	dir := t.TempDir()
	short := func(cfg *player.Config) { cfg.AckTimeout = time.Second }
	r := startAgent(t, dir, srv.URL(), brokerURL(b.Addr()), short)

	// Batches arrive; with no ack they are sent again after AckTimeout.
	eventually(t, 10*time.Second, "a resend without ack", ack.resent)
	if r.Stats().Resends == 0 {
		t.Error("Resends not counted")
	}
	batches, _, high := ack.snapshot()
	for _, bt := range batches {
		if bt.Format != marquee.WireFormat || bt.DisplayID != displayID || len(bt.Plays) == 0 || len(bt.Plays) > 5 {
			t.Fatalf("batch format %d, display %q, %d plays", bt.Format, bt.DisplayID, len(bt.Plays))
		}
		for i, p := range bt.Plays {
			if i > 0 && p.Seq <= bt.Plays[i-1].Seq {
				t.Errorf("batch not in sequence order: %d after %d", p.Seq, bt.Plays[i-1].Seq)
			}
			checkPlay(t, p.Play)
		}
	}

	// Bad acks are ignored and counted.
	ignored := r.Stats().AcksIgnored
	for _, p := range []string{`{`, `{"format":2,"seq":1}`, `{"format":1,"seq":0}`, `{"format":1,"seq":999999}`} {
		publish(t, server, topics.PlaysAck(displayID), []byte(p), false)
	}
	eventually(t, 10*time.Second, "bad acks counted", func() bool { return r.Stats().AcksIgnored >= ignored+4 })
	if r.Stats().AcksApplied != 0 {
		t.Fatal("a bad ack was applied")
	}

	// An ack drops what it covers from the journal.
	ack.ack(context.Background(), high)
	eventually(t, 10*time.Second, "the ack applied", func() bool { return r.Stats().AcksApplied > 0 })
	eventually(t, 10*time.Second, "acknowledged plays gone from the journal", func() bool {
		s := r.Stats()
		return uint64(s.JournalPending) < s.PlaysJournaled-high+1
	})

	// Across a restart nothing is lost: every sequence the journal ever
	// assigned is received by the server or still in the journal.
	time.Sleep(600 * time.Millisecond) // some unsent, unacknowledged plays
	r.stop(t)
	r2 := startAgent(t, dir, srv.URL(), brokerURL(b.Addr()), short)
	ack.setOn(true)
	time.Sleep(time.Second)
	eventually(t, 10*time.Second, "the journal drained", func() bool { return r2.Stats().JournalPending <= 5 })
	r2.stop(t)
	_, seqs, _ := ack.snapshot()
	left := journaled(t, dir)
	inJournal := map[uint64]bool{}
	for _, p := range left {
		inJournal[p.Seq] = true
	}
	last := uint64(0)
	for s := range seqs {
		last = max(last, s)
	}
	for _, p := range left {
		last = max(last, p.Seq)
	}
	if last < 10 {
		t.Fatalf("only %d plays over the test", last)
	}
	for s := uint64(1); s <= last; s++ {
		if seqs[s] == "" && !inJournal[s] {
			t.Errorf("play seq %d was lost: neither received nor in the journal", s)
		}
	}
}

func TestStatusHeartbeatWillAndOffline(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(4, 300, "st1"))
	b := startBroker(t, "127.0.0.1:0")
	server := serverClient(t, brokerURL(b.Addr()), "server-status")
	status := subscribe(t, server, topics.Status(displayID))
	proxy := mqtttest.NewProxy(t, b.Addr())
	dir := t.TempDir()
	r := startAgent(t, dir, srv.URL(), proxy.URL())

	online := func(m mqtt.Message) bool {
		var s marquee.Status
		return json.Unmarshal(m.Payload, &s) == nil && s.Online && s.StateRevision == 4 && s.Current != nil
	}
	m := status.Wait(t, 10*time.Second, "an online status with revision 4 and an item", online)
	var s marquee.Status
	json.Unmarshal(m.Payload, &s)
	if s.Format != 1 || s.DisplayID != displayID || s.Version != "test" || s.SentAt.IsZero() || s.FreeDiskBytes <= 0 || s.Current.MediaID != "st1" || s.Current.Reason != marquee.ReasonSchedule {
		t.Errorf("status %s", m.Payload)
	}
	// Heartbeats keep coming (interval 500 ms), and the status is retained.
	n := len(status.Messages())
	time.Sleep(1300 * time.Millisecond)
	if got := len(status.Messages()) - n; got < 2 {
		t.Errorf("%d statuses in 1.3 s, want heartbeats every 500 ms", got)
	}
	late := serverClient(t, brokerURL(b.Addr()), "server-status-late")
	subscribe(t, late, topics.Status(displayID)).Wait(t, 5*time.Second, "the retained online status", online)

	// Killed abruptly (connection cut, no DISCONNECT): the broker publishes
	// the Last Will. The proxy stops accepting, so the agent stays cut off.
	will := `{"format":1,"display_id":"` + displayID + `","online":false}`
	proxy.Close()
	status.Wait(t, 10*time.Second, "the Last Will", mqtttest.OnTopic(topics.Status(displayID), will))
	shown := r.Stats().ItemsShown
	time.Sleep(700 * time.Millisecond)
	if r.Stats().ItemsShown <= shown {
		t.Error("playback stopped when the broker connection was cut")
	}
	r.stop(t)

	// Graceful Close publishes the offline status itself.
	r2 := startAgent(t, dir, srv.URL(), brokerURL(b.Addr()))
	eventually(t, 10*time.Second, "connected again", func() bool { return r2.Stats().Connected })
	seen := len(status.Messages())
	eventually(t, 10*time.Second, "online again", func() bool {
		for _, m := range status.Messages()[seen:] {
			if online(m) {
				return true
			}
		}
		return false
	})
	r2.stop(t)
	offline := func(m mqtt.Message) bool {
		var s marquee.Status
		return json.Unmarshal(m.Payload, &s) == nil && !s.Online && !s.SentAt.IsZero() && s.StateRevision == 4
	}
	status.Wait(t, 5*time.Second, "the offline status from Close", offline)
	after := serverClient(t, brokerURL(b.Addr()), "server-status-after")
	subscribe(t, after, topics.Status(displayID)).Wait(t, 5*time.Second, "the retained offline status", offline)
}

func TestCommands(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(1, 300, "c1", "c2"))
	b := startBroker(t, "127.0.0.1:0")
	server := serverClient(t, brokerURL(b.Addr()), "server-cmds")
	results := subscribe(t, server, topics.CmdResult(displayID))
	dir := t.TempDir()
	r := startAgent(t, dir, srv.URL(), brokerURL(b.Addr()), func(cfg *player.Config) { cfg.PollInterval = time.Hour })
	eventually(t, 10*time.Second, "connected, both files cached", func() bool {
		return r.Stats().Connected && countSHA(r.out, c.sha("c1")) > 0 && countSHA(r.out, c.sha("c2")) > 0
	})

	send := func(id, typ string) {
		t.Helper()
		cmd := marquee.Command{Format: marquee.WireFormat, ID: id, Type: typ, IssuedAt: time.Now().UTC()}
		publish(t, server, topics.Cmd(displayID), mustJSON(t, cmd), false)
	}
	result := func(id string, n int) marquee.CommandResult {
		t.Helper()
		var res marquee.CommandResult
		got := 0
		results.Wait(t, 15*time.Second, "result of "+id, func(m mqtt.Message) bool {
			var x marquee.CommandResult
			if json.Unmarshal(m.Payload, &x) != nil || x.ID != id {
				return false
			}
			got++
			res = x
			return got >= n
		})
		if res.Format != marquee.WireFormat || res.FinishedAt.IsZero() {
			t.Errorf("result %+v", res)
		}
		return res
	}

	// reload-state fetches at once (the poll interval is an hour).
	srv.setState(t, c.loopState(2, 300, "c1", "c3"))
	send("cmd-1", marquee.CmdReloadState)
	if res := result("cmd-1", 1); !res.OK || r.Stats().StateRevision != 2 {
		t.Fatalf("reload-state: %+v, revision %d", res, r.Stats().StateRevision)
	}

	// resync-media re-hashes: a damaged cached file is fetched again.
	eventually(t, 10*time.Second, "c3 cached", func() bool { return countSHA(r.out, c.sha("c3")) > 0 })
	damaged := filepath.Join(dir, "files", c.sha("c1"))
	if err := os.WriteFile(damaged, []byte("bit rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	fetches := srv.fetchCount(c.sha("c1"))
	send("cmd-2", marquee.CmdResyncMedia)
	if res := result("cmd-2", 1); !res.OK {
		t.Fatalf("resync-media: %+v", res)
	}
	if srv.fetchCount(c.sha("c1")) <= fetches {
		t.Error("resync-media did not fetch the damaged file again")
	}
	if b, _ := os.ReadFile(damaged); string(b) == "bit rot" {
		t.Error("the damaged file is still cached")
	}

	// clear-cache drops what the state no longer needs (c2).
	if _, err := os.Stat(filepath.Join(dir, "files", c.sha("c2"))); err != nil {
		t.Fatalf("c2 should still be cached before clear-cache: %v", err)
	}
	send("cmd-3", marquee.CmdClearCache)
	if res := result("cmd-3", 1); !res.OK {
		t.Fatalf("clear-cache: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "files", c.sha("c2"))); !os.IsNotExist(err) {
		t.Errorf("c2 still cached after clear-cache: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "files", c.sha("c3"))); err != nil {
		t.Errorf("c3 (needed) gone after clear-cache: %v", err)
	}

	send("cmd-4", "reboot")
	if res := result("cmd-4", 1); res.OK || !strings.Contains(res.Error, "unknown command") {
		t.Errorf("unknown type: %+v", res)
	}

	// A re-delivered command is answered again, not run again.
	run := r.Stats().CommandsRun
	send("cmd-1", marquee.CmdReloadState)
	if res := result("cmd-1", 2); !res.OK {
		t.Errorf("repeated result %+v", res)
	}
	if got := r.Stats().CommandsRun; got != run {
		t.Errorf("CommandsRun %d → %d: a duplicate ran again", run, got)
	}
	if r.Stats().CommandsDuplicate == 0 {
		t.Error("duplicate not counted")
	}
	publish(t, server, topics.Cmd(displayID), []byte(`{"type":"reload-state"}`), false)
	eventually(t, 5*time.Second, "the command without id counted", func() bool { return r.Stats().CommandsMalformed > 0 })
}

func TestBrokerOutage(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(1, 200, "o1", "o2"))
	b := startBroker(t, "127.0.0.1:0")
	addr := b.Addr()
	server := serverClient(t, brokerURL(addr), "server-outage")
	ack := newAcker(t, server)
	ack.setOn(true)
	r := startAgent(t, t.TempDir(), srv.URL(), brokerURL(addr))
	eventually(t, 10*time.Second, "plays acknowledged", func() bool { return r.Stats().AcksApplied > 0 })

	closeBroker(t, b)
	eventually(t, 10*time.Second, "the agent notices", func() bool { return !r.Stats().Connected })
	before := r.Stats()
	time.Sleep(1500 * time.Millisecond)
	during := r.Stats()
	if during.ItemsShown < before.ItemsShown+4 {
		t.Errorf("shown %d → %d during the outage: playback must go on", before.ItemsShown, during.ItemsShown)
	}
	if during.JournalPending < before.JournalPending+4 {
		t.Errorf("journal pending %d → %d during the outage: it should grow", before.JournalPending, during.JournalPending)
	}

	startBroker(t, addr)
	eventually(t, 20*time.Second, "every play of the outage received", func() bool {
		_, seqs, _ := ack.snapshot()
		for s := uint64(1); s <= during.PlaysJournaled; s++ {
			if seqs[s] == "" {
				return false
			}
		}
		return true
	})
	eventually(t, 10*time.Second, "the journal drained", func() bool { return r.Stats().JournalPending <= 5 })
	r.stop(t)
}
