package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marquee-signage/marquee/player"
)

// Cred is a display's identity: what its player logs in with.
type Cred struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// host runs a share of the simulated fleet: real player agents, and for
// the baseline bare paho subscribers. localHost runs them in this process;
// remoteHost in a worker process, over a pipe. Instants cross process
// boundaries as Unix nanoseconds of the wall clock (one machine, one clock).
type host interface {
	startAgents(ctx context.Context, a startArgs) (startResult, error)
	waitReady(ctx context.Context, a readyArgs) (readyResult, error)
	arm(ctx context.Context, a armArgs) error
	collect(ctx context.Context, a collectArgs) (collectResult, error)
	sample(ctx context.Context, a sampleArgs) (hostSample, error)
	startSubs(ctx context.Context, a subsArgs) (subsResult, error)
	collectSubs(ctx context.Context, a collectArgs) (collectResult, error)
	closeSubs(ctx context.Context) error
	close(ctx context.Context) error
}

type startArgs struct {
	ServerURL, BrokerURL string
	CacheRoot            string // each agent's CacheDir is CacheRoot/<display ID>
	Creds                []Cred
	Ramp                 float64       // agents started per second
	PollInterval         time.Duration // long: the state must come over MQTT
	Heartbeat            time.Duration // jittered ±10% per agent
	BatchInterval        time.Duration // 0: the player's default
	ConnectTimeout       time.Duration
}

type startResult struct {
	Started   int
	Connected int
	RampNS    int64 // from the first start to the last
	ConnectNS int64 // from the first start until all were connected (or the timeout)
}

// readyArgs: wait until every agent shows an item of ItemMS (the initial
// playlist's), i.e. it applied the initial state and cached its media.
type readyArgs struct {
	ItemMS  int64
	Timeout time.Duration
}

type readyResult struct {
	Ready, Connected int
}

// armArgs: note every agent's applied revision and watch for a newer one,
// and for the first item of ItemMS (the new playlist's) on screen.
type armArgs struct {
	ItemMS int64
}

type collectArgs struct {
	Timeout time.Duration
}

// collectResult holds, per member, when it got there (Unix ns; 0: never).
type collectResult struct {
	Applied []int64 // agents: new revision applied; subscribers: message received
	Shown   []int64 // agents: new playlist's item on screen
	// AppliedByPoll counts agents stamped by the slow poll because their
	// log record had not come (late by up to watchInterval).
	AppliedByPoll int
}

type sampleArgs struct {
	Settle   bool // collect garbage and return it to the OS before reading memory
	BeginLag bool // start an ack-lag window after this sample
	EndLag   bool // end the ack-lag window and return its histogram
}

// hostSample is a host's counters, summed over its agents, the ack-lag
// histogram of the window that ended (EndLag), and its process's memory.
type hostSample struct {
	Agents          int
	Connected       int
	PlaysJournaled  uint64
	PlaysAcked      uint64 // journaled minus pending: stored by the server and acknowledged
	JournalPending  uint64
	BatchesSent     uint64
	Resends         uint64
	StatesApplied   uint64
	StatePolls      uint64
	MissingSlots    uint64
	MediaSyncFailed uint64
	AckLag          Hist
	Memory          Memory
}

func (s *hostSample) add(o hostSample) {
	s.Agents += o.Agents
	s.Connected += o.Connected
	s.PlaysJournaled += o.PlaysJournaled
	s.PlaysAcked += o.PlaysAcked
	s.JournalPending += o.JournalPending
	s.BatchesSent += o.BatchesSent
	s.Resends += o.Resends
	s.StatesApplied += o.StatesApplied
	s.StatePolls += o.StatePolls
	s.MissingSlots += o.MissingSlots
	s.MediaSyncFailed += o.MediaSyncFailed
	if s.AckLag == nil {
		s.AckLag = Hist{}
	}
	s.AckLag.merge(o.AckLag)
	s.Memory = s.Memory.Add(o.Memory)
}

// simAgent is one simulated player.
type simAgent struct {
	id  string
	a   *player.Agent
	out *player.HeadlessOutput

	lastItemMS atomic.Int64 // duration of the item last shown
	armed      atomic.Bool
	baseRev    atomic.Int64 // applied revision when armed
	appliedAt  atomic.Int64 // a revision above baseRev applied: its log record (Unix ns)
	polledAt   atomic.Int64 // … or, failing that, seen by the watcher's poll
	shownAt    atomic.Int64 // the armed item length first on screen (Unix ns)
}

// localHost runs agents and subscribers in this process.
type localHost struct {
	mu        sync.Mutex
	agents    []*simAgent
	runCtx    context.Context
	stopRun   context.CancelFunc
	runs      sync.WaitGroup
	armed     atomic.Bool
	armedMS   atomic.Int64
	watch     *watcher
	lag       *lagTracker
	subs      *bareSubs
	closeOnce sync.Once
}

var _ host = (*localHost)(nil)

func newLocalHost() *localHost {
	h := &localHost{}
	h.runCtx, h.stopRun = context.WithCancel(context.Background())
	return h
}

// startAgents starts one agent per credential, paced at a.Ramp per second,
// then waits until all are connected to the broker (or a.ConnectTimeout).
// A failure to create an agent stops the start and is returned; agents
// already running keep running until close.
func (h *localHost) startAgents(ctx context.Context, a startArgs) (startResult, error) {
	h.mu.Lock()
	if len(h.agents) > 0 {
		h.mu.Unlock()
		return startResult{}, errors.New("agents already started")
	}
	h.mu.Unlock()
	var res startResult
	if _, err := RaiseFileLimit(len(a.Creds)*(agentFiles+1) + 256); err != nil {
		return res, err
	}
	gap := time.Duration(float64(time.Second) / max(a.Ramp, 0.001))
	first := time.Now()
	for i, c := range a.Creds {
		if wait := time.Until(first.Add(time.Duration(i) * gap)); wait > 0 {
			if !sleepCtx(ctx, wait) {
				return res, ctx.Err()
			}
		}
		s := &simAgent{id: c.ID, out: player.NewHeadlessOutput(nil, nil)}
		s.out.OnShow = func(it player.Item, t time.Time) {
			d := it.Duration.Milliseconds()
			s.lastItemMS.Store(d)
			if h.armed.Load() && d == h.armedMS.Load() {
				s.shownAt.CompareAndSwap(0, t.UnixNano())
			}
		}
		hb := a.Heartbeat
		if hb > 0 {
			hb = time.Duration(float64(hb) * (0.9 + 0.2*rand.Float64()))
		}
		ag, err := player.NewAgent(player.Config{
			ServerURL:         a.ServerURL,
			BrokerURL:         a.BrokerURL,
			DisplayID:         c.ID,
			Token:             c.Token,
			CacheDir:          filepath.Join(a.CacheRoot, c.ID),
			Output:            s.out,
			PollInterval:      a.PollInterval,
			HeartbeatInterval: hb,
			BatchInterval:     a.BatchInterval,
			Version:           "bench",
			Logger:            slog.New(applyHook{s}),
		})
		if err != nil {
			return res, fmt.Errorf("player %s: %w", c.ID, err)
		}
		s.a = ag
		h.mu.Lock()
		h.agents = append(h.agents, s)
		h.mu.Unlock()
		h.runs.Go(func() { _ = ag.Run(h.runCtx) })
		res.Started++
	}
	res.RampNS = int64(time.Since(first))
	h.mu.Lock()
	if h.lag == nil {
		h.lag = startLagTracker(h.agents)
	}
	h.mu.Unlock()

	deadline := time.Now().Add(a.ConnectTimeout)
	for {
		res.Connected = h.count(func(s *simAgent) bool { return s.a.Stats().Connected })
		if res.Connected == len(a.Creds) || time.Now().After(deadline) {
			break
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return res, ctx.Err()
		}
	}
	res.ConnectNS = int64(time.Since(first))
	return res, nil
}

// count returns how many agents satisfy f.
func (h *localHost) count(f func(*simAgent) bool) int {
	n := 0
	for _, s := range h.snapshot() {
		if f(s) {
			n++
		}
	}
	return n
}

func (h *localHost) snapshot() []*simAgent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.agents
}

func (h *localHost) waitReady(ctx context.Context, a readyArgs) (readyResult, error) {
	deadline := time.Now().Add(a.Timeout)
	for {
		ready := h.count(func(s *simAgent) bool { return s.lastItemMS.Load() == a.ItemMS })
		if ready == len(h.snapshot()) || time.Now().After(deadline) {
			conn := h.count(func(s *simAgent) bool { return s.a.Stats().Connected })
			return readyResult{Ready: ready, Connected: conn}, nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return readyResult{}, ctx.Err()
		}
	}
}

// arm records each agent's applied revision and starts watching for a
// newer one.
func (h *localHost) arm(_ context.Context, a armArgs) error {
	agents := h.snapshot()
	h.armedMS.Store(a.ItemMS)
	for _, s := range agents {
		s.baseRev.Store(s.a.Stats().StateRevision)
		s.appliedAt.Store(0)
		s.polledAt.Store(0)
		s.shownAt.Store(0)
		s.armed.Store(true)
	}
	h.armed.Store(true)
	h.mu.Lock()
	h.watch = startWatcher(agents)
	h.mu.Unlock()
	return nil
}

// collect waits until every agent has applied a newer revision and shows
// the armed item, or a.Timeout, and returns when each did.
func (h *localHost) collect(ctx context.Context, a collectArgs) (collectResult, error) {
	h.mu.Lock()
	w := h.watch
	h.watch = nil
	h.mu.Unlock()
	if w == nil {
		return collectResult{}, errors.New("collect before arm")
	}
	defer w.stop()
	agents := h.snapshot()
	deadline := time.Now().Add(a.Timeout)
	for {
		done := h.count(func(s *simAgent) bool {
			return (s.appliedAt.Load() != 0 || s.polledAt.Load() != 0) && s.shownAt.Load() != 0
		}) == len(agents)
		if done || time.Now().After(deadline) {
			break
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return collectResult{}, ctx.Err()
		}
	}
	w.stop()
	h.armed.Store(false)
	res := collectResult{Applied: make([]int64, len(agents)), Shown: make([]int64, len(agents))}
	for i, s := range agents {
		s.armed.Store(false)
		res.Applied[i] = s.appliedAt.Load()
		if res.Applied[i] == 0 && s.polledAt.Load() != 0 {
			res.Applied[i] = s.polledAt.Load()
			res.AppliedByPoll++
		}
		res.Shown[i] = s.shownAt.Load()
	}
	return res, nil
}

func (h *localHost) sample(_ context.Context, a sampleArgs) (hostSample, error) {
	var out hostSample
	for _, s := range h.snapshot() {
		st := s.a.Stats()
		out.Agents++
		if st.Connected {
			out.Connected++
		}
		out.PlaysJournaled += st.PlaysJournaled
		pending := uint64(max(st.JournalPending, 0))
		out.JournalPending += pending
		if st.PlaysJournaled > pending {
			out.PlaysAcked += st.PlaysJournaled - pending
		}
		out.BatchesSent += st.BatchesSent
		out.Resends += st.Resends
		out.StatesApplied += st.StatesApplied
		out.StatePolls += st.StatePolls
		out.MissingSlots += st.MissingSlots
		out.MediaSyncFailed += st.MediaSyncFailures
	}
	h.mu.Lock()
	lag := h.lag
	h.mu.Unlock()
	out.AckLag = Hist{}
	if lag != nil && a.EndLag {
		out.AckLag = lag.end()
	}
	if lag != nil && a.BeginLag {
		lag.begin()
	}
	out.Memory = readSelfMemory(a.Settle)
	return out, nil
}

func (h *localHost) startSubs(ctx context.Context, a subsArgs) (subsResult, error) {
	h.mu.Lock()
	if h.subs != nil {
		h.mu.Unlock()
		return subsResult{}, errors.New("subscribers already started")
	}
	s := &bareSubs{}
	h.subs = s
	h.mu.Unlock()
	return s.start(ctx, a)
}

func (h *localHost) collectSubs(ctx context.Context, a collectArgs) (collectResult, error) {
	h.mu.Lock()
	s := h.subs
	h.mu.Unlock()
	if s == nil {
		return collectResult{}, errors.New("collect before the subscribers started")
	}
	return s.collect(ctx, a.Timeout)
}

// closeSubs disconnects the subscribers.
func (h *localHost) closeSubs(context.Context) error {
	h.mu.Lock()
	s := h.subs
	h.mu.Unlock()
	if s != nil {
		s.close()
	}
	return nil
}

// close stops and closes every agent (each publishes its offline status
// and disconnects) and subscriber, at most 256 at a time, within ctx.
func (h *localHost) close(ctx context.Context) error {
	var errs []error
	h.closeOnce.Do(func() {
		h.mu.Lock()
		agents, subs, lag, w := h.agents, h.subs, h.lag, h.watch
		h.mu.Unlock()
		if w != nil {
			w.stop()
		}
		if lag != nil {
			lag.stop()
		}
		if subs != nil {
			subs.close()
		}
		h.stopRun()
		var mu sync.Mutex
		sem := make(chan struct{}, 256)
		var wg sync.WaitGroup
		for _, s := range agents {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := s.a.Close(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("close player %s: %w", s.id, err))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		h.runs.Wait()
	})
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	return errors.Join(errs...)
}

// watcher is the safety net of the "state applied" hook: every
// watchInterval it reads the applied revision of the agents not yet
// stamped, and stamps polledAt for those past their baseRev. It polls
// slowly on purpose: reading every agent's counters in a tight loop
// competes for the agents' locks and CPUs with the very fan-out being
// timed.
type watcher struct {
	quit    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
}

const watchInterval = 500 * time.Millisecond

func startWatcher(agents []*simAgent) *watcher {
	w := &watcher{quit: make(chan struct{})}
	w.wg.Go(func() {
		t := time.NewTicker(watchInterval)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
			}
			for _, s := range agents {
				if s.appliedAt.Load() == 0 && s.polledAt.Load() == 0 && s.a.Stats().StateRevision > s.baseRev.Load() {
					s.polledAt.Store(time.Now().UnixNano())
				}
			}
		}
	})
	return w
}

func (w *watcher) stop() {
	w.stopped.Do(func() { close(w.quit) })
	w.wg.Wait()
}

// appliedMessage is the message the player logs, at Info, when it applied
// a state, with the revision as attribute "revision". player.Agent has no
// callback for it; this log record is the exact instant.
const appliedMessage = "state applied"

// applyHook is the agent's logger: it drops everything but its "state
// applied" records, which stamp s.appliedAt once armed.
type applyHook struct{ s *simAgent }

func (h applyHook) Enabled(_ context.Context, l slog.Level) bool { return l == slog.LevelInfo }

func (h applyHook) Handle(_ context.Context, r slog.Record) error {
	if r.Message != appliedMessage {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "revision" || a.Value.Kind() != slog.KindInt64 {
			return true
		}
		if h.s.armed.Load() && a.Value.Int64() > h.s.baseRev.Load() {
			h.s.appliedAt.CompareAndSwap(0, r.Time.UnixNano())
		}
		return false
	})
	return nil
}

func (h applyHook) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h applyHook) WithGroup(string) slog.Handler      { return h }

// sleepCtx sleeps d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
