package fleet

import (
	"context"
	"time"

	"github.com/marquee-signage/marquee"

	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/schedules"
)

// Store is everything the fleet service reads and writes (sqlstore.DB
// implements it). It is the union of one small interface per feature, each
// declared in its own section below; a feature adds its methods to its own
// section only.
type Store interface {
	PublishStore
	PlaysStore
	StatusStore
	CommandStore
}

// ---- Publishing desired states (publish.go, cron.go) ----

// PublishStore is what publishing needs: which displays a change reaches,
// and which stored states are due for pruning.
type PublishStore interface {
	// FindDisplaysReferencing returns the IDs of the displays whose stored
	// state references any of refIDs (a schedule, playlist or media ID),
	// each once, sorted (an empty slice when none do).
	FindDisplaysReferencing(ctx context.Context, refIDs ...string) ([]string, error)
	// FindDisplaysDueForPruning returns the IDs of the displays whose
	// stored state has a rule that has expired by now (next_prune_at <=
	// now), sorted.
	FindDisplaysDueForPruning(ctx context.Context, now time.Time) ([]string, error)
	// FindDisplayByID returns the display, or ENOTFOUND.
	FindDisplayByID(ctx context.Context, id string) (*displays.Display, error)
	// FindScheduleByID returns the schedule with its targets, or ENOTFOUND.
	FindScheduleByID(ctx context.Context, id string) (*schedules.Schedule, error)
	// FindDisplaysForTargets returns the displays the targets reach.
	FindDisplaysForTargets(ctx context.Context, t schedules.Targets) ([]*displays.Display, error)
	// FindDisplays returns one page of displays (newest first) and the
	// cursor of the next page, "" on the last.
	FindDisplays(ctx context.Context, f displays.Filter) ([]*displays.Display, string, error)
}

// ---- Proof of play (ingest.go) ----

// PlaysStore keeps the playback log.
type PlaysStore interface {
	// InsertPlays stores plays, received at receivedAt, in one
	// transaction, skipping every play whose ID is already stored (or
	// repeated in plays), and returns how many it inserted.
	InsertPlays(ctx context.Context, plays []marquee.Play, receivedAt time.Time) (int, error)
	// FindKnownDisplays returns which of ids name a display (absent: no).
	FindKnownDisplays(ctx context.Context, ids []string) (map[string]bool, error)
	// FindPlays returns one page of plays matching f, newest first, and the
	// cursor of the next page ("" on the last). A malformed cursor or a
	// negative limit is EINVALID.
	FindPlays(ctx context.Context, f PlayFilter) ([]marquee.Play, string, error)
}

// ---- Display status (status.go) ----

// StatusStore keeps the latest status of each display and its
// online/offline history.
type StatusStore interface {
	// SaveDisplayStatus stores st as its display's latest status — an
	// offline one keeps the stored LastSeen and figures and clears Current —
	// and records a status event when Online differs from the stored
	// status or none was stored; transition reports that. An unknown
	// display is ENOTFOUND.
	SaveDisplayStatus(ctx context.Context, st *DisplayStatus) (transition bool, err error)
	// SaveDisplayStatuses applies saves in one transaction, in order, each
	// as SaveDisplayStatus would — except that a status event is stamped
	// with the save's EventAt (zero: Status.UpdatedAt) and that a display
	// that does not exist is reported in the save's result (NotFound),
	// not as an error. One display may appear more than once. The results
	// match saves index by index; on error nothing is stored.
	SaveDisplayStatuses(ctx context.Context, saves []StatusSave) ([]StatusSaved, error)
	// FindDisplayStatuses returns the stored status of each of ids that
	// has one, keyed by display ID.
	FindDisplayStatuses(ctx context.Context, ids []string) (map[string]*DisplayStatus, error)
}

// ---- Commands (commands.go) ----

// CommandStore keeps the commands sent to displays.
type CommandStore interface {
	// CreateCommand stores c (an unknown display is ENOTFOUND) and writes
	// back what it stored: times truncated to milliseconds in UTC, Args
	// non-nil.
	CreateCommand(ctx context.Context, c *Command) error
	// UpdateCommandStatus applies u and reports whether a command matched
	// (its ID, its display, one of the From statuses).
	UpdateCommandStatus(ctx context.Context, u CommandUpdate) (bool, error)
	// FindCommandByID returns the command, or ENOTFOUND.
	FindCommandByID(ctx context.Context, id string) (*Command, error)
	// FindCommands returns one page of the display's commands, newest
	// first, and the cursor of the next page ("" on the last). An unknown
	// display is ENOTFOUND; a malformed cursor or negative limit EINVALID.
	FindCommands(ctx context.Context, displayID string, limit int, cursor string) ([]*Command, string, error)
}
