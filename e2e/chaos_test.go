package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
)

// reconnectBound bounds how long after an outage ends everything must be
// back in order. The MQTT client backs off exponentially up to 60 s with up
// to 30 s of jitter per attempt, so after a long broker outage a player or
// the server may take a minute or more to try again; then the player
// re-sends what is not acknowledged and the server stores it.
const reconnectBound = 3 * time.Minute

// chaosOutage is how long each outage lasts: MARQUEE_CHAOS_OUTAGE, 30 s by
// default.
func chaosOutage(t testing.TB) time.Duration {
	t.Helper()
	v := os.Getenv("MARQUEE_CHAOS_OUTAGE")
	if v == "" {
		return 30 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("MARQUEE_CHAOS_OUTAGE=%q is not a positive duration such as 30s", v)
	}
	return d
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("chaos tests take an outage each; skipped with -short")
	}
}

// TestChaosBrokerOutage stops the broker the server and the player share
// for the outage, then starts it again on the same address (empty: a
// broker restart loses retained messages and sessions). The player keeps
// playing throughout; once both are back, the server holds every play the
// player made, once each.
func TestChaosBrokerOutage(t *testing.T) {
	skipShort(t)
	t.Parallel()
	outage := chaosOutage(t)
	accounts := newDisplayAccounts()
	b := startStandaloneBroker(t, "", accounts, 0)
	srv := startServer(t, serverOptions{broker: b.URL(), brokerPassword: brokerServerPassword})
	a := login(t, srv.URL())
	c := setupContent(t, a)
	accounts.add(c.displayID, c.token)
	p := startAgent(t, srv.URL(), b.URL(), c.displayID, c.token, 0)
	waitSteady(t, a, p, c)
	steady := time.Now()
	waitStored(t, a, c, 3)

	reconnects := srv.log.Count("mqtt connected")
	b.stop()
	eventually(t, 10*time.Second, "the player to notice the broker is gone", func() bool { return !p.agent.Stats().Connected })
	time.Sleep(outage) // the outage itself
	b.start()
	up := time.Now()
	eventually(t, reconnectBound, "the player back on the broker", func() bool { return p.agent.Stats().Connected })
	t.Logf("player reconnected %v after the broker came back", time.Since(up).Round(time.Millisecond))
	eventually(t, reconnectBound, "the server back on the broker", func() bool { return srv.log.Count("mqtt connected") > reconnects })
	t.Logf("server reconnected within %v after the broker came back", time.Since(up).Round(time.Millisecond))

	finishChaos(t, a, p, c, steady)
}

// TestChaosServerOutage stops the server for the outage and starts a new
// one on the same data dir and ports: with an external broker only the
// server goes away (stopped gracefully); with the embedded broker the
// broker goes with it (and the server is killed, not stopped, so plays
// stored but not yet acknowledged are re-sent and must not be stored
// twice).
func TestChaosServerOutage(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for _, v := range []struct {
		name     string
		external bool
		sig      syscall.Signal
	}{
		{"external broker, server stopped", true, sigterm},
		{"embedded broker, server killed", false, sigkill},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			outage := chaosOutage(t)
			accounts := newDisplayAccounts()
			var opts serverOptions
			if v.external {
				b := startStandaloneBroker(t, "", accounts, 0)
				opts = serverOptions{broker: b.URL(), brokerPassword: brokerServerPassword}
			}
			srv := startServer(t, opts)
			brokerURL := srv.BrokerURL()
			if v.external {
				brokerURL = opts.broker
			}
			a := login(t, srv.URL())
			c := setupContent(t, a)
			accounts.add(c.displayID, c.token)
			p := startAgent(t, srv.URL(), brokerURL, c.displayID, c.token, 0)
			waitSteady(t, a, p, c)
			steady := time.Now()
			waitStored(t, a, c, 3)

			srv.stop(t, v.sig)
			time.Sleep(outage) // the outage itself
			srv.restart(t)     // stopped when the test ends
			// The admin's session is in the database: it survives.
			finishChaos(t, a, p, c, steady)
		})
	}
}

// TestChaosPlayerKill runs the real marquee-player binary and SIGKILLs it
// mid-item twice: after the first kill it restarts with the server and the
// broker unreachable and must resume at once from what it persisted,
// playing on for the outage and journaling; after the second it restarts
// online and must deliver everything. The server then holds every play the
// journal ever recorded, once each — all the player showed except the one
// item on screen at each kill.
func TestChaosPlayerKill(t *testing.T) {
	skipShort(t)
	t.Parallel()
	outage := chaosOutage(t)
	srv := startServer(t, serverOptions{})
	a := login(t, srv.URL())
	c := setupContent(t, a)
	cacheDir := t.TempDir()
	journalDir := filepath.Join(cacheDir, "journal")
	tail := startJournalTail(journalDir)
	t.Cleanup(tail.stop)
	journaled := map[uint64]marquee.JournaledPlay{} // everything ever seen on disk
	var runs []*playerProc
	run := func(server, broker string) *playerProc {
		p := startPlayerProc(t, server, broker, c.displayID, c.token, cacheDir)
		runs = append(runs, p)
		return p
	}

	// 1: online, until plays are stored.
	p1 := run(srv.URL(), srv.BrokerURL())
	st, _ := a.state(c.displayID)
	eventually(t, 60*time.Second, "the player to cache every file", func() bool {
		for _, m := range st.Media {
			if _, err := os.Stat(filepath.Join(cacheDir, "files", m.SHA256)); err != nil {
				return false
			}
		}
		return true
	})
	waitStored(t, a, c, 3)
	pending1 := killMidItem(t, p1, journalDir, journaled)
	// The broker publishes the vanished player's Last Will.
	a.waitDisplayStatus(c.displayID, false, 0, 20*time.Second)

	// 2: nothing reachable; it must resume at once and play on.
	p2 := run("http://"+freeAddr(t), "tcp://"+freeAddr(t))
	checkResumes(t, p2)
	time.Sleep(outage) // offline for the outage, journaling
	pending2 := killMidItem(t, p2, journalDir, journaled)
	offline := 0
	for seq := range pending2 {
		if _, ok := pending1[seq]; !ok {
			offline++
		}
	}
	if want := int(outage/time.Second) - 2; offline < want {
		t.Errorf("the offline run journaled %d plays in %v, want at least %d", offline, outage, want)
	}
	checkNoGapInLog(t, p2, c)

	// 3: online again: everything journaled reaches the server.
	p3 := run(srv.URL(), srv.BrokerURL())
	checkResumes(t, p3)
	a.waitDisplayStatus(c.displayID, true, st.Revision, reconnectBound)
	eventually(t, reconnectBound, "the plays journaled before the kills on the server", func() bool {
		plays, err := a.plays(c.displayID)
		if err != nil {
			return false
		}
		ids := map[string]bool{}
		for _, p := range plays {
			ids[p.ID] = true
		}
		for _, jp := range pending2 {
			if !ids[jp.ID] {
				return false
			}
		}
		return true
	})
	t1 := time.Now()
	a.deleteSchedule(c.normal)
	if _, ok := p3.log.Wait(reconnectBound, p3.done, func(l logLine) bool { return l.msg() == "screen: blank" && l.time().After(t1) }); !ok {
		t.Fatal("the player did not go black once unscheduled")
	}
	// The play of the last item shown is journaled just after the blank:
	// once it is stored, everything before it is.
	shown := showsFromLog(p3.log.Lines())
	last := shown[len(shown)-1]
	var plays []marquee.Play
	var mark journalMark
	eventually(t, reconnectBound, "every play journaled to be stored and acknowledged", func() bool {
		var err error
		if mark, err = journalSettled(journalDir); err != nil {
			return false
		}
		if plays, err = a.plays(c.displayID); err != nil || uint64(len(plays)) != mark.High {
			return false
		}
		lonely, _ := matchShows([]show{last}, plays, matchTolerance)
		return len(lonely) == 0
	})
	p3.stop(t, sigterm)
	if m, err := journalSettled(journalDir); err != nil || m.High != mark.High {
		t.Errorf("after a graceful stop of a black screen the journal is %+v, %v; want everything up to %d acknowledged", m, err, mark.High)
	}

	checkPlays(t, c, plays)
	for seq, jp := range tail.plays(t) {
		journaled[seq] = jp
	}
	if uint64(len(journaled)) > mark.High {
		t.Errorf("seen %d journal entries, but the journal's high-water mark is %d", len(journaled), mark.High)
	}
	checkJournalSubset(t, journaled, plays)

	// What the player showed: all of it stored but the item on screen at
	// each kill.
	var shows []show
	lastOfKilled := map[time.Time]bool{}
	for i, p := range runs {
		s := showsFromLog(p.log.Lines())
		if len(s) == 0 {
			t.Fatalf("run %d showed nothing", i+1)
		}
		if i < 2 {
			lastOfKilled[s[len(s)-1].at] = true
		}
		shows = append(shows, s...)
	}
	lonelyShows, lonelyPlays := matchShows(shows, plays, matchTolerance)
	for _, p := range lonelyPlays {
		t.Errorf("play %s (%s at %v) matches nothing the player logged showing", p.ID, p.MediaName, p.StartedAt)
	}
	for _, s := range lonelyShows {
		if !lastOfKilled[s.at] {
			t.Errorf("shown at %v (%s) but not stored, and not the item on screen at a kill", s.at, c.mediaByID[s.mediaID].Name)
		}
	}
	t.Logf("%d items shown over 3 runs, %d plays stored, %d lost on screen at the kills", len(shows), len(plays), len(lonelyShows))
}

// killMidItem SIGKILLs a player in the middle of an item (never at the
// instant it switches items), then returns the journal entries not yet
// acknowledged, adding every entry on disk to all.
func killMidItem(t *testing.T, p *playerProc, journalDir string, all map[uint64]marquee.JournaledPlay) map[uint64]marquee.JournaledPlay {
	t.Helper()
	after := time.Now()
	if _, ok := p.log.Wait(30*time.Second, p.done, func(l logLine) bool { return l.msg() == "screen: show" && l.time().After(after) }); !ok {
		t.Fatal("the player showed nothing new")
	}
	time.Sleep(400 * time.Millisecond) // mid-item: items last 1 s
	p.stop(t, sigkill)
	recs, err := readJournal(journalDir)
	if err != nil {
		t.Fatal(err)
	}
	mark, err := readMark(journalDir)
	if err != nil {
		t.Fatal(err)
	}
	pending := map[uint64]marquee.JournaledPlay{}
	for seq, jp := range recs {
		all[seq] = jp
		if seq > mark.Acked {
			pending[seq] = jp
		}
	}
	return pending
}

// journalSettled returns the journal's mark if every entry is
// acknowledged: the mark says so and no segment holds an entry above it
// (the mark's high-water field is only written with an ack, so it lags
// behind appends).
func journalSettled(dir string) (journalMark, error) {
	m, err := readMark(dir)
	if err != nil {
		return m, err
	}
	if m.Acked != m.High {
		return m, fmt.Errorf("acknowledged up to %d of %d", m.Acked, m.High)
	}
	recs, err := readJournal(dir)
	if err != nil {
		return m, err
	}
	for seq := range recs {
		if seq > m.Acked {
			return m, fmt.Errorf("entry %d is not acknowledged", seq)
		}
	}
	return m, nil
}

// checkResumes checks that a restarted player shows an item within 3 s of
// its start, from its persisted state and cache.
func checkResumes(t *testing.T, p *playerProc) {
	t.Helper()
	l, ok := p.log.Wait(30*time.Second, p.done, func(l logLine) bool { return l.msg() == "screen: show" })
	if !ok {
		t.Fatalf("the restarted player showed nothing:\n%s", p.log.Tail(30))
	}
	if d := l.time().Sub(p.started); d > 3*time.Second {
		t.Errorf("the restarted player showed its first item %v after it started, want ≤ 3s", d)
	} else {
		t.Logf("restarted player on screen %v after exec", d.Round(time.Millisecond))
	}
}

// checkNoGapInLog checks that a player's log shows an item at least every
// 1.5 items' length and never a black screen.
func checkNoGapInLog(t *testing.T, p *playerProc, c *content) {
	t.Helper()
	var last time.Time
	maxGap := time.Duration(c.itemMS) * time.Millisecond * 3 / 2
	for _, l := range p.log.Lines() {
		switch l.msg() {
		case "screen: blank":
			t.Errorf("the screen went black at %v", l.time())
		case "screen: show":
			if !last.IsZero() && l.time().Sub(last) > maxGap {
				t.Errorf("nothing new on screen from %v to %v", last, l.time())
			}
			last = l.time()
		}
	}
}

// waitStored waits until the server holds at least n plays of the display.
func waitStored(t testing.TB, a *api, c *content, n int) {
	t.Helper()
	eventually(t, 60*time.Second, "plays stored", func() bool {
		plays, err := a.plays(c.displayID)
		return err == nil && len(plays) >= n
	})
}

// finishChaos ends a chaos test whose player ran in process: it
// unschedules everything, so the player goes black and stops making
// plays, then checks that the screen never went black or stalled from
// steady on, and that the server holds exactly the plays the player made.
func finishChaos(t *testing.T, a *api, p *agentPlayer, c *content, steady time.Time) {
	t.Helper()
	a.waitDisplayStatus(c.displayID, true, p.agent.Stats().StateRevision, reconnectBound)
	end := time.Now()
	ids := make([]string, 0, len(c.playlistOfSchedule))
	for id := range c.playlistOfSchedule {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a.deleteSchedule(id)
	}
	eventually(t, reconnectBound, "a black screen", func() bool {
		cur, since := p.out.Current()
		return cur == nil && since.After(end)
	})
	checkNoGap(t, p, c, steady, end)
	plays := waitAllStored(t, a, p, c, reconnectBound)
	checkPlays(t, c, plays)
	checkAgainstPlayer(t, p, plays)
	st := p.agent.Stats()
	t.Logf("%d plays stored once each; player: %d batches sent, %d resends, %d acks", len(plays), st.BatchesSent, st.Resends, st.AcksApplied)
}

// checkNoGap checks that from from to to the output showed a new item at
// least every 1.5 items' length and never blanked.
func checkNoGap(t *testing.T, p *agentPlayer, c *content, from, to time.Time) {
	t.Helper()
	maxGap := time.Duration(c.itemMS) * time.Millisecond * 3 / 2
	last := from
	n := 0
	for _, e := range p.out.Events() {
		if e.At.Before(from) || e.At.After(to) {
			continue
		}
		if e.Item == nil {
			t.Errorf("the screen went black at %v", e.At)
			continue
		}
		if gap := e.At.Sub(last); gap > maxGap {
			t.Errorf("nothing new on screen from %v to %v (%v)", last, e.At, gap)
		}
		last = e.At
		n++
	}
	if gap := to.Sub(last); gap > maxGap {
		t.Errorf("nothing new on screen from %v to %v (%v)", last, to, gap)
	}
	t.Logf("%d items on screen from steady state to the end, none late", n)
}
