package player

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Kinds of media work. Verify and clear run before the download.
type syncKind uint8

const (
	syncPlain  syncKind = 0
	syncVerify syncKind = 1 << iota // re-hash every cached file first
	syncClear                       // drop every file the manifest does not need first
)

// Retry delays after a sync that failed or left files missing.
const (
	syncRetryMin = 5 * time.Second
	syncRetryMax = 5 * time.Minute
)

// syncer runs media work one job at a time, always against the manifest of
// the state applied when the job starts. A new request cancels the download
// in progress (a newer state makes it moot; its files are fetched again only
// if the new manifest still needs them, and the cache keeps what was
// already verified) and takes over its waiters.
type syncer struct {
	a    *Agent
	kick chan struct{}

	mu      sync.Mutex
	pending *syncJob
	cancel  context.CancelFunc // of the download in progress
}

type syncJob struct {
	kind    syncKind
	waiters []chan error
}

func newSyncer(a *Agent) *syncer { return &syncer{a: a, kick: make(chan struct{}, 1)} }

// request queues work; it never blocks.
func (s *syncer) request(kind syncKind) {
	s.enqueue(kind, nil)
}

// do queues work and waits for the job that covers it, or ctx.
func (s *syncer) do(ctx context.Context, kind syncKind) error {
	done := make(chan error, 1)
	s.enqueue(kind, done)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *syncer) enqueue(kind syncKind, done chan error) {
	s.mu.Lock()
	if s.pending == nil {
		s.pending = &syncJob{}
	}
	s.pending.kind |= kind
	if done != nil {
		s.pending.waiters = append(s.pending.waiters, done)
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	signal(s.kick)
}

func (s *syncer) run(ctx context.Context) {
	retry := syncRetryMin
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			if s.pending != nil {
				for _, w := range s.pending.waiters {
					w <- ctx.Err()
				}
				s.pending = nil
			}
			s.mu.Unlock()
			return
		case <-s.kick:
		case <-timer.C:
			s.enqueue(syncPlain, nil)
			continue
		}
		s.mu.Lock()
		job := s.pending
		s.pending = nil
		jctx, cancel := context.WithCancel(ctx)
		s.cancel = cancel
		s.mu.Unlock()
		if job == nil {
			cancel()
			continue
		}
		err := s.a.mediaWork(jctx, job.kind)
		cancel()
		s.mu.Lock()
		s.cancel = nil
		superseded := errors.Is(err, context.Canceled) && ctx.Err() == nil && s.pending != nil
		if superseded {
			// The newer job answers these waiters.
			s.pending.waiters = append(s.pending.waiters, job.waiters...)
		}
		s.mu.Unlock()
		if superseded {
			continue
		}
		for _, w := range job.waiters {
			w <- err
		}
		timer.Stop()
		if err != nil && ctx.Err() == nil {
			s.a.log.Warn("media sync incomplete", "err", err, "retry_in", retry)
			timer.Reset(jitter(retry))
			retry = min(retry*2, syncRetryMax)
		} else {
			retry = syncRetryMin
		}
	}
}

// mediaWork verifies or clears the cache as asked, downloads the current
// manifest, evicts what it does not need beyond the cache limit, and wakes
// the engine so that newly cached files go on screen.
func (a *Agent) mediaWork(ctx context.Context, kind syncKind) error {
	media, keep := a.current().manifest()
	defer signal(a.wakeEngine)
	if kind&syncClear != 0 {
		n, err := a.cache.Clear(keep)
		if err != nil {
			return fmt.Errorf("clear cache: %w", err)
		}
		a.log.Info("cache cleared", "removed", n)
	}
	if kind&syncVerify != 0 {
		n, err := a.cache.Verify(ctx)
		if err != nil {
			return fmt.Errorf("verify cache: %w", err)
		}
		a.log.Info("cache verified", "removed", n)
	}
	if len(media) == 0 {
		return nil
	}
	a.n.syncs.Add(1)
	res, err := a.cache.Sync(ctx, media)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("sync media: %w", err)
	}
	// Evict even after a partial failure: what the manifest needs is kept
	// whatever happens, and older states' files must not fill the disk.
	if freed, err := a.cache.Evict(keep); err != nil {
		a.log.Warn("evict", "err", err)
	} else if freed > 0 {
		a.log.Info("evicted", "bytes", freed)
	}
	if err != nil {
		a.n.syncFailures.Add(1)
		return fmt.Errorf("sync media: %d of %d files missing: %w", len(res.Failed), len(media), err)
	}
	a.log.Info("media synced", "fetched", len(res.Fetched), "bytes", res.Bytes)
	return nil
}
