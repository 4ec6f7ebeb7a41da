package player_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/player"
	"github.com/marquee-signage/marquee/player/journal"
	"github.com/marquee-signage/marquee/scheduler"
)

// tolerance is how far a Show may be from the instant the plan says (timer
// latency under -race on a loaded machine).
const tolerance = 120 * time.Millisecond

var hcm = mustZone("Asia/Ho_Chi_Minh")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// shiftedClock returns a clock that reads base now and runs at real speed.
func shiftedClock(base time.Time) func() time.Time {
	start := time.Now()
	return func() time.Time { return base.Add(time.Since(start)) }
}

// timelineState has a normal-layer loop all day, and at 12:00 two campaign
// cron windows (1.5 s and 2.2 s) that interleave item by item; the second
// outlives the first, then the normal loop resumes mid-slot.
func timelineState(c *catalog) *marquee.DesiredState {
	cron := func(id, pl string, ms int64) marquee.Rule {
		return marquee.Rule{ScheduleID: id, Name: id, Playlist: ref(pl), Layer: marquee.LayerCampaign,
			Cron: "0 12 * * *", DurationMS: ms, Timezone: "Asia/Ho_Chi_Minh"}
	}
	return c.state(1,
		[]marquee.Rule{allDay("sch_n", "pls_n", marquee.LayerNormal), cron("sch_a", "pls_a", 1500), cron("sch_b", "pls_b", 2200)},
		nil,
		playlist("pls_n", c.item("n1", 300), c.item("n2", 300)),
		playlist("pls_a", c.item("a1", 200), c.item("a2", 300)),
		playlist("pls_b", c.item("b1", 250)),
	)
}

func TestEngineFollowsTheTimeline(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	st := timelineState(c)
	srv.setState(t, st)
	plan, err := scheduler.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 6, 5, 11, 59, 58, 500e6, hcm)
	dir := t.TempDir()
	clock := shiftedClock(base)
	r := startAgent(t, dir, srv.URL(), "", func(c *player.Config) { c.Now = clock })

	// Compare from 1 s in (the files are cached by then) to 4.1 s in: the
	// window opens at 1.5 s and the normal loop is back at 3.7 s.
	from, to := base.Add(time.Second), base.Add(4100*time.Millisecond)
	time.Sleep(to.Sub(clock()) + 50*time.Millisecond)
	r.stop(t)

	entries, _ := plan.Timeline(from, to, 0)
	var events []player.ShowEvent
	for _, e := range r.out.Events() {
		if e.Item != nil {
			events = append(events, e)
		}
	}
	used := make([]bool, len(events))
	for _, e := range entries {
		if e.Playlist == nil {
			t.Fatalf("timeline has a black entry at %v; the state always has something", e.Start)
		}
		if !e.Start.After(from) {
			continue // clipped: it went on screen before the period
		}
		found := false
		for i, ev := range events {
			if !used[i] && ev.Item.SHA256 == e.SHA256 && absDur(ev.At.Sub(e.Start)) <= tolerance {
				used[i], found = true, true
				wantOff := plan.At(e.Start).Offset
				if absDur(ev.Item.Offset-wantOff) > tolerance {
					t.Errorf("%s at %v: offset %v, want %v", e.MediaID, e.Start, ev.Item.Offset, wantOff)
				}
				break
			}
		}
		if !found {
			t.Errorf("timeline: %s (%s) at %v was not shown within %v; shows: %s", e.MediaID, e.Reason.ScheduleID, e.Start.In(hcm).Format("15:04:05.000"), tolerance, describeEvents(events, c))
		}
	}
	for i, ev := range events {
		if !used[i] && ev.At.After(from.Add(tolerance)) && ev.At.Before(to.Add(-tolerance)) {
			t.Errorf("shown at %v: %s, which the timeline does not have", ev.At.In(hcm).Format("15:04:05.000"), nameOf(c, ev.Item.SHA256))
		}
	}
	if n := r.Stats().MissingSlots; n > 1 {
		t.Logf("%d slots were black while the files downloaded", n)
	}

	// The journal holds one play per show, stamped like the shows.
	plays := journaled(t, dir)
	if got, want := len(plays), len(events); got != want {
		t.Fatalf("journal has %d plays, want one per show (%d)", got, want)
	}
	for i, p := range plays {
		ev := events[i]
		if p.MediaSHA256 != ev.Item.SHA256 || absDur(p.StartedAt.Sub(ev.At)) > 20*time.Millisecond {
			t.Errorf("play %d: %s at %v, want %s at %v", i, p.MediaID, p.StartedAt, ev.Item.MediaID, ev.At)
		}
		checkPlay(t, p.Play)
		if i+1 < len(plays) && !p.EndedAt.Equal(plays[i+1].StartedAt) {
			t.Errorf("play %d ends at %v but the next starts at %v", i, p.EndedAt, plays[i+1].StartedAt)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func nameOf(c *catalog, sha string) string {
	for name, a := range c.assets {
		if a.SHA256 == sha {
			return name
		}
	}
	return sha[:8]
}

func describeEvents(evs []player.ShowEvent, c *catalog) string {
	s := ""
	for _, e := range evs {
		s += " " + nameOf(c, e.Item.SHA256) + "@" + e.At.In(hcm).Format("05.000")
	}
	return s
}

// journaled opens the (closed) agent's journal and returns every play not
// yet acknowledged.
func journaled(t *testing.T, dir string) []marquee.JournaledPlay {
	t.Helper()
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	plays, err := j.Pending(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return plays
}

// checkPlay checks the invariants of one play record.
func checkPlay(t *testing.T, p marquee.Play) {
	t.Helper()
	if len(p.ID) != 36 || p.ID[14] != '4' {
		t.Errorf("play id %q is not a UUID v4", p.ID)
	}
	if p.DisplayID != displayID || p.MediaID == "" || p.MediaName == "" || p.PlaylistID == "" || p.PlaylistRevision == 0 {
		t.Errorf("play %s lacks fields: %+v", p.ID, p)
	}
	if p.Reason != marquee.ReasonSchedule && p.Reason != marquee.ReasonFallback {
		t.Errorf("play %s: reason %q", p.ID, p.Reason)
	}
	if p.Reason == marquee.ReasonSchedule && p.ScheduleID == "" {
		t.Errorf("play %s: scheduled play without schedule id", p.ID)
	}
	for _, ts := range []time.Time{p.StartedAt, p.EndedAt} {
		if ts.Location() != time.UTC || !ts.Equal(ts.Truncate(time.Millisecond)) {
			t.Errorf("play %s: time %v is not UTC with millisecond precision", p.ID, ts)
		}
	}
	if p.EndedAt.Before(p.StartedAt) || absDur(time.Duration(p.PlayedMS)*time.Millisecond-p.EndedAt.Sub(p.StartedAt)) > 5*time.Millisecond {
		t.Errorf("play %s: played %d ms from %v to %v", p.ID, p.PlayedMS, p.StartedAt, p.EndedAt)
	}
	if p.Completed != marquee.IsCompleted(p.PlannedMS, p.PlayedMS) {
		t.Errorf("play %s: completed=%v for %d of %d ms", p.ID, p.Completed, p.PlayedMS, p.PlannedMS)
	}
}

func TestMissingFilesStayBlackUntilVerified(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	c.asset("z", true) // served corrupted: never verifies
	st := c.loopState(1, 300, "x", "y", "z")
	srv.hold(c.sha("y"))
	srv.setState(t, st)
	dir := t.TempDir()
	r := startAgent(t, dir, srv.URL(), "")

	eventually(t, 10*time.Second, "x shown twice", func() bool { return countSHA(r.out, c.sha("x")) >= 2 })
	if n := countSHA(r.out, c.sha("y")); n != 0 {
		t.Fatalf("y shown %d times before its download finished", n)
	}
	if r.Stats().MissingSlots < 2 {
		t.Errorf("MissingSlots = %d, want the y and z slots counted", r.Stats().MissingSlots)
	}
	blanks := 0
	for _, e := range r.out.Events() {
		if e.Item == nil {
			blanks++
		}
	}
	if blanks < 2 {
		t.Errorf("%d blanks, want the missing slots black", blanks)
	}

	released := time.Now()
	srv.release(c.sha("y"))
	eventually(t, 10*time.Second, "y shown after its download", func() bool { return countSHA(r.out, c.sha("y")) >= 2 })
	if n := countSHA(r.out, c.sha("z")); n != 0 {
		t.Errorf("z (corrupt) shown %d times", n)
	}
	for _, e := range r.out.Events() {
		if e.Item == nil {
			continue
		}
		b, err := os.ReadFile(e.Item.Path)
		if err != nil {
			t.Fatalf("shown file: %v", err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != e.Item.SHA256 {
			t.Errorf("shown %s whose bytes do not match its hash", e.Item.Path)
		}
	}
	r.stop(t)

	for _, p := range journaled(t, dir) {
		switch p.MediaSHA256 {
		case c.sha("z"):
			t.Errorf("play recorded for z, which never showed: %+v", p)
		case c.sha("y"):
			if p.StartedAt.Before(released.Add(-time.Millisecond)) {
				t.Errorf("play of y at %v, before its file was released at %v", p.StartedAt, released)
			}
		}
		checkPlay(t, p.Play)
	}
}

func TestRestartWithoutNetworkResumesAtOnce(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	st := c.loopState(7, 400, "p", "q")
	srv.setState(t, st)
	plan, err := scheduler.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := startAgent(t, dir, srv.URL(), "")
	eventually(t, 10*time.Second, "both items shown", func() bool {
		return countSHA(r.out, c.sha("p")) > 0 && countSHA(r.out, c.sha("q")) > 0
	})
	r.stop(t)

	// No server, no broker: the persisted state plays at once.
	start := time.Now()
	shown := make(chan player.ShowEvent, 100)
	r2 := startAgent(t, dir, deadURL(t, "http"), deadURL(t, "tcp"), func(cfg *player.Config) {
		out := player.NewHeadlessOutput(testLogger(), nil)
		out.OnShow = func(it player.Item, at time.Time) { shown <- player.ShowEvent{At: at, Item: &it} }
		cfg.Output = out
	})
	select {
	case ev := <-shown:
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("first show %v after start, want at once", d)
		}
		if want := plan.At(ev.At).Item.SHA256; ev.Item.SHA256 != want && plan.At(ev.At.Add(-tolerance)).Item.SHA256 != ev.Item.SHA256 {
			t.Errorf("resumed with %s, the plan says %s", nameOf(c, ev.Item.SHA256), nameOf(c, want))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("nothing shown within 3 s of a restart without network")
	}
	if got := r2.Status().StateRevision; got != 7 {
		t.Errorf("revision after restart = %d, want 7", got)
	}
	// It keeps going, and Run does not give up.
	n := r2.Stats().ItemsShown
	time.Sleep(time.Second)
	if r2.Stats().ItemsShown <= n {
		t.Error("playback stopped without network")
	}
	select {
	case err := <-r2.done:
		t.Fatalf("Run returned while offline: %v", err)
	default:
	}
	if r2.Stats().StatePollFails == 0 {
		t.Error("no failed poll counted with the server down")
	}
}

// A new state that leaves the same item in the same slot does not split the
// play: the item stays on screen and its play runs on.
func TestStateChangeKeepsThePlayOnScreen(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	st := c.loopState(1, 1500, "k1", "k2")
	srv.setState(t, st)
	dir := t.TempDir()
	r := startAgent(t, dir, srv.URL(), "")
	eventually(t, 10*time.Second, "something shown", func() bool { return r.Stats().ItemsShown > 0 })

	next := c.loopState(2, 1500, "k1", "k2")
	next.Display.Name = "Renamed"
	next.Fallback = &marquee.PlaylistRef{PlaylistID: "pls_fb", Revision: 1}
	next.Playlists = append(next.Playlists, playlist("pls_fb", c.item("k3", 1000)))
	next.Media = append(next.Media, c.assets["k3"])
	srv.setState(t, next)
	eventually(t, 10*time.Second, "revision 2", func() bool { return r.Stats().StateRevision == 2 })
	shown := r.Stats().ItemsShown
	eventually(t, 10*time.Second, "two more slots", func() bool { return r.Stats().ItemsShown >= shown+2 })
	r.stop(t)

	first := true
	for i, e := range r.out.Events() {
		if e.Item == nil {
			continue
		}
		if first { // the start: mid-slot
			first = false
			continue
		}
		if e.Item.Offset > 50*time.Millisecond {
			t.Errorf("show %d of %s at offset %v: the slot was split", i, nameOf(c, e.Item.SHA256), e.Item.Offset)
		}
	}
	plays := journaled(t, dir)
	for i, p := range plays[1 : len(plays)-1] {
		if p.PlayedMS < 1400 || !p.Completed {
			t.Errorf("play %d: %d ms, completed %v; want whole slots", i+1, p.PlayedMS, p.Completed)
		}
	}
}
