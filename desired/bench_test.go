package desired_test

import (
	"fmt"
	"image/color"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// BenchmarkFanOut measures rebuilding the states of 1,000 displays (one
// tag, two screen sizes, half with a fallback playlist) that one schedule
// reaches: one by one (State per display, as the fleet publisher did)
// against one batch (States), in the same run, on SQLite.
//
//	changed:   the schedule's playlist was switched before each rebuild, so
//	           every state gets a new revision (the fan-out of one change);
//	unchanged: nothing changed (the periodic sweep).
//
// When the store reads and saves states in bulk (desired.StatesFinder,
// StatesSaver), "batch, one-row state I/O" is the batch without those two.
// ns/display is the time per display; ns/op the time for all 1,000.
//
//	go test ./desired/ -run '^$' -bench FanOut -benchtime 20x -count 3
func BenchmarkFanOut(b *testing.B) {
	const n = 1000
	f := newFixture(b)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	blue := f.png("Xanh", color.NRGBA{B: 255, A: 255}, 64, 32)
	green := f.png("Lục", color.NRGBA{G: 255, A: 255}, 64, 32)
	pls := []*playlists.Playlist{
		f.playlist("Chiến dịch A", playlists.Item{MediaID: red.ID, Fit: "fit"}, playlists.Item{MediaID: blue.ID, DurationMS: 8000}),
		f.playlist("Chiến dịch B", playlists.Item{MediaID: blue.ID}, playlists.Item{MediaID: red.ID, Fit: "stretch"}),
	}
	fb := f.playlist("Mặc định", playlists.Item{MediaID: green.ID})
	ids := make([]string, n)
	for i := range ids {
		in := displays.Input{OrgID: "org_root", Name: fmt.Sprintf("Màn hình %d", i), Width: 192, Height: 96, Tags: []string{"fleet"}}
		if i%2 == 1 {
			in.Width, in.Height, in.FallbackPlaylistID = 384, 192, fb.ID
		}
		d, _, err := f.displays.Create(f.ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = d.ID
	}
	in := schedules.Input{OrgID: "org_root", Name: "Chiến dịch", PlaylistID: pls[0].ID, Targets: schedules.Targets{Tags: []string{"fleet"}},
		Cron: "0 7 * * *", Duration: 12 * time.Hour, StartsOn: "2025-06-01", EndsOn: "2025-12-31", Priority: marquee.LayerCampaign}
	sc, _, err := f.schedules.Create(f.ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	f.builder.States(f.ctx, ids)
	flip := 0
	change := func() {
		flip ^= 1
		in.PlaylistID = pls[flip].ID
		if _, _, err := f.schedules.Update(f.ctx, sc.ID, in); err != nil {
			b.Fatal(err)
		}
	}
	modes := []struct {
		name    string
		rebuild func() (changed int)
	}{
		{"one-by-one", func() (changed int) {
			for _, id := range ids {
				_, ch, err := f.builder.State(f.ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				if ch {
					changed++
				}
			}
			return changed
		}},
		{"batch", func() (changed int) {
			for _, r := range f.builder.States(f.ctx, ids) {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				if r.Changed {
					changed++
				}
			}
			return changed
		}},
	}
	bulk := func(name string, iface bool) string {
		if iface {
			return name
		}
		return "no " + name
	}
	_, rs := any(f.db).(desired.SchedulesFinder)
	_, fs := any(f.db).(desired.StatesFinder)
	_, ss := any(f.db).(desired.StatesSaver)
	b.Logf("store: %s, %s, %s", bulk("FindSchedulesReaching", rs), bulk("FindDisplayStates", fs), bulk("SaveDisplayStates", ss))
	if fs && ss && rs {
		oneRow := desired.NewBuilder(oneRowStates{any(f.db).(desiredBulkStore)}, f.lib, admin.URLs{}, desired.Config{Now: func() time.Time { return f.now }})
		modes = append(modes, struct {
			name    string
			rebuild func() (changed int)
		}{"batch, one-row state I/O", func() (changed int) {
			for _, r := range oneRow.States(f.ctx, ids) {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				if r.Changed {
					changed++
				}
			}
			return changed
		}})
	}
	for _, changing := range []bool{true, false} {
		name, want := "changed", n
		if !changing {
			name, want = "unchanged", 0
		}
		for _, m := range modes {
			b.Run(name+"/"+m.name, func(b *testing.B) {
				for b.Loop() {
					if changing {
						b.StopTimer()
						change()
						b.StartTimer()
					}
					if got := m.rebuild(); got != want {
						b.Fatalf("%d states changed, want %d", got, want)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/display")
			})
		}
	}
}

// oneRowStates is the store with every bulk method a Batch uses but
// FindDisplayStates and SaveDisplayStates.
type oneRowStates struct{ desiredBulkStore }

type desiredBulkStore interface {
	desired.Store
	desired.DisplaysFinder
	desired.SchedulesFinder
}
