package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/mqtt"
)

// Defaults of Config.
const (
	DefaultDebounce = 250 * time.Millisecond
	DefaultMaxDelay = 750 * time.Millisecond
	DefaultWorkers  = 4

	DefaultPruneSchedule    = "@every 1m"
	DefaultSweepSchedule    = "@every 10m"
	DefaultSessionsSchedule = "@every 1h"
)

// publishTimeout bounds one QoS 1 publish (until the broker's PUBACK).
const publishTimeout = 10 * time.Second

// Config holds the settings of a Service. Store and States are required.
type Config struct {
	Store  Store
	States *desired.Builder
	// Auth, when set, has its expired sessions pruned hourly.
	Auth *auth.Service
	// MQTT configures the server's own client. The service sets OnConnect
	// (and calls the one given here after its own work). HandlerWorkers and
	// HandlerQueue size the client's default queue, which runs the handlers
	// of statuses and command results; play batches have a queue of their
	// own (mqtt.DefaultHandlerWorkers workers, mqtt.DefaultHandlerQueue
	// messages), so a flood of statuses cannot crowd them out. An empty
	// BrokerURL runs the service without MQTT: states are still rebuilt
	// and pruned (players poll them over HTTP) and the jobs run, but
	// nothing is published or subscribed.
	MQTT   mqtt.Config
	Topics mqtt.Topics
	// Now is the clock of schedules and pruning; nil means time.Now.
	// Debouncing always uses the real clock.
	Now    func() time.Time
	Logger *slog.Logger // nil discards

	// Debounce is the quiet period after the last change that reaches a
	// display before its state is rebuilt and published; MaxDelay bounds
	// the wait from the first such change, so a steady stream of edits
	// still publishes. Zero means DefaultDebounce, DefaultMaxDelay.
	Debounce time.Duration
	MaxDelay time.Duration
	// Workers bounds the displays built and published at once; 0 means
	// DefaultWorkers.
	Workers int
	// StatusFlush is the shortest time between two writes of the pending
	// display statuses (see status.go); 0 means DefaultStatusFlush.
	StatusFlush time.Duration

	// Cron specs (robfig/cron syntax, "@every 1m" too) of the periodic
	// jobs; "" means the default, "-" disables the job.
	PruneSchedule    string // rebuild displays whose state has an expired rule
	SweepSchedule    string // rebuild every display: the safety net
	SessionsSchedule string // delete expired admin sessions
	// RollupSchedule closes the hour that just ended (rollups.go);
	// RetentionSchedule deletes the raw plays older than PlaysRetention
	// (0: keep them for ever; the job then does nothing). Rollups are
	// kept. Both need a Store that implements rollupStore.
	RollupSchedule    string
	RetentionSchedule string
	PlaysRetention    time.Duration
}

// Service keeps the fleet in step with the store over MQTT: it publishes
// each display's desired state (retained) when something that reaches the
// display changes, runs the periodic jobs, and hosts the handlers of what
// displays send. Create it with New, then Start; Close stops it.
//
// The service is split into features, one file each (publishing, plays,
// status, commands…). A feature registers itself from an init function with
// register, declaring its MQTT subscriptions, its periodic jobs and its
// start and close hooks; Start and Close run them in registration order.
type Service struct {
	store    Store
	states   *desired.Builder
	auth     *auth.Service
	topics   mqtt.Topics
	client   *mqtt.Client
	now      func() time.Time
	logger   *slog.Logger
	debounce time.Duration
	maxDelay time.Duration
	workers  int
	specs    map[string]string // job name → spec

	jobs        *jobScheduler
	pub         publisher
	plays       playIngest      // ingest.go
	statusW     statusWriter    // status.go
	statusFlush time.Duration   // status.go
	commands    commandCounters // commands.go
	rollups     rollupJobs      // rollups.go

	// ctx lives from Start to Close; background work stops when it ends.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started bool
	closed  bool
}

// New returns a Service for cfg and its MQTT client, not yet connected.
// It fails when a required setting is missing or the MQTT settings are
// invalid.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("fleet: Config.Store is required")
	}
	if cfg.States == nil {
		return nil, errors.New("fleet: Config.States is required")
	}
	s := &Service{
		store:       cfg.Store,
		states:      cfg.States,
		auth:        cfg.Auth,
		topics:      cfg.Topics,
		now:         cfg.Now,
		logger:      cfg.Logger,
		debounce:    cfg.Debounce,
		maxDelay:    cfg.MaxDelay,
		workers:     cfg.Workers,
		statusFlush: cfg.StatusFlush,
		rollups:     newRollupJobs(cfg),
		specs: map[string]string{
			jobPrune:    orDefault(cfg.PruneSchedule, DefaultPruneSchedule),
			jobSweep:    orDefault(cfg.SweepSchedule, DefaultSweepSchedule),
			jobSessions: orDefault(cfg.SessionsSchedule, DefaultSessionsSchedule),
		},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.debounce <= 0 {
		s.debounce = DefaultDebounce
	}
	if s.maxDelay <= 0 {
		s.maxDelay = DefaultMaxDelay
	}
	if s.workers <= 0 {
		s.workers = DefaultWorkers
	}
	if s.statusFlush <= 0 {
		s.statusFlush = DefaultStatusFlush
	}
	s.statusW.wake = make(chan struct{}, 1)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.pub.init()

	if mc := cfg.MQTT; mc.BrokerURL != "" {
		userOnConnect := mc.OnConnect
		mc.OnConnect = func(ctx context.Context) {
			s.onConnect()
			if userOnConnect != nil {
				userOnConnect(ctx)
			}
		}
		if mc.Logger == nil {
			mc.Logger = s.logger
		}
		client, err := mqtt.New(mc)
		if err != nil {
			return nil, fmt.Errorf("fleet: mqtt client: %w", err)
		}
		s.client = client
	}

	s.jobs = newJobScheduler(s.logger)
	for _, f := range features {
		if f.jobs == nil {
			continue
		}
		for _, j := range f.jobs(s) {
			if j.spec == "-" {
				continue
			}
			if err := s.jobs.add(s.ctx, j); err != nil {
				return nil, fmt.Errorf("fleet: %w", err)
			}
		}
	}
	return s, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Start subscribes the features' handlers, starts their background work
// and the periodic jobs, and connects to the broker (retrying in the
// background until it answers). Once connected, and after every
// reconnection, it publishes every display's state. Without MQTT it starts
// the background work and the jobs only. ctx bounds the start only. Start
// may be called once.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("fleet: Start called twice or after Close")
	}
	s.started = true
	s.mu.Unlock()

	for _, f := range features {
		if f.subscriptions == nil || s.client == nil {
			continue
		}
		for _, sub := range f.subscriptions(s) {
			var opts []mqtt.SubscribeOption
			if sub.queue.Name != "" {
				opts = append(opts, mqtt.OnQueue(sub.queue))
			}
			if err := s.client.Subscribe(ctx, sub.filter, sub.qos, sub.handler, opts...); err != nil {
				return fmt.Errorf("fleet: subscribe %s: %w", sub.filter, err)
			}
		}
	}
	for _, f := range features {
		if f.start == nil {
			continue
		}
		if err := f.start(s, ctx); err != nil {
			return fmt.Errorf("fleet: start %s: %w", f.name, err)
		}
	}
	s.jobs.start()
	if s.client == nil {
		return nil
	}
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("fleet: mqtt: %w", err)
	}
	return nil
}

// Close stops the periodic jobs and the features' background work and
// waits for them, then disconnects from the broker, giving up waiting when
// ctx ends. It is safe to call more than once.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	// Ending s.ctx first makes a running job (a sweep of a large fleet)
	// return promptly instead of holding the shutdown.
	s.cancel()
	var errs []error
	if err := s.jobs.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	for i := len(features) - 1; i >= 0; i-- {
		if f := features[i]; f.close != nil {
			if err := f.close(s, ctx); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", f.name, err))
			}
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("fleet: background work did not stop: %w", ctx.Err()))
	}
	if s.client != nil {
		if err := s.client.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("fleet: mqtt: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Client returns the service's MQTT client, nil when it runs without MQTT
// (Config.MQTT.BrokerURL empty).
func (s *Service) Client() *mqtt.Client { return s.client }

// Topics returns the topic table in use.
func (s *Service) Topics() mqtt.Topics { return s.topics }

// goBackground runs fn in a goroutine that Close waits for; fn must
// return once its ctx (the service's) ends.
func (s *Service) goBackground(fn func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(s.ctx)
	}()
}

// subscription is one MQTT subscription of a feature. The handler runs on
// the client's handler workers: it must not block for long, and must be
// idempotent (QoS 1 may deliver twice).
type subscription struct {
	filter  string
	qos     byte
	handler mqtt.Handler
	// queue, when named, is a handler queue of the subscription's own
	// (mqtt.OnQueue); otherwise the handler runs on the default queue.
	queue mqtt.Queue
}

// feature is one concern of the service, in its own file. Every hook is
// optional.
type feature struct {
	name string
	// subscriptions are made by Start (and renewed by the client on every
	// reconnection).
	subscriptions func(s *Service) []subscription
	// jobs are the feature's periodic jobs; a spec of "-" disables one.
	jobs func(s *Service) []job
	// start begins the feature's background work (use s.goBackground);
	// called by Start before connecting.
	start func(s *Service, ctx context.Context) error
	// close is called by Close after the jobs stopped and s.ctx ended,
	// in reverse registration order.
	close func(s *Service, ctx context.Context) error
}

// features lists the registered features, in registration order.
var features []feature

// register adds a feature; call it from an init function of the
// feature's file.
func register(f feature) { features = append(features, f) }
