package scheduler

import (
	"fmt"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// Instants used across tests. Asia/Ho_Chi_Minh is UTC+7 with no DST.
var (
	hcm    = mustZone("Asia/Ho_Chi_Minh")
	berlin = mustZone("Europe/Berlin")
	nyc    = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at returns the instant of a wall-clock time "2006-01-02 15:04:05" in loc.
func at(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// utc parses an RFC 3339 instant.
func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// neverTime is Now.Next when nothing can ever start.
var neverTime = timeOf(never)

// playlistOf builds a playlist revision 1 whose items last the given seconds;
// media IDs are "<id>-<i>".
func playlistOf(id string, secs ...int64) marquee.Playlist {
	p := marquee.Playlist{PlaylistID: id, Revision: 1, Name: id}
	for i, s := range secs {
		m := fmt.Sprintf("%s-%d", id, i)
		p.Items = append(p.Items, marquee.PlaylistItem{MediaID: m, SHA256: "sha-" + m, DurationMS: s * 1000, Fit: "cover"})
	}
	return p
}

func ref(id string) marquee.PlaylistRef { return marquee.PlaylistRef{PlaylistID: id, Revision: 1} }

// stateOf builds a valid state from rules and playlists, with a manifest
// entry for every item.
func stateOf(rules []marquee.Rule, pls ...marquee.Playlist) *marquee.DesiredState {
	st := &marquee.DesiredState{Format: marquee.StateFormat, DisplayID: "dsp_1", Revision: 1, Rules: rules, Playlists: pls}
	seen := map[string]bool{}
	for _, p := range pls {
		for _, it := range p.Items {
			if !seen[it.SHA256] {
				seen[it.SHA256] = true
				st.Media = append(st.Media, marquee.MediaAsset{SHA256: it.SHA256, MediaID: it.MediaID, Name: it.MediaID, Kind: "image", MIME: "image/png", Size: 1, Width: 192, Height: 96, URL: "/media/" + it.SHA256})
			}
		}
	}
	return st
}

func mustCompile(t testing.TB, st *marquee.DesiredState) *Plan {
	t.Helper()
	p, err := Compile(st)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

// summary is the part of Now most tests look at.
type summary struct {
	Kind       string
	ScheduleID string
	Playlist   string // playlist ID; "" when black
	Item       int
	Start      time.Time
	Offset     time.Duration
	Next       time.Time
}

func summarize(n Now) summary {
	s := summary{Kind: n.Reason.Kind, ScheduleID: n.Reason.ScheduleID, Item: n.ItemIndex, Start: n.Start.UTC(), Offset: n.Offset, Next: n.Next.UTC()}
	if n.Playlist != nil {
		s.Playlist = n.Playlist.PlaylistID
	}
	return s
}

// stepTimeline is the reference Timeline: At stepped from Next to Next,
// consecutive answers for the same slot (or black) merged.
func stepTimeline(p *Plan, from, to time.Time, limit int) ([]Entry, bool) {
	var out []Entry
	var last Now
	for t := from; t.Before(to); {
		n := p.At(t)
		end := n.Next
		if end.After(to) {
			end = to
		}
		same := len(out) > 0 && n.Reason == last.Reason && n.Layer == last.Layer && n.ItemIndex == last.ItemIndex &&
			(n.Reason.Kind == ReasonIdle || n.Playlist == last.Playlist && n.Start.Equal(last.Start) && n.End.Equal(last.End))
		switch {
		case same:
			out[len(out)-1].End = end.UTC()
		case limit > 0 && len(out) == limit:
			return out, true
		default:
			e := Entry{Start: t.UTC(), End: end.UTC(), ItemIndex: n.ItemIndex, Layer: n.Layer, Reason: n.Reason, Playlist: n.Playlist}
			if n.Item != nil {
				e.MediaID, e.SHA256 = n.Item.MediaID, n.Item.SHA256
			}
			out = append(out, e)
		}
		last = n
		t = n.Next
	}
	return out, false
}
