package reports_test

import (
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/reports"
)

// TestPlannedMS: a campaign on 07:00–17:00 every day, preempted by an
// emergency 12:00–13:00 on one day, over two days (one split across the
// resolver's daily chunks).
func TestPlannedMS(t *testing.T) {
	pl := func(id string) marquee.Playlist {
		return marquee.Playlist{PlaylistID: id, Revision: 1, Name: id, Items: []marquee.PlaylistItem{
			{MediaID: id + "-0", SHA256: "sha-" + id, DurationMS: 7_000, Fit: "cover"}}}
	}
	st := &marquee.DesiredState{Format: marquee.StateFormat, DisplayID: "dsp_1", Revision: 1,
		Playlists: []marquee.Playlist{pl("camp"), pl("alert")},
		Rules: []marquee.Rule{
			{ScheduleID: "sch_camp", Name: "camp", Playlist: marquee.PlaylistRef{PlaylistID: "camp", Revision: 1},
				Layer: marquee.LayerCampaign, Cron: "0 7 * * *", DurationMS: 10 * 3600_000, Timezone: "Asia/Ho_Chi_Minh"},
			{ScheduleID: "sch_alert", Name: "alert", Playlist: marquee.PlaylistRef{PlaylistID: "alert", Revision: 1},
				Layer: marquee.LayerEmergency, Cron: "0 12 * * *", DurationMS: 3600_000, StartsOn: "2025-06-01", EndsOn: "2025-06-01",
				Timezone: "Asia/Ho_Chi_Minh"},
		}}
	for _, id := range []string{"camp", "alert"} {
		st.Media = append(st.Media, marquee.MediaAsset{SHA256: "sha-" + id, MediaID: id + "-0", Name: id, Kind: "image",
			MIME: "image/png", Size: 1, Width: 192, Height: 96, URL: "/media/sha-" + id})
	}
	ict := time.FixedZone("ICT", 7*3600)
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, ict)
	h := func(n int64) int64 { return n * 3600_000 }
	for _, tt := range []struct {
		schedule string
		from, to time.Time
		want     int64
	}{
		{"sch_camp", from, from.Add(48 * time.Hour), h(19)},
		{"sch_alert", from, from.Add(48 * time.Hour), h(1)},
		{"sch_camp", from.Add(8 * time.Hour), from.Add(9 * time.Hour), h(1)},
		{"sch_none", from, from.Add(48 * time.Hour), 0},
	} {
		got, err := reports.PlannedMS(st, tt.schedule, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PlannedMS(%s, %v–%v)=%d, want %d", tt.schedule, tt.from, tt.to, got, tt.want)
		}
	}
	bad := *st
	bad.Rules = []marquee.Rule{{ScheduleID: "sch_x", Playlist: marquee.PlaylistRef{PlaylistID: "missing", Revision: 1}, Timezone: "UTC"}}
	if _, err := reports.PlannedMS(&bad, "sch_x", from, from.Add(time.Hour)); err == nil {
		t.Error("a state the resolver refuses gave no error")
	}
}
