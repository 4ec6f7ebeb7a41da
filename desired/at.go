package desired

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/marquee-signage/marquee"
)

// BuildAt is Build as of the instant at: the same content, except that
// rules are pruned as a build at that instant would prune them (a rule
// whose last window ended before at is left out; one that ends later is
// kept). Reports use it to run the resolver over a past period. The
// schedules' approved versions, playlists and media are today's: an
// approval or an edit of a display made after at is not undone.
func (b *Builder) BuildAt(ctx context.Context, displayID string, at time.Time) (*marquee.DesiredState, error) {
	d, err := b.store.FindDisplayByID(ctx, displayID)
	if err != nil {
		return nil, err
	}
	scheds, err := b.store.FindLiveSchedulesForDisplay(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("find schedules: %w", err)
	}
	return assemble(ctx, direct{b: b, now: at}, d, scheds)
}

// Past is a desired state the display was given and the instant it was
// saved (it was in effect from then until the display's next one).
type Past struct {
	ValidFrom time.Time
	JSON      []byte
}

// HistoryStore is the optional part of a Store that keeps every state a
// display was given (sqlstore does); without it StatesOver plans a period
// with BuildAt alone.
type HistoryStore interface {
	// FindStateHistory returns, oldest first, the display's state in
	// effect at from (the last saved at or before it, if any) and every
	// state saved within (from, to).
	FindStateHistory(ctx context.Context, displayID string, from, to time.Time) ([]Past, error)
}

// Span is the desired state a display had over [From, To).
type Span struct {
	From, To time.Time
	State    *marquee.DesiredState
}

// StatesOver returns the desired states the display had over [from, to),
// in order and covering the period: the states it was given, from the
// store's history, and for any part of the period before the first state
// recorded (a period older than the display, or than the history), the
// state BuildAt(from) computes from today's schedules. Compliance reports
// plan a past period with them, so a schedule re-approved with other
// windows in the middle of a month is planned as it was, each part with
// its own version.
func (b *Builder) StatesOver(ctx context.Context, displayID string, from, to time.Time) ([]Span, error) {
	var past []Past
	if hs, ok := b.store.(HistoryStore); ok {
		var err error
		if past, err = hs.FindStateHistory(ctx, displayID, from, to); err != nil {
			return nil, fmt.Errorf("state history: %w", err)
		}
	}
	var spans []Span
	if len(past) == 0 || past[0].ValidFrom.After(from) {
		end := to
		if len(past) > 0 {
			end = past[0].ValidFrom
		}
		st, err := b.BuildAt(ctx, displayID, from)
		if err != nil {
			return nil, err
		}
		spans = append(spans, Span{From: from, To: end, State: st})
	}
	for i, p := range past {
		start, end := p.ValidFrom, to
		if start.Before(from) {
			start = from
		}
		if i+1 < len(past) {
			end = past[i+1].ValidFrom
		}
		if !start.Before(end) {
			continue
		}
		var st marquee.DesiredState
		if err := json.Unmarshal(p.JSON, &st); err != nil {
			return nil, fmt.Errorf("state history of %s: %w", displayID, err)
		}
		spans = append(spans, Span{From: start, To: end, State: &st})
	}
	return spans, nil
}
