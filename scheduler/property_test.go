package scheduler

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	marquee "github.com/marquee-signage/marquee"
	"pgregory.net/rapid"
)

// Property tests. Each check generates a state and asks about a few
// instants; run more with -rapid.checks=N.

var (
	genZones = []string{"Asia/Ho_Chi_Minh", "UTC", "Europe/Berlin", "America/New_York"}
	genCrons = []string{"", "", "0 7 * * 1-5", "30 2 * * *", "0 22 * * *", "*/15 * * * *", "0 */3 * * *",
		"@daily", "@weekly", "@monthly", "0 12 * * 6,0", "45 1 * * *", "0 0 30 2 *", "*/5 8-9 * * *"}
	genDurations = []int64{60e3, 15 * 60e3, 3600e3, 3 * 3600e3, 10 * 3600e3, 26 * 3600e3, 3 * 24 * 3600e3}
	// Months that hold DST changes in Berlin and New York.
	genPeriods = []time.Time{utc("2025-03-01T00:00:00Z"), utc("2025-10-10T00:00:00Z")}
)

const genSpan = 31 * 24 * time.Hour

type genCase struct {
	St   *marquee.DesiredState
	From time.Time // the month instants are drawn from
}

// instant draws an instant in the case's month, at one-second resolution
// or, sometimes, exactly on a second with odd nanoseconds.
func (c genCase) instant(t *rapid.T, label string) time.Time {
	s := rapid.Int64Range(0, int64(genSpan/time.Second)).Draw(t, label)
	ns := rapid.SampledFrom([]int64{0, 0, 1, 999_999_999, 500_000_000}).Draw(t, label+"_ns")
	return c.From.Add(time.Duration(s)*time.Second + time.Duration(ns))
}

func genState(t *rapid.T) genCase {
	from := rapid.SampledFrom(genPeriods).Draw(t, "period")
	day := func(label string) string {
		return from.AddDate(0, 0, rapid.IntRange(-5, 35).Draw(t, label)).Format(time.DateOnly)
	}
	moment := func(label string) *time.Time {
		m := from.Add(time.Duration(rapid.Int64Range(-86400, int64(genSpan/time.Second)).Draw(t, label)) * time.Second)
		return &m
	}
	npl := rapid.IntRange(1, 4).Draw(t, "playlists")
	var pls []marquee.Playlist
	for i := range npl {
		id := fmt.Sprintf("P%d", i)
		n := rapid.IntRange(1, 5).Draw(t, id+"_items")
		secs := make([]int64, n)
		for j := range secs {
			secs[j] = rapid.Int64Range(1, 120).Draw(t, fmt.Sprintf("%s_%d_secs", id, j))
		}
		p := playlistOf(id, secs...)
		for j := range p.Items {
			if rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("%s_%d_valid", id, j)) == 0 {
				p.Items[j].ValidFrom = moment(fmt.Sprintf("%s_%d_from", id, j))
			}
			if rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("%s_%d_until", id, j)) == 0 {
				p.Items[j].ValidUntil = moment(fmt.Sprintf("%s_%d_to", id, j))
			}
			p.Items[j].DurationMS += rapid.Int64Range(0, 999).Draw(t, fmt.Sprintf("%s_%d_ms", id, j))
		}
		pls = append(pls, p)
	}
	nr := rapid.IntRange(1, 12).Draw(t, "rules")
	var rules []marquee.Rule
	for i := range nr {
		l := fmt.Sprintf("r%d_", i)
		r := marquee.Rule{
			ScheduleID: fmt.Sprintf("sch_%d", rapid.IntRange(0, 8).Draw(t, l+"id")), // ties happen
			Name:       fmt.Sprintf("rule %d", i),
			Playlist:   ref(fmt.Sprintf("P%d", rapid.IntRange(0, npl-1).Draw(t, l+"pl"))),
			Layer:      rapid.SampledFrom(marquee.Layers).Draw(t, l+"layer"),
			Cron:       rapid.SampledFrom(genCrons).Draw(t, l+"cron"),
			Timezone:   rapid.SampledFrom(genZones).Draw(t, l+"zone"),
		}
		if r.Cron != "" {
			r.DurationMS = rapid.SampledFrom(genDurations).Draw(t, l+"dur")
		}
		if rapid.Bool().Draw(t, l+"starts") {
			r.StartsOn = day(l + "start")
		}
		if rapid.Bool().Draw(t, l+"ends") {
			r.EndsOn = day(l + "end")
			if r.StartsOn > r.EndsOn {
				r.StartsOn, r.EndsOn = r.EndsOn, r.StartsOn
			}
		}
		rules = append(rules, r)
	}
	st := stateOf(rules, pls...)
	if rapid.Bool().Draw(t, "fallback") {
		st.Fallback = &marquee.PlaylistRef{PlaylistID: fmt.Sprintf("P%d", rapid.IntRange(0, npl-1).Draw(t, "fallback_pl")), Revision: 1}
	}
	return genCase{St: st, From: from}
}

func compileOrFail(t *rapid.T, st *marquee.DesiredState) *Plan {
	p, err := Compile(st)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

// oracle computes, without the Plan, the highest layer rank among rules
// active at tt (by enumerating their windows) with a playable item; -1 when
// none.
func oracle(t *rapid.T, st *marquee.DesiredState, tt time.Time) int {
	best := -1
	for _, r := range st.Rules {
		ws, err := Windows(r, tt, tt.Add(time.Nanosecond))
		if err != nil {
			t.Fatalf("Windows: %v", err)
		}
		if len(ws) == 0 || r.Layer.Rank() <= best {
			continue
		}
		for _, it := range st.Playlist(r.Playlist).Items {
			if (it.ValidFrom == nil || !tt.Before(*it.ValidFrom)) && (it.ValidUntil == nil || tt.Before(*it.ValidUntil)) {
				best = r.Layer.Rank()
				break
			}
		}
	}
	return best
}

// (1) Deterministic, also across a JSON round-trip of the state.
func TestPropDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genState(t)
		p := compileOrFail(t, c.St)
		b, err := json.Marshal(c.St)
		if err != nil {
			t.Fatal(err)
		}
		var st2 marquee.DesiredState
		if err := json.Unmarshal(b, &st2); err != nil {
			t.Fatal(err)
		}
		p2 := compileOrFail(t, &st2)
		for i := range 10 {
			tt := c.instant(t, fmt.Sprint("t", i))
			a := p.At(tt)
			if d := cmp.Diff(a, p.At(tt)); d != "" {
				t.Fatalf("At(%v) twice (-first +second):\n%s", tt, d)
			}
			if d := cmp.Diff(a, p2.At(tt)); d != "" {
				t.Fatalf("At(%v) after a JSON round-trip (-before +after):\n%s", tt, d)
			}
		}
	})
}

// (2) No gap, (3) the highest layer wins, and the answer's own invariants.
func TestPropLayersAndGaps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genState(t)
		p := compileOrFail(t, c.St)
		for i := range 10 {
			tt := c.instant(t, fmt.Sprint("t", i))
			n := p.At(tt)
			best := oracle(t, c.St, tt)
			if best >= 0 {
				if n.Reason.Kind != ReasonSchedule {
					t.Fatalf("At(%v) = %q, but a rule on rank %d is active with a playable item", tt, n.Reason.Kind, best)
				}
				if got := n.Layer.Rank(); got != best {
					t.Fatalf("At(%v): layer %q (rank %d), want rank %d", tt, n.Layer, got, best)
				}
			} else if n.Reason.Kind == ReasonSchedule {
				t.Fatalf("At(%v): schedule %s, but the oracle finds nothing active", tt, n.Reason.ScheduleID)
			}
			checkNow(t, tt, n)
		}
	})
}

// checkNow checks the invariants of one answer: Start <= t < End,
// t < Next <= End, Offset = t - Start, and the same slot until Next.
func checkNow(t *rapid.T, tt time.Time, n Now) {
	if !n.Next.After(tt) || n.Next.After(n.End) {
		t.Fatalf("At(%v): Next %v not in (t, End=%v]", tt, n.Next, n.End)
	}
	if n.Start.After(tt) || !n.End.After(tt) {
		t.Fatalf("At(%v): slot [%v, %v) does not contain t", tt, n.Start, n.End)
	}
	if got, want := n.Offset, tt.Sub(n.Start); got != want {
		t.Fatalf("At(%v): Offset %v, want %v", tt, got, want)
	}
	if (n.Playlist == nil) != (n.Reason.Kind == ReasonIdle) || (n.Item == nil) != (n.ItemIndex < 0) || (n.Item == nil) != (n.Playlist == nil) {
		t.Fatalf("At(%v): inconsistent answer %+v", tt, n)
	}
}

// (4) The order of rules and playlists in the state does not matter.
func TestPropOrderIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genState(t)
		p := compileOrFail(t, c.St)
		st2 := *c.St
		st2.Rules = rapid.Permutation(c.St.Rules).Draw(t, "rules order")
		st2.Playlists = rapid.Permutation(c.St.Playlists).Draw(t, "playlists order")
		p2 := compileOrFail(t, &st2)
		for i := range 10 {
			tt := c.instant(t, fmt.Sprint("t", i))
			if d := cmp.Diff(p.At(tt), p2.At(tt)); d != "" {
				t.Fatalf("At(%v) after shuffling (-before +after):\n%s", tt, d)
			}
		}
		from := c.instant(t, "from")
		a, _ := p.Timeline(from, from.Add(2*time.Hour), 0)
		b, _ := p2.Timeline(from, from.Add(2*time.Hour), 0)
		if d := cmp.Diff(a, b); d != "" {
			t.Fatalf("Timeline after shuffling (-before +after):\n%s", d)
		}
	})
}

// (5) Within an answer, until Next, At keeps giving the same slot; every
// instant of a Timeline entry gives that entry's item.
func TestPropStable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genState(t)
		p := compileOrFail(t, c.St)
		for i := range 5 {
			tt := c.instant(t, fmt.Sprint("t", i))
			n := p.At(tt)
			span := min(n.Next.Sub(tt), 48*time.Hour)
			for _, f := range []time.Duration{1, 2, 3} {
				u := tt.Add(span / 4 * f)
				m := p.At(u)
				if m.Reason != n.Reason || m.ItemIndex != n.ItemIndex || (n.Playlist != nil && (!m.Start.Equal(n.Start) || !m.End.Equal(n.End))) {
					t.Fatalf("At(%v) = %s item %d [%v, %v), but At(%v) = %s item %d [%v, %v)", tt, n.Reason, n.ItemIndex, n.Start, n.End, u, m.Reason, m.ItemIndex, m.Start, m.End)
				}
			}
		}
		from := c.instant(t, "from")
		entries, _ := p.Timeline(from, from.Add(time.Hour), 0)
		for _, e := range entries {
			for _, u := range []time.Time{e.Start, e.Start.Add(e.End.Sub(e.Start) / 2), e.End.Add(-time.Nanosecond)} {
				if m := p.At(u); m.Reason != e.Reason || m.ItemIndex != e.ItemIndex {
					t.Fatalf("entry %+v, but At(%v) = %s item %d", e, u, m.Reason, m.ItemIndex)
				}
			}
		}
	})
}

// Timeline equals stepping At, and tiles [from, to).
func TestPropTimelineEqualsAt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genState(t)
		p := compileOrFail(t, c.St)
		from := c.instant(t, "from")
		to := from.Add(time.Duration(rapid.Int64Range(1, 24*3600).Draw(t, "seconds")) * time.Second)
		limit := rapid.SampledFrom([]int{0, 0, 0, 1, 7, 100}).Draw(t, "limit")
		got, gotTrunc := p.Timeline(from, to, limit)
		want, wantTrunc := stepTimeline(p, from, to, limit)
		if d := cmp.Diff(want, got); d != "" || gotTrunc != wantTrunc {
			t.Fatalf("Timeline(%v, %v, %d) (-stepping At +Timeline), truncated %v want %v:\n%s", from, to, limit, gotTrunc, wantTrunc, d)
		}
		if limit == 0 {
			checkTiles(t, got, from, to)
		}
	})
}

// checkTiles checks that entries cover [from, to) in order without gaps or
// overlaps, and that no two neighbours are the same answer.
func checkTiles(t *rapid.T, entries []Entry, from, to time.Time) {
	if len(entries) == 0 {
		t.Fatalf("no entries for [%v, %v)", from, to)
	}
	at := from
	for i, e := range entries {
		if !e.Start.Equal(at) || !e.End.After(e.Start) {
			t.Fatalf("entry %d [%v, %v) does not follow %v", i, e.Start, e.End, at)
		}
		at = e.End
	}
	if !at.Equal(to) {
		t.Fatalf("entries end at %v, want %v", at, to)
	}
}
