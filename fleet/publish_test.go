package fleet_test

import (
	"context"
	"fmt"
	"image/color"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// quiet is how long the tests wait to be sure nothing more is published:
// well past the debounce and the max delay.
const quiet = 800 * time.Millisecond

// TestStartPublishesEveryState: once connected, Start publishes every
// display's state, retained, so a subscriber that comes later gets them.
func TestStartPublishesEveryState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, nil)
	red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
	pl := e.playlist("A", red)
	a, _ := e.display("Sân bay", "airport")
	b, _ := e.display("Phố đi bộ")
	e.schedule(schedules.Input{Name: "Sân bay", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}}})
	// b's state was built before the service started: it is published at
	// the revision it has.
	st, _, err := e.builder.State(e.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}

	o := e.observe("early")
	e.start()
	got := o.waitFor(0, 5*time.Second, a.ID, b.ID)
	if sa := state(t, got[a.ID]); len(sa.Rules) != 1 || sa.DisplayID != a.ID {
		t.Fatalf("a's state: %d rules, display %s", len(sa.Rules), sa.DisplayID)
	}
	if sb := state(t, got[b.ID]); sb.Revision != st.Revision || len(sb.Rules) != 0 {
		t.Fatalf("b's state: revision %d rules %d, want %d 0", sb.Revision, len(sb.Rules), st.Revision)
	}
	time.Sleep(300 * time.Millisecond)
	if n := o.perDisplay(o.since(0)); n[a.ID] != 1 || n[b.ID] != 1 {
		t.Fatalf("messages per display %v, want one each", n)
	}

	// A subscriber that comes later gets the states from the broker,
	// flagged retained.
	late := e.observe("late")
	lg := late.waitFor(0, 5*time.Second, a.ID, b.ID)
	for _, id := range []string{a.ID, b.ID} {
		if m := lg[id]; !m.retained || state(t, m).Revision != state(t, got[id]).Revision {
			t.Fatalf("late subscriber: %s retained=%v revision %d", id, m.retained, state(t, m).Revision)
		}
	}
}

// TestPublishOnChange: each kind of change publishes the new state of
// exactly the displays it affects, within a second, and an unrelated change
// publishes nothing.
func TestPublishOnChange(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d dialect) {
		t.Parallel()
		e := newEnv(t, d, nil)
		red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
		blue := e.png("Xanh", color.NRGBA{B: 255, A: 255})
		pl := e.playlist("Sân bay", red)
		other := e.playlist("Khác", blue)
		a, _ := e.display("Cổng A", "airport")
		b, _ := e.display("Cổng B", "airport")
		c, _ := e.display("Chợ", "market")
		sc := e.schedule(schedules.Input{Name: "Sân bay", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}}})
		e.start()
		o := e.observe("o")
		o.waitFor(0, 5*time.Second, a.ID, b.ID, c.ID)
		time.Sleep(200 * time.Millisecond)

		var worst time.Duration
		step := func(name string, change func(), want ...string) {
			t.Helper()
			mark := o.count()
			change()
			start := time.Now() // the change is committed and notified
			if len(want) == 0 {
				time.Sleep(quiet)
				if got := o.since(mark); len(got) != 0 {
					t.Fatalf("%s: published %v, want nothing", name, o.perDisplay(got))
				}
				return
			}
			got := o.waitFor(mark, 3*time.Second, want...)
			var latest time.Time
			for _, m := range got {
				if m.at.After(latest) {
					latest = m.at
				}
			}
			lat := latest.Sub(start)
			worst = max(worst, lat)
			t.Logf("%s: published to %d displays in %v", name, len(want), lat.Round(time.Millisecond))
			if lat > time.Second {
				t.Errorf("%s: published after %v, want within 1s", name, lat)
			}
			time.Sleep(400 * time.Millisecond)
			wantN := map[string]int{}
			for _, id := range want {
				wantN[id] = 1
			}
			if n := o.perDisplay(o.since(mark)); !cmp.Equal(n, wantN) {
				t.Fatalf("%s: messages per display %v, want %v", name, n, wantN)
			}
		}

		step("playlist edited: the approved revision keeps playing", func() {
			if _, err := e.playlists.Update(e.ctx, pl.ID, playlists.Input{Name: "Sân bay 2", Items: itemsOf([]*media.Item{red, blue})}); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangePlaylist, pl.ID)
		})
		step("schedule approved again with the new revision", func() { e.reapprove(sc.ID) }, a.ID, b.ID)
		step("media renamed", func() {
			name := "Xanh dương"
			if _, err := e.lib.Update(e.ctx, blue.ID, media.Update{Name: &name}); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangeMedia, blue.ID)
		}, a.ID, b.ID)
		step("unrelated playlist edited, media uploaded", func() {
			if _, err := e.playlists.Update(e.ctx, other.ID, playlists.Input{Name: "Khác 2", Items: itemsOf([]*media.Item{blue})}); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangePlaylist, other.ID)
			m := e.png("Mới", color.NRGBA{G: 255, A: 255})
			e.fleet.Notify(desired.ChangeMedia, m.ID)
		})
		step("schedule created for the market", func() {
			s := e.schedule(schedules.Input{Name: "Chợ", PlaylistID: other.ID, Targets: schedules.Targets{DisplayIDs: []string{c.ID}}})
			e.fleet.Notify(desired.ChangeSchedule, s.ID)
		}, c.ID)
		step("schedule retargeted from the airport to gate A only", func() {
			if _, _, err := e.schedules.Update(e.ctx, sc.ID, schedules.Input{Name: "Sân bay", PlaylistID: pl.ID,
				Targets: schedules.Targets{DisplayIDs: []string{a.ID}}}); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangeSchedule, sc.ID)
		}, b.ID) // a keeps the same rule: its state is unchanged
		step("display retagged into the airport: no schedule reaches the tag now", func() {
			if _, err := e.displays.Update(e.ctx, c.ID, displays.Input{Name: "Chợ", Width: 96, Height: 48, Tags: []string{"airport"}}); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangeDisplay, c.ID)
		})
		step("display resized", func() {
			if _, err := e.displays.Update(e.ctx, b.ID, displays.Input{Name: "Cổng B", Width: 192, Height: 96, Tags: []string{"airport"}}); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangeDisplay, b.ID)
		}, b.ID)
		step("schedule deleted", func() {
			if err := e.schedules.Delete(e.ctx, sc.ID); err != nil {
				t.Fatal(err)
			}
			e.fleet.Notify(desired.ChangeSchedule, sc.ID)
		}, a.ID)
		t.Logf("worst publish latency %v", worst.Round(time.Millisecond))
	})
}

// TestPublishDebounced: a burst of 50 changes publishes each affected
// display once, with the final state.
func TestPublishDebounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, func(c *fleet.Config) { c.MaxDelay = 5 * time.Second })
	red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
	pl := e.playlist("A", red)
	a, _ := e.display("A", "x")
	b, _ := e.display("B", "x")
	sc := e.schedule(schedules.Input{Name: "S", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"x"}}})
	e.start()
	o := e.observe("o")
	o.waitFor(0, 5*time.Second, a.ID, b.ID)
	time.Sleep(200 * time.Millisecond)
	mark := o.count()

	var last *playlists.Playlist
	start := time.Now()
	for i := range 50 {
		p, err := e.playlists.Update(e.ctx, pl.ID, playlists.Input{Name: "A", Items: []playlists.Item{{MediaID: red.ID, DurationMS: int64(1000 + i)}}})
		if err != nil {
			t.Fatal(err)
		}
		last = p
		e.fleet.Notify(desired.ChangePlaylist, pl.ID)
		e.reapprove(sc.ID)
	}
	t.Logf("50 changes took %v", time.Since(start).Round(time.Millisecond))
	got := o.waitFor(mark, 5*time.Second, a.ID, b.ID)
	time.Sleep(quiet)
	if n := o.perDisplay(o.since(mark)); n[a.ID] != 1 || n[b.ID] != 1 || len(n) != 2 {
		t.Fatalf("messages per display after a burst of 50: %v, want one each", n)
	}
	for _, id := range []string{a.ID, b.ID} {
		if st := state(t, got[id]); st.Playlists[0].Revision != last.Revision {
			t.Fatalf("%s got playlist revision %d, want the last, %d", id, st.Playlists[0].Revision, last.Revision)
		}
	}
}

// TestMaxDelay: a steady stream of changes, each inside the quiet period,
// still publishes within MaxDelay.
func TestMaxDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, nil)
	red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
	pl := e.playlist("A", red)
	a, _ := e.display("A", "x")
	sc := e.schedule(schedules.Input{Name: "S", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"x"}}})
	e.start()
	o := e.observe("o")
	o.waitFor(0, 5*time.Second, a.ID)
	time.Sleep(200 * time.Millisecond)
	mark := o.count()
	start := time.Now()
	for i := 0; time.Since(start) < 1200*time.Millisecond; i++ {
		if _, err := e.playlists.Update(e.ctx, pl.ID, playlists.Input{Name: "A", Items: []playlists.Item{{MediaID: red.ID, DurationMS: int64(1000 + i)}}}); err != nil {
			t.Fatal(err)
		}
		e.fleet.Notify(desired.ChangePlaylist, pl.ID)
		e.reapprove(sc.ID)
		time.Sleep(100 * time.Millisecond) // inside the 250 ms quiet period
		if i == 0 {
			start = time.Now()
		}
	}
	msgs := o.since(mark)
	if len(msgs) == 0 || msgs[0].at.Sub(start) > time.Second {
		t.Fatalf("under a steady stream of changes: %d messages, first after %v; want one within 1s", len(msgs), firstAt(msgs, start))
	}
}

func firstAt(ms []received, start time.Time) time.Duration {
	if len(ms) == 0 {
		return -1
	}
	return ms[0].at.Sub(start)
}

// TestDeletedDisplayClearsState: deleting a display clears its retained
// state; a subscriber that comes later gets nothing for it.
func TestDeletedDisplayClearsState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, nil)
	a, _ := e.display("A")
	b, _ := e.display("B")
	e.start()
	o := e.observe("o")
	o.waitFor(0, 5*time.Second, a.ID, b.ID)
	mark := o.count()
	if err := e.displays.Delete(e.ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	e.fleet.Notify(desired.ChangeDisplay, a.ID)
	got := o.waitFor(mark, 3*time.Second, a.ID)
	if len(got[a.ID].payload) != 0 {
		t.Fatalf("after delete: a %d-byte message, want an empty one", len(got[a.ID].payload))
	}
	late := e.observe("late")
	late.waitFor(0, 3*time.Second, b.ID)
	time.Sleep(300 * time.Millisecond)
	if n := late.perDisplay(late.since(0)); n[a.ID] != 0 {
		t.Fatalf("a late subscriber got %d messages for the deleted display", n[a.ID])
	}
}

// TestDisplayReceivesItsState: a display logged in with its own token
// receives its retained state, and the broker keeps it from others'.
func TestDisplayReceivesItsState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqlite, nil)
	a, token := e.display("A")
	b, _ := e.display("B")
	e.start()
	e.observe("o").waitFor(0, 5*time.Second, a.ID, b.ID)

	got := make(chan mqtt.Message, 4)
	c, err := mqtt.New(mqtt.Config{BrokerURL: "tcp://" + e.broker.Addr(), ClientID: a.ID, Username: a.ID, Password: token})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.Subscribe(e.ctx, e.topics.State(a.ID), 1, func(_ context.Context, m mqtt.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if st := state(t, received{topic: m.Topic, payload: m.Payload}); st.DisplayID != a.ID || !m.Retained {
			t.Fatalf("display got the state of %s (retained %v)", st.DisplayID, m.Retained)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the display received no state")
	}
}

// TestPublishFanOut: one change reaching many displays — more than a chunk
// of the build and more than the publishes allowed in flight — publishes
// each display's new state exactly once, while the periodic sweep rebuilds
// every display alongside. MARQUEE_TEST_FANOUT sets the number of displays
// (default 600) to measure larger fleets; the log reports the rate. Not
// parallel: it runs alone, before the timing-sensitive tests above.
func TestPublishFanOut(t *testing.T) {
	n := 600
	if v := os.Getenv("MARQUEE_TEST_FANOUT"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("MARQUEE_TEST_FANOUT=%q: want a number of displays", v)
		}
	}
	e := newEnv(t, sqlite, func(c *fleet.Config) { c.SweepSchedule = "@every 1s" })
	red := e.png("Đỏ", color.NRGBA{R: 255, A: 255})
	blue := e.png("Xanh", color.NRGBA{B: 255, A: 255})
	a := e.playlist("A", red)
	b := e.playlist("B", blue, red)
	ids := make([]string, n)
	for i := range ids {
		d, _ := e.display(fmt.Sprintf("Màn hình %d", i), "fleet")
		ids[i] = d.ID
	}
	in := schedules.Input{Name: "Chiến dịch", PlaylistID: a.ID, Targets: schedules.Targets{Tags: []string{"fleet"}}}
	sc := e.schedule(in)
	o := e.observeEach(ids)
	e.start()
	o.wait(t, nil, 60*time.Second)
	time.Sleep(quiet)
	mark := o.mark()

	in.PlaylistID = b.ID
	if _, _, err := e.schedules.Update(e.ctx, sc.ID, in); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.fleet.Notify(desired.ChangeSchedule, sc.ID)
	got := o.wait(t, mark, 60*time.Second)
	var last time.Time
	for _, id := range ids {
		m := got[id][0]
		if st := state(t, m); len(st.Rules) != 1 || st.Rules[0].Playlist.PlaylistID != b.ID {
			t.Fatalf("%s: state %+v, want the rule of playlist B", id, st.Rules)
		}
		if m.at.After(last) {
			last = m.at
		}
	}
	took := last.Sub(start)
	t.Logf("one change published to %d displays in %v (%.0f states/s after the %v debounce)",
		n, took.Round(time.Millisecond), float64(n)/(took-fleet.DefaultDebounce).Seconds(), fleet.DefaultDebounce)
	time.Sleep(1500 * time.Millisecond) // a sweep or two more
	for id, ms := range o.since(mark) {
		if len(ms) != 1 {
			t.Fatalf("%s got %d messages after the change, want 1", id, len(ms))
		}
	}
	if st := e.broker.Stats(); st.MessagesDropped != 0 || st.InflightDropped != 0 {
		t.Fatalf("the broker dropped messages: %+v", st)
	}
}

// eachObserver receives the states of given displays through several
// clients, each subscribed to the topics of at most 64 of them, so that no
// client's queue at the broker (128 messages) overflows when they all
// change at once.
type eachObserver struct {
	ids  []string
	mu   sync.Mutex
	msgs map[string][]received // display ID → in arrival order
	n    int                   // messages so far
}

func (e *env) observeEach(ids []string) *eachObserver {
	e.t.Helper()
	o := &eachObserver{ids: ids, msgs: map[string][]received{}}
	const perClient = 64
	for c := 0; c*perClient < len(ids); c++ {
		cl, err := mqtt.New(mqtt.Config{BrokerURL: "tcp://" + e.broker.Addr(), ClientID: fmt.Sprintf("observer-each-%d", c),
			Username: serverUser, Password: serverPassword, CleanSession: true})
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { cl.Close(context.Background()) })
		for _, id := range ids[c*perClient : min(len(ids), (c+1)*perClient)] {
			err := cl.Subscribe(e.ctx, e.topics.State(id), 1, func(_ context.Context, m mqtt.Message) {
				o.mu.Lock()
				o.msgs[id] = append(o.msgs[id], received{topic: m.Topic, payload: m.Payload, retained: m.Retained, at: time.Now()})
				o.n++
				o.mu.Unlock()
			})
			if err != nil {
				e.t.Fatal(err)
			}
		}
		if err := cl.Start(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		err = cl.WaitConnected(ctx)
		cancel()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return o
}

// mark returns a mark of the messages received so far, for since and wait.
func (o *eachObserver) mark() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := make(map[string]int, len(o.msgs))
	for id, ms := range o.msgs {
		m[id] = len(ms)
	}
	return m
}

// since returns the messages received after mark, by display.
func (o *eachObserver) since(mark map[string]int) map[string][]received {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]received{}
	for id, ms := range o.msgs {
		if rest := ms[mark[id]:]; len(rest) > 0 {
			out[id] = append([]received(nil), rest...)
		}
	}
	return out
}

// wait waits until every display received a message after mark (nil: any)
// and returns the messages after mark.
func (o *eachObserver) wait(t *testing.T, mark map[string]int, timeout time.Duration) map[string][]received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := o.since(mark)
		if len(got) == len(o.ids) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d of %d displays received their state", timeout, len(got), len(o.ids))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
