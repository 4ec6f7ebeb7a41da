package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/player"
)

// TestGarbage publishes malformed, oversized and misdirected messages on
// every topic a display's account or the server's account can reach, with
// a server and a player running. Each must be dropped and counted — on the
// server (its log: `marquee serve` exposes no counters), on the player
// (Agent.Stats and its log) or by the broker's ACL — and afterwards both
// must still work: the player showing items without a gap, a new play
// stored end to end, the playback log holding exactly the player's plays.
//
// The broker is the embedded one's package run on its own, so the test
// knows the server account's password, with a 4 MiB packet limit, so that
// 2 MiB payloads reach both programs and meet their own limits. The
// display-side garbage is sent with a second display's own account (a
// display's client ID must be its ID, so a second connection with the
// playing display's account would take its session over); the broker
// treats every display alike.
func TestGarbage(t *testing.T) {
	t.Parallel()
	accounts := newDisplayAccounts()
	b := startStandaloneBroker(t, "", accounts, 4<<20)
	srv := startServer(t, serverOptions{broker: b.URL(), brokerPassword: brokerServerPassword})
	a := login(t, srv.URL())
	c := setupContent(t, a)
	accounts.add(c.displayID, c.token)
	other, otherToken := a.createDisplay("Another wall", 192, 96)
	accounts.add(other, otherToken)
	p := startAgent(t, srv.URL(), b.URL(), c.displayID, c.token, 0)
	waitSteady(t, a, p, c)
	steady := time.Now()
	waitStored(t, a, c, 2)

	topics := mqtt.Topics{}
	st, rawState := a.state(c.displayID)
	huge := bytes.Repeat([]byte("x"), 2<<20)
	fakePlay := func(displayID string, seq uint64) marquee.JournaledPlay {
		return marquee.JournaledPlay{Seq: seq, Play: marquee.Play{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", seq), DisplayID: displayID,
			MediaID: c.a.ID, MediaSHA256: strings.Repeat("a", 64), MediaName: "forged", PlaylistID: c.loop,
			ScheduleID: c.normal, Reason: marquee.ReasonSchedule, StartedAt: time.Now().Add(-time.Minute).UTC(),
			EndedAt: time.Now().Add(-time.Minute + time.Second).UTC(), PlannedMS: 1000, PlayedMS: 1000,
		}}
	}
	batch := func(batchOf string, plays ...marquee.JournaledPlay) []byte {
		return mustJSON(t, marquee.PlayBatch{Format: marquee.WireFormat, DisplayID: batchOf, Plays: plays})
	}
	stateWith := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(rawState, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		return mustJSON(t, m)
	}

	srvBefore := countLogs(srv.log.Count, serverDropLogs)
	playerBefore := p.agent.Stats()
	oversizedBefore := p.logs.Count(oversizedLog)
	brokerBefore := b.stats()
	garbageStart := time.Now()

	// As a display (its own account): everything it may publish.
	asDisplay := connect(t, b.URL(), other, otherToken)
	for _, m := range []mqtt.Message{
		{Topic: topics.Status(other), Payload: []byte("garbage")},
		{Topic: topics.Status(other), Payload: []byte(`{"format":1,"online":tr`)},
		{Topic: topics.Status(other), Payload: []byte(`{"format":1,"online":"yes"}`)},
		{Topic: topics.Status(other), Payload: []byte(`{"format":1,"online":true,"uptime_s":1e400}`)},
		{Topic: topics.Status(other), Payload: []byte(`{"format":1,"online":true,"state_revision":-5}`)},
		{Topic: topics.Status(other), Payload: []byte(`{"format":99,"online":true}`)},
		{Topic: topics.Status(other), Payload: []byte(`{"format":1,"display_id":"` + c.displayID + `","online":false}`)},
		{Topic: topics.Status(other), Payload: huge},

		{Topic: topics.Plays(other), Payload: []byte("garbage")},
		{Topic: topics.Plays(other), Payload: batch(other, fakePlay(other, 1))[:40]},
		{Topic: topics.Plays(other), Payload: []byte(`{"format":1,"display_id":"` + other + `","plays":"many"}`)},
		{Topic: topics.Plays(other), Payload: []byte(`{"format":1,"display_id":"` + other + `","plays":[{"seq":1e30}]}`)},
		{Topic: topics.Plays(other), Payload: batch(c.displayID, fakePlay(c.displayID, 1))},    // another display's batch
		{Topic: topics.Plays(other), Payload: mustJSON(t, marquee.PlayAck{Format: 1, Seq: 5})}, // an ack on the plays topic
		{Topic: topics.Plays(other), Payload: huge},
		// Well-formed batches of bad plays: dropped play by play (and
		// acknowledged, so a poison play cannot block a journal).
		{Topic: topics.Plays(other), Payload: batch(other, fakePlay(c.displayID, 2))},
		{Topic: topics.Plays(other), Payload: []byte(`{"format":1,"display_id":"` + other + `","plays":[{"seq":18446744073709551615,"id":"not-a-uuid"}]}`)},

		{Topic: topics.CmdResult(other), Payload: []byte("garbage")},
		{Topic: topics.CmdResult(other), Payload: []byte(`{"format":1,"id":"cmd_`)},
		{Topic: topics.CmdResult(other), Payload: []byte(`{"format":1,"id":5,"ok":"yes"}`)},
		{Topic: topics.CmdResult(other), Payload: []byte(`{"format":2,"id":"cmd_x","ok":true}`)},
		{Topic: topics.CmdResult(other), Payload: []byte(`{"format":1,"id":"cmd_e2e_never_sent","ok":true}`)},
		{Topic: topics.CmdResult(other), Payload: huge},

		// Not its own topics: the broker's ACL drops these.
		{Topic: topics.Plays(c.displayID), Payload: batch(c.displayID, fakePlay(c.displayID, 3))},
		{Topic: topics.Status(c.displayID), Payload: []byte(`{"format":1,"online":false}`)},
		{Topic: topics.PlaysAck(c.displayID), Payload: mustJSON(t, marquee.PlayAck{Format: 1, Seq: 1})},
		{Topic: topics.State(other), Payload: rawState},
		{Topic: "elsewhere/entirely", Payload: []byte("garbage")},
	} {
		publish(t, asDisplay, m)
	}

	// As the server account, on the player's topics.
	asServer := connect(t, b.URL(), broker.DefaultServerUsername, brokerServerPassword)
	lastSeq := p.agent.Stats().PlaysJournaled + 1000
	for _, m := range []mqtt.Message{
		{Topic: topics.State(c.displayID), Payload: []byte("garbage")},
		{Topic: topics.State(c.displayID), Payload: rawState[:len(rawState)/2]},
		{Topic: topics.State(c.displayID), Payload: []byte(`{"format":"one"}`)},
		{Topic: topics.State(c.displayID), Payload: []byte(`{"format":1,"display_id":"` + c.displayID + `","revision":1e400}`)},
		{Topic: topics.State(c.displayID), Payload: stateWith(func(m map[string]any) { m["revision"] = st.Revision - 1 })},
		{Topic: topics.State(c.displayID), Payload: stateWith(func(m map[string]any) { m["format"] = 99; m["revision"] = st.Revision + 1 })},
		{Topic: topics.State(c.displayID), Payload: stateWith(func(m map[string]any) { m["display_id"] = other; m["revision"] = st.Revision + 1 })},
		{Topic: topics.State(c.displayID), Payload: mustJSON(t, marquee.PlayAck{Format: 1, Seq: 3})}, // an ack on the state topic
		{Topic: topics.State(c.displayID), Payload: huge},

		{Topic: topics.Cmd(c.displayID), Payload: []byte("garbage")},
		{Topic: topics.Cmd(c.displayID), Payload: []byte(`{"format":1,"type":"reload-state"}`)},    // no ID: cannot be answered
		{Topic: topics.Cmd(c.displayID), Payload: mustJSON(t, marquee.PlayAck{Format: 1, Seq: 3})}, // an ack on the command topic
		{Topic: topics.Cmd(c.displayID), Payload: []byte(`{"format":1,"id":"cmd_e2e_unknown","type":"self-destruct"}`)},
		{Topic: topics.Cmd(c.displayID), Payload: []byte(`{"format":7,"id":"cmd_e2e_future","type":"reload-state"}`)},
		{Topic: topics.Cmd(c.displayID), Payload: huge},

		{Topic: topics.PlaysAck(c.displayID), Payload: []byte("garbage")},
		{Topic: topics.PlaysAck(c.displayID), Payload: []byte(`{"format":1,"seq":"5"}`)},
		{Topic: topics.PlaysAck(c.displayID), Payload: []byte(`{"format":1,"seq":1e30}`)},
		{Topic: topics.PlaysAck(c.displayID), Payload: []byte(`{"format":2,"seq":1}`)},
		{Topic: topics.PlaysAck(c.displayID), Payload: mustJSON(t, marquee.PlayAck{Format: 1, Seq: lastSeq})}, // beyond the journal
		{Topic: topics.PlaysAck(c.displayID), Payload: huge},
	} {
		publish(t, asServer, m)
	}
	garbageEnd := time.Now()

	// Everything dropped and counted.
	wantServer := map[string]int{
		"status dropped":                        7,
		"plays batch dropped":                   6,
		"invalid plays dropped":                 2,
		"command result dropped":                4,
		"result for an unknown command dropped": 3, // one sent here, two answers of the player to forged commands
		oversizedLog:                            3,
	}
	eventually(t, 20*time.Second, "the server to count every message it dropped", func() bool {
		return reached(countLogs(srv.log.Count, serverDropLogs), srvBefore, wantServer)
	})
	wantPlayer := func(s player.Stats) map[string]int {
		return map[string]int{
			"StatesMalformed":     int(s.StatesMalformed - playerBefore.StatesMalformed),
			"StatesStale":         int(s.StatesStale - playerBefore.StatesStale),
			"StatesUnknownFormat": int(s.StatesUnknownFormat - playerBefore.StatesUnknownFormat),
			"StatesInvalid":       int(s.StatesInvalid - playerBefore.StatesInvalid),
			"CommandsMalformed":   int(s.CommandsMalformed - playerBefore.CommandsMalformed),
			"CommandsRun":         int(s.CommandsRun - playerBefore.CommandsRun),
			"AcksIgnored":         int(s.AcksIgnored - playerBefore.AcksIgnored),
			oversizedLog:          p.logs.Count(oversizedLog) - oversizedBefore,
		}
	}
	want := map[string]int{"StatesMalformed": 4, "StatesStale": 1, "StatesUnknownFormat": 1, "StatesInvalid": 2,
		"CommandsMalformed": 3, "CommandsRun": 2, "AcksIgnored": 5, oversizedLog: 3}
	eventually(t, 20*time.Second, "the player to count every message it dropped", func() bool {
		return reached(wantPlayer(p.agent.Stats()), nil, want)
	})
	if got := b.stats().ACLDenials - brokerBefore.ACLDenials; got < 5 {
		t.Errorf("the broker's ACL refused %d publishes, want at least 5", got)
	}
	t.Logf("server dropped (log): %v; player: %v; broker ACL denials: %d",
		diff(countLogs(srv.log.Count, serverDropLogs), srvBefore), wantPlayer(p.agent.Stats()), b.stats().ACLDenials-brokerBefore.ACLDenials)

	// Both still work.
	if srv.exited() {
		t.Fatalf("the server exited: %v", srv.state)
	}
	if err := a.try(http.MethodGet, "/healthz", nil, http.StatusOK, nil); err != nil {
		t.Errorf("healthz after the garbage: %v", err)
	}
	if s := p.agent.Stats(); s.StateRevision != st.Revision || !s.Connected || !p.agent.Status().Online {
		t.Errorf("player after the garbage: revision %d (want %d), connected %v, running %v", s.StateRevision, st.Revision, s.Connected, p.agent.Status().Online)
	}
	eventually(t, 60*time.Second, "a play made after the garbage to be stored", func() bool {
		plays, err := a.plays(c.displayID)
		return err == nil && len(plays) > 0 && plays[0].StartedAt.After(garbageEnd)
	})
	if plays, err := a.plays(other); err != nil || len(plays) != 0 {
		t.Errorf("the other display, which never played, has plays %+v (%v)", plays, err)
	}
	t.Logf("garbage sent in %v", garbageEnd.Sub(garbageStart).Round(time.Millisecond))
	finishChaos(t, a, p, c, steady)
}

// oversizedLog is what the MQTT client logs when it drops a payload over
// its limit.
const oversizedLog = "mqtt: dropped an oversized message"

// serverDropLogs are the server's log messages for dropped messages.
var serverDropLogs = []string{
	"status dropped", "plays batch dropped", "invalid plays dropped", "command result dropped",
	"result for an unknown command dropped", oversizedLog,
}

func countLogs(count func(string) int, msgs []string) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		out[m] = count(m)
	}
	return out
}

func diff(now, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range now {
		out[k] = v - before[k]
	}
	return out
}

// reached reports whether every counter grew by at least want.
func reached(now, before, want map[string]int) bool {
	for k, w := range want {
		if now[k]-before[k] < w {
			return false
		}
	}
	return true
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// connect connects an MQTT client as user (the client ID is the user, as
// the broker requires of displays) that may publish up to 4 MiB.
func connect(t testing.TB, url, user, password string) *mqtt.Client {
	t.Helper()
	cl, err := mqtt.New(mqtt.Config{BrokerURL: url, ClientID: user, Username: user, Password: password,
		CleanSession: true, MaxPayload: 4 << 20, MaxReconnectInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.WaitConnected(ctx); err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = cl.Close(context.Background()) })
	return cl
}

// publish publishes m at QoS 1 and waits for the broker's acknowledgement.
func publish(t testing.TB, cl *mqtt.Client, m mqtt.Message) {
	t.Helper()
	m.QoS = 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Publish(ctx, m); err != nil {
		t.Fatalf("publish %d bytes to %s: %v", len(m.Payload), m.Topic, err)
	}
}
