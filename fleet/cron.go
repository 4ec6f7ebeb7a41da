package fleet

// This file is the server's only user of github.com/robfig/cron (v3.0.1,
// unmaintained since 2020; STYLE 15): replacing it is a change to this file
// alone. It also declares the service's periodic jobs.

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/robfig/cron/v3"
)

// Names of the periodic jobs.
const (
	jobPrune    = "prune"
	jobSweep    = "sweep"
	jobSessions = "sessions"
)

func init() {
	register(feature{
		name: "jobs",
		jobs: func(s *Service) []job {
			js := []job{
				{name: jobPrune, spec: s.specs[jobPrune], run: s.pruneDue},
				{name: jobSweep, spec: s.specs[jobSweep], run: s.sweep},
			}
			if s.auth != nil {
				js = append(js, job{name: jobSessions, spec: s.specs[jobSessions], run: s.pruneSessions})
			}
			return js
		},
	})
}

// pruneSessions deletes expired admin sessions.
func (s *Service) pruneSessions(ctx context.Context) error {
	n, err := s.auth.PruneSessions(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger.Info("pruned expired sessions", "sessions", n)
	}
	return nil
}

// job is one periodic job: run is called each time spec fires, with a
// context that ends when the service closes.
type job struct {
	name string
	spec string // robfig/cron: 5 fields, a descriptor, or "@every 1m"
	run  func(ctx context.Context) error
}

// jobScheduler runs jobs on their specs. A job never overlaps itself (a
// run still going when the next is due skips that one); a job that panics
// is logged with its stack and runs again next time; errors are logged.
type jobScheduler struct {
	c      *cron.Cron
	chain  cron.Chain
	logger *slog.Logger
}

func newJobScheduler(logger *slog.Logger) *jobScheduler {
	l := cronLogger{logger}
	// Recover is the outer wrapper, but a panic inside SkipIfStillRunning
	// would still leak its token in v3.0.1 (the job then skipped for
	// ever): runJob recovers inside, so nothing ever panics through it.
	wrappers := []cron.JobWrapper{cron.Recover(l), cron.SkipIfStillRunning(l)}
	return &jobScheduler{
		c:      cron.New(cron.WithLogger(l), cron.WithChain(wrappers...)),
		chain:  cron.NewChain(wrappers...),
		logger: logger,
	}
}

// add schedules j. A spec that does not parse is an error naming the job;
// the parser's panics on some inputs are turned into errors too.
func (js *jobScheduler) add(ctx context.Context, j job) (err error) {
	sched, err := parseSpec(j.spec)
	if err != nil {
		return fmt.Errorf("job %s: %w", j.name, err)
	}
	js.c.Schedule(sched, cron.FuncJob(func() { js.runJob(ctx, j) }))
	return nil
}

// wrapped returns j as the scheduler runs it, wrapped in its chain (for
// tests: the scheduler itself wraps what add schedules).
func (js *jobScheduler) wrapped(ctx context.Context, j job) cron.Job {
	return js.chain.Then(cron.FuncJob(func() { js.runJob(ctx, j) }))
}

// parseSpec parses a cron spec under recover.
func parseSpec(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid schedule %q: %v", spec, r)
		}
	}()
	sched, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %w", spec, err)
	}
	return sched, nil
}

// runJob runs j once, logging its failure or panic; it never panics.
func (js *jobScheduler) runJob(ctx context.Context, j job) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			stack := make([]byte, 16<<10)
			stack = stack[:runtime.Stack(stack, false)]
			js.logger.Error("periodic job panicked", "job", j.name, "panic", fmt.Sprint(r), "stack", string(stack))
		}
	}()
	if err := j.run(ctx); err != nil && ctx.Err() == nil {
		js.logger.Error("periodic job failed", "job", j.name, "err", err, "duration", time.Since(start))
		return
	}
	js.logger.Debug("periodic job done", "job", j.name, "duration", time.Since(start))
}

func (js *jobScheduler) start() { js.c.Start() }

// stop stops scheduling and waits for running jobs until ctx ends.
func (js *jobScheduler) stop(ctx context.Context) error {
	select {
	case <-js.c.Stop().Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("periodic jobs still running: %w", ctx.Err())
	}
}

// cronLogger adapts slog to cron.Logger. cron's routine messages (schedule,
// wake, run) go to debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	c.l.Debug("cron: "+msg, kv...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
