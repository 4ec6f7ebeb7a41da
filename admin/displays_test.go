package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// displayJSON is a display as the API answers it; Token only on create.
type displayJSON struct {
	ID                 string        `json:"id"`
	OrgID              string        `json:"organisation_id"`
	Name               string        `json:"name"`
	Width              int           `json:"width"`
	Height             int           `json:"height"`
	Timezone           string        `json:"timezone"`
	Tags               []string      `json:"tags"`
	Location           *locationJSON `json:"location"`
	FallbackPlaylistID string        `json:"fallback_playlist_id"`
	FallbackRevision   int64         `json:"fallback_revision"`
	CreatedAt          time.Time     `json:"created_at"`
	UpdatedAt          time.Time     `json:"updated_at"`
	Token              string        `json:"token,omitempty"`
	// What the player last reported (GET only; see player_test.go).
	Online        bool                `json:"online"`
	LastSeen      *time.Time          `json:"last_seen"`
	Current       *marquee.NowPlaying `json:"current"`
	StateRevision *int64              `json:"state_revision"`
}

type locationJSON struct {
	Address   string   `json:"address"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

type displayPage struct {
	Items      []displayJSON `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

// mustCreateDisplay posts body and returns the created display, token
// included.
func (s *stack) mustCreateDisplay(body any) displayJSON {
	s.t.Helper()
	var d displayJSON
	mustDecodeStrict(s.t, s.doJSON(http.MethodPost, "/api/v1/displays", body), http.StatusCreated, &d)
	return d
}

// display returns a valid create body; kv pairs override or add fields.
func display(name string, kv ...any) map[string]any {
	m := map[string]any{"name": name, "width": 384, "height": 192}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestCreateDisplay(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	fallback := s.mustCreatePlaylist(map[string]any{"name": "Fallback", "items": []any{}})
	resp := s.doJSON(http.MethodPost, "/api/v1/displays", map[string]any{
		"name": "Sân bay Thọ Xuân", "width": 1536, "height": 256, "timezone": "Asia/Ho_Chi_Minh",
		"tags":                 []string{"Airport", "district:tho-xuan"},
		"location":             map[string]any{"address": "Thọ Xuân, Thanh Hóa", "latitude": 19.9, "longitude": 105.47},
		"fallback_playlist_id": fallback.ID,
	})
	var d displayJSON
	mustDecodeStrict(t, resp, http.StatusCreated, &d)
	if got, want := resp.Header.Get("Location"), "/api/v1/displays/"+d.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	lat, lon := 19.9, 105.47
	want := displayJSON{
		ID: d.ID, OrgID: auth.RootOrgID, Name: "Sân bay Thọ Xuân", Width: 1536, Height: 256,
		Timezone: "Asia/Ho_Chi_Minh", Tags: []string{"airport", "district:tho-xuan"},
		Location:           &locationJSON{Address: "Thọ Xuân, Thanh Hóa", Latitude: &lat, Longitude: &lon},
		FallbackPlaylistID: fallback.ID, FallbackRevision: 1, CreatedAt: d.CreatedAt, UpdatedAt: d.CreatedAt, Token: d.Token,
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("created display (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(d.Token, "mqd_") || !strings.HasPrefix(d.ID, "dsp_") {
		t.Fatalf("token %q, ID %q", d.Token, d.ID)
	}

	// The token is shown once: never by GET or the list, nor its hash.
	for _, path := range []string{"/api/v1/displays/" + d.ID, "/api/v1/displays"} {
		body, _ := io.ReadAll(s.get(path).Body)
		if strings.Contains(string(body), d.Token) || strings.Contains(string(body), auth.HashToken(d.Token)) ||
			strings.Contains(string(body), `"token`) {
			t.Fatalf("GET %s shows the token: %s", path, body)
		}
	}
	var got displayJSON
	mustDecodeStrict(t, s.get("/api/v1/displays/"+d.ID), http.StatusOK, &got)
	want.Token = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GET (-want +got):\n%s", diff)
	}

	// It is the display's credential.
	ctx := context.Background()
	if dd, err := s.displays.Authenticate(ctx, d.ID, d.Token); err != nil || dd.ID != d.ID {
		t.Fatalf("Authenticate = %v, %v", dd, err)
	}

	// Defaults: Vietnam's zone, no tags, no location, no fallback.
	bare := s.mustCreateDisplay(display("Bare"))
	if bare.Timezone != "Asia/Ho_Chi_Minh" || bare.Tags == nil || len(bare.Tags) != 0 || bare.Location != nil || bare.FallbackPlaylistID != "" {
		t.Fatalf("defaults: %+v", bare)
	}
}

func TestRotateDisplayToken(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	ctx := context.Background()
	d := s.mustCreateDisplay(display("Lobby"))
	other := s.mustCreateDisplay(display("Street"))

	var rotated struct {
		Token string `json:"token"`
	}
	mustDecodeStrict(t, s.do(http.MethodPost, "/api/v1/displays/"+d.ID+"/token", nil, nil), http.StatusOK, &rotated)
	if !strings.HasPrefix(rotated.Token, "mqd_") || rotated.Token == d.Token {
		t.Fatalf("rotated token %q (old %q)", rotated.Token, d.Token)
	}
	if _, err := s.displays.Authenticate(ctx, d.ID, d.Token); marquee.ErrorCode(err) != marquee.EUNAUTHORIZED {
		t.Fatalf("old token after rotation: %v, want unauthorized", err)
	}
	if _, err := s.displays.Authenticate(ctx, d.ID, rotated.Token); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if _, err := s.displays.Authenticate(ctx, other.ID, rotated.Token); marquee.ErrorCode(err) != marquee.EUNAUTHORIZED {
		t.Fatalf("a token works for another display: %v", err)
	}
	if _, err := s.displays.Authenticate(ctx, other.ID, other.Token); err != nil {
		t.Fatalf("other display's token: %v", err)
	}
	wantError(t, s.do(http.MethodPost, "/api/v1/displays/dsp_missing/token", nil, nil), http.StatusNotFound, "not_found")

	// A display token is not an admin token.
	s.token = rotated.Token
	wantError(t, s.get("/api/v1/displays"), http.StatusUnauthorized, "unauthorized")
}

func TestCreateDisplayInvalid(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	for _, tt := range []struct {
		name string
		body any
		msg  string
	}{
		{"no name", display(""), "name is required"},
		{"zero width", display("x", "width", 0), "width must be from 1 to 16384 pixels, not 0"},
		{"no height", map[string]any{"name": "x", "width": 192}, "height must be from 1 to 16384 pixels, not 0"},
		{"too wide", display("x", "width", 20000), "width must be from 1 to 16384 pixels, not 20000"},
		{"negative", display("x", "height", -96), "height must be from 1 to 16384 pixels, not -96"},
		{"fractional", display("x", "width", 384.5), `field "width" must be a number`},
		{"bad zone", display("x", "timezone", "Asia/Saigon_City"), `timezone "Asia/Saigon_City" is not a known IANA zone`},
		{"local zone", display("x", "timezone", "Local"), "server's zone"},
		{"bad tag", display("x", "tags", []string{"sân bay!"}), `tag "sân bay!": only letters, digits`},
		{"tags not a list", display("x", "tags", "airport"), `field "tags" must be an array`},
		{"latitude", display("x", "location", map[string]any{"latitude": 95, "longitude": 105}), "latitude must be from -90 to 90 degrees, not 95"},
		{"longitude", display("x", "location", map[string]any{"latitude": 19, "longitude": 181}), "longitude must be from -180 to 180 degrees, not 181"},
		{"half a position", display("x", "location", map[string]any{"longitude": 105}), "both latitude and longitude"},
		{"unknown location field", display("x", "location", map[string]any{"lat": 19}), `unknown field "lat"`},
		{"missing fallback", display("x", "fallback_playlist_id", "pls_missing"), `fallback playlist "pls_missing" does not exist`},
		{"token is not an input", display("x", "token", "mqd_mine"), `unknown field "token"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := wantError(t, s.doJSON(http.MethodPost, "/api/v1/displays", tt.body), http.StatusBadRequest, "invalid")
			if !strings.Contains(env.Error.Message, tt.msg) {
				t.Fatalf("message = %q, want it to say %q", env.Error.Message, tt.msg)
			}
		})
	}
	var p displayPage
	mustDecodeStrict(t, s.get("/api/v1/displays"), http.StatusOK, &p)
	if len(p.Items) != 0 {
		t.Fatalf("refused creates stored %d displays", len(p.Items))
	}
}

func TestUpdateDeleteDisplay(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	fallback := s.mustCreatePlaylist(map[string]any{"name": "Fallback", "items": []any{}})
	d := s.mustCreateDisplay(display("Old", "tags", []string{"a"}, "location", map[string]any{"address": "x"},
		"fallback_playlist_id", fallback.ID))
	path := "/api/v1/displays/" + d.ID
	s.clock.Add(time.Minute)

	// PUT replaces everything: fields left out are cleared.
	var got displayJSON
	mustDecodeStrict(t, s.doJSON(http.MethodPut, path, display("New", "width", 192, "height", 96, "timezone", "Europe/Berlin")), http.StatusOK, &got)
	want := displayJSON{ID: d.ID, OrgID: d.OrgID, Name: "New", Width: 192, Height: 96, Timezone: "Europe/Berlin",
		Tags: []string{}, CreatedAt: d.CreatedAt, UpdatedAt: got.UpdatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after PUT (-want +got):\n%s", diff)
	}
	if !got.UpdatedAt.After(d.UpdatedAt) {
		t.Errorf("updated_at %v not after %v", got.UpdatedAt, d.UpdatedAt)
	}
	// The token survives an edit.
	if _, err := s.displays.Authenticate(context.Background(), d.ID, d.Token); err != nil {
		t.Fatalf("token after PUT: %v", err)
	}

	env := wantError(t, s.doJSON(http.MethodPut, path, display("x", "height", 0)), http.StatusBadRequest, "invalid")
	if !strings.Contains(env.Error.Message, "height") {
		t.Fatalf("message %q", env.Error.Message)
	}
	wantError(t, s.doJSON(http.MethodPut, "/api/v1/displays/dsp_missing", display("x")), http.StatusNotFound, "not_found")
	wantError(t, s.get("/api/v1/displays/dsp_missing"), http.StatusNotFound, "not_found")

	resp := s.do(http.MethodDelete, path, nil, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE status %d", resp.StatusCode)
	}
	wantError(t, s.get(path), http.StatusNotFound, "not_found")
	wantError(t, s.do(http.MethodDelete, path, nil, nil), http.StatusNotFound, "not_found")
	if _, err := s.displays.Authenticate(context.Background(), d.ID, d.Token); marquee.ErrorCode(err) != marquee.EUNAUTHORIZED {
		t.Fatalf("a deleted display authenticates: %v", err)
	}
}

func TestDeletePlaylistUsedAsFallback(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	fallback := s.mustCreatePlaylist(map[string]any{"name": "Fallback", "items": []any{}})
	d := s.mustCreateDisplay(display("Lobby", "fallback_playlist_id", fallback.ID))
	wantError(t, s.do(http.MethodDelete, "/api/v1/playlists/"+fallback.ID, nil, nil), http.StatusConflict, "conflict")
	s.mustCreatePlaylist(map[string]any{"name": "other", "items": []any{}})
	var got displayJSON
	mustDecodeStrict(t, s.doJSON(http.MethodPut, "/api/v1/displays/"+d.ID, display("Lobby")), http.StatusOK, &got)
	if resp := s.do(http.MethodDelete, "/api/v1/playlists/"+fallback.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete of an unused playlist: status %d", resp.StatusCode)
	}
}

func TestListDisplays(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	var all []displayJSON
	for i := range 5 {
		tags := []string{"facade"}
		if i%2 == 1 {
			tags = append(tags, "airport")
		}
		all = append(all, s.mustCreateDisplay(display(fmt.Sprintf("Screen %d", i), "tags", tags)))
	}
	names := func(p displayPage) string {
		var out []string
		for _, d := range p.Items {
			out = append(out, d.Name)
		}
		return fmt.Sprint(out)
	}

	var got []string
	cursor := ""
	for range len(all) {
		var p displayPage
		mustDecodeStrict(t, s.get("/api/v1/displays?limit=2&cursor="+cursor), http.StatusOK, &p)
		for _, d := range p.Items {
			got = append(got, d.Name)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if want := "[Screen 4 Screen 3 Screen 2 Screen 1 Screen 0]"; fmt.Sprint(got) != want {
		t.Fatalf("paged = %v, want %s", got, want)
	}
	for _, tt := range []struct{ query, want string }{
		{"tag=airport", "[Screen 3 Screen 1]"},
		{"tag=AIRPORT", "[Screen 3 Screen 1]"},
		{"q=screen%202", "[Screen 2]"},
		{"tag=facade&q=SCREEN&limit=1", "[Screen 4]"},
		{"tag=nothing", "[]"},
	} {
		var p displayPage
		mustDecodeStrict(t, s.get("/api/v1/displays?"+tt.query), http.StatusOK, &p)
		if names(p) != tt.want || p.Items == nil {
			t.Errorf("?%s = %s, want %s", tt.query, names(p), tt.want)
		}
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=%21%21"} {
		wantError(t, s.get("/api/v1/displays?"+q), http.StatusBadRequest, "invalid")
	}
}
