package schedules

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/scheduler"
)

// Kinds of Conflict, from the point of view of the schedule being checked.
const (
	// ConflictPreempts: the checked schedule is on a higher layer and hides
	// the other while both are active.
	ConflictPreempts = "preempts"
	// ConflictShares: both are on one layer and interleave item by item.
	ConflictShares = "shares"
	// ConflictPreemptedBy: the other is on a higher layer and hides the
	// checked schedule.
	ConflictPreemptedBy = "preempted_by"
)

// Report is the conflict report of a schedule: for each display it reaches,
// the other schedules on that display whose active windows overlap its own
// between From and To. The schedule checked is a working copy (what is
// being created, edited or checked); the others are what plays: their
// approved versions, which are what the checked schedule will meet on the
// screens once it is approved. Schedules never approved play nowhere and
// conflict with nothing.
type Report struct {
	Conflicts []Conflict `json:"conflicts"` // never nil
	// Displays are the IDs of the displays examined: every display the
	// schedule reaches, unless Truncated.
	Displays []string `json:"displays"` // never nil
	// Truncated is set when the schedule reaches more displays than one
	// report examines, or has more conflicts than one report lists.
	Truncated bool `json:"truncated"`
	// From and To bound the time looked at.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Conflict is one other schedule that overlaps the checked one on one
// display.
type Conflict struct {
	DisplayID    string    `json:"display_id"`
	DisplayName  string    `json:"display_name"`
	ScheduleID   string    `json:"schedule_id"`
	ScheduleName string    `json:"schedule_name"`
	Kind         string    `json:"kind"`       // ConflictPreempts, ConflictShares or ConflictPreemptedBy
	First        time.Time `json:"first"`      // when the overlap first begins
	OverlapMS    int64     `json:"overlap_ms"` // total overlap between From and To
}

// horizon returns the time a report on sc looks at: from the later of now
// and the start of sc's first date, for the service's horizon, but not past
// the end of sc's last date. From a future starts_on rather than from now,
// so that a campaign booked months ahead is checked where it will run.
func (s *Service) horizon(sc *Schedule, now time.Time) (from, to time.Time) {
	from, to = now.UTC(), time.Time{}
	loc, err := time.LoadLocation(sc.Timezone)
	if err != nil {
		loc = time.UTC // unreachable: validate checked the zone
	}
	if d, err := time.ParseInLocation(time.DateOnly, sc.StartsOn, loc); err == nil && d.After(from) {
		from = d.UTC()
	}
	to = from.Add(s.ahead)
	if d, err := time.ParseInLocation(time.DateOnly, sc.EndsOn, loc); err == nil {
		if end := d.AddDate(0, 0, 1).UTC(); end.Before(to) {
			to = end
		}
	}
	return from, to
}

// report computes the conflict report of sc, which has passed validate,
// against the approved versions of the other schedules reaching its
// displays. sc's own approved version is left out (sc replaces it once
// approved). Approved versions that no longer pass scheduler.CheckRule
// (say, a zone dropped from tzdata) are skipped: they cannot play either.
func (s *Service) report(ctx context.Context, sc *Schedule) (*Report, error) {
	rep := &Report{Conflicts: []Conflict{}, Displays: []string{}}
	rep.From, rep.To = s.horizon(sc, s.now())

	ds, err := s.store.FindDisplaysForSchedule(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("find displays for schedule: %w", err)
	}
	if len(ds) > s.maxDisplays {
		ds, rep.Truncated = ds[:s.maxDisplays], true
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	rep.Displays = ids
	if len(ds) == 0 || !rep.From.Before(rep.To) {
		return rep, nil
	}

	reaching, err := s.store.FindLiveSchedulesReaching(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find schedules reaching displays: %w", err)
	}
	// usable: the others (not sc's stored version) whose approved version
	// passes CheckRule.
	names := map[string]string{}
	usable := map[string]bool{}
	for _, scs := range reaching {
		for _, o := range scs {
			if _, seen := usable[o.ID]; !seen {
				r, live := o.LiveRule()
				names[o.ID] = r.Name
				usable[o.ID] = live && o.ID != sc.ID && scheduler.CheckRule(r) == nil
			}
		}
	}

	// Displays reached by the same other schedules have the same
	// conflicts: compute each distinct set once (a tag reaching 1,000
	// displays is one computation, not 1,000).
	candidate := sc.Rule()
	bySet := map[string][]scheduler.Conflict{}
	for _, d := range ds {
		rules, key := applicable(reaching[d.ID], usable)
		if len(rules) == 0 {
			continue
		}
		cs, ok := bySet[key]
		if !ok {
			if cs, err = scheduler.Conflicts(candidate, rules, rep.From, rep.To); err != nil {
				return nil, fmt.Errorf("conflicts on display %s: %w", d.ID, asInternal(err))
			}
			bySet[key] = cs
		}
		for _, c := range cs {
			if len(rep.Conflicts) == s.maxConflicts {
				rep.Truncated = true
				return rep, nil
			}
			rep.Conflicts = append(rep.Conflicts, Conflict{
				DisplayID:    d.ID,
				DisplayName:  d.Name,
				ScheduleID:   c.ScheduleID,
				ScheduleName: names[c.ScheduleID],
				Kind:         c.Kind,
				First:        c.First.UTC(),
				OverlapMS:    c.Overlap.Milliseconds(),
			})
		}
	}
	return rep, nil
}

// applicable returns the approved rules of the usable schedules among those
// that reach a display (reaching, ordered by ID), and a key naming that set.
func applicable(reaching []*Schedule, usable map[string]bool) ([]marquee.Rule, string) {
	var (
		rules []marquee.Rule
		key   strings.Builder
	)
	for _, o := range reaching {
		if usable[o.ID] {
			r, _ := o.LiveRule()
			rules = append(rules, r)
			key.WriteString(o.ID)
			key.WriteByte(',')
		}
	}
	return rules, key.String()
}

// asInternal keeps err from reaching a client as a 400: the rules it was
// given passed CheckRule, so any error is the server's.
func asInternal(err error) error {
	if code := marquee.ErrorCode(err); code != marquee.EINTERNAL {
		return marquee.WrapError(marquee.EINTERNAL, err, "internal error")
	}
	return err
}
