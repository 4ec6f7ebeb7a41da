package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/marquee-signage/marquee"
)

// DefaultThreshold is how long a display may stay silent before an alert
// opens, unless configured otherwise.
const DefaultThreshold = 5 * time.Minute

// Action is what Evaluate decides for one display.
type Action int

const (
	Keep  Action = iota // nothing changes
	Open                // open an alert
	Close               // close the open alert
)

// Evaluate decides, at now, what to do about candidate c. A display is
// silent when no status at all (heartbeat or Last Will) has arrived for
// longer than its threshold (c.Threshold, else def): a Last Will therefore
// opens an alert only when the display has not come back within the
// threshold of it, and a blip shorter than that never does. An open alert
// closes when the display is online and not silent, that is once it has
// returned; an offline status that is not yet stale (a retained Last Will
// re-read after a restart) keeps it open. The alert of a deleted display
// (c.Gone) closes.
func Evaluate(now time.Time, c Candidate, def time.Duration) Action {
	if c.Gone {
		if c.Open != nil {
			return Close
		}
		return Keep
	}
	th := c.Threshold
	if th <= 0 {
		th = def
	}
	silent := now.Sub(c.StatusAt) > th
	switch {
	case c.Open == nil && silent:
		return Open
	case c.Open != nil && c.Online && !silent:
		return Close
	}
	return Keep
}

// Detector opens and closes alerts. Its zero value is not usable: set
// Store; the other fields have defaults.
type Detector struct {
	Store Store
	// Threshold is the default silence threshold (0: DefaultThreshold).
	Threshold time.Duration
	// Started, when set, is when the server started watching: silence
	// before it (the server's own downtime, while displays could not
	// reach it) does not count towards opening an alert.
	Started time.Time
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger // nil: discard
}

// CheckResult counts what one Check did.
type CheckResult struct{ Opened, Closed int }

// Check evaluates every display once and opens or closes alerts. It
// returns the first error but goes on with the other displays.
func (d *Detector) Check(ctx context.Context) (CheckResult, error) {
	var res CheckResult
	now := d.now()
	cs, err := d.Store.FindAlertCandidates(ctx)
	if err != nil {
		return res, fmt.Errorf("find alert candidates: %w", err)
	}
	def := d.Threshold
	if def <= 0 {
		def = DefaultThreshold
	}
	var errs []error
	for _, c := range cs {
		if c.Open == nil && c.StatusAt.Before(d.Started) {
			c.StatusAt = d.Started
		}
		switch Evaluate(now, c, def) {
		case Open:
			a := &Alert{
				ID:          marquee.NewID("alr_"),
				DisplayID:   c.DisplayID,
				DisplayName: c.DisplayName,
				OrgID:       c.OrgID,
				OpenedAt:    now.UTC().Truncate(time.Millisecond),
				LastSeen:    c.LastSeen,
			}
			a.setDuration(now)
			ok, err := d.Store.OpenAlert(ctx, a)
			if err != nil {
				errs = append(errs, fmt.Errorf("open alert of display %s: %w", c.DisplayID, err))
				continue
			}
			if ok {
				res.Opened++
				d.logger().Warn("display offline: alert opened", "display", c.DisplayID, "alert", a.ID)
			}
		case Close:
			a := *c.Open
			closed := now.UTC().Truncate(time.Millisecond)
			a.ClosedAt = &closed
			a.setDuration(now)
			ok, err := d.Store.CloseAlert(ctx, &a)
			if err != nil {
				errs = append(errs, fmt.Errorf("close alert %s: %w", a.ID, err))
				continue
			}
			if ok {
				res.Closed++
				d.logger().Info("display back: alert closed", "display", c.DisplayID, "alert", a.ID)
			}
		}
	}
	return res, errors.Join(errs...)
}

func (d *Detector) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Detector) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}
