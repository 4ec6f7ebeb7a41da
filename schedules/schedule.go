// Package schedules manages schedules: which playlist plays on which
// displays, when, and on which priority layer.
//
// A schedule targets displays by ID and by tag (a schedule for "airport"
// reaches every display tagged airport, including ones added later). Its
// timing is a marquee.Rule: an optional cron spec that opens a window of
// Duration each time it fires, within an optional date range, in an IANA
// zone. Package scheduler checks rules and evaluates them; this package
// validates input with scheduler.CheckRule and, on every create or edit,
// reports which displays' content the schedule pre-empts or shares time
// with (the conflict report), so staff see conflicts before publishing.
//
// What staff edit is a schedule's working copy; what plays is its approved
// version, which only an approver makes (see approval.go).
package schedules

import (
	"context"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
)

// Schedule is one schedule.
type Schedule struct {
	ID         string  `json:"id"`
	OrgID      string  `json:"organisation_id"`
	Name       string  `json:"name"`
	PlaylistID string  `json:"playlist_id"`
	Targets    Targets `json:"targets"`
	// Cron is a 5-field spec or a descriptor (@daily…) read in Timezone;
	// "" means all day on every date of the range.
	Cron string `json:"cron"`
	// Duration is how long each window opened by Cron lasts; 0 without Cron.
	Duration Duration `json:"duration"`
	// StartsOn and EndsOn (YYYY-MM-DD, inclusive, in Timezone) bound the
	// dates on which windows start; "" leaves that side open.
	StartsOn string        `json:"starts_on"`
	EndsOn   string        `json:"ends_on"`
	Priority marquee.Layer `json:"priority"`
	Timezone string        `json:"timezone"` // IANA zone of Cron and the dates
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Approval is where the working copy (the fields above) stands in the
	// approval workflow, and the approved version that plays.
	Approval Approval `json:"approval"`
	// PlaylistRevision is the current revision of the playlist the
	// working copy names, as read with it: what a submission would name.
	// Set by the store.
	PlaylistRevision int64 `json:"-"`
}

// Targets are what a schedule reaches: these displays, and every display
// carrying any of these tags. Both lists are sorted, de-duplicated and never
// nil once stored.
type Targets struct {
	DisplayIDs []string `json:"display_ids"`
	Tags       []string `json:"tags"`
}

// Reaches reports whether the targets reach display d.
func (t Targets) Reaches(d *displays.Display) bool {
	for _, id := range t.DisplayIDs {
		if id == d.ID {
			return true
		}
	}
	for _, tag := range t.Tags {
		for _, dt := range d.Tags {
			if tag == dt {
				return true
			}
		}
	}
	return false
}

// Rule returns the working copy as the scheduler sees it, for checks and
// the conflict report. The playlist revision is left 0. What plays is
// LiveRule's.
func (s *Schedule) Rule() marquee.Rule {
	return marquee.Rule{
		ScheduleID: s.ID,
		Name:       s.Name,
		Playlist:   marquee.PlaylistRef{PlaylistID: s.PlaylistID},
		Layer:      s.Priority,
		Cron:       s.Cron,
		DurationMS: time.Duration(s.Duration).Milliseconds(),
		StartsOn:   s.StartsOn,
		EndsOn:     s.EndsOn,
		Timezone:   s.Timezone,
	}
}

// Duration is a window length. In JSON it is a Go duration string, such as
// "10h0m0s" (written) or "10h", "90m", "1h30m" (read); "" is zero.
type Duration time.Duration

// MarshalText writes d as time.Duration.String does, or "" for zero.
func (d Duration) MarshalText() ([]byte, error) {
	if d == 0 {
		return []byte{}, nil
	}
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText reads what ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads a window length: "" is zero; otherwise a Go duration
// string such as "10h", "90m" or "1h30m", positive and in whole
// milliseconds. Errors are EINVALID.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, marquee.Errorf(marquee.EINVALID, "duration %q is not a duration such as \"10h\", \"90m\" or \"1h30m\"", truncate(s, 40))
	case d <= 0:
		return 0, marquee.Errorf(marquee.EINVALID, "duration %q must be positive", s)
	case d%time.Millisecond != 0:
		return 0, marquee.Errorf(marquee.EINVALID, "duration %q must be a whole number of milliseconds", s)
	}
	return d, nil
}

// truncate shortens s to n runes for an error message.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Filter selects schedules. Zero fields match everything. Results are
// ordered newest first; Cursor is the opaque next cursor of a previous page.
type Filter struct {
	// DisplayID keeps schedules that reach this display, by its ID or
	// through any of its tags.
	DisplayID  string
	PlaylistID string
	Tag        string        // schedules that target this tag
	Priority   marquee.Layer // schedules on this layer
	// NameContains is a case-insensitive substring of the name.
	NameContains string
	Limit        int // 1..500; 0 means 50
	Cursor       string
	// Within keeps the schedules of this organisation and those below it;
	// "" means every organisation. Service.List sets it from the actor's
	// scope.
	Within string
	// Approval keeps the schedules whose working copy has this status
	// (StatusPending: what awaits approval); "" means any.
	Approval string
}

// Store persists schedules. It is implemented by sqlstore.
//
// Errors carry marquee error codes: ENOTFOUND for an unknown ID; EINVALID for
// a malformed cursor or a reference to an organisation, playlist or display
// that does not exist (the message names it) or that the schedule's
// organisation may not use (see CheckScheduleReferences); ECONFLICT for a
// taken ID.
//
// A schedule's approval is stored with it: CreateSchedule and
// UpdateSchedule write s.Approval's status, reason, submission and decision
// (UpdateSchedule: unless Status is ""), and when Status is StatusApproved
// they make the stored working copy, with its playlist's current revision,
// the approved version (approved by DecidedBy at DecidedAt), in the same
// transaction. Every Schedule returned has its Approval complete (Derive).
//
// Organisations bound what a schedule reaches: its tags and display IDs
// reach only the displays of its own organisation and those below it, so a
// commune's "airport" schedule never reaches the province's airport screens,
// while the province's reaches every commune's.
type Store interface {
	// CreateSchedule inserts s and its targets; it fills in what it
	// stored (ID when empty, times truncated to milliseconds in UTC,
	// targets sorted).
	CreateSchedule(ctx context.Context, s *Schedule) error
	FindScheduleByID(ctx context.Context, id string) (*Schedule, error)
	// FindSchedules returns one page and the cursor of the next ("" at the end).
	FindSchedules(ctx context.Context, f Filter) ([]*Schedule, string, error)
	// UpdateSchedule replaces every field of the schedule s.ID but OrgID
	// and CreatedAt, targets included, and returns the stored schedule.
	UpdateSchedule(ctx context.Context, s *Schedule) (*Schedule, error)
	DeleteSchedule(ctx context.Context, id string) error
	// CheckScheduleReferences returns EINVALID, naming the first wrong
	// one, unless s.OrgID exists, s's playlist belongs to it, to an
	// organisation above it or to one below it (content flows down the
	// tree), and every display it names belongs to it or to one below it
	// (screens do not flow up). CreateSchedule and UpdateSchedule (with
	// the stored OrgID) make the same check themselves.
	CheckScheduleReferences(ctx context.Context, s *Schedule) error
	// ChangeScheduleApproval changes the approval of schedule id in one
	// transaction that locks the schedule and its playlist: it reads the
	// schedule (ENOTFOUND) with its playlist's current revision
	// (PlaylistRevision) and calls decide with it; decide returns the new
	// approval (the error it returns, as is, changes nothing) and whether
	// the working copy with that revision becomes the approved version.
	// It returns the stored schedule.
	ChangeScheduleApproval(ctx context.Context, id string, decide func(sc *Schedule) (a Approval, approve bool, err error)) (*Schedule, error)
	// FindLiveSchedulesReaching returns, for each of the displays, the
	// schedules whose approved version reaches it, ordered by ID: what
	// plays there.
	FindLiveSchedulesReaching(ctx context.Context, displayIDs []string) (map[string][]*Schedule, error)
	// FindDisplaysForSchedule returns, ordered by ID, the displays that s
	// reaches.
	FindDisplaysForSchedule(ctx context.Context, s *Schedule) ([]*displays.Display, error)
}
