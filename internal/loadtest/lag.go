package loadtest

import (
	"sync"
	"sync/atomic"
	"time"
)

// lagSweep is how often the ack-lag tracker looks at every agent.
const lagSweep = 250 * time.Millisecond

// lagTracker estimates the ack lag — from a play entering a player's
// journal to the server's acknowledgement of it (stored) reaching the
// player — from the outside, during a window (begin, end): every lagSweep
// it reads each agent's counters, notes when new plays appeared (a mark:
// "plays up to count k were journaled by now") and, once the acknowledged
// count reaches a mark, adds now − mark to the histogram, weighted by the
// plays the mark covers. Both ends are seen at sweep resolution, so each
// value is good to about ±lagSweep. Plays journaled before the window are
// left out. The player's BatchInterval (5 s by default) is part of the
// lag: a play waits for its batch. Outside a window it reads nothing, so
// it does not disturb other measurements.
type lagTracker struct {
	agents []*simAgent
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	gen    atomic.Uint64 // bumped by begin: the sweeper starts afresh
	active atomic.Bool

	// Only the sweeper touches these.
	seen  uint64
	state []lagState

	mu   sync.Mutex
	hist Hist
}

type lagState struct {
	journaled uint64 // count at the last mark
	marks     []lagMark
}

type lagMark struct {
	count, weight uint64
	at            time.Time
}

func startLagTracker(agents []*simAgent) *lagTracker {
	t := &lagTracker{agents: agents, state: make([]lagState, len(agents)), quit: make(chan struct{}), hist: Hist{}}
	t.wg.Go(t.run)
	return t
}

// begin starts a window with an empty histogram.
func (t *lagTracker) begin() {
	t.mu.Lock()
	t.hist = Hist{}
	t.gen.Add(1)
	t.mu.Unlock()
	t.active.Store(true)
}

// end ends the window and returns its histogram.
func (t *lagTracker) end() Hist {
	t.active.Store(false)
	return t.snapshot()
}

func (t *lagTracker) snapshot() Hist {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := Hist{}
	out.merge(t.hist)
	return out
}

func (t *lagTracker) run() {
	tick := time.NewTicker(lagSweep)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
		}
		if t.active.Load() {
			t.sweep()
		}
	}
}

func (t *lagTracker) sweep() {
	gen := t.gen.Load()
	if gen != t.seen {
		// A new window: plays journaled so far are not part of it.
		for i, s := range t.agents {
			t.state[i] = lagState{journaled: s.a.Stats().PlaysJournaled}
		}
		t.seen = gen
		return
	}
	local := Hist{}
	for i, s := range t.agents {
		st := s.a.Stats()
		now := time.Now()
		ls := &t.state[i]
		j := st.PlaysJournaled
		pending := uint64(max(st.JournalPending, 0))
		acked := uint64(0)
		if j > pending {
			acked = j - pending
		}
		if j > ls.journaled {
			ls.marks = append(ls.marks, lagMark{count: j, weight: j - ls.journaled, at: now})
			ls.journaled = j
		}
		n := 0
		for _, m := range ls.marks {
			if m.count > acked {
				break
			}
			local.add(now.Sub(m.at), m.weight)
			n++
		}
		ls.marks = ls.marks[n:]
	}
	t.mu.Lock()
	if t.gen.Load() == gen {
		t.hist.merge(local)
	}
	t.mu.Unlock()
}

func (t *lagTracker) stop() {
	t.once.Do(func() { close(t.quit) })
	t.wg.Wait()
}
