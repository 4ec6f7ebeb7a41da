package player_test

import (
	"context"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/player"
)

func TestHeadlessOutputRecords(t *testing.T) {
	clock := time.Date(2025, 6, 5, 12, 0, 0, 0, time.UTC)
	out := player.NewHeadlessOutput(nil, func() time.Time { return clock })
	var shows []time.Time
	out.OnShow = func(_ player.Item, at time.Time) { shows = append(shows, at) }
	ctx := context.Background()
	if cur, _ := out.Current(); cur != nil {
		t.Fatalf("current %+v before any show", cur)
	}
	out.Show(ctx, player.Item{MediaID: "m1", Offset: time.Second, Duration: 5 * time.Second})
	clock = clock.Add(4 * time.Second)
	out.Blank(ctx)
	clock = clock.Add(time.Second)
	out.Show(ctx, player.Item{MediaID: "m2"})

	ev := out.Events()
	if len(ev) != 3 || ev[0].Item.MediaID != "m1" || ev[1].Item != nil || ev[2].Item.MediaID != "m2" {
		t.Fatalf("events %+v", ev)
	}
	if got, want := ev[1].At.Sub(ev[0].At), 4*time.Second; got != want {
		t.Errorf("blank %v after the show, want %v", got, want)
	}
	if cur, since := out.Current(); cur == nil || cur.MediaID != "m2" || !since.Equal(clock) {
		t.Errorf("current %+v since %v", cur, since)
	}
	if len(shows) != 2 {
		t.Errorf("OnShow called %d times, want 2", len(shows))
	}
	if err := out.Close(); err != nil {
		t.Error(err)
	}
}
