package scheduler

import (
	"cmp"
	"slices"
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// The kinds of Conflict.
const (
	ConflictPreempts    = "preempts"     // the candidate's layer is higher: it hides the other
	ConflictShares      = "shares"       // same layer: they interleave item by item
	ConflictPreemptedBy = "preempted_by" // the other's layer is higher: it hides the candidate
)

// Conflict is one schedule whose windows overlap the candidate's.
type Conflict struct {
	ScheduleID string
	Kind       string        // ConflictPreempts, ConflictShares or ConflictPreemptedBy
	First      time.Time     // the first instant in [from, to) both are active (UTC)
	Overlap    time.Duration // how long both are active within [from, to)
}

// Conflicts reports, for a candidate rule on one display, which of the other
// rules on that display it pre-empts, shares time with, or is pre-empted by
// within [from, to): one Conflict per schedule and kind whose active windows
// overlap the candidate's for a positive time, ordered by First, then
// ScheduleID. Rules with the candidate's ScheduleID (a non-empty one) are
// skipped: the candidate replaces them. Only windows count, not playlist
// contents or item validity. Errors have code EINVALID and name the
// malformed rule.
func Conflicts(candidate marquee.Rule, others []marquee.Rule, from, to time.Time) ([]Conflict, error) {
	zones := map[string]*time.Location{}
	c, err := compileRule(candidate, zones)
	if err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "%s", err)
	}
	type group struct {
		id, kind string
		rules    []*rule
	}
	var groups []*group
	index := map[[2]string]*group{}
	for i, o := range others {
		if candidate.ScheduleID != "" && o.ScheduleID == candidate.ScheduleID {
			continue
		}
		oc, err := compileRule(o, zones)
		if err != nil {
			return nil, marquee.Errorf(marquee.EINVALID, "%s: %s", describe(o, i), err)
		}
		kind := ConflictShares
		if c.rank > oc.rank {
			kind = ConflictPreempts
		} else if c.rank < oc.rank {
			kind = ConflictPreemptedBy
		}
		key := [2]string{o.ScheduleID, kind}
		g := index[key]
		if g == nil {
			g = &group{id: o.ScheduleID, kind: kind}
			index[key] = g
			groups = append(groups, g)
		}
		g.rules = append(g.rules, oc)
	}
	f, t := instant(from), instant(to)
	mine := union([]*rule{c}, f, t)
	var out []Conflict
	for _, g := range groups {
		if first, total := intersect(mine, union(g.rules, f, t)); total > 0 {
			out = append(out, Conflict{ScheduleID: g.id, Kind: g.kind, First: timeOf(first), Overlap: time.Duration(total)})
		}
	}
	slices.SortFunc(out, func(a, b Conflict) int {
		return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.ScheduleID, b.ScheduleID), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// span is a half-open interval of instants.
type span struct{ s, e int64 }

// union returns the union of the rules' windows clipped to [from, to), as
// sorted disjoint spans.
func union(rs []*rule, from, to int64) []span {
	var all []span
	for _, r := range rs {
		r.windows(from, to, func(s, e int64) bool {
			s, e = max(s, from), min(e, to)
			if n := len(all); n > 0 && s <= all[n-1].e && s >= all[n-1].s {
				all[n-1].e = max(all[n-1].e, e) // a rule's windows come in order
			} else {
				all = append(all, span{s, e})
			}
			return true
		})
	}
	slices.SortFunc(all, func(a, b span) int { return cmp.Compare(a.s, b.s) })
	out := all[:0]
	for _, x := range all {
		if n := len(out); n > 0 && x.s <= out[n-1].e {
			out[n-1].e = max(out[n-1].e, x.e)
		} else {
			out = append(out, x)
		}
	}
	return out
}

// intersect returns the first instant and total length of the intersection
// of two sorted disjoint span lists.
func intersect(a, b []span) (first, total int64) {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		s, e := max(a[i].s, b[j].s), min(a[i].e, b[j].e)
		if s < e {
			if total == 0 {
				first = s
			}
			total += e - s
		}
		if a[i].e < b[j].e {
			i++
		} else {
			j++
		}
	}
	return first, total
}
