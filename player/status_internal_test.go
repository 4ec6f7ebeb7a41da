package player

import (
	"testing"
	"time"
)

// TestStatusGate: changes publish at once after a quiet gap; within it the
// first waits until the gap ends and the others ride along; a status
// published for another reason carries them and restarts the gap.
func TestStatusGate(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	g := statusGate{gap: 5 * time.Second}
	check := func(step string, ms int, wantNow bool, wantWait time.Duration) {
		t.Helper()
		now, wait := g.change(at(ms))
		if now != wantNow || wait != wantWait {
			t.Fatalf("%s: change at %d ms = %v, %v; want %v, %v", step, ms, now, wait, wantNow, wantWait)
		}
		if now {
			g.published(at(ms))
		}
	}
	check("first change", 0, true, 0)
	check("1 s later", 1000, false, 4*time.Second)
	check("another while one waits", 2000, false, 0)
	check("and another", 4900, false, 0)
	if !g.due() {
		t.Fatal("no change due at the end of the gap")
	}
	g.published(at(5000)) // the timer fired: the latest status goes out
	if g.due() {
		t.Fatal("still due after publishing")
	}
	check("right after", 5001, false, 4999*time.Millisecond)
	// A state applied (or a connection, or a heartbeat) publishes at once,
	// carrying the waiting change: nothing is due any more, and the gap
	// starts again from there.
	g.published(at(6000))
	if g.due() {
		t.Fatal("a change still due after a status went out for another reason")
	}
	check("after the state's status", 7000, false, 4*time.Second)
	g.dropped() // not connected when it came due
	if g.due() {
		t.Fatal("due after being dropped")
	}
	check("a quiet gap later", 11000, true, 0)
	check("exactly one gap later", 16000, true, 0)

	// Over a long run of 1-second items: one status per gap.
	g = statusGate{gap: 5 * time.Second}
	sent := 0
	var timerAt time.Time
	for ms := 0; ms < 60_000; ms += 1000 {
		if !timerAt.IsZero() && !at(ms).Before(timerAt) {
			if g.due() {
				g.published(timerAt)
				sent++
			}
			timerAt = time.Time{}
		}
		now, wait := g.change(at(ms))
		if now {
			g.published(at(ms))
			sent++
		}
		if wait > 0 {
			timerAt = at(ms).Add(wait)
		}
	}
	if sent != 12 {
		t.Errorf("%d statuses for 60 one-second items, want 12 (one per 5 s)", sent)
	}
}
