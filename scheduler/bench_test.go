package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// benchNow is the middle of the benchmarks' schedules.
var benchNow = utc("2025-06-02T03:00:00Z")

var benchCrons = []struct {
	spec string
	dur  int64
}{
	{"0 7 * * 1-5", 10 * 3600e3}, {"0 */2 * * *", 30 * 60e3}, {"30 11 * * *", 2 * 3600e3}, {"0 18 * * 5,6", 5 * 3600e3},
	{"@daily", 6 * 3600e3}, {"*/15 * * * *", 5 * 60e3}, {"0 9 1 * *", 24 * 3600e3}, {"0 20 * * *", 4 * 3600e3},
}

// benchState builds a display's state: nRules rules over nPl playlists of
// minItems..maxItems items of itemSecs (0: 5-30 s each), with mixed crons,
// date ranges around benchNow (starting up to 60 days before or after it)
// and layers weighted towards normal.
func benchState(rng *rand.Rand, nRules, nPl, minItems, maxItems int, itemSecs int64) *marquee.DesiredState {
	return benchStateSpread(rng, nRules, nPl, minItems, maxItems, itemSecs, 60)
}

// benchStateSpread is benchState with StartsOn up to spread days before or
// after benchNow; spread 0 puts every rule's date range around benchNow.
func benchStateSpread(rng *rand.Rand, nRules, nPl, minItems, maxItems int, itemSecs int64, spread int) *marquee.DesiredState {
	var pls []marquee.Playlist
	for i := range nPl {
		secs := make([]int64, minItems+rng.IntN(maxItems-minItems+1))
		for j := range secs {
			if secs[j] = itemSecs; itemSecs == 0 {
				secs[j] = 5 + rng.Int64N(26)
			}
		}
		pls = append(pls, playlistOf(fmt.Sprintf("P%d", i), secs...))
	}
	layers := []marquee.Layer{marquee.LayerNormal, marquee.LayerNormal, marquee.LayerNormal, marquee.LayerNormal, marquee.LayerNormal,
		marquee.LayerCampaign, marquee.LayerCampaign, marquee.LayerCampaign, marquee.LayerTakeover, marquee.LayerEmergency}
	var rules []marquee.Rule
	for i := range nRules {
		r := marquee.Rule{
			ScheduleID: fmt.Sprintf("sch_%03d", i),
			Playlist:   ref(fmt.Sprintf("P%d", rng.IntN(nPl))),
			Layer:      layers[rng.IntN(len(layers))],
		}
		if r.Layer == marquee.LayerEmergency && rng.IntN(2) == 0 {
			r.Layer = marquee.LayerTakeover
		}
		if rng.IntN(5) < 3 {
			c := benchCrons[rng.IntN(len(benchCrons))]
			r.Cron, r.DurationMS = c.spec, c.dur
		}
		start := benchNow.AddDate(0, 0, rng.IntN(2*spread+1)-spread)
		if spread == 0 {
			start = benchNow.AddDate(0, 0, -rng.IntN(30))
		}
		r.StartsOn = start.Format(time.DateOnly)
		r.EndsOn = start.AddDate(0, 0, 31+rng.IntN(90)).Format(time.DateOnly)
		rules = append(rules, r)
	}
	st := stateOf(rules, pls...)
	st.Fallback = &marquee.PlaylistRef{PlaylistID: "P0", Revision: 1}
	return st
}

// BenchmarkAt200Rules: one display targeted by 200 rules (5-20 items
// each); instants spread over a month. "dated": date ranges spread over four
// months, as a display accumulates them; "all-in-range": every rule's dates
// cover the instants; "one-layer": in range, and all on the normal layer,
// so no higher layer cuts the work short (the worst case).
func BenchmarkAt200Rules(b *testing.B) {
	for _, bc := range []struct {
		name     string
		spread   int
		oneLayer bool
	}{{"dated", 60, false}, {"all-in-range", 0, false}, {"one-layer", 0, true}} {
		st := benchStateSpread(rand.New(rand.NewPCG(1, 2)), 200, 40, 5, 20, 0, bc.spread)
		if bc.oneLayer {
			for i := range st.Rules {
				st.Rules[i].Layer = marquee.LayerNormal
			}
		}
		p := mustCompile(b, st)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p.At(benchNow.Add(time.Duration(i%(30*86400)) * 7919 * time.Millisecond))
				i++
			}
		})
	}
}

// BenchmarkTimeline7Days: one display (20 rules, 10-second items), seven
// days, complete.
func BenchmarkTimeline7Days(b *testing.B) {
	p := mustCompile(b, benchState(rand.New(rand.NewPCG(3, 4)), 20, 8, 5, 20, 10))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		entries, truncated := p.Timeline(benchNow, benchNow.Add(7*24*time.Hour), 0)
		if truncated {
			b.Fatal("truncated")
		}
		n = len(entries)
	}
	b.ReportMetric(float64(n), "entries/op")
}

// BenchmarkTimeline7Days1000Displays: 1,000 displays with varied states
// (5-40 rules, 10-second items), seven days each, complete. ns/op is the
// whole fleet; ns/display is per display.
func BenchmarkTimeline7Days1000Displays(b *testing.B) {
	const displays = 1000
	rng := rand.New(rand.NewPCG(5, 6))
	plans := make([]*Plan, displays)
	for i := range plans {
		plans[i] = mustCompile(b, benchState(rng, 5+rng.IntN(36), 3+rng.IntN(10), 5, 20, 10))
	}
	b.ReportAllocs()
	var total int
	for b.Loop() {
		total = 0
		for _, p := range plans {
			entries, truncated := p.Timeline(benchNow, benchNow.Add(7*24*time.Hour), 0)
			if truncated {
				b.Fatal("truncated")
			}
			total += len(entries)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/displays, "ns/display")
	b.ReportMetric(float64(total)/displays, "entries/display")
}

// BenchmarkCronNext is the baseline: robfig's Schedule.Next itself, next to
// our wrapper (which asks it on the wall clock per zone period) and to a
// full window look-up of a rule.
func BenchmarkCronNext(b *testing.B) {
	for _, loc := range []*time.Location{hcm, berlin} {
		c := mustCron(b, "0 7 * * 1-5", loc)
		b.Run("robfig/"+loc.String(), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.robfigNext(benchNow.Add(time.Duration(i%10000) * time.Minute))
				i++
			}
		})
		b.Run("next/"+loc.String(), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.next(instant(benchNow.Add(time.Duration(i%10000) * time.Minute)))
				i++
			}
		})
		r, err := compileRule(marquee.Rule{Layer: marquee.LayerNormal, Cron: "0 7 * * 1-5", DurationMS: 10 * 3600e3, Timezone: loc.String()}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("window/"+loc.String(), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.window(instant(benchNow.Add(time.Duration(i%10000) * time.Minute)))
				i++
			}
		})
	}
}

func BenchmarkCompile200Rules(b *testing.B) {
	st := benchState(rand.New(rand.NewPCG(1, 2)), 200, 40, 5, 20, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(st); err != nil {
			b.Fatal(err)
		}
	}
}
