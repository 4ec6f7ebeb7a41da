package scheduler

import (
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // controllers may lack zoneinfo

	marquee "github.com/marquee-signage/marquee"
)

// DefaultTimezone is the zone of a rule whose Timezone is empty.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

// MaxWindow is the longest window a cron rule may open (its DurationMS).
const MaxWindow = 31 * 24 * time.Hour

// Instants are nanoseconds since the Unix epoch (UTC) in an int64, clamped to
// [minTime, maxTime]; two sentinels lie outside that range. Arithmetic on
// real instants with durations up to a year cannot overflow.
const (
	never     int64 = math.MaxInt64 // no such instant; an open end
	openStart int64 = math.MinInt64 // an open start
	sec       int64 = int64(time.Second)
)

var (
	minTime = time.Date(1720, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2250, 1, 1, 0, 0, 0, 0, time.UTC)
)

// instant converts t, clamped to [minTime, maxTime].
func instant(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return minTime.UnixNano()
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// timeOf converts an instant back to a time in UTC.
func timeOf(i int64) time.Time { return time.Unix(0, i).UTC() }

// floorSec rounds i down to a whole second.
func floorSec(i int64) int64 {
	m := i % sec
	if m < 0 {
		m += sec
	}
	return i - m
}

// walkSteps is how many fire times window walks forward before it switches
// to galloping and bisection: enough for every rule with at most five fires
// per duration.
const walkSteps = 4

// rule is a Rule compiled once: zone loaded, cron parsed, dates resolved to
// instants.
type rule struct {
	src    marquee.Rule // Timezone filled in
	rank   int
	loc    *time.Location
	cron   *cronSchedule // nil: all day
	dur    int64         // window length of a cron rule
	start  int64         // first instant of StartsOn; openStart when empty
	end    int64         // first instant after EndsOn; never when empty
	anchor int64         // loop anchor of an all-day rule: start, or the epoch when open
	pl     *playlist     // set by Compile
}

// compileRule checks r's own fields and compiles it. zones caches loaded
// locations (may be nil). The error's text is a user-facing message that does
// not name the rule.
func compileRule(r marquee.Rule, zones map[string]*time.Location) (*rule, error) {
	c := &rule{src: r, rank: r.Layer.Rank(), start: openStart, end: never}
	if c.rank < 0 {
		return nil, fmt.Errorf("priority %q is not one of fallback, normal, campaign, takeover, emergency", r.Layer)
	}
	if c.src.Timezone == "" {
		c.src.Timezone = DefaultTimezone
	}
	loc, err := loadZone(c.src.Timezone, zones)
	if err != nil {
		return nil, err
	}
	c.loc = loc
	var from, until time.Time
	if r.StartsOn != "" {
		if from, err = time.Parse(time.DateOnly, r.StartsOn); err != nil {
			return nil, fmt.Errorf("starts_on %q is not a date (YYYY-MM-DD)", r.StartsOn)
		}
		c.start = dayStart(from, loc)
	}
	if r.EndsOn != "" {
		if until, err = time.Parse(time.DateOnly, r.EndsOn); err != nil {
			return nil, fmt.Errorf("ends_on %q is not a date (YYYY-MM-DD)", r.EndsOn)
		}
		if c.end = dayStart(until.AddDate(0, 0, 1), loc); c.end >= maxTime.UnixNano() {
			c.end = never
		}
	}
	if r.StartsOn != "" && r.EndsOn != "" && until.Before(from) {
		return nil, fmt.Errorf("ends_on %s is before starts_on %s", r.EndsOn, r.StartsOn)
	}
	if c.start != openStart {
		c.anchor = c.start
	}
	if r.Cron == "" {
		return c, nil // DurationMS is not used
	}
	if c.cron, err = parseCron(r.Cron, loc); err != nil {
		return nil, fmt.Errorf("cron %q: %v", r.Cron, err)
	}
	if r.DurationMS <= 0 {
		return nil, fmt.Errorf("cron %q needs a positive duration_ms", r.Cron)
	}
	if r.DurationMS > MaxWindow.Milliseconds() {
		return nil, fmt.Errorf("duration_ms %d is longer than 31 days", r.DurationMS)
	}
	c.dur = r.DurationMS * int64(time.Millisecond)
	return c, nil
}

// loadZone loads an IANA zone. "Local" is refused: it would make the answer
// depend on the machine.
func loadZone(name string, cache map[string]*time.Location) (*time.Location, error) {
	if loc := cache[name]; loc != nil {
		return loc, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("timezone %q names the machine's zone; use an IANA zone such as %s", name, DefaultTimezone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("timezone %q is not a known IANA zone", name)
	}
	if cache != nil {
		cache[name] = loc
	}
	return loc, nil
}

// dayStart returns the first instant whose date in loc is d's date: local
// midnight, or the end of a transition that skips midnight.
func dayStart(d time.Time, loc *time.Location) int64 {
	y, m, dd := d.Date()
	t0 := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	switch {
	case t0.Before(minTime):
		return minTime.UnixNano()
	case t0.After(maxTime):
		return maxTime.UnixNano()
	}
	want := y*10000 + int(m)*100 + dd
	date := func(s int64) int {
		y, m, d := time.Unix(s, 0).In(loc).Date()
		return y*10000 + int(m)*100 + d
	}
	// Bisect on seconds: date(lo) < want <= date(hi).
	lo, hi := t0.Unix()-48*3600, t0.Unix()+48*3600
	for hi-lo > 1 {
		if mid := lo + (hi-lo)/2; date(mid) >= want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi * sec
}

// window reports whether a window of c contains t, that window's start ws
// (for a cron rule: the latest in-range fire time <= t) and the first window
// start after t (never when there is none).
func (c *rule) window(t int64) (ws int64, active bool, next int64) {
	if c.cron == nil {
		switch {
		case t < c.start:
			return 0, false, c.start
		case t < c.end:
			return c.anchor, true, never
		}
		return 0, false, never
	}
	if c.end != never && t-c.dur >= c.end {
		return 0, false, never // every window has closed
	}
	x := t - c.dur // a window containing t opened in (t-dur, t]
	if c.start != openStart && x < c.start-1 {
		x = c.start - 1
	}
	f := c.cron.next(x)
	if f >= c.end {
		return 0, false, never
	}
	if f > t {
		return 0, false, f
	}
	tt := t // fires that count are <= tt
	if tt >= c.end {
		tt = c.end - 1
	}
	n := c.cron.next(f)
	for k := 0; n <= tt && k < walkSteps; k++ {
		f, n = n, c.cron.next(n)
	}
	if n <= tt {
		f = c.latestFire(n, tt)
		n = c.cron.next(f)
	}
	if n >= c.end {
		n = never
	}
	return f, true, n
}

// latestFire returns the latest fire time <= tt, given a fire time a <= tt.
// Schedule.Next only looks forward, so it gallops back from tt with doubling
// steps and then bisects on Next's argument at one-second resolution
// (fire times are whole seconds): O(log(tt-a)) calls, never one per minute.
func (c *rule) latestFire(a, tt int64) int64 {
	// Invariant: a fire lies in (lo, tt]; none lies in (hi, tt].
	hi := floorSec(tt)
	if a >= hi {
		return a
	}
	lo := a - sec
	for step := 60 * sec; ; step *= 2 {
		x := hi - step
		if x <= lo {
			break
		}
		if f := c.cron.next(x); f <= tt {
			lo = f - sec
			break
		}
		hi = x
	}
	for hi-lo > sec {
		mid := lo + (hi-lo)/2/sec*sec
		if f := c.cron.next(mid); f <= tt {
			lo = f - sec
		} else {
			hi = mid
		}
	}
	return hi
}

// windows calls fn with each window of c that intersects [from, to), in
// order, until fn returns false; it reports whether it ran to the end. A
// side left open by the rule is openStart or never.
func (c *rule) windows(from, to int64, fn func(s, e int64) bool) bool {
	if from >= to {
		return true
	}
	if c.cron == nil {
		if c.start < to && c.end > from {
			return fn(c.start, c.end)
		}
		return true
	}
	x := from - c.dur
	if c.start != openStart && x < c.start-1 {
		x = c.start - 1
	}
	for f := c.cron.next(x); f < to && f < c.end; f = c.cron.next(f) {
		if !fn(f, f+c.dur) {
			return false
		}
	}
	return true
}

// describe names a rule in messages: `rule "Name" (id)`.
func describe(r marquee.Rule, i int) string {
	switch {
	case r.Name != "" && r.ScheduleID != "":
		return fmt.Sprintf("rule %q (%s)", r.Name, r.ScheduleID)
	case r.Name != "":
		return fmt.Sprintf("rule %q", r.Name)
	case r.ScheduleID != "":
		return fmt.Sprintf("rule %s", r.ScheduleID)
	}
	return fmt.Sprintf("rule %d", i)
}
