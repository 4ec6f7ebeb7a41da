package reports

import (
	"time"

	"github.com/marquee-signage/marquee"
)

// UptimeFilter selects the displays of an uptime report and its period
// (From inclusive, To exclusive; both required). Empty fields match
// everything.
type UptimeFilter struct {
	From, To  time.Time
	DisplayID string
	Tag       string
	// Within is the actor's scope (auth.Scope.Within): "" the whole tree,
	// else only displays of that organisation's subtree.
	Within string
	// Now clips the period: time after it is neither online nor offline.
	// Zero means no clipping.
	Now time.Time
}

// Validate returns EINVALID when f cannot be answered.
func (f UptimeFilter) Validate() error {
	switch {
	case f.From.IsZero() || f.To.IsZero():
		return marquee.Errorf(marquee.EINVALID, "from and to are required")
	case !f.To.After(f.From):
		return marquee.Errorf(marquee.EINVALID, "to must be after from")
	case f.To.Sub(f.From) > MaxRange:
		return marquee.Errorf(marquee.EINVALID, "a report covers at most %d days", int(MaxRange/(24*time.Hour)))
	}
	return nil
}

// DisplayUptime is one display's line of an uptime report. Time before the
// display's first recorded status is unknown, not offline.
type DisplayUptime struct {
	DisplayID   string     `json:"display_id"`
	Name        string     `json:"name"`
	OrgID       string     `json:"org_id"`
	OnlineMS    int64      `json:"online_ms"`
	OfflineMS   int64      `json:"offline_ms"`
	UnknownMS   int64      `json:"unknown_ms"`
	Transitions int        `json:"transitions"` // status events within the period
	Ratio       float64    `json:"ratio"`       // online / (online + offline); 0 when both are 0
	Online      bool       `json:"online"`      // the current status (display_status)
	LastSeen    *time.Time `json:"last_seen,omitempty"`
}

// Transition is one recorded status change (a status_events row).
type Transition struct {
	At     time.Time
	Online bool
}

// Span is how a period divides between online, offline and unknown.
type Span struct {
	OnlineMS, OfflineMS, UnknownMS int64
}

// Availability divides [from, to) between online, offline and unknown,
// given the status before from (nil: none recorded) and the transitions
// within the period, oldest first. Transitions outside [from, to) are
// ignored. An empty or inverted period is the zero Span.
func Availability(before *bool, events []Transition, from, to time.Time) Span {
	var sp Span
	if !to.After(from) {
		return sp
	}
	state, at := before, from
	add := func(until time.Time) {
		ms := until.Sub(at).Milliseconds()
		switch {
		case state == nil:
			sp.UnknownMS += ms
		case *state:
			sp.OnlineMS += ms
		default:
			sp.OfflineMS += ms
		}
	}
	for _, e := range events {
		if e.At.Before(from) || !e.At.Before(to) {
			continue
		}
		add(e.At)
		online := e.Online
		state, at = &online, e.At
	}
	add(to)
	return sp
}

// Ratio is online / (online + offline), 0 when neither is known.
func (sp Span) Ratio() float64 {
	if sp.OnlineMS+sp.OfflineMS == 0 {
		return 0
	}
	return float64(sp.OnlineMS) / float64(sp.OnlineMS+sp.OfflineMS)
}
