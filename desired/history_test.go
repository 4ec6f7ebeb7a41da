package desired_test

import (
	"image/color"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/reports"
	"github.com/marquee-signage/marquee/schedules"
)

// TestStatesOverHistory: a schedule that played all day, then was edited to
// mornings only, is planned over a past period with the state the display
// had at each moment: today's version only before the first recorded
// state, the all-day state until the edit, the mornings-only one after.
func TestStatesOverHistory(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	pl := f.playlist("A", playlists.Item{MediaID: red.ID})
	d := f.display("Sân bay", 192, 96, "airport")
	sc := f.schedule(schedules.Input{Name: "Sân bay", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}}})
	ict := time.FixedZone("ICT", 7*3600)
	f.now = time.Date(2025, 6, 10, 10, 0, 0, 0, ict)
	f.state(d.ID) // revision 1, all day, from 10 June 10:00
	f.now = time.Date(2025, 6, 12, 10, 0, 0, 0, ict)
	if _, _, err := f.schedules.Update(f.ctx, sc.ID, schedules.Input{Name: "Sân bay buổi sáng", PlaylistID: pl.ID,
		Targets: schedules.Targets{Tags: []string{"airport"}}, Cron: "0 6 * * *", Duration: 4 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.state(d.ID); st.Revision != 2 { // mornings only, from 12 June 10:00
		t.Fatalf("revision after the edit = %d, want 2", st.Revision)
	}
	f.now = time.Date(2025, 6, 15, 10, 0, 0, 0, ict)

	from, to := time.Date(2025, 6, 10, 0, 0, 0, 0, ict), time.Date(2025, 6, 15, 0, 0, 0, 0, ict)
	spans, err := f.builder.StatesOver(f.ctx, d.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	wantEdges := []time.Time{from, time.Date(2025, 6, 10, 10, 0, 0, 0, ict), time.Date(2025, 6, 12, 10, 0, 0, 0, ict), to}
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3: %+v", len(spans), spans)
	}
	var planned time.Duration
	for i, sp := range spans {
		if !sp.From.Equal(wantEdges[i]) || !sp.To.Equal(wantEdges[i+1]) {
			t.Errorf("span %d = %s..%s, want %s..%s", i, sp.From, sp.To, wantEdges[i], wantEdges[i+1])
		}
		ms, err := reports.PlannedMS(sp.State, sc.ID, sp.From, sp.To)
		if err != nil {
			t.Fatal(err)
		}
		planned += time.Duration(ms) * time.Millisecond
	}
	// 10 June 06–10 (today's version, before the first state), all day
	// from 10 June 10:00 to 12 June 10:00, then the mornings of 13 and
	// 14 June.
	if want := 4*time.Hour + 48*time.Hour + 8*time.Hour; planned != want {
		t.Errorf("planned %s, want %s", planned, want)
	}
	// Today's version alone would plan five mornings.
	st, err := f.builder.BuildAt(f.ctx, d.ID, from)
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := reports.PlannedMS(st, sc.ID, from, to); time.Duration(ms)*time.Millisecond != 20*time.Hour {
		t.Errorf("today's version plans %s, want 20h", time.Duration(ms)*time.Millisecond)
	}
}
