package loadtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/player"
)

// Run builds a fleet of cfg.Displays displays on the server through its
// admin API, runs a real player agent (headless output) for each, and
// measures: the time for every player to apply a schedule change (state
// fan-out); right after it, with the players still running, the raw paho
// fan-out of the same payload to as many bare subscribers (the baseline);
// the plays ingested per second over cfg.Duration; and the memory of the
// server and the players. It returns the report, and an error when a step
// could not be completed (the report then holds what was measured before
// it).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, rep: &Report{}, log: cfg.Progress}
	err = r.run(ctx)
	return r.rep, err
}

type runner struct {
	cfg    Config
	rep    *Report
	log    func(string, ...any)
	api    *apiClient
	fx     *fixture
	hosts  []host
	shares [][]Cred
}

func (r *runner) run(ctx context.Context) (err error) {
	c := r.cfg
	defer r.notes()
	if _, err := RaiseFileLimit(r.filesNeeded()); err != nil {
		if c.Server.InProcess {
			return fmt.Errorf("%w (the in-process server holds two per display, the baseline's broker one: --baseline=false or an external --server leave more room)", err)
		}
		return err
	}
	r.rep.Machine = machineFacts()
	r.rep.Settings = Settings{Displays: c.Displays, Server: c.Server.URL, ItemMS: c.Item.Milliseconds(),
		DurationS: c.Duration.Seconds(), Ramp: c.Ramp, AgentProcs: c.AgentProcs, BatchInterval: "player default (5s)"}
	if c.Server.InProcess {
		r.rep.Settings.Server = "in-process (" + c.Server.URL + ")"
	}
	if c.BatchInterval > 0 {
		r.rep.Settings.BatchInterval = c.BatchInterval.String()
	}

	workDir := c.WorkDir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "marquee-bench-players-"); err != nil {
			return fmt.Errorf("players' directory: %w", err)
		}
		defer os.RemoveAll(workDir)
	}

	r.api = newAPIClient(c.Server.URL, c.SetupConcurrency)
	defer r.api.closeIdle()
	if err := r.api.login(ctx, c.Server.Username, c.Server.Password); err != nil {
		return err
	}
	start := time.Now()
	r.fx, err = setup(ctx, r.api, c.Displays, c.SetupConcurrency, c.Item+oldItemExtra, c.Item, r.log)
	if c.Cleanup && r.fx != nil {
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			if cerr := cleanup(cctx, r.api, r.fx, c.SetupConcurrency); cerr != nil {
				r.note("%v", cerr)
			}
		}()
	}
	if err != nil {
		return err
	}
	r.rep.Setup.CreateS = seconds(time.Since(start))
	start = time.Now()
	if err := r.settle(ctx); err != nil {
		return err
	}
	r.rep.Setup.SettleS = seconds(time.Since(start))

	if err := r.startHosts(ctx); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		r.log("closing %d players", c.Displays)
		if cerr := r.closeHosts(cctx); cerr != nil {
			r.note("closing the players: %v", cerr)
		}
	}()
	// Before the players close, also when a step failed: the server's
	// counters say why.
	defer func() {
		if st := c.Server.Stats; st != nil {
			s := st()
			r.rep.Server = &s
		}
	}()
	if err := r.memory(ctx, "before players"); err != nil {
		return err
	}
	if err := r.startPlayers(ctx, workDir); err != nil {
		return err
	}
	if err := r.memory(ctx, "players connected"); err != nil {
		return err
	}
	payload, err := r.fanOut(ctx)
	if err != nil {
		return err
	}
	// The baseline right after the fan-out, with the players still
	// running: the broker is timed under the same background load.
	if c.Baseline {
		if err := r.baseline(ctx, payload); err != nil {
			return err
		}
	}
	if err := r.ingest(ctx); err != nil {
		return err
	}
	if err := r.memory(ctx, "end"); err != nil {
		return err
	}
	r.perPlayer()
	return nil
}

// filesNeeded estimates the open files this process needs: per display,
// the broker's side of its connection and an HTTP keep-alive when the
// server is here, the player's socket, journal lock and segment and HTTP
// keep-alive when the players are here, and both ends of the baseline's
// subscribers.
func (r *runner) filesNeeded() int {
	c, n := r.cfg, r.cfg.Displays
	need := 512
	if c.Server.InProcess {
		need += 2 * n
	}
	if c.AgentProcs == 0 {
		need += agentFiles * n
	}
	if c.Baseline {
		need += n
		if c.AgentProcs == 0 {
			need += n
		}
	}
	return need
}

// agentFiles is the open files one player needs, with a margin: its MQTT
// socket, journal lock and segment, and an HTTP keep-alive.
const agentFiles = 5

// settle waits until the initial states are published: with an
// in-process server until the broker holds a retained state per display,
// otherwise a fixed pause; then the debounce's longest delay once more.
func (r *runner) settle(ctx context.Context) error {
	n := r.cfg.Displays
	if st := r.cfg.Server.Stats; st != nil {
		deadline := time.Now().Add(2 * time.Minute)
		for st().Retained < int64(n) && time.Now().Before(deadline) {
			if !sleepCtx(ctx, 100*time.Millisecond) {
				return ctx.Err()
			}
		}
	} else if !sleepCtx(ctx, time.Second+time.Duration(n)*time.Millisecond) {
		return ctx.Err()
	}
	if !sleepCtx(ctx, fleet.DefaultMaxDelay+fleet.DefaultDebounce) {
		return ctx.Err()
	}
	return nil
}

// startHosts starts the worker processes (or the in-process host) and
// splits the displays between them.
func (r *runner) startHosts(ctx context.Context) error {
	c := r.cfg
	if c.AgentProcs == 0 {
		r.hosts = []host{newLocalHost()}
		r.shares = [][]Cred{r.fx.creds}
		return nil
	}
	for k := range c.AgentProcs {
		w, err := c.StartWorker(ctx)
		if err != nil {
			return fmt.Errorf("start worker %d: %w", k+1, err)
		}
		r.hosts = append(r.hosts, newRemoteHost(w))
		lo, hi := k*len(r.fx.creds)/c.AgentProcs, (k+1)*len(r.fx.creds)/c.AgentProcs
		r.shares = append(r.shares, r.fx.creds[lo:hi])
	}
	return nil
}

func (r *runner) closeHosts(ctx context.Context) error {
	_, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (struct{}, error) {
		return struct{}{}, h.close(ctx)
	})
	return err
}

// each runs f on every host at once and gathers the results in order.
func each[R any](ctx context.Context, hosts []host, f func(context.Context, int, host) (R, error)) ([]R, error) {
	out := make([]R, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { out[i], errs[i] = f(ctx, i, h) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (r *runner) sampleHosts(ctx context.Context, a sampleArgs) (hostSample, error) {
	samples, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (hostSample, error) { return h.sample(ctx, a) })
	var sum hostSample
	for _, s := range samples {
		sum.add(s)
	}
	return sum, err
}

// memory records the server's and the players' memory at a stage.
func (r *runner) memory(ctx context.Context, stage string) error {
	c := r.cfg
	players, err := r.sampleHosts(ctx, sampleArgs{Settle: true})
	if err != nil {
		return err
	}
	m := &r.rep.Memory
	m.Shared = c.Server.InProcess && c.AgentProcs == 0
	switch {
	case c.Server.InProcess && c.AgentProcs == 0:
		m.Server = append(m.Server, MemStage{stage, players.Memory})
		return nil
	case c.Server.InProcess:
		m.Server = append(m.Server, MemStage{stage, readSelfMemory(true)})
	case c.Server.PID > 0:
		rss, err := readRSS(c.Server.PID)
		if err != nil {
			return fmt.Errorf("--server-pid: %w", err)
		}
		m.ServerProcess = processName(c.Server.PID)
		m.Server = append(m.Server, MemStage{stage, Memory{RSS: rss, FDs: openFiles(c.Server.PID)}})
	}
	m.Players = append(m.Players, MemStage{stage, players.Memory})
	return nil
}

// perPlayer derives the per-player and per-display figures from the
// "before players" and "players connected" readings.
func (r *runner) perPlayer() {
	m, n := &r.rep.Memory, int64(r.cfg.Displays)
	delta := func(st []MemStage) (Memory, bool) {
		if len(st) < 2 {
			return Memory{}, false
		}
		return Memory{RSS: st[1].RSS - st[0].RSS, HeapInuse: st[1].HeapInuse - st[0].HeapInuse}, true
	}
	if m.Shared {
		d, _ := delta(m.Server)
		m.PerPlayerRSS, m.PerPlayerHeap = d.RSS/n, d.HeapInuse/n
		return
	}
	if d, ok := delta(m.Players); ok {
		m.PerPlayerRSS, m.PerPlayerHeap = d.RSS/n, d.HeapInuse/n
	}
	if d, ok := delta(m.Server); ok {
		m.ServerPerDisplayRSS, m.ServerPerDisplayHeap = d.RSS/n, d.HeapInuse/n
	}
}

// startPlayers starts every player and waits until each shows the initial
// playlist's item.
func (r *runner) startPlayers(ctx context.Context, workDir string) error {
	c, k := r.cfg, len(r.hosts)
	r.log("starting %d players at %.0f/s in %d process(es)", c.Displays, c.Ramp, max(c.AgentProcs, 1))
	connectTimeout := time.Minute + time.Duration(float64(c.Displays)/c.Ramp*float64(time.Second))
	res, err := each(ctx, r.hosts, func(ctx context.Context, i int, h host) (startResult, error) {
		return h.startAgents(ctx, startArgs{
			ServerURL: c.Server.URL, BrokerURL: c.Server.BrokerURL, CacheRoot: workDir, Creds: r.shares[i],
			Ramp: c.Ramp / float64(k), PollInterval: playerPollInterval, Heartbeat: player.DefaultHeartbeatInterval, BatchInterval: c.BatchInterval,
			ConnectTimeout: connectTimeout,
		})
	})
	st := &r.rep.Start
	for _, x := range res {
		st.Started += x.Started
		st.Connected += x.Connected
		st.RampS = max(st.RampS, seconds(time.Duration(x.RampNS)))
		st.ConnectS = max(st.ConnectS, seconds(time.Duration(x.ConnectNS)))
	}
	if err != nil {
		return err
	}
	r.log("players: %d started in %.1f s, %d connected after %.1f s", st.Started, st.RampS, st.Connected, st.ConnectS)
	start := time.Now()
	ready, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (readyResult, error) {
		return h.waitReady(ctx, readyArgs{ItemMS: (c.Item + oldItemExtra).Milliseconds(), Timeout: c.FanOutTimeout})
	})
	if err != nil {
		return err
	}
	st.Connected = 0
	for _, x := range ready {
		st.Ready += x.Ready
		st.Connected += x.Connected
	}
	st.ReadyS = st.ConnectS + seconds(time.Since(start))
	r.log("players: %d of %d showing the initial playlist", st.Ready, c.Displays)
	if st.Ready == 0 {
		return errors.New("no player shows the initial playlist: see the server's warnings")
	}
	return nil
}

// fanOut changes the schedule to playlist B, submits the change, approves
// it and times each player's applying of the new revision from the
// approval's response (the change reaches displays only once approved). It
// returns the new desired state's JSON, the payload of the baseline.
func (r *runner) fanOut(ctx context.Context) ([]byte, error) {
	c, fx := r.cfg, r.fx
	itemB := c.Item.Milliseconds()
	if _, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (struct{}, error) {
		return struct{}{}, h.arm(ctx, armArgs{ItemMS: itemB})
	}); err != nil {
		return nil, err
	}
	r.log("fan-out: changing the schedule")
	if c.FanOutHook != nil {
		defer c.FanOutHook()()
	}
	if err := r.api.updateSchedule(ctx, fx.scheduleID, fx.tag, fx.playlistB, fx.tag); err != nil {
		return nil, err
	}
	sent := time.Now()
	if err := r.api.approveSchedule(ctx, fx.scheduleID); err != nil {
		return nil, err
	}
	t0 := time.Now()
	r.rep.FanOut.PutMS = ms(t0.Sub(sent))
	res, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (collectResult, error) {
		return h.collect(ctx, collectArgs{Timeout: c.FanOutTimeout})
	})
	if err != nil {
		return nil, err
	}
	var applied, shown []int64
	for _, x := range res {
		applied = append(applied, x.Applied...)
		shown = append(shown, x.Shown...)
		r.rep.FanOut.AppliedByPoll += x.AppliedByPoll
	}
	r.rep.FanOut.Applied = newDist(latencies(t0, applied))
	r.rep.FanOut.Shown = newDist(latencies(t0, shown))
	if pub := c.Server.Published; pub != nil {
		r.splitFanOut(t0, pub(), applied)
	}
	r.log("fan-out: p50 %.0f ms, p99 %.0f ms, max %.0f ms, %d missing",
		r.rep.FanOut.Applied.P50MS, r.rep.FanOut.Applied.P99MS, r.rep.FanOut.Applied.MaxMS, r.rep.FanOut.Applied.Missing)
	payload, err := r.api.displayState(ctx, fx.creds[0].ID)
	if err != nil {
		return nil, err
	}
	r.rep.FanOut.StateBytes = len(payload)
	return payload, nil
}

// splitFanOut splits the fan-out at the instant the server published each
// display's state: T0 → published is the server's pipeline (debounce,
// rebuilding, publishing), published → applied the broker's delivery and
// the player's applying. applied is in the order of r.fx.creds.
func (r *runner) splitFanOut(t0 time.Time, published map[string]int64, applied []int64) {
	pubAt := make([]int64, len(applied))
	var delivered []time.Duration
	missing := 0
	for i, cr := range r.fx.creds[:len(applied)] {
		if p := published[cr.ID]; p > t0.UnixNano() {
			pubAt[i] = p
			if applied[i] != 0 {
				delivered = append(delivered, time.Duration(applied[i]-p))
				continue
			}
		}
		missing++
	}
	p, d := newDist(latencies(t0, pubAt)), newDist(delivered, missing)
	r.rep.FanOut.Published, r.rep.FanOut.Delivered = &p, &d
}

// ingest counts plays over the window.
func (r *runner) ingest(ctx context.Context) error {
	c := r.cfg
	stats := c.Server.Stats
	r.log("ingest: counting plays for %v", c.Duration)
	s0, err := r.sampleHosts(ctx, sampleArgs{BeginLag: true})
	if err != nil {
		return err
	}
	var srv0 ServerStats
	if stats != nil {
		srv0 = stats()
	}
	start := time.Now()
	if !sleepCtx(ctx, c.Duration) {
		return ctx.Err()
	}
	s1, err := r.sampleHosts(ctx, sampleArgs{EndLag: true})
	if err != nil {
		return err
	}
	window := time.Since(start)
	in := &r.rep.Ingest
	in.WindowS = seconds(window)
	per := func(a, b uint64) float64 {
		if b < a {
			return 0
		}
		return float64(b-a) / window.Seconds()
	}
	in.OfferedPerS = per(s0.PlaysJournaled, s1.PlaysJournaled)
	in.AckedPerS = per(s0.PlaysAcked, s1.PlaysAcked)
	in.StoredPerS = -1
	if stats != nil {
		in.StoredPerS = per(srv0.PlaysStored, stats().PlaysStored)
	}
	in.AckLag = s1.AckLag.dist()
	in.PendingAtEnd = s1.JournalPending
	in.Resends = s1.Resends
	r.log("ingest: offered %.0f/s, acknowledged %.0f/s", in.OfferedPerS, in.AckedPerS)
	return nil
}

// baseline fans the same payload out through a fresh broker to bare
// subscribers hosted like the players (in the same processes), then
// disconnects them.
func (r *runner) baseline(ctx context.Context, payload []byte) error {
	c := r.cfg
	bb, err := startBaselineBroker()
	if err != nil {
		return fmt.Errorf("baseline broker: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = bb.close(cctx)
	}()
	r.log("baseline: connecting %d bare subscribers", c.Displays)
	k := len(r.hosts)
	res, err := each(ctx, r.hosts, func(ctx context.Context, i int, h host) (subsResult, error) {
		ids := make([]string, len(r.shares[i]))
		for j, cr := range r.shares[i] {
			ids[j] = cr.ID
		}
		return h.startSubs(ctx, subsArgs{BrokerURL: bb.url, IDs: ids, Password: bb.secret, Ramp: c.Ramp / float64(k), ConnectTimeout: 30 * time.Second})
	})
	bl := &BaselineReport{PayloadBytes: len(payload)}
	r.rep.Baseline = bl
	failed, firstErr := 0, ""
	for _, x := range res {
		bl.Subscribers += x.Subscribed
		bl.ConnectS = max(bl.ConnectS, seconds(time.Duration(x.ConnectNS)))
		failed += x.Failed
		firstErr = cmp.Or(firstErr, x.FirstError)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		r.note("baseline: %d bare subscribers could not connect and subscribe in %d attempts (they count as missing); first: %s", failed, subscribeAttempts, firstErr)
	}
	ids := make([]string, 0, c.Displays)
	for _, share := range r.shares {
		for _, cr := range share {
			ids = append(ids, cr.ID)
		}
	}
	t0, acked, err := bb.publishAll(ids, payload, c.FanOutTimeout)
	if err != nil {
		return err
	}
	bl.PublishedMS = ms(acked)
	got, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (collectResult, error) {
		return h.collectSubs(ctx, collectArgs{Timeout: c.FanOutTimeout})
	})
	if err != nil {
		return err
	}
	var recv []int64
	for _, x := range got {
		recv = append(recv, x.Applied...)
	}
	bl.Received = newDist(latencies(t0, recv))
	if _, err := each(ctx, r.hosts, func(ctx context.Context, _ int, h host) (struct{}, error) {
		return struct{}{}, h.closeSubs(ctx)
	}); err != nil {
		return err
	}
	r.log("baseline: p50 %.0f ms, p99 %.0f ms, max %.0f ms", bl.Received.P50MS, bl.Received.P99MS, bl.Received.MaxMS)
	return nil
}

func (r *runner) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

// notes adds what a reader needs to weigh the figures.
func (r *runner) notes() {
	c, rep := r.cfg, r.rep
	if c.Server.InProcess {
		r.note("the players and the server share this machine's %d CPUs: every figure includes the players' own work", rep.Machine.CPUs)
	} else {
		r.note("the players run on this machine's %d CPUs; if the server does too, every figure includes the players' own work", rep.Machine.CPUs)
	}
	r.note("the server waits %v after a change (debounce) before it rebuilds and publishes the states", fleet.DefaultDebounce)
	r.note("\"applied\" is stamped by the player's own \"state applied\" log record, \"on screen\" by its output's Show")
	if n := rep.FanOut.AppliedByPoll; n > 0 {
		r.note("%d players' applying was stamped by a poll (up to %v late) because their \"state applied\" log record had not come by then (if it is all of them, the player's message has changed)", n, watchInterval)
	}
	if f := rep.FanOut.Applied; f.Missing > 0 {
		r.note("%d players did not apply the change within %v", f.Missing, c.FanOutTimeout)
	}
	if sv := rep.Server; sv != nil && (sv.ClientDropped > 0 || sv.BrokerDropped > 0 || sv.BrokerInflightDropped > 0) {
		r.note("messages to the server were dropped (its MQTT client's handler queue: %d; the broker's queue or inflight window for it: %d): the plays in them are sent again after the players' ack timeout (30 s), the statuses are lost",
			sv.ClientDropped, sv.BrokerDropped+sv.BrokerInflightDropped)
	}
	if rep.Start.Ready < c.Displays {
		r.note("%d players never showed the initial playlist", c.Displays-rep.Start.Ready)
	}
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
