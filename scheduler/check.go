package scheduler

import (
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// The dates CheckRule accepts (Compile accepts any date).
const (
	minDate = "2000-01-01"
	maxDate = "2199-12-31"
)

// CheckRule reports whether r may be published: a known priority, a known
// IANA zone (not "Local"), valid dates between 2000-01-01 and 2199-12-31
// with EndsOn not before StartsOn, and,
// with a cron spec, a spec that parses (5 standard fields or one of @hourly,
// @daily, @midnight, @weekly, @monthly, @yearly, @annually; no @every, no
// TZ=/CRON_TZ= prefix), fires at all, fires at least once within
// [StartsOn, EndsOn], and a DurationMS in (0, 31 days]. It does not look at
// the playlist. Errors have code EINVALID and a message that says what is
// wrong; CheckRule never panics, whatever the spec.
func CheckRule(r marquee.Rule) error {
	c, err := compileRule(r, nil)
	if err != nil {
		return marquee.Errorf(marquee.EINVALID, "%s", err)
	}
	for _, d := range []struct{ name, date string }{{"starts_on", r.StartsOn}, {"ends_on", r.EndsOn}} {
		if d.date != "" && (d.date < minDate || d.date > maxDate) {
			return marquee.Errorf(marquee.EINVALID, "%s %s is not between %s and %s; leave it empty for no limit", d.name, d.date, minDate, maxDate)
		}
	}
	if c.cron == nil {
		return nil
	}
	if c.cron.next(instant(time.Date(1999, 12, 31, 0, 0, 0, 0, c.loc))) == never {
		return marquee.Errorf(marquee.EINVALID, "cron %q never fires", r.Cron)
	}
	switch {
	case r.StartsOn != "" && r.EndsOn != "":
		if c.cron.next(c.start-1) >= c.end {
			return marquee.Errorf(marquee.EINVALID, "cron %q never fires between starts_on %s and ends_on %s (%s)", r.Cron, r.StartsOn, r.EndsOn, c.src.Timezone)
		}
	case r.StartsOn != "":
		if c.cron.next(c.start-1) == never {
			return marquee.Errorf(marquee.EINVALID, "cron %q never fires within five years of starts_on %s (%s)", r.Cron, r.StartsOn, c.src.Timezone)
		}
	case r.EndsOn != "":
		// Every spec that fires at all fires within any four years.
		if c.cron.next(c.end-int64(4*366*24*time.Hour)) >= c.end {
			return marquee.Errorf(marquee.EINVALID, "cron %q never fires on or before ends_on %s (%s)", r.Cron, r.EndsOn, c.src.Timezone)
		}
	}
	return nil
}

// Window is one active window of a rule: [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// MaxWindows bounds the number of windows Windows returns.
const MaxWindows = 100_000

// Windows returns, in order, the active windows of r that intersect
// [from, to). Start and End are the window's own bounds (a window may begin
// before from or end after to), except that a side the rule leaves open (an
// all-day rule with no StartsOn or EndsOn) is reported as from or to. Windows
// of a cron rule may overlap; the later one then restarts the loop. Times are
// in UTC. Errors have code EINVALID: a malformed rule (as CheckRule, except
// that a rule that never fires simply has no windows), or more than
// MaxWindows windows in the range.
func Windows(r marquee.Rule, from, to time.Time) ([]Window, error) {
	c, err := compileRule(r, nil)
	if err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "%s", err)
	}
	f, t := instant(from), instant(to)
	var ws []Window
	ok := c.windows(f, t, func(s, e int64) bool {
		if len(ws) == MaxWindows {
			return false
		}
		if s == openStart {
			s = f
		}
		if e == never {
			e = t
		}
		ws = append(ws, Window{Start: timeOf(s), End: timeOf(e)})
		return true
	})
	if !ok {
		return nil, marquee.Errorf(marquee.EINVALID, "more than %d windows between %s and %s; ask for a shorter range", MaxWindows, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return ws, nil
}
