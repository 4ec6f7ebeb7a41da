package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
)

// api is a logged-in admin talking to a server's HTTP API.
type api struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

// login logs in as the admin user, retrying while the server starts.
func login(t testing.TB, base string) *api {
	t.Helper()
	a := &api{t: t, base: base, http: &http.Client{Timeout: 30 * time.Second}}
	var resp struct {
		Token string `json:"token"`
	}
	body := map[string]string{"username": "admin", "password": adminPassword}
	if err := a.try(http.MethodPost, "/api/v1/auth/login", body, http.StatusOK, &resp); err != nil {
		t.Fatalf("login: %v", err)
	}
	a.token = resp.Token
	return a
}

// apiError is an answer with an unexpected status.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// try sends a JSON request (body nil: none) and decodes a JSON answer with
// status want into out (nil: discard).
func (a *api) try(method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return a.send(req, want, out)
}

func (a *api) send(req *http.Request, want int, out any) error {
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return &apiError{status: resp.StatusCode, body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode %s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// must is try that fails the test.
func (a *api) must(method, path string, body any, want int, out any) {
	a.t.Helper()
	if err := a.try(method, path, body, want, out); err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// mediaItem is a media item as the API answers it.
type mediaItem struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	MIME   string `json:"mime"`
	SHA256 string `json:"sha256"`
}

// upload uploads a file as a media item named name.
func (a *api) upload(name, filename string, data []byte) mediaItem {
	a.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if err := w.WriteField("name", name); err != nil {
		a.t.Fatal(err)
	}
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		a.t.Fatal(err)
	}
	fw.Write(data)
	if err := w.Close(); err != nil {
		a.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, a.base+"/api/v1/media", &body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	var m mediaItem
	if err := a.send(req, http.StatusCreated, &m); err != nil {
		a.t.Fatalf("upload %s: %v", filename, err)
	}
	return m
}

// item is one playlist item of a request.
type item struct {
	MediaID    string `json:"media_id"`
	DurationMS int64  `json:"duration_ms"`
}

// createPlaylist creates a playlist and returns its ID.
func (a *api) createPlaylist(name string, items ...item) string {
	a.t.Helper()
	var p struct {
		ID string `json:"id"`
	}
	a.must(http.MethodPost, "/api/v1/playlists", map[string]any{"name": name, "items": items}, http.StatusCreated, &p)
	return p.ID
}

// createDisplay creates a w×h display and returns its ID and token.
func (a *api) createDisplay(name string, w, h int) (id, token string) {
	a.t.Helper()
	var d struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	a.must(http.MethodPost, "/api/v1/displays", map[string]any{"name": name, "width": w, "height": h}, http.StatusCreated, &d)
	return d.ID, d.Token
}

// createSchedule creates an all-day schedule of playlist on the displays,
// on the priority layer given, submits it and approves it (the admin may;
// an admin's emergency schedule is approved on creation), and returns its
// ID: only approved schedules reach displays.
func (a *api) createSchedule(name, playlistID, priority string, displayIDs ...string) string {
	a.t.Helper()
	var s struct {
		ID       string `json:"id"`
		Approval struct {
			Status string `json:"status"`
		} `json:"approval"`
	}
	body := map[string]any{"name": name, "playlist_id": playlistID, "priority": priority,
		"targets": map[string]any{"display_ids": displayIDs}}
	a.must(http.MethodPost, "/api/v1/schedules", body, http.StatusCreated, &s)
	if s.Approval.Status != "approved" {
		for _, step := range []string{"submit", "approve"} {
			a.must(http.MethodPost, "/api/v1/schedules/"+s.ID+"/"+step, nil, http.StatusOK, nil)
		}
	}
	return s.ID
}

func (a *api) deleteSchedule(id string) {
	a.t.Helper()
	a.must(http.MethodDelete, "/api/v1/schedules/"+id, nil, http.StatusNoContent, nil)
}

// displayStatus is what GET /api/v1/displays/{id} says of its player.
type displayStatus struct {
	Online        bool                `json:"online"`
	StateRevision *int64              `json:"state_revision"`
	Current       *marquee.NowPlaying `json:"current"`
}

func (a *api) displayStatus(id string) (displayStatus, error) {
	var d displayStatus
	err := a.try(http.MethodGet, "/api/v1/displays/"+id, nil, http.StatusOK, &d)
	return d, err
}

// waitDisplayStatus waits until the server reports the display online at
// revision rev with something on screen (online true), or offline.
func (a *api) waitDisplayStatus(id string, online bool, rev int64, d time.Duration) {
	a.t.Helper()
	var last displayStatus
	deadline := time.Now().Add(d)
	for {
		st, err := a.displayStatus(id)
		if err == nil {
			last = st
			if !online && !st.Online {
				return
			}
			if online && st.Online && st.StateRevision != nil && *st.StateRevision == rev && st.Current != nil {
				return
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("after %v the server reports the display %+v (current %+v), want online=%v at revision %d", d, last, last.Current, online, rev)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// state returns a display's desired state as the server publishes it.
func (a *api) state(displayID string) (marquee.DesiredState, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.base+"/api/v1/displays/"+displayID+"/state", nil)
	if err != nil {
		a.t.Fatal(err)
	}
	var raw json.RawMessage
	if err := a.send(req, http.StatusOK, &raw); err != nil {
		a.t.Fatalf("state of %s: %v", displayID, err)
	}
	var st marquee.DesiredState
	if err := json.Unmarshal(raw, &st); err != nil {
		a.t.Fatal(err)
	}
	return st, raw
}

// timelineEntry is one entry of GET /api/v1/displays/{id}/timeline.
type timelineEntry struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	PlaylistID string    `json:"playlist_id"`
	ItemIndex  int       `json:"item_index"`
	MediaID    string    `json:"media_id"`
	SHA256     string    `json:"sha256"`
	Reason     string    `json:"reason"`
	ScheduleID string    `json:"schedule_id"`
}

type timeline struct {
	Revision int64           `json:"revision"`
	Entries  []timelineEntry `json:"entries"`
}

func (a *api) timeline(displayID string, from, to time.Time) timeline {
	a.t.Helper()
	q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	var tl timeline
	a.must(http.MethodGet, "/api/v1/displays/"+displayID+"/timeline?"+q.Encode(), nil, http.StatusOK, &tl)
	return tl
}

// plays returns every play of a display, in the API's order (newest
// first), following the cursors.
func (a *api) plays(displayID string) ([]marquee.Play, error) {
	var all []marquee.Play
	cursor := ""
	for {
		q := url.Values{"display_id": {displayID}, "limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items      []marquee.Play `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		if err := a.try(http.MethodGet, "/api/v1/plays?"+q.Encode(), nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// banner encodes a w×h image in one colour with a stripe, as PNG or JPEG.
func banner(t testing.TB, w, h int, c color.RGBA, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			px := c
			if y > h/3 && y < 2*h/3 {
				px = color.RGBA{255 - c.R, 255 - c.G, 255 - c.B, 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var b bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// content is what setupContent made.
type content struct {
	displayID, token   string
	a, b, c, clip      mediaItem
	loop               string // playlist: a, b, clip, 1 s each
	campaign           string // playlist: c, a, 1 s each
	normal             string // schedule of loop, normal layer, all day
	itemMS             int64  // every item's duration
	mediaByID          map[string]mediaItem
	playlistOfSchedule map[string]string
}

// setupContent does what a media team does: upload two banners (PNG,
// JPEG), a third for a campaign and the clip, make the playlists, create
// a 192×96 display and schedule the loop on it all day.
func setupContent(t testing.TB, a *api) *content {
	t.Helper()
	clip, err := os.ReadFile(filepath.Join("..", "media", "testdata", "clip.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	c := &content{itemMS: 1000}
	c.a = a.upload("Banner A", "a.png", banner(t, 384, 192, color.RGBA{200, 30, 30, 255}, "png"))
	c.b = a.upload("Banner B", "b.jpg", banner(t, 640, 320, color.RGBA{30, 200, 30, 255}, "jpeg"))
	c.c = a.upload("Campaign C", "c.png", banner(t, 192, 96, color.RGBA{30, 30, 200, 255}, "png"))
	c.clip = a.upload("Clip", "clip.mp4", clip)
	if c.clip.Kind != "video" || c.a.Kind != "image" || c.b.MIME != "image/jpeg" {
		t.Fatalf("uploads: %+v %+v %+v", c.a, c.b, c.clip)
	}
	c.mediaByID = map[string]mediaItem{c.a.ID: c.a, c.b.ID: c.b, c.c.ID: c.c, c.clip.ID: c.clip}
	c.loop = a.createPlaylist("Loop", item{c.a.ID, c.itemMS}, item{c.b.ID, c.itemMS}, item{c.clip.ID, c.itemMS})
	c.campaign = a.createPlaylist("Campaign", item{c.c.ID, c.itemMS}, item{c.a.ID, c.itemMS})
	c.displayID, c.token = a.createDisplay("Lobby wall", 192, 96)
	c.normal = a.createSchedule("All day", c.loop, "normal", c.displayID)
	c.playlistOfSchedule = map[string]string{c.normal: c.loop}
	return c
}
