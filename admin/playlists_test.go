package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/media"
)

// playlistJSON is a playlist as the API answers it.
type playlistJSON struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"organisation_id"`
	Name       string     `json:"name"`
	Revision   int64      `json:"revision"`
	Items      []itemJSON `json:"items"`
	DurationMS int64      `json:"duration_ms"`
	CreatedBy  string     `json:"created_by"`
	RevisedBy  string     `json:"revised_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

type itemJSON struct {
	MediaID    string     `json:"media_id"`
	DurationMS int64      `json:"duration_ms"`
	Fit        string     `json:"fit"`
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
}

type playlistPage struct {
	Items      []playlistJSON `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// mustDecodeStrict is mustDecode that also refuses fields v does not
// know, so the tests notice any field the API adds or renames.
func mustDecodeStrict(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status=%d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// mustCreatePlaylist posts body and returns the created playlist.
func (s *stack) mustCreatePlaylist(body any) playlistJSON {
	s.t.Helper()
	var p playlistJSON
	mustDecodeStrict(s.t, s.doJSON(http.MethodPost, "/api/v1/playlists", body), http.StatusCreated, &p)
	return p
}

func (s *stack) mustUploadClip() media.Item {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "media", "testdata", "clip.mp4"))
	if err != nil {
		s.t.Fatalf("sample clip: %v", err)
	}
	return s.mustUpload("clip", "", data)
}

func TestCreatePlaylistDefaults(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	img := s.mustUpload("banner", "", mustJPEG(t, 32, 16, 1))
	clip := s.mustUploadClip()
	if clip.Kind != media.KindVideo || clip.DurationMS != 2000 {
		t.Fatalf("clip = %s of %d ms, want a 2000 ms video", clip.Kind, clip.DurationMS)
	}

	resp := s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{
		"name": "  Sảnh chính  ",
		"items": []map[string]any{
			{"media_id": img.ID},
			{"media_id": clip.ID},
			{"media_id": img.ID, "duration_ms": 5000, "fit": "stretch",
				"valid_from": "2026-03-01T08:00:00+07:00", "valid_until": "2026-03-08T00:00:00.5Z"},
			{"media_id": clip.ID, "duration_ms": 60000, "fit": "fit", "valid_from": nil, "valid_until": ""},
		},
	})
	var p playlistJSON
	mustDecodeStrict(t, resp, http.StatusCreated, &p)
	if got, want := resp.Header.Get("Location"), "/api/v1/playlists/"+p.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if !strings.HasPrefix(p.ID, "pls_") || p.Revision != 1 || p.Name != "Sảnh chính" || p.OrgID != auth.RootOrgID {
		t.Errorf("playlist = %+v, want pls_… revision 1 named %q in %s", p, "Sảnh chính", auth.RootOrgID)
	}
	if p.CreatedBy == "" || p.RevisedBy != p.CreatedBy || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("created_by %q revised_by %q created_at %v updated_at %v", p.CreatedBy, p.RevisedBy, p.CreatedAt, p.UpdatedAt)
	}
	from := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	until := time.Date(2026, 3, 8, 0, 0, 0, 500e6, time.UTC)
	want := []itemJSON{
		{MediaID: img.ID, DurationMS: 10_000, Fit: "fill"}, // image default
		{MediaID: clip.ID, DurationMS: 2000, Fit: "fill"},  // the clip's own length
		{MediaID: img.ID, DurationMS: 5000, Fit: "stretch", ValidFrom: &from, ValidUntil: &until},
		{MediaID: clip.ID, DurationMS: 60_000, Fit: "fit"},
	}
	if diff := cmp.Diff(want, p.Items); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
	if p.DurationMS != 77_000 {
		t.Errorf("duration_ms = %d, want 77000", p.DurationMS)
	}

	// Times are answered in UTC; absent windows as null.
	raw, _ := io.ReadAll(s.get("/api/v1/playlists/" + p.ID).Body)
	for _, frag := range []string{`"valid_from":"2026-03-01T01:00:00Z"`, `"valid_until":"2026-03-08T00:00:00.5Z"`, `"valid_from":null`} {
		if !bytes.Contains(raw, []byte(frag)) {
			t.Errorf("GET body lacks %s: %s", frag, raw)
		}
	}
	var got playlistJSON
	mustDecodeStrict(t, s.get(resp.Header.Get("Location")), http.StatusOK, &got)
	if diff := cmp.Diff(p, got); diff != "" {
		t.Fatalf("GET differs from the POST answer (-post +get):\n%s", diff)
	}

	// An empty playlist is allowed, with or without "items".
	for _, body := range []map[string]any{{"name": "empty", "items": []any{}}, {"name": "bare"}} {
		e := s.mustCreatePlaylist(body)
		if e.Items == nil || len(e.Items) != 0 || e.DurationMS != 0 {
			t.Errorf("empty playlist = %+v, want items [] and duration 0", e)
		}
	}
}

func TestCreatePlaylistInvalid(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	img := s.mustUpload("banner", "", mustJPEG(t, 32, 16, 1))
	ok := map[string]any{"media_id": img.ID}
	items := func(its ...map[string]any) []map[string]any { return its }
	many := make([]map[string]any, 1001)
	for i := range many {
		many[i] = ok
	}
	for _, tc := range []struct {
		name string
		body any
		want string // part of the message
	}{
		{"no name", map[string]any{"items": items(ok)}, "name is required"},
		{"blank name", map[string]any{"name": " \t ", "items": items(ok)}, "name is required"},
		{"long name", map[string]any{"name": strings.Repeat("n", 256)}, "at most 255"},
		{"unknown field", map[string]any{"name": "x", "loop": true}, `unknown field "loop"`},
		{"unknown item field", map[string]any{"name": "x", "items": items(ok, map[string]any{"media_id": img.ID, "volume": 3})}, `unknown field "volume"`},
		{"items not an array", map[string]any{"name": "x", "items": "a,b"}, "must be an array"},
		{"too many items", map[string]any{"name": "x", "items": many}, "at most 1000 items"},
		{"unknown media", map[string]any{"name": "x", "items": items(ok, ok, ok, map[string]any{"media_id": "med_x"})}, `item 3: media "med_x" does not exist`},
		{"no media_id", map[string]any{"name": "x", "items": items(ok, map[string]any{"duration_ms": 5000})}, "item 1: media_id is required"},
		{"short", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID, "duration_ms": 999})}, "item 0: duration_ms must be from 1000 to 86400000"},
		{"long", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID, "duration_ms": 86_400_001})}, "item 0: duration_ms"},
		{"negative", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID, "duration_ms": -1})}, "item 0: duration_ms"},
		{"fractional", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID, "duration_ms": 1500.5})}, "must be a number"},
		{"bad fit", map[string]any{"name": "x", "items": items(ok, map[string]any{"media_id": img.ID, "fit": "zoom"})}, "item 1: fit must be fill, fit or stretch"},
		{"window backwards", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID,
			"valid_from": "2026-03-02T00:00:00Z", "valid_until": "2026-03-01T00:00:00Z"})}, "item 0: valid_from must be before valid_until"},
		{"window empty", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID,
			"valid_from": "2026-03-01T07:00:00+07:00", "valid_until": "2026-03-01T00:00:00Z"})}, "item 0: valid_from must be before valid_until"},
		{"bad time", map[string]any{"name": "x", "items": items(ok, map[string]any{"media_id": img.ID, "valid_until": "tomorrow"})}, "item 1: valid_until must be an RFC 3339 time"},
		{"time without zone", map[string]any{"name": "x", "items": items(map[string]any{"media_id": img.ID, "valid_from": "2026-03-01T08:00:00"})}, "item 0: valid_from must be an RFC 3339 time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := wantError(t, s.doJSON(http.MethodPost, "/api/v1/playlists", tc.body), http.StatusBadRequest, "invalid")
			if !strings.Contains(env.Error.Message, tc.want) {
				t.Fatalf("message = %q, want it to contain %q", env.Error.Message, tc.want)
			}
		})
	}
	wantError(t, s.do(http.MethodPost, "/api/v1/playlists", strings.NewReader(`name=x`),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), http.StatusUnsupportedMediaType, "unsupported_media_type")

	var page playlistPage
	mustDecodeStrict(t, s.get("/api/v1/playlists"), http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Fatalf("refused requests created %d playlists", len(page.Items))
	}
}

func TestPlaylistRevisions(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	a := s.mustUpload("a", "", mustJPEG(t, 16, 16, 1))
	b := s.mustUpload("b", "", mustJPEG(t, 16, 16, 2))
	v1 := s.mustCreatePlaylist(map[string]any{"name": "Lobby", "items": []map[string]any{{"media_id": a.ID}}})
	path := "/api/v1/playlists/" + v1.ID

	// A change makes revision 2.
	s.clock.Add(time.Minute)
	var v2 playlistJSON
	mustDecodeStrict(t, s.doJSON(http.MethodPut, path, map[string]any{
		"name":  "Lobby",
		"items": []map[string]any{{"media_id": a.ID, "duration_ms": 4000}, {"media_id": b.ID, "fit": "fit"}},
	}), http.StatusOK, &v2)
	if v2.Revision != 2 || v2.ID != v1.ID || v2.DurationMS != 14_000 || !v2.CreatedAt.Equal(v1.CreatedAt) || !v2.UpdatedAt.After(v1.UpdatedAt) {
		t.Fatalf("after PUT: %+v, want revision 2, 14000 ms, same created_at, later updated_at", v2)
	}
	var cur playlistJSON
	mustDecodeStrict(t, s.get(path), http.StatusOK, &cur)
	if diff := cmp.Diff(v2, cur); diff != "" {
		t.Fatalf("GET after PUT (-put +get):\n%s", diff)
	}
	// Revision 1 is still readable, unchanged.
	var old playlistJSON
	mustDecodeStrict(t, s.get(path+"/revisions/1"), http.StatusOK, &old)
	if diff := cmp.Diff(v1, old); diff != "" {
		t.Fatalf("revision 1 changed (-created +now):\n%s", diff)
	}

	// A PUT that changes nothing once defaults are resolved keeps revision
	// 2: whether the defaults are left out or sent back as answered.
	s.clock.Add(time.Minute)
	for _, items := range []any{
		[]map[string]any{{"media_id": a.ID, "duration_ms": 4000}, {"media_id": b.ID, "fit": "FIT"}},
		v2.Items,
	} {
		var same playlistJSON
		mustDecodeStrict(t, s.doJSON(http.MethodPut, path, map[string]any{"name": " Lobby ", "items": items}), http.StatusOK, &same)
		if diff := cmp.Diff(v2, same); diff != "" {
			t.Fatalf("unchanged PUT (-revision 2 +answer):\n%s", diff)
		}
	}

	// A rename alone is a change: revision 3.
	var v3 playlistJSON
	mustDecodeStrict(t, s.doJSON(http.MethodPut, path, map[string]any{"name": "Sảnh", "items": v2.Items}), http.StatusOK, &v3)
	if v3.Revision != 3 || v3.Name != "Sảnh" {
		t.Fatalf("rename: revision %d %q, want 3 Sảnh", v3.Revision, v3.Name)
	}

	// Revisions list newest first, in pages.
	var revs []int64
	cursor := ""
	for range 4 {
		var page playlistPage
		mustDecodeStrict(t, s.get(path+"/revisions?limit=2&cursor="+cursor), http.StatusOK, &page)
		for _, p := range page.Items {
			revs = append(revs, p.Revision)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if want := []int64{3, 2, 1}; !slices.Equal(revs, want) {
		t.Fatalf("revisions = %v, want %v", revs, want)
	}

	// PUT must carry items: a rename alone must not empty the playlist.
	env := wantError(t, s.doJSON(http.MethodPut, path, map[string]any{"name": "x"}), http.StatusBadRequest, "invalid")
	if !strings.Contains(env.Error.Message, `"items" is required`) {
		t.Errorf("message = %q", env.Error.Message)
	}
	wantError(t, s.doJSON(http.MethodPut, path, map[string]any{"name": "x", "items": []map[string]any{{"media_id": "med_gone"}}}), http.StatusBadRequest, "invalid")
	// An explicit empty list empties it.
	var emptied playlistJSON
	mustDecodeStrict(t, s.doJSON(http.MethodPut, path, map[string]any{"name": "Sảnh", "items": []any{}}), http.StatusOK, &emptied)
	if emptied.Revision != 4 || len(emptied.Items) != 0 || emptied.Items == nil {
		t.Fatalf("emptied = %+v, want revision 4 with items []", emptied)
	}

	wantError(t, s.get(path+"/revisions/5"), http.StatusNotFound, "not_found")
	for _, rev := range []string{"0", "-1", "abc", "1.5"} {
		wantError(t, s.get(path+"/revisions/"+rev), http.StatusBadRequest, "invalid")
	}
	for _, q := range []string{"limit=0", "limit=501", "cursor=%21%21"} {
		wantError(t, s.get(path+"/revisions?"+q), http.StatusBadRequest, "invalid")
	}
}

func TestListPlaylists(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	a := s.mustUpload("a", "", mustJPEG(t, 16, 16, 1))
	b := s.mustUpload("b", "", mustJPEG(t, 16, 16, 2))
	for i := range 5 {
		m := a.ID
		if i%2 == 1 {
			m = b.ID
		}
		s.mustCreatePlaylist(map[string]any{"name": fmt.Sprintf("Lịch %d", i), "items": []map[string]any{{"media_id": m}}})
	}
	names := func(p playlistPage) string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.Name)
		}
		return fmt.Sprint(out)
	}

	var got []string
	cursor := ""
	for range 4 {
		var page playlistPage
		mustDecodeStrict(t, s.get("/api/v1/playlists?limit=2&cursor="+cursor), http.StatusOK, &page)
		if len(page.Items) > 2 {
			t.Fatalf("page of %d with limit=2", len(page.Items))
		}
		for _, p := range page.Items {
			got = append(got, p.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if want := "[Lịch 4 Lịch 3 Lịch 2 Lịch 1 Lịch 0]"; fmt.Sprint(got) != want {
		t.Fatalf("paged names = %v, want %s", got, want)
	}

	for _, tc := range []struct{ query, want string }{
		{"q=L%E1%BB%8ACH%202", "[Lịch 2]"}, // "LỊCH 2"
		{"media_id=" + b.ID, "[Lịch 3 Lịch 1]"},
		{"media_id=" + a.ID + "&q=4", "[Lịch 4]"},
		{"media_id=med_nothing", "[]"},
		{"q=nothing", "[]"},
	} {
		var page playlistPage
		mustDecodeStrict(t, s.get("/api/v1/playlists?"+tc.query), http.StatusOK, &page)
		if names(page) != tc.want || page.Items == nil {
			t.Errorf("?%s: names %s (nil: %v), want %s", tc.query, names(page), page.Items == nil, tc.want)
		}
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=%21%21garbage"} {
		wantError(t, s.get("/api/v1/playlists?"+q), http.StatusBadRequest, "invalid")
	}
}

func TestDeletePlaylist(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	img := s.mustUpload("a", "", mustJPEG(t, 16, 16, 1))
	p := s.mustCreatePlaylist(map[string]any{"name": "gone", "items": []map[string]any{{"media_id": img.ID}}})
	path := "/api/v1/playlists/" + p.ID

	// Something that references playlists the way schedules and displays
	// do refuses the delete.
	if _, err := s.db.SQL().Exec(`CREATE TABLE test_playlist_refs (
		playlist_id TEXT NOT NULL REFERENCES playlists (id) ON DELETE RESTRICT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.SQL().Exec(`INSERT INTO test_playlist_refs (playlist_id) VALUES ('` + p.ID + `')`); err != nil {
		t.Fatal(err)
	}
	env := wantError(t, s.do(http.MethodDelete, path, nil, nil), http.StatusConflict, "conflict")
	if env.Error.Message != "playlist is used by a schedule or a display" {
		t.Errorf("message = %q", env.Error.Message)
	}
	mustDecodeStrict(t, s.get(path), http.StatusOK, &playlistJSON{})
	if _, err := s.db.SQL().Exec(`DELETE FROM test_playlist_refs`); err != nil {
		t.Fatal(err)
	}

	if resp := s.do(http.MethodDelete, path, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE status = %d, want 204", resp.StatusCode)
	}
	wantError(t, s.get(path), http.StatusNotFound, "not_found")
	wantError(t, s.get(path+"/revisions/1"), http.StatusNotFound, "not_found")
	wantError(t, s.do(http.MethodDelete, path, nil, nil), http.StatusNotFound, "not_found")
	// Its media is free to go.
	if resp := s.do(http.MethodDelete, "/api/v1/media/"+img.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE media status = %d, want 204", resp.StatusCode)
	}
}

func TestDeleteMediaUsedByPlaylist(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	keep := s.mustUpload("keep", "", mustJPEG(t, 16, 16, 1))
	used := s.mustUpload("used", "", mustJPEG(t, 16, 16, 2))
	p := s.mustCreatePlaylist(map[string]any{"name": "uses", "items": []map[string]any{{"media_id": keep.ID}, {"media_id": used.ID}}})

	env := wantError(t, s.do(http.MethodDelete, "/api/v1/media/"+used.ID, nil, nil), http.StatusConflict, "conflict")
	if env.Error.Message != "media is used by a playlist" {
		t.Errorf("message = %q", env.Error.Message)
	}
	// Refused whole: the item and its bytes are still there.
	mustDecode(t, s.get("/api/v1/media/"+used.ID), http.StatusOK, &media.Item{})
	if resp := s.get("/api/v1/media/" + used.ID + "/content"); resp.StatusCode != http.StatusOK {
		t.Fatalf("content after refused delete: status %d", resp.StatusCode)
	}
	// Which playlists hold it: the list filter answers.
	var page playlistPage
	mustDecodeStrict(t, s.get("/api/v1/playlists?media_id="+used.ID), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != p.ID {
		t.Fatalf("playlists using the media = %+v", page.Items)
	}

	// Once the playlist drops it, it may go (revision 1 still names it).
	mustDecodeStrict(t, s.doJSON(http.MethodPut, "/api/v1/playlists/"+p.ID, map[string]any{
		"name": "uses", "items": []map[string]any{{"media_id": keep.ID}},
	}), http.StatusOK, &playlistJSON{})
	if resp := s.do(http.MethodDelete, "/api/v1/media/"+used.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE media after the playlist dropped it: status %d", resp.StatusCode)
	}
	var old playlistJSON
	mustDecodeStrict(t, s.get("/api/v1/playlists/"+p.ID+"/revisions/1"), http.StatusOK, &old)
	if len(old.Items) != 2 || old.Items[1].MediaID != used.ID {
		t.Fatalf("revision 1 = %+v, want it intact", old)
	}
	wantError(t, s.do(http.MethodDelete, "/api/v1/media/"+keep.ID, nil, nil), http.StatusConflict, "conflict")
}

func TestPlaylistNotFound(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	const path = "/api/v1/playlists/pls_doesnotexist"
	for _, resp := range []*http.Response{
		s.get(path),
		s.doJSON(http.MethodPut, path, map[string]any{"name": "x", "items": []any{}}),
		s.do(http.MethodDelete, path, nil, nil),
		s.get(path + "/revisions"),
		s.get(path + "/revisions/1"),
	} {
		env := wantError(t, resp, http.StatusNotFound, "not_found")
		if env.Error.Message != `playlist "pls_doesnotexist" not found` {
			t.Errorf("%s %s: message %q", resp.Request.Method, resp.Request.URL.Path, env.Error.Message)
		}
	}
	wantError(t, s.do(http.MethodPatch, path, nil, nil), http.StatusMethodNotAllowed, "method_not_allowed")
	// Playlist routes want a token like the rest.
	s.token = ""
	wantError(t, s.get("/api/v1/playlists"), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/playlists", map[string]any{"name": "x"}), http.StatusUnauthorized, "unauthorized")
}
