package player

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/player/cache"
	"github.com/marquee-signage/marquee/player/journal"
)

// Agent is the player: it keeps the display's desired state, plays it from
// the local cache, journals and uploads every play, reports its status and
// answers commands. Create it with NewAgent, run it with Run, stop it with
// Close.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	topics  mqtt.Topics
	client  *mqtt.Client // nil without a broker: HTTP polling only
	journal *journal.Journal
	cache   *cache.Cache
	httpc   *http.Client
	born    time.Time // monotonic, for uptime

	stopRun    context.CancelFunc // ends Run; called first by Close
	runStopped context.Context

	applyMu sync.Mutex // serialises offerState: check, persist, swap
	fetchMu sync.Mutex // one HTTP state fetch at a time

	mu          sync.Mutex
	cur         *applied
	playing     *marquee.NowPlaying
	clockOffset *int64 // ms
	etag        string
	running     bool
	runDone     chan struct{} // closed when Run returns; nil before Run
	closed      bool

	wakeEngine chan struct{} // a new state or newly cached files
	kickStatus chan struct{} // what is on screen changed: a status, rate-limited (status.go)
	statusNow  chan struct{} // a state applied or a connection: a status at once
	kickUpload chan struct{} // a play was journaled, an ack arrived or the client connected
	reconnects chan struct{} // uploader: resend everything unacknowledged

	ackHigh ackWatermark
	syncer  *syncer
	cmds    *commander
	n       counters
}

// NewAgent checks cfg, opens the journal and the cache under CacheDir and
// loads the persisted state, so a display that boots without a network
// starts playing at once. It does not touch the network.
func NewAgent(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "player configuration: %v", err)
	}
	a := &Agent{
		cfg:        cfg,
		log:        cfg.Logger.With("display", cfg.DisplayID),
		born:       time.Now(),
		httpc:      &http.Client{Timeout: 30 * time.Second},
		wakeEngine: make(chan struct{}, 1),
		kickStatus: make(chan struct{}, 1),
		statusNow:  make(chan struct{}, 1),
		kickUpload: make(chan struct{}, 1),
		reconnects: make(chan struct{}, 1),
	}
	a.runStopped, a.stopRun = context.WithCancel(context.Background())
	a.syncer = newSyncer(a)
	a.cmds = newCommander(a)

	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	removeStaleTemps(cfg.CacheDir)
	cur, err := loadState(cfg.CacheDir, cfg.DisplayID)
	if err != nil {
		// A damaged file must not keep the display from starting: start
		// black and take the next state the server sends.
		a.log.Error("persisted state ignored", "err", err)
	} else if cur != nil {
		a.log.Info("resuming persisted state", "revision", cur.revision())
	}
	a.cur = cur

	a.journal, err = journal.Open(filepath.Join(cfg.CacheDir, "journal"), journal.Options{Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	// The cache keeps verified files in CacheDir/files and partial
	// downloads in CacheDir/partial.
	a.cache, err = cache.Open(cache.Config{
		Dir:     cfg.CacheDir,
		Limit:   cfg.CacheLimit,
		BaseURL: cfg.ServerURL,
		Token:   cfg.Token,
		Now:     cfg.Now,
		Logger:  a.log,
	})
	if err != nil {
		a.journal.Close()
		return nil, fmt.Errorf("open cache: %w", err)
	}
	if cfg.BrokerURL != "" {
		if a.client, err = a.newClient(); err != nil {
			a.journal.Close()
			return nil, fmt.Errorf("mqtt client: %w", err)
		}
	}
	return a, nil
}

// Run plays and talks to the server until ctx ends or Close is called, then
// waits for everything it started and returns nil. A broker or server that
// is down never makes it return: it keeps playing from the cache and keeps
// retrying. It returns an error only when called twice or after Close.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.closed || a.runDone != nil {
		a.mu.Unlock()
		return errors.New("player: Run called twice or after Close")
	}
	a.running = true
	a.runDone = make(chan struct{})
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
		close(a.runDone)
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(a.runStopped, cancel)()

	if a.client != nil {
		if err := a.subscribe(ctx); err != nil {
			return err
		}
		// The client outlives Run until Close, which still publishes the
		// offline status through it; Start keeps only ctx's values.
		if err := a.client.Start(ctx); err != nil {
			return fmt.Errorf("start mqtt client: %w", err)
		}
	} else {
		a.log.Warn("no broker configured: polling the state over HTTP; plays stay in the journal")
	}

	var wg sync.WaitGroup
	for _, run := range []func(context.Context){a.runEngine, a.runPoller, a.syncer.run, a.runUploader, a.runStatus, a.cmds.run} {
		wg.Go(func() { run(ctx) })
	}
	a.syncer.request(syncPlain)
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Close stops Run (and waits for it, bounded by ctx), publishes a retained
// offline status if connected (a broker sends the Last Will only when a
// client vanishes, not on a graceful disconnect; failing to publish it is
// logged, not returned), disconnects, and closes the journal and the
// output. It is safe to call more than once.
func (a *Agent) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	done := a.runDone
	a.mu.Unlock()

	a.stopRun()
	var errs []error
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("wait for the player to stop: %w", ctx.Err()))
		}
	}
	if a.client != nil {
		// Best effort: with the broker unreachable there is no one to tell,
		// and a shutdown must not fail for it.
		if a.client.Connected() {
			if err := a.publishStatus(ctx, false); err != nil {
				a.log.Warn("publish offline status", "err", err)
			}
		}
		if err := a.client.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close mqtt client: %w", err))
		}
	}
	if err := a.journal.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close journal: %w", err))
	}
	if err := a.cfg.Output.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close output: %w", err))
	}
	return errors.Join(errs...)
}

// current returns the applied state, or nil before the first.
func (a *Agent) current() *applied {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur
}

// offerState applies raw if it is newer, well-formed, of a known format,
// valid and compiles; otherwise it drops it, logs and counts why, and
// returns an error wrapping the reason (errStateStale for an old or equal
// revision). source names where it came from, for logs.
func (a *Agent) offerState(raw []byte, source string) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	next, err := decodeState(raw, a.cfg.DisplayID)
	if err == nil {
		if have := a.current().revision(); next.revision() <= have {
			err = fmt.Errorf("%w: got %d, have %d", errStateStale, next.revision(), have)
		}
	}
	if err != nil {
		a.n.countDrop(err)
		if errors.Is(err, errStateStale) {
			a.log.Debug("state dropped", "source", source, "err", err)
		} else {
			a.log.Warn("state dropped", "source", source, "err", err)
		}
		return err
	}
	// Persist before swapping in: if the disk fails, play the new state
	// anyway (the screen is right now) and say so; a reboot would resume
	// the older state until the server is reached again.
	if err := persistState(a.cfg.CacheDir, raw); err != nil {
		a.n.persistErrors.Add(1)
		a.log.Error("persist state", "err", err)
	}
	a.mu.Lock()
	a.cur = next
	a.mu.Unlock()
	a.n.statesApplied.Add(1)
	a.log.Info("state applied", "source", source, "revision", next.revision(),
		"rules", len(next.state.Rules), "media", len(next.state.Media))
	signal(a.wakeEngine)
	signal(a.statusNow)
	a.syncer.request(syncPlain)
	return nil
}

// Status returns the status the agent would publish now. Online is true
// while Run is running.
func (a *Agent) Status() marquee.Status {
	a.mu.Lock()
	s := marquee.Status{
		Format:        marquee.WireFormat,
		DisplayID:     a.cfg.DisplayID,
		Online:        a.running,
		StateRevision: a.cur.revision(),
		UptimeSeconds: int64(time.Since(a.born) / time.Second),
		Version:       a.cfg.Version,
		SentAt:        a.cfg.Now().UTC().Truncate(time.Millisecond),
	}
	if a.playing != nil {
		np := *a.playing
		s.Current = &np
	}
	if a.clockOffset != nil {
		off := *a.clockOffset
		s.ClockOffsetMS = &off
	}
	a.mu.Unlock()
	s.CacheBytes = a.cache.Bytes()
	if free, err := a.cache.FreeDisk(); err == nil {
		s.FreeDiskBytes = free
	}
	return s
}

// lastWill is the retained message the broker publishes on the status topic
// when the player vanishes without a clean disconnect.
func lastWill(displayID string) []byte {
	b, _ := json.Marshal(struct {
		Format    int    `json:"format"`
		DisplayID string `json:"display_id"`
		Online    bool   `json:"online"`
	}{marquee.WireFormat, displayID, false})
	return b
}

// signal wakes whoever waits on c without blocking: c has room for one
// pending wake-up, and more coalesce into it.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
