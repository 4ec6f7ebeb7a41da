package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// playerGet fetches path with a display token (or any Authorization
// value) instead of the admin's.
func (s *stack) playerGet(path, authorization string, header map[string]string) *http.Response {
	s.t.Helper()
	h := map[string]string{"Authorization": authorization}
	for k, v := range header {
		h[k] = v
	}
	return s.do(http.MethodGet, path, nil, h)
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlayerRoutes(t *testing.T) {
	fs := newFleetStack(t)
	img := fs.mustUpload("Căn cước", "", mustJPEG(t, 320, 160, 1))
	clip := fs.mustUploadClip()
	secret := fs.mustUpload("Not for this display", "", mustJPEG(t, 320, 160, 2))
	pl := fs.mustCreatePlaylist(map[string]any{"name": "Fallback", "items": []any{
		map[string]any{"media_id": img.ID, "fit": "fill"},
		map[string]any{"media_id": clip.ID},
	}})
	d := fs.mustCreateDisplay(display("Lobby", "width", 384, "height", 192, "fallback_playlist_id", pl.ID))
	bearer := "Bearer " + d.Token

	// The state, with its ETag; 304 when unchanged.
	resp := fs.playerGet("/api/v1/player/state", bearer, nil)
	var st marquee.DesiredState
	mustDecode(t, resp, http.StatusOK, &st)
	if st.DisplayID != d.ID || st.Fallback == nil || len(st.Media) != 2 {
		t.Fatalf("state %+v", st)
	}
	etag := resp.Header.Get("ETag")
	if etag != `"rev-`+strconv.FormatInt(st.Revision, 10)+`"` || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	if date, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(date).Abs() > time.Minute {
		t.Fatalf("Date header %q (%v): players estimate their clock offset from it", resp.Header.Get("Date"), err)
	}
	resp = fs.playerGet("/api/v1/player/state", bearer, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Date") == "" {
		t.Fatalf("If-None-Match: status %d Date %q, want 304 with a Date", resp.StatusCode, resp.Header.Get("Date"))
	}

	// Only a display token opens the player routes.
	for name, authz := range map[string]string{
		"no token":      "",
		"a user token":  "Bearer " + fs.token,
		"a wrong token": "Bearer mqd_" + strings.Repeat("A", 43),
		"a huge token":  "Bearer mqd_" + strings.Repeat("A", 300),
		"basic":         "Basic " + d.Token,
	} {
		t.Run(name, func(t *testing.T) {
			resp := fs.playerGet("/api/v1/player/state", authz, nil)
			wantError(t, resp, http.StatusUnauthorized, "unauthorized")
			if resp.Header.Get("Date") == "" {
				t.Error("no Date header on a 401")
			}
		})
	}

	var imgURL, clipURL string
	for _, a := range st.Media {
		switch a.MediaID {
		case img.ID:
			imgURL = a.URL
		case clip.ID:
			clipURL = a.URL
		}
	}
	if want := "/api/v1/player/media/" + img.ID + "/rendition?fit=fill&h=192&w=384"; imgURL != want {
		t.Fatalf("image URL %q, want %q", imgURL, want)
	}
	if want := "/api/v1/player/media/" + clip.ID + "/content"; clipURL != want {
		t.Fatalf("clip URL %q, want %q", clipURL, want)
	}

	// The manifest's files: the same bytes as the admin routes, with Range.
	for _, tc := range []struct{ player, admin string }{
		{imgURL, "/api/v1/media/" + img.ID + "/rendition?w=384&h=192&fit=fill"},
		{clipURL, "/api/v1/media/" + clip.ID + "/content"},
	} {
		want := readAll(t, fs.get(tc.admin))
		resp := fs.playerGet(tc.player, bearer, nil)
		got := readAll(t, resp)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Fatalf("%s: status %d, %d bytes; want 200 and the admin route's %d bytes", tc.player, resp.StatusCode, len(got), len(want))
		}
		if resp.Header.Get("ETag") == "" || resp.Header.Get("Accept-Ranges") != "bytes" || resp.Header.Get("Date") == "" {
			t.Errorf("%s: headers %v", tc.player, resp.Header)
		}
		resp = fs.playerGet(tc.player, bearer, map[string]string{"Range": "bytes=5-14"})
		if got := readAll(t, resp); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, want[5:15]) {
			t.Fatalf("%s with Range: status %d, %x; want 206 %x", tc.player, resp.StatusCode, got, want[5:15])
		}
		if resp := fs.do(http.MethodHead, tc.player, nil, map[string]string{"Authorization": bearer}); resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: %d", tc.player, resp.StatusCode)
		}
		// A user token does not open them, and the display token opens no
		// admin route.
		wantError(t, fs.playerGet(tc.player, "Bearer "+fs.token, nil), http.StatusUnauthorized, "unauthorized")
		wantError(t, fs.playerGet(tc.admin, bearer, nil), http.StatusUnauthorized, "unauthorized")
	}

	// Not in the manifest, or not at the display's size: 404.
	for _, path := range []string{
		"/api/v1/player/media/" + secret.ID + "/content",
		"/api/v1/player/media/" + secret.ID + "/rendition?w=384&h=192&fit=fill",
		"/api/v1/player/media/" + img.ID + "/content", // the manifest has its rendition, not the original
		"/api/v1/player/media/" + img.ID + "/rendition?w=192&h=96&fit=fill",
		"/api/v1/player/media/" + img.ID + "/rendition?w=384&h=192&fit=stretch",
		"/api/v1/player/media/med_nope/content",
	} {
		wantError(t, fs.playerGet(path, bearer, nil), http.StatusNotFound, "not_found")
	}
	wantError(t, fs.playerGet("/api/v1/player/media/"+img.ID+"/rendition?w=abc&h=192", bearer, nil), http.StatusBadRequest, "invalid")

	// Another display's token sees only its own manifest.
	other := fs.mustCreateDisplay(display("Street", "width", 384, "height", 192))
	mustDecode(t, fs.playerGet("/api/v1/player/state", "Bearer "+other.Token, nil), http.StatusOK, &marquee.DesiredState{})
	wantError(t, fs.playerGet(imgURL, "Bearer "+other.Token, nil), http.StatusNotFound, "not_found")

	// A rotated token stops at once.
	var rotated struct{ Token string }
	mustDecode(t, fs.doJSON(http.MethodPost, "/api/v1/displays/"+d.ID+"/token", nil), http.StatusOK, &rotated)
	wantError(t, fs.playerGet("/api/v1/player/state", bearer, nil), http.StatusUnauthorized, "unauthorized")
	mustDecode(t, fs.playerGet("/api/v1/player/state", "Bearer "+rotated.Token, nil), http.StatusOK, &marquee.DesiredState{})
}

func TestDisplaysShowStatus(t *testing.T) {
	fs := newFleetStack(t)
	d := fs.mustCreateDisplay(display("Lobby"))
	quiet := fs.mustCreateDisplay(display("Quiet"))
	c := fs.connectDisplay(d)
	since := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	beat, _ := json.Marshal(marquee.Status{
		Format: 1, DisplayID: d.ID, Online: true, StateRevision: 3, SentAt: time.Now(),
		Current: &marquee.NowPlaying{MediaID: "med_a", MediaName: "Tết", Reason: marquee.ReasonFallback, Since: since},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, mqtt.Message{Topic: fs.topics.Status(d.ID), Payload: beat, QoS: 1, Retained: true}); err != nil {
		t.Fatal(err)
	}
	var got displayJSON
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mustDecodeStrict(t, fs.get("/api/v1/displays/"+d.ID), http.StatusOK, &got)
		if got.Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("display never shown online")
		}
	}
	if got.LastSeen == nil || !got.LastSeen.Equal(fs.clock.Now().Truncate(time.Millisecond)) || got.StateRevision == nil ||
		*got.StateRevision != 3 || got.Current == nil || got.Current.MediaID != "med_a" || !got.Current.Since.Equal(since) {
		t.Fatalf("display %+v (current %+v), want online, last seen now, revision 3, playing med_a", got, got.Current)
	}

	var page displayPage
	mustDecodeStrict(t, fs.get("/api/v1/displays"), http.StatusOK, &page)
	byID := map[string]displayJSON{}
	for _, it := range page.Items {
		byID[it.ID] = it
	}
	if !byID[d.ID].Online || byID[d.ID].Current == nil {
		t.Errorf("listed lobby %+v, want online with current", byID[d.ID])
	}
	if q := byID[quiet.ID]; q.Online || q.LastSeen != nil || q.Current != nil || q.StateRevision != nil {
		t.Errorf("listed quiet display %+v, want offline and nulls", q)
	}
	// The JSON says null, not absent.
	body := string(readAll(t, fs.get("/api/v1/displays/"+quiet.ID)))
	for _, want := range []string{`"online":false`, `"last_seen":null`, `"current":null`, `"state_revision":null`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
}
