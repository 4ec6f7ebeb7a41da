package scheduler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	marquee "github.com/marquee-signage/marquee"
)

func TestLayers(t *testing.T) {
	rules := []marquee.Rule{
		{ScheduleID: "sch_e", Playlist: ref("E"), Layer: marquee.LayerEmergency, Cron: "0 12 * * *", DurationMS: 30 * 60e3},
		{ScheduleID: "sch_n", Playlist: ref("N"), Layer: marquee.LayerNormal},
		{ScheduleID: "sch_c", Playlist: ref("C"), Layer: marquee.LayerCampaign, StartsOn: "2025-06-02", EndsOn: "2025-06-03"},
	}
	p := mustCompile(t, stateOf(rules, playlistOf("E", 10), playlistOf("N", 10), playlistOf("C", 10)))
	tests := []struct {
		t         time.Time
		schedule  string
		layer     marquee.Layer
		nextAfter time.Duration // Next - t
	}{
		{at(hcm, "2025-06-01 12:10:00"), "sch_e", marquee.LayerEmergency, 10 * time.Second},
		{at(hcm, "2025-06-01 12:40:00"), "sch_n", marquee.LayerNormal, 10 * time.Second},
		{at(hcm, "2025-06-02 10:00:00"), "sch_c", marquee.LayerCampaign, 10 * time.Second},
		{at(hcm, "2025-06-02 11:59:55"), "sch_c", marquee.LayerCampaign, 5 * time.Second}, // the emergency starts mid-slot
		{at(hcm, "2025-06-02 12:10:00"), "sch_e", marquee.LayerEmergency, 10 * time.Second},
		{at(hcm, "2025-06-02 12:30:00"), "sch_c", marquee.LayerCampaign, 10 * time.Second},
		{at(hcm, "2025-06-03 23:59:55"), "sch_c", marquee.LayerCampaign, 5 * time.Second}, // the campaign ends mid-slot
		{at(hcm, "2025-06-04 00:00:00"), "sch_n", marquee.LayerNormal, 10 * time.Second},
	}
	for _, tt := range tests {
		n := p.At(tt.t)
		if got, want := n.Reason.ScheduleID, tt.schedule; got != want {
			t.Fatalf("At(%v): schedule %q, want %q", tt.t, got, want)
		}
		if got, want := n.Layer, tt.layer; got != want {
			t.Fatalf("At(%v): layer %q, want %q", tt.t, got, want)
		}
		if got, want := n.Next.Sub(tt.t), tt.nextAfter; got != want {
			t.Fatalf("At(%v): Next in %v, want %v", tt.t, got, want)
		}
	}

	// An emergency whose only item is not yet valid does not win.
	valid := at(hcm, "2025-06-02 12:20:00")
	e := playlistOf("E", 10)
	e.Items[0].ValidFrom = &valid
	p = mustCompile(t, stateOf(rules, e, playlistOf("N", 10), playlistOf("C", 10)))
	for _, tt := range []struct {
		t        time.Time
		schedule string
		next     time.Time
	}{
		{at(hcm, "2025-06-02 12:10:00"), "sch_c", at(hcm, "2025-06-02 12:10:10")},
		{at(hcm, "2025-06-02 12:19:55"), "sch_c", valid},
		{valid, "sch_e", at(hcm, "2025-06-02 12:20:10")},
	} {
		n := p.At(tt.t)
		if got, want := n.Reason.ScheduleID, tt.schedule; got != want {
			t.Fatalf("At(%v): schedule %q, want %q", tt.t, got, want)
		}
		if got, want := n.Next, tt.next; !got.Equal(want) {
			t.Fatalf("At(%v): Next %v, want %v", tt.t, got, want)
		}
	}
}

func TestShareOfVoice(t *testing.T) {
	// A has 3 items, B has 2, all 10 s: A0 B0 A1 B1 A2 B0, 60 s.
	rules := []marquee.Rule{
		{ScheduleID: "sch_b", Playlist: ref("B"), Layer: marquee.LayerCampaign, StartsOn: "2025-06-02"},
		{ScheduleID: "sch_a", Playlist: ref("A"), Layer: marquee.LayerCampaign, StartsOn: "2025-06-02"},
		{ScheduleID: "sch_n", Playlist: ref("N"), Layer: marquee.LayerNormal},
	}
	p := mustCompile(t, stateOf(rules, playlistOf("B", 10, 10), playlistOf("A", 10, 10, 10), playlistOf("N", 10)))
	anchor := at(hcm, "2025-06-02 00:00:00")
	want := []struct {
		playlist string
		item     int
	}{{"A", 0}, {"B", 0}, {"A", 1}, {"B", 1}, {"A", 2}, {"B", 0}, {"A", 0}, {"B", 0}, {"A", 1}}
	for k, w := range want {
		tt := anchor.Add(time.Duration(k)*10*time.Second + 3*time.Second)
		got := summarize(p.At(tt))
		exp := summary{Kind: ReasonSchedule, ScheduleID: "sch_" + strings.ToLower(w.playlist), Playlist: w.playlist, Item: w.item,
			Start: tt.Add(-3 * time.Second).UTC(), Offset: 3 * time.Second, Next: tt.Add(7 * time.Second).UTC()}
		if d := cmp.Diff(exp, got); d != "" {
			t.Fatalf("slot %d (-want +got):\n%s", k, d)
		}
	}

	// Unequal durations, and the anchor is the latest window start: A (10,
	// 20, 30 s) all day, B (5 s) from 08:00. Loop: A0 [0,10) B0 [10,15)
	// A1 [15,35) B0 [35,40) A2 [40,70) B0 [70,75).
	rules[0].StartsOn, rules[0].Cron, rules[0].DurationMS = "", "0 8 * * *", 2*3600e3
	p = mustCompile(t, stateOf(rules, playlistOf("B", 5), playlistOf("A", 10, 20, 30), playlistOf("N", 10)))
	anchor = at(hcm, "2025-06-02 08:00:00")
	for _, tt := range []struct {
		pos      time.Duration
		playlist string
		item     int
		offset   time.Duration
	}{
		{0, "A", 0, 0}, {12 * time.Second, "B", 0, 2 * time.Second}, {34 * time.Second, "A", 1, 19 * time.Second},
		{40 * time.Second, "A", 2, 0}, {74 * time.Second, "B", 0, 4 * time.Second}, {75 * time.Second, "A", 0, 0},
		{75*time.Second*48 + 36*time.Second, "B", 0, time.Second},
	} {
		n := p.At(anchor.Add(tt.pos))
		if got, want := n.Playlist.PlaylistID, tt.playlist; got != want {
			t.Fatalf("pos %v: playlist %s, want %s", tt.pos, got, want)
		}
		if got, want := n.ItemIndex, tt.item; got != want {
			t.Fatalf("pos %v: item %d, want %d", tt.pos, got, want)
		}
		if got, want := n.Offset, tt.offset; got != want {
			t.Fatalf("pos %v: offset %v, want %v", tt.pos, got, want)
		}
	}
}

func TestLoopPosition(t *testing.T) {
	// All day from 2025-06-05 local (2025-06-04 17:00 UTC); items 10, 20, 30 s.
	rules := []marquee.Rule{{ScheduleID: "sch_1", Playlist: ref("P"), Layer: marquee.LayerNormal, StartsOn: "2025-06-05"}}
	p := mustCompile(t, stateOf(rules, playlistOf("P", 10, 20, 30)))
	tests := []struct {
		t    time.Time
		want summary
	}{
		{utc("2025-06-04T17:00:00Z"), summary{ReasonSchedule, "sch_1", "P", 0, utc("2025-06-04T17:00:00Z"), 0, utc("2025-06-04T17:00:10Z")}},
		{utc("2025-06-04T18:00:25Z"), summary{ReasonSchedule, "sch_1", "P", 1, utc("2025-06-04T18:00:10Z"), 15 * time.Second, utc("2025-06-04T18:00:30Z")}},
		{utc("2025-06-04T18:00:59.5Z"), summary{ReasonSchedule, "sch_1", "P", 2, utc("2025-06-04T18:00:30Z"), 29500 * time.Millisecond, utc("2025-06-04T18:01:00Z")}},
		{utc("2025-06-05T17:00:00Z"), summary{ReasonSchedule, "sch_1", "P", 0, utc("2025-06-05T17:00:00Z"), 0, utc("2025-06-05T17:00:10Z")}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, summarize(p.At(tt.t))); d != "" {
			t.Fatalf("At(%v) (-want +got):\n%s", tt.t, d)
		}
	}
}

func TestItemValidity(t *testing.T) {
	anchor := at(hcm, "2025-06-02 00:00:00")
	until := anchor.Add(25 * time.Second) // item 1 expires mid-loop
	from := anchor.Add(time.Hour)         // item 3 starts later
	pl := playlistOf("P", 10, 10, 10, 10)
	pl.Items[1].ValidUntil = &until
	pl.Items[3].ValidFrom = &from
	rules := []marquee.Rule{{ScheduleID: "sch_1", Playlist: ref("P"), Layer: marquee.LayerNormal, StartsOn: "2025-06-02"}}
	p := mustCompile(t, stateOf(rules, pl))
	tests := []struct {
		after  time.Duration
		item   int
		offset time.Duration
		next   time.Duration
	}{
		{15 * time.Second, 1, 5 * time.Second, 20 * time.Second}, // items 0 1 2: 30 s loop
		{22 * time.Second, 2, 2 * time.Second, 25 * time.Second}, // Next: item 1 expires
		{25 * time.Second, 0, 5 * time.Second, 30 * time.Second}, // items 0 2: 20 s loop, 25 mod 20 = 5
		{35 * time.Second, 2, 5 * time.Second, 40 * time.Second},
		{time.Hour - 5*time.Second, 2, 5 * time.Second, time.Hour}, // 3595 mod 20 = 15
		{time.Hour, 0, 0, time.Hour + 10*time.Second},              // items 0 2 3: 3600 mod 30 = 0
		{time.Hour + 25*time.Second, 3, 5 * time.Second, time.Hour + 30*time.Second},
	}
	for _, tt := range tests {
		n := p.At(anchor.Add(tt.after))
		if got, want := n.ItemIndex, tt.item; got != want {
			t.Fatalf("+%v: item %d, want %d", tt.after, got, want)
		}
		if got, want := n.Offset, tt.offset; got != want {
			t.Fatalf("+%v: offset %v, want %v", tt.after, got, want)
		}
		if got, want := n.Next.Sub(anchor), tt.next; got != want {
			t.Fatalf("+%v: next +%v, want +%v", tt.after, got, want)
		}
	}
}

func TestFallbackAndBlack(t *testing.T) {
	// The fallback loops from the Unix epoch: items 7 s and 24 s, a 31 s
	// loop; 2025-06-03T00:00:00Z is 1748908800 s, 28 mod 31.
	rule := marquee.Rule{ScheduleID: "sch_1", Playlist: ref("P"), Layer: marquee.LayerNormal, Cron: "0 7 * * *", DurationMS: 3600e3} // 00:00 UTC
	st := stateOf([]marquee.Rule{rule}, playlistOf("P", 10), playlistOf("F", 7, 24))
	st.Fallback = &marquee.PlaylistRef{PlaylistID: "F", Revision: 1}
	p := mustCompile(t, st)
	tests := []struct {
		t    time.Time
		want summary
	}{
		{utc("2025-06-02T23:59:50Z"), summary{ReasonFallback, "", "F", 1, utc("2025-06-02T23:59:39Z"), 11 * time.Second, utc("2025-06-03T00:00:00Z")}},
		{utc("2025-06-02T23:59:35Z"), summary{ReasonFallback, "", "F", 0, utc("2025-06-02T23:59:32Z"), 3 * time.Second, utc("2025-06-02T23:59:39Z")}},
		{utc("2025-06-03T00:00:00Z"), summary{ReasonSchedule, "sch_1", "P", 0, utc("2025-06-03T00:00:00Z"), 0, utc("2025-06-03T00:00:10Z")}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, summarize(p.At(tt.t))); d != "" {
			t.Fatalf("At(%v) (-want +got):\n%s", tt.t, d)
		}
	}
	if got, want := p.At(utc("2025-06-02T23:59:50Z")).Layer, marquee.LayerFallback; got != want {
		t.Fatalf("fallback layer %q, want %q", got, want)
	}

	// No fallback: black until the rule starts.
	st.Fallback = nil
	n := mustCompile(t, st).At(utc("2025-06-02T23:59:50Z"))
	want := Now{ItemIndex: -1, Start: utc("2025-06-02T23:59:50Z"), End: utc("2025-06-03T00:00:00Z"), Next: utc("2025-06-03T00:00:00Z"), Reason: Reason{Kind: ReasonIdle}}
	if d := cmp.Diff(want, n); d != "" {
		t.Fatalf("black (-want +got):\n%s", d)
	}

	// A fallback with nothing valid is black too, until its item is valid.
	valid := utc("2025-06-02T23:59:55Z")
	f := playlistOf("F", 7)
	f.Items[0].ValidFrom = &valid
	st = stateOf([]marquee.Rule{rule}, playlistOf("P", 10), f)
	st.Fallback = &marquee.PlaylistRef{PlaylistID: "F", Revision: 1}
	n = mustCompile(t, st).At(utc("2025-06-02T23:59:50Z"))
	if got, want := summarize(n), (summary{ReasonIdle, "", "", -1, utc("2025-06-02T23:59:50Z"), 0, valid}); got != want {
		t.Fatalf("black fallback: %+v, want %+v", got, want)
	}
}

func TestTimelineExample(t *testing.T) {
	// Normal all day (20 s items); a takeover 10:00-10:01 local cuts in.
	rules := []marquee.Rule{
		{ScheduleID: "sch_n", Playlist: ref("N"), Layer: marquee.LayerNormal},
		{ScheduleID: "sch_t", Playlist: ref("T"), Layer: marquee.LayerTakeover, Cron: "0 10 * * *", DurationMS: 60e3},
	}
	p := mustCompile(t, stateOf(rules, playlistOf("N", 20, 20), playlistOf("T", 25)))
	from, to := at(hcm, "2025-06-02 09:59:50"), at(hcm, "2025-06-02 10:01:30")
	got, truncated := p.Timeline(from, to, 0)
	e := func(start, end string, pl string, item int) Entry {
		x := Entry{Start: at(hcm, "2025-06-02 "+start).UTC(), End: at(hcm, "2025-06-02 "+end).UTC(), ItemIndex: item,
			Playlist: &marquee.PlaylistRef{PlaylistID: pl, Revision: 1}, MediaID: pl + "-" + string(rune('0'+item))}
		x.SHA256 = "sha-" + x.MediaID
		if pl == "N" {
			x.Layer, x.Reason = marquee.LayerNormal, Reason{ReasonSchedule, "sch_n"}
		} else {
			x.Layer, x.Reason = marquee.LayerTakeover, Reason{ReasonSchedule, "sch_t"}
		}
		return x
	}
	want := []Entry{
		e("09:59:50", "10:00:00", "N", 1), // the normal loop runs from the epoch (no StartsOn): 40 s
		e("10:00:00", "10:00:25", "T", 0),
		e("10:00:25", "10:00:50", "T", 0),
		e("10:00:50", "10:01:00", "T", 0), // cut by the window's end
		e("10:01:00", "10:01:20", "N", 1), // resumes where the clock says
		e("10:01:20", "10:01:30", "N", 0), // clipped to to
	}
	if d := cmp.Diff(want, got); d != "" || truncated {
		t.Fatalf("timeline (-want +got), truncated=%v:\n%s", truncated, d)
	}
	got, truncated = p.Timeline(from, to, 2)
	if d := cmp.Diff(want[:2], got); d != "" || !truncated {
		t.Fatalf("limited timeline (-want +got), truncated=%v:\n%s", truncated, d)
	}
	if got, truncated := p.Timeline(to, from, 0); got != nil || truncated {
		t.Fatalf("empty range: %v, %v", got, truncated)
	}
	ref, _ := stepTimeline(p, from, to, 0)
	if d := cmp.Diff(ref, want); d != "" {
		t.Fatalf("stepping At (-want +got):\n%s", d)
	}
}

func TestCompileErrors(t *testing.T) {
	good := func() *marquee.DesiredState {
		return stateOf([]marquee.Rule{{ScheduleID: "sch_x", Name: "Sáng thứ 2", Playlist: ref("P"), Layer: marquee.LayerNormal, Cron: "0 7 * * 1", DurationMS: 3600e3}}, playlistOf("P", 10))
	}
	tests := []struct {
		name   string
		change func(*marquee.DesiredState)
		want   string
	}{
		{"cron", func(s *marquee.DesiredState) { s.Rules[0].Cron = "0 7 * *" }, `rule "Sáng thứ 2" (sch_x): cron "0 7 * *": expected 5 fields`},
		{"zone", func(s *marquee.DesiredState) { s.Rules[0].Timezone = "Asia/Hanoi_City" }, `rule "Sáng thứ 2" (sch_x): timezone "Asia/Hanoi_City" is not a known IANA zone`},
		{"playlist", func(s *marquee.DesiredState) { s.Rules[0].Playlist.Revision = 2 }, `rule "Sáng thứ 2" (sch_x): playlist P@2 is not in the state`},
		{"duration", func(s *marquee.DesiredState) { s.Rules[0].DurationMS = 0 }, `needs a positive duration_ms`},
		{"twice", func(s *marquee.DesiredState) { p := playlistOf("P", 11); s.Playlists = append(s.Playlists, p) }, `playlist P@1 is listed twice with different items`},
		{"validate", func(s *marquee.DesiredState) { s.Format = 99 }, `state format 99 is not supported`},
		{"unnamed", func(s *marquee.DesiredState) {
			s.Rules[0].Name, s.Rules[0].ScheduleID, s.Rules[0].Layer = "", "", "urgent"
		}, `rule 0: priority "urgent"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := good()
			tt.change(st)
			_, err := Compile(st)
			if got, want := marquee.ErrorCode(err), marquee.EINVALID; got != want {
				t.Fatalf("code %q (%v), want %q", got, err, want)
			}
			if got := marquee.ErrorMessage(err); !strings.Contains(got, tt.want) {
				t.Fatalf("message %q, want it to contain %q", got, tt.want)
			}
		})
	}
	if _, err := Compile(nil); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("nil state: %v", err)
	}
	// The same playlist listed twice, identically, is fine.
	st := good()
	st.Playlists = append(st.Playlists, playlistOf("P", 10))
	mustCompile(t, st)
}

func TestPlanDoesNotAliasState(t *testing.T) {
	st := stateOf([]marquee.Rule{{ScheduleID: "sch_1", Playlist: ref("P"), Layer: marquee.LayerNormal}}, playlistOf("P", 10, 10))
	p := mustCompile(t, st)
	tt := utc("2025-06-02T00:00:05Z")
	before, _ := json.Marshal(p.At(tt))
	st.Playlists[0].Items[0].DurationMS = 99_000
	st.Rules[0].Layer = marquee.LayerEmergency
	after, _ := json.Marshal(p.At(tt))
	if string(before) != string(after) {
		t.Fatalf("changing the state changed the plan:\n%s\n%s", before, after)
	}
	if a := p.Asset("sha-P-1"); a == nil || a.MediaID != "P-1" {
		t.Fatalf("Asset = %+v", a)
	}
	if a := p.Asset("nope"); a != nil {
		t.Fatalf("Asset(nope) = %+v, want nil", a)
	}
}

func TestAtDoesNotAllocate(t *testing.T) {
	rules := []marquee.Rule{
		{ScheduleID: "sch_a", Playlist: ref("A"), Layer: marquee.LayerCampaign, Cron: "*/5 * * * *", DurationMS: 3600e3},
		{ScheduleID: "sch_b", Playlist: ref("B"), Layer: marquee.LayerCampaign, StartsOn: "2025-01-01"},
		{ScheduleID: "sch_c", Playlist: ref("A"), Layer: marquee.LayerEmergency, Cron: "0 7 * * *", DurationMS: 3600e3, StartsOn: "2030-01-01"},
	}
	p := mustCompile(t, stateOf(rules, playlistOf("A", 10, 20), playlistOf("B", 5)))
	tt := utc("2025-06-02T03:04:05Z")
	if n := testing.AllocsPerRun(100, func() { p.At(tt) }); n != 0 {
		t.Fatalf("At allocates %v times", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	rules := []marquee.Rule{
		{ScheduleID: "sch_a", Playlist: ref("A"), Layer: marquee.LayerCampaign, Cron: "*/5 * * * *", DurationMS: 120e3},
		{ScheduleID: "sch_b", Playlist: ref("B"), Layer: marquee.LayerNormal},
	}
	p := mustCompile(t, stateOf(rules, playlistOf("A", 10, 20), playlistOf("B", 5, 7, 9)))
	from := utc("2025-06-02T00:00:00Z")
	want, _ := p.Timeline(from, from.Add(time.Hour), 0)
	done := make(chan []Entry)
	for range 4 {
		go func() {
			for i := range 100 {
				p.At(from.Add(time.Duration(i) * 37 * time.Second))
			}
			got, _ := p.Timeline(from, from.Add(time.Hour), 0)
			done <- got
		}()
	}
	for range 4 {
		if d := cmp.Diff(want, <-done); d != "" {
			t.Fatalf("concurrent Timeline differs:\n%s", d)
		}
	}
}
