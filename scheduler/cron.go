package scheduler

// This file is the only one that uses github.com/robfig/cron (unmaintained
// since 2020; STYLE 15): replacing it is a change to this file alone.

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// maxCronLen bounds the length of a cron spec; the longest sensible spec
// (every minute listed) is far shorter.
const maxCronLen = 200

// descriptors are the named schedules a rule may use. @every is refused: it
// counts from the moment a process starts, so it is not calendar based and two
// evaluations of one state would disagree.
var descriptors = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// cronSchedule is a parsed cron spec bound to the zone it is read in.
type cronSchedule struct {
	sched *cron.SpecSchedule
	loc   *time.Location
}

// parseCron parses spec (standard 5 fields or a descriptor) in loc. It never
// panics: a spec that panics the parser yields an error. Errors are messages
// fit for the user, without the spec itself.
func parseCron(spec string, loc *time.Location) (c *cronSchedule, err error) {
	spec = strings.TrimSpace(spec)
	switch {
	case len(spec) > maxCronLen:
		return nil, fmt.Errorf("is longer than %d characters", maxCronLen)
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return nil, fmt.Errorf("must not name a zone (TZ= or CRON_TZ=); set the rule's timezone instead")
	case strings.HasPrefix(spec, "@every"):
		return nil, fmt.Errorf("@every is not allowed: schedules are calendar based; use 5 fields or @hourly, @daily, @weekly, @monthly, @yearly")
	case strings.HasPrefix(spec, "@"):
		if !descriptors[spec] {
			return nil, fmt.Errorf("unknown descriptor; use @hourly, @daily, @midnight, @weekly, @monthly or @yearly")
		}
	default:
		if n := len(strings.Fields(spec)); n != 5 {
			return nil, fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), found %d", n)
		}
	}
	ss, err := parseStandard(spec)
	if err != nil {
		return nil, err
	}
	ss.Location = time.UTC // next asks on the wall clock, expressed in UTC
	return &cronSchedule{sched: ss, loc: loc}, nil
}

// parseStandard is robfig's ParseStandard under recover: some specs panic
// it (robfig/cron#554: "TZ=0", "CRON_TZ=", any zone prefix without a space).
func parseStandard(spec string) (ss *cron.SpecSchedule, err error) {
	defer func() {
		if recover() != nil {
			ss, err = nil, fmt.Errorf("cannot be parsed")
		}
	}()
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("is not calendar based")
	}
	return ss, nil
}

// maxPeriods bounds how many zone periods (spans of constant UTC offset)
// next looks through: about 25 years of twice-yearly DST changes.
const maxPeriods = 50

// next returns the first fire time strictly after x, or never when there is
// none within about five years.
//
// A spec matches wall-clock times in the rule's zone. robfig's Next, asked in
// a zone with DST, is not monotonic near some transitions (it skips a week of
// "0 0 * * 0" around Australia/Lord_Howe's 30-minute shift), so next never
// asks it in such a zone: within each period of constant UTC offset it asks
// Next on the wall clock expressed in UTC, which has no transitions, and maps
// the answer back with that period's offset. A wall time that a transition
// skips therefore never fires; one it repeats fires twice, once per offset.
func (c *cronSchedule) next(x int64) int64 {
	if x >= maxTime.UnixNano() {
		return never
	}
	y := time.Unix(0, x+1).In(c.loc) // the earliest instant that may fire
	for range maxPeriods {
		_, off := y.Zone()
		_, end := y.ZoneBounds()
		o := int64(off) * sec
		w := c.sched.Next(time.Unix(0, y.UnixNano()-1+o).UTC()) // first wall time > wall(y - 1ns)
		if w.IsZero() || w.After(maxTime) {
			return never
		}
		if u := w.UnixNano() - o; end.IsZero() || u < end.UnixNano() {
			return u
		}
		y = end.In(c.loc)
	}
	return never
}

// robfigNext is robfig's own Next asked in the rule's zone, as PITFALLS
// prescribes. Tests compare next with it; benchmarks use it as the baseline.
func (c *cronSchedule) robfigNext(t time.Time) time.Time {
	s := *c.sched
	s.Location = c.loc
	return s.Next(t.In(c.loc))
}
