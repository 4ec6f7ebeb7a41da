package player

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	marquee "github.com/marquee-signage/marquee"
)

// FuzzDecodeState feeds decodeState what a player receives as its desired
// state (retained over MQTT, polled over HTTP, or read back from disk). It
// must never panic, and a panic the resolver's recover would hide is a
// failure too. An error names one of the drop reasons. An accepted state
// is for this display, passes Validate, plays only what its manifest lists,
// and survives a round trip through JSON unchanged.
func FuzzDecodeState(f *testing.F) {
	const id = "dsp_A"
	if b, err := os.ReadFile("../desired/testdata/state.golden.json"); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"format":1,"display_id":"dsp_A","revision":1,"display":{"name":"A","width":64,"height":32,"timezone":"Asia/Ho_Chi_Minh"},"rules":[],"playlists":[],"media":[],"settings":{}}`,
		`{"format":1,"display_id":"dsp_A","revision":2,"display":{"timezone":"Europe/Berlin"},` +
			`"rules":[{"schedule_id":"s","playlist":{"playlist_id":"p","revision":1},"priority":"normal","cron":"30 2 * * *","duration_ms":3600000,"timezone":"Europe/Berlin"}],` +
			`"playlists":[{"playlist_id":"p","revision":1,"items":[{"media_id":"m","sha256":"h","duration_ms":5000,"fit":"fill","valid_from":"2025-01-01T00:00:00+07:00"}]}],` +
			`"media":[{"sha256":"h","media_id":"m","kind":"image","url":"/x"}],"fallback":{"playlist_id":"p","revision":1},"settings":{"brightness":50}}`,
		`{"format":1,"display_id":"dsp_A","rules":[{"playlist":{"playlist_id":"p","revision":1},"priority":"emergency","cron":"TZ=0","duration_ms":1}],"playlists":[{"playlist_id":"p","revision":1,"items":[]}]}`,
		`{"format":1,"display_id":"dsp_A","rules":[{"playlist":{"playlist_id":"p","revision":1},"priority":"normal","starts_on":"2025-02-30"}],"playlists":[{"playlist_id":"p","revision":1}]}`,
		`{"format":1,"display_id":"dsp_B"}`,
		`{"format":99,"display_id":"dsp_A"}`,
		`{"format":1.5}`, `{"display_id":"dsp_A"}`, `{}`, `[]`, `null`, `"`, ``,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2025, 3, 30, 0, 30, 0, 0, time.UTC) // Berlin's spring-forward night
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := decodeState(raw, id)
		if err != nil {
			if s != nil {
				t.Fatalf("decodeState returned a state and %v", err)
			}
			if strings.Contains(err.Error(), "panicked") {
				t.Fatalf("the scheduler panicked: %v", err)
			}
			if !errors.Is(err, errStateMalformed) && !errors.Is(err, errStateUnknownFormat) && !errors.Is(err, errStateInvalid) {
				t.Fatalf("error %v names no drop reason", err)
			}
			return
		}
		st := s.state
		if st.DisplayID != id || st.Format < 1 || st.Format > marquee.StateFormat {
			t.Fatalf("accepted a state for %q in format %d", st.DisplayID, st.Format)
		}
		if err := st.Validate(); err != nil {
			t.Fatalf("accepted a state that fails Validate: %v", err)
		}
		_, keep := s.manifest()
		for _, p := range st.Playlists {
			for _, it := range p.Items {
				if !keep[it.SHA256] {
					t.Fatalf("item %s is not in the manifest", it.SHA256)
				}
			}
		}
		for _, x := range []time.Time{at, at.Add(-90 * 24 * time.Hour), at.Add(365 * 24 * time.Hour)} {
			n := s.plan.At(x)
			if n.Start.After(x) || n.End.Before(x) {
				t.Fatalf("At(%v) = [%v, %v), which does not hold it", x, n.Start, n.End)
			}
			if n.Item != nil && s.plan.Asset(n.Item.SHA256) == nil {
				t.Fatalf("At(%v) plays %s, which is not in the manifest", x, n.Item.SHA256)
			}
		}
		s.plan.Timeline(at, at.Add(24*time.Hour), 50)

		again, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("marshal an accepted state: %v", err)
		}
		s2, err := decodeState(again, id)
		if err != nil {
			t.Fatalf("an accepted state, marshalled again, is refused: %v\n%s", err, again)
		}
		if diff := cmp.Diff(st, s2.state); diff != "" {
			t.Fatalf("round trip changed the state (-first +second):\n%s", diff)
		}
	})
}
