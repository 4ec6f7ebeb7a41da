package e2e

import (
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
)

// timelineTolerance is how far an item may go on screen from the start the
// timeline gives it.
const timelineTolerance = 300 * time.Millisecond

// TestHappyPath runs the whole loop with each kind of broker: a media team
// uploads, makes playlists, a display and a schedule over HTTP; the player
// shows exactly the server's timeline; a campaign on a higher layer
// reaches the player over MQTT at once; every play ends up in the
// playback log exactly once.
func TestHappyPath(t *testing.T) {
	t.Parallel()
	t.Run("embedded broker", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOptions{})
		happyPath(t, srv, srv.BrokerURL(), nil)
	})
	t.Run("mosquitto", func(t *testing.T) {
		t.Parallel()
		m := startMosquitto(t)
		srv := startServer(t, serverOptions{broker: m.URL, brokerPassword: brokerServerPassword})
		happyPath(t, srv, m.URL, func(id, token string) { m.AddUser(t, id, token) })
	})
}

// happyPath runs the scenario against a running server; addAccount, when
// set, gives the display an account on the broker.
func happyPath(t *testing.T, srv *server, brokerURL string, addAccount func(id, token string)) {
	a := login(t, srv.URL())
	c := setupContent(t, a)
	if addAccount != nil {
		addAccount(c.displayID, c.token)
	}
	// A poll interval of an hour: every state after the first fetch at
	// start must come over MQTT.
	p := startAgent(t, srv.URL(), brokerURL, c.displayID, c.token, time.Hour)
	waitSteady(t, a, p, c)
	a.waitDisplayStatus(c.displayID, true, p.agent.Stats().StateRevision, 20*time.Second)

	// The loop, as the timeline says, twice over.
	from := time.Now()
	eventually(t, 30*time.Second, "two loops on screen", func() bool { return len(showsSince(p, from)) >= 7 })
	checkTimeline(t, a, p, c, showsSince(p, from))

	// A campaign on a higher layer takes over within 2 s, over MQTT.
	before := p.agent.Stats()
	t0 := time.Now()
	campaign := a.createSchedule("Campaign", c.campaign, "campaign", c.displayID)
	c.playlistOfSchedule[campaign] = c.campaign
	var switched time.Time
	eventually(t, 10*time.Second, "the campaign on screen", func() bool {
		cur := p.agent.Status().Current
		if cur != nil && cur.PlaylistID == c.campaign {
			switched = cur.Since
			return true
		}
		return false
	})
	if d := switched.Sub(t0); d > 2*time.Second {
		t.Errorf("the campaign went on screen %v after it was saved, want ≤ 2s", d)
	} else {
		t.Logf("campaign on screen %v after it was saved", d.Round(time.Millisecond))
	}
	after := p.agent.Stats()
	if after.StatePolls != before.StatePolls || after.StatesApplied <= before.StatesApplied {
		t.Errorf("the campaign's state must come over MQTT: HTTP polls %d → %d, states applied %d → %d",
			before.StatePolls, after.StatePolls, before.StatesApplied, after.StatesApplied)
	}
	from = time.Now()
	eventually(t, 30*time.Second, "the campaign's loop on screen", func() bool { return len(showsSince(p, from)) >= 4 })
	checkTimeline(t, a, p, c, showsSince(p, from))

	// Unscheduled, the screen goes black; then every play must reach the
	// playback log. (The normal schedule goes first: with the campaign
	// still on top, removing it changes nothing on screen.)
	t1 := time.Now()
	a.deleteSchedule(c.normal)
	a.deleteSchedule(campaign)
	var black time.Time
	eventually(t, 10*time.Second, "a black screen", func() bool {
		cur, since := p.out.Current()
		black = since
		return cur == nil && since.After(t1)
	})
	plays := waitAllStored(t, a, p, c, 60*time.Second)
	if len(plays) < 12 {
		t.Errorf("%d plays stored, want at least 12", len(plays))
	}
	checkPlays(t, c, plays)
	checkAgainstPlayer(t, p, plays)
	checkCutShort(t, p, plays, switched, black)
	// A player that shuts down says so (the broker sends a Last Will only
	// for a connection that drops).
	p.close(t)
	a.waitDisplayStatus(c.displayID, false, 0, 20*time.Second)
	srv.stop(t, sigterm)
}

// checkCutShort checks that every play that is not completed has a
// reason: it went on screen late in its slot (at start-up, or when its
// file arrived), or a state change at one of the instants given ended it.
func checkCutShort(t testing.TB, p *agentPlayer, plays []marquee.Play, changes ...time.Time) {
	t.Helper()
	shows := p.shows()
	for _, pl := range plays {
		if pl.Completed {
			continue
		}
		late, best := false, matchTolerance
		for _, s := range shows {
			if d := absDur(s.at.Sub(pl.StartedAt)); s.mediaID == pl.MediaID && d <= best {
				late, best = s.offset > marquee.CompletedToleranceMS*time.Millisecond-100*time.Millisecond, d
			}
		}
		cut := false
		for _, ch := range changes {
			cut = cut || absDur(pl.EndedAt.Sub(ch)) <= matchTolerance
		}
		if !late && !cut {
			t.Errorf("play %s (%s at %v) ran %d of %d ms with no start-up or state change to cut it short",
				pl.ID, pl.MediaName, pl.StartedAt, pl.PlayedMS, pl.PlannedMS)
		}
	}
}

// waitSteady waits until the player has the display's current state and
// every file of it in its cache, and shows something.
func waitSteady(t testing.TB, a *api, p *agentPlayer, c *content) {
	t.Helper()
	st, _ := a.state(c.displayID)
	eventually(t, 60*time.Second, "the player to apply the state and cache its files", func() bool {
		return p.agent.Stats().StateRevision >= st.Revision && p.cached(st)
	})
	eventually(t, 10*time.Second, "an item on screen", func() bool {
		cur, _ := p.out.Current()
		return cur != nil
	})
}

// showsSince returns the items shown after t.
func showsSince(p *agentPlayer, t time.Time) []show {
	var out []show
	for _, s := range p.shows() {
		if s.at.After(t) {
			out = append(out, s)
		}
	}
	return out
}

// checkTimeline checks shows (each at a slot boundary) against the
// server's timeline over the same stretch: the same items in the same
// order, each on screen within timelineTolerance of its entry's start,
// and nothing black in between.
func checkTimeline(t testing.TB, a *api, p *agentPlayer, c *content, shows []show) {
	t.Helper()
	first, last := shows[0].at, shows[len(shows)-1].at
	for _, e := range p.out.Events() {
		if e.Item == nil && e.At.After(first) && e.At.Before(last) {
			t.Errorf("the screen went black at %v", e.At)
		}
	}
	tl := a.timeline(c.displayID, first.Add(-2*time.Second), last.Add(2*time.Second))
	if got, want := tl.Revision, p.agent.Stats().StateRevision; got != want {
		t.Fatalf("timeline of revision %d, the player plays %d", got, want)
	}
	var entries []timelineEntry
	for _, e := range tl.Entries {
		if e.Reason != marquee.ReasonIdle && !e.Start.Before(first.Add(-timelineTolerance)) && !e.Start.After(last.Add(timelineTolerance)) {
			entries = append(entries, e)
		}
	}
	if len(entries) != len(shows) {
		t.Fatalf("the player showed %d items from %v to %v, the timeline has %d entries:\nshows: %+v\nentries: %+v",
			len(shows), first, last, len(entries), shows, entries)
	}
	var worst time.Duration
	for i, s := range shows {
		e := entries[i]
		skew := s.at.Sub(e.Start)
		worst = max(worst, absDur(skew))
		if s.mediaID != e.MediaID || s.sha != e.SHA256 || absDur(skew) > timelineTolerance {
			t.Errorf("show %d: %s (%.12s) at %v; the timeline has %s (%.12s) at %v (off by %v)",
				i, c.mediaByID[s.mediaID].Name, s.sha, s.at, c.mediaByID[e.MediaID].Name, e.SHA256, e.Start, skew)
		}
	}
	t.Logf("%d items as the timeline says, worst %v off", len(shows), worst.Round(time.Millisecond))
}

// waitAllStored waits, once the screen is black, until the player has
// journaled a play for every item it showed, the server has stored as
// many plays and the player's journal is empty, and returns the plays.
func waitAllStored(t testing.TB, a *api, p *agentPlayer, c *content, d time.Duration) []marquee.Play {
	t.Helper()
	var plays []marquee.Play
	eventually(t, d, "every play journaled to be stored and acknowledged", func() bool {
		st := p.agent.Stats()
		if st.PlaysJournaled+st.JournalErrors != st.ItemsShown || st.JournalPending != 0 {
			return false // the item that went off screen last is being journaled
		}
		var err error
		plays, err = a.plays(c.displayID)
		return err == nil && uint64(len(plays)) == st.PlaysJournaled
	})
	return plays
}
