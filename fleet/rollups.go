package fleet

import (
	"context"
	"time"
)

// Periodic jobs of the airtime rollups (issue 6): closing each hour, and
// the retention of raw plays. The store keeps the rollups current as plays
// are inserted; these jobs only make them final and bound the raw log.

// Names and default specs of the rollup jobs.
const (
	jobRollups   = "rollups"
	jobRetention = "retention"

	// DefaultRollupSchedule closes the previous hour five minutes after
	// it ends, once late plays (a player's journal catching up) are in.
	DefaultRollupSchedule = "5 * * * *"
	// DefaultRetentionSchedule deletes expired raw plays daily at 03:30
	// (server time), outside business hours.
	DefaultRetentionSchedule = "30 3 * * *"

	// retentionBatch bounds the plays one retention transaction deletes,
	// so that ingest never waits long for the write lock.
	retentionBatch = 5000
)

// rollupStore is what the rollup jobs need of the Store; a Store without
// it (test fakes) runs neither job.
type rollupStore interface {
	// CloseRollupHour rebuilds the rollups of the hour starting at hour
	// and records it as closed.
	CloseRollupHour(ctx context.Context, hour time.Time) error
	// DeletePlaysBefore deletes the raw plays that started before the
	// hour of before, batch at a time, returning how many.
	DeletePlaysBefore(ctx context.Context, before time.Time, batch int) (int64, error)
}

// rollupJobs holds the rollup jobs' settings.
type rollupJobs struct {
	closeSpec, retentionSpec string
	retention                time.Duration
}

func newRollupJobs(cfg Config) rollupJobs {
	return rollupJobs{
		closeSpec:     orDefault(cfg.RollupSchedule, DefaultRollupSchedule),
		retentionSpec: orDefault(cfg.RetentionSchedule, DefaultRetentionSchedule),
		retention:     cfg.PlaysRetention,
	}
}

func init() {
	register(feature{
		name: "rollups",
		jobs: func(s *Service) []job {
			st, ok := s.store.(rollupStore)
			if !ok {
				return nil
			}
			js := []job{{name: jobRollups, spec: s.rollups.closeSpec, run: func(ctx context.Context) error {
				return s.closeLastHour(ctx, st)
			}}}
			if s.rollups.retention > 0 {
				js = append(js, job{name: jobRetention, spec: s.rollups.retentionSpec, run: func(ctx context.Context) error {
					return s.deleteExpiredPlays(ctx, st)
				}})
			}
			return js
		},
	})
}

// closeLastHour closes the hour before the current one.
func (s *Service) closeLastHour(ctx context.Context, st rollupStore) error {
	hour := s.now().UTC().Truncate(time.Hour).Add(-time.Hour)
	if err := st.CloseRollupHour(ctx, hour); err != nil {
		return err
	}
	s.logger.Debug("closed rollup hour", "hour", hour)
	return nil
}

// stateHistoryStore is the optional part of a Store that keeps every
// desired state a display was given (for compliance reports).
type stateHistoryStore interface {
	// DeleteStateHistoryBefore deletes the states that stopped being in
	// effect before before, returning how many.
	DeleteStateHistoryBefore(ctx context.Context, before time.Time) (int64, error)
}

// deleteExpiredPlays deletes the raw plays older than the retention, and
// the desired states displays stopped having before then (a compliance
// report over that period could not compare them with plays anyway).
func (s *Service) deleteExpiredPlays(ctx context.Context, st rollupStore) error {
	before := s.now().Add(-s.rollups.retention)
	n, err := st.DeletePlaysBefore(ctx, before, retentionBatch)
	if n > 0 {
		s.logger.Info("deleted expired plays", "plays", n, "before", before)
	}
	if err != nil {
		return err
	}
	if hs, ok := st.(stateHistoryStore); ok {
		n, err := hs.DeleteStateHistoryBefore(ctx, before)
		if n > 0 {
			s.logger.Info("deleted expired desired-state history", "states", n, "before", before)
		}
		return err
	}
	return nil
}
