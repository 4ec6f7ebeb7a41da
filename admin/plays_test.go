package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
)

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// playPage decodes a page of plays strictly into marquee.Play: the API
// uses exactly the wire field names.
type playPage struct {
	Items      []marquee.Play `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

func TestListPlays(t *testing.T) {
	fs := newFleetStack(t)
	base := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	var all []marquee.Play
	for i := range 30 {
		p := marquee.Play{
			ID: newUUID(), DisplayID: []string{"dsp_a", "dsp_b", "dsp_c"}[i%3], MediaID: []string{"med_x", "med_y"}[i%2],
			MediaSHA256: strings.Repeat("ab", 32), MediaName: "Tết", PlaylistID: "pls_a", PlaylistRevision: 2,
			ScheduleID: "sch_a", Reason: marquee.ReasonSchedule,
			StartedAt: base.Add(time.Duration(i/2) * time.Minute), // pairs share a start: the ID breaks ties
			PlannedMS: 10_000, PlayedMS: 10_000, Completed: true,
		}
		if i%4 == 0 {
			p.ScheduleID, p.Reason = "", marquee.ReasonFallback
		}
		p.EndedAt = p.StartedAt.Add(10 * time.Second)
		all = append(all, p)
	}
	if _, err := fs.db.InsertPlays(context.Background(), all, base); err != nil {
		t.Fatal(err)
	}
	newestFirst := func(keep func(marquee.Play) bool) []marquee.Play {
		var out []marquee.Play
		for _, p := range all {
			if keep(p) {
				out = append(out, p)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if !out[i].StartedAt.Equal(out[j].StartedAt) {
				return out[i].StartedAt.After(out[j].StartedAt)
			}
			return out[i].ID > out[j].ID
		})
		return out
	}
	from, to := base.Add(3*time.Minute), base.Add(9*time.Minute)
	for _, tt := range []struct {
		query string
		keep  func(marquee.Play) bool
	}{
		{"", func(marquee.Play) bool { return true }},
		{"display_id=dsp_b", func(p marquee.Play) bool { return p.DisplayID == "dsp_b" }},
		{"media_id=med_y", func(p marquee.Play) bool { return p.MediaID == "med_y" }},
		{"schedule_id=sch_a", func(p marquee.Play) bool { return p.ScheduleID == "sch_a" }},
		{"from=" + url.QueryEscape(from.In(time.FixedZone("ICT", 7*3600)).Format(time.RFC3339)) + "&to=" + to.Format(time.RFC3339),
			func(p marquee.Play) bool { return !p.StartedAt.Before(from) && p.StartedAt.Before(to) }},
		// An unescaped + in the offset arrives as a space, and is forgiven.
		{"display_id=dsp_a&media_id=med_x&from=" + from.In(time.FixedZone("ICT", 7*3600)).Format(time.RFC3339),
			func(p marquee.Play) bool {
				return p.DisplayID == "dsp_a" && p.MediaID == "med_x" && !p.StartedAt.Before(from)
			}},
		{"display_id=dsp_none", func(marquee.Play) bool { return false }},
	} {
		for _, limit := range []int{0, 4} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.query, limit), func(t *testing.T) {
				q := tt.query
				if limit > 0 {
					q += "&limit=" + fmt.Sprint(limit)
				}
				got := []marquee.Play{}
				for page := 0; ; page++ {
					if page > len(all) {
						t.Fatal("pagination does not end")
					}
					var p playPage
					mustDecodeStrict(t, fs.get("/api/v1/plays?"+q), http.StatusOK, &p)
					if p.Items == nil || (limit > 0 && len(p.Items) > limit) {
						t.Fatalf("page %d: %d items (nil %v), limit %d", page, len(p.Items), p.Items == nil, limit)
					}
					got = append(got, p.Items...)
					if p.NextCursor == "" {
						break
					}
					q = tt.query + "&limit=" + fmt.Sprint(limit) + "&cursor=" + p.NextCursor
				}
				want := newestFirst(tt.keep)
				if want == nil {
					want = []marquee.Play{}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("plays (-want +got):\n%s", diff)
				}
			})
		}
	}

	// Exactly the wire field names.
	resp := fs.get("/api/v1/plays?limit=1&schedule_id=sch_a")
	body, _ := io.ReadAll(resp.Body)
	var raw struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&raw); err != nil || len(raw.Items) != 1 {
		t.Fatalf("decode %s: %v", body, err)
	}
	var keys []string
	for k := range raw.Items[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"completed", "display_id", "ended_at", "id", "media_id", "media_name", "media_sha256",
		"planned_ms", "played_ms", "playlist_id", "playlist_revision", "reason", "schedule_id", "started_at"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("play fields (-want +got):\n%s", diff)
	}

	for _, q := range []string{
		"from=yesterday", "to=2026-13-01T00:00:00Z", "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
		"from=2026-03-01T00:00:00Z&to=2026-03-01T00:00:00Z", "limit=0", "limit=501", "limit=ten", "cursor=!!!",
		"cursor=" + url.QueryEscape("bm90LWEtY3Vyc29y"), "display_id=" + strings.Repeat("d", 129),
	} {
		wantError(t, fs.get("/api/v1/plays?"+q), http.StatusBadRequest, "invalid")
	}
	wantError(t, fs.do(http.MethodGet, "/api/v1/plays", nil, map[string]string{"Authorization": ""}), http.StatusUnauthorized, "unauthorized")
}
