package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The admin API paths the bench calls: the client side of admin/routes.go,
// as docs/api.md documents them.
const (
	pathLogin     = "/api/v1/auth/login"
	pathMedia     = "/api/v1/media"
	pathPlaylists = "/api/v1/playlists"
	pathDisplays  = "/api/v1/displays"
	pathSchedules = "/api/v1/schedules"
)

// Size of the bench displays and their banner: a small LED panel.
const panelW, panelH = 192, 96

// apiClient calls the admin HTTP API with a bearer token.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	return &apiClient{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (c *apiClient) closeIdle() { c.hc.CloseIdleConnections() }

// do sends a JSON body (nil: none) and decodes a JSON answer into out
// (nil: discarded); any status but want is an error quoting the answer.
func (c *apiClient) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, want, out)
}

func (c *apiClient) send(req *http.Request, want int, out any) error {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func (c *apiClient) login(ctx context.Context, user, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, pathLogin, map[string]string{"username": user, "password": password}, http.StatusOK, &out); err != nil {
		return fmt.Errorf("log in as %s: %w", user, err)
	}
	c.token = out.Token
	return nil
}

// uploadBanner uploads a generated PNG of the panel's size.
func (c *apiClient) uploadBanner(ctx context.Context, name, tag string) (string, error) {
	img := image.NewNRGBA(image.Rect(0, 0, panelW, panelH))
	for y := range panelH {
		for x := range panelW {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 255 / panelW), G: uint8(y * 255 / panelH), B: 160, A: 255})
		}
	}
	var file bytes.Buffer
	if err := png.Encode(&file, img); err != nil {
		return "", err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("name", name)
	_ = mw.WriteField("tags", tag)
	fw, err := mw.CreateFormFile("file", "bench.png")
	if err != nil {
		return "", err
	}
	_, _ = fw.Write(file.Bytes())
	if err := mw.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+pathMedia, &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out struct {
		ID string `json:"id"`
	}
	if err := c.send(req, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("upload the banner: %w", err)
	}
	return out.ID, nil
}

type playlistItem struct {
	MediaID    string `json:"media_id"`
	DurationMS int64  `json:"duration_ms"`
}

func (c *apiClient) createPlaylist(ctx context.Context, name, mediaID string, item time.Duration) (string, error) {
	body := map[string]any{"name": name, "items": []playlistItem{{MediaID: mediaID, DurationMS: item.Milliseconds()}}}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, pathPlaylists, body, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create playlist %s: %w", name, err)
	}
	return out.ID, nil
}

// createDisplays creates n displays carrying tag, conc at a time, and
// returns their credentials in creation order.
func (c *apiClient) createDisplays(ctx context.Context, n, conc int, prefix, tag string) ([]Cred, error) {
	creds := make([]Cred, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan int)
	)
	for range conc {
		wg.Go(func() {
			for i := range next {
				body := map[string]any{"name": fmt.Sprintf("%s %05d", prefix, i+1), "width": panelW, "height": panelH, "tags": []string{tag}}
				var out struct {
					ID    string `json:"id"`
					Token string `json:"token"`
				}
				if err := c.do(ctx, http.MethodPost, pathDisplays, body, http.StatusCreated, &out); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("create display %d: %w", i+1, err); cancel() })
					continue
				}
				creds[i] = Cred{ID: out.ID, Token: out.Token}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return creds, ctx.Err()
}

func scheduleBody(name, playlistID, tag string) map[string]any {
	return map[string]any{
		"name":        name,
		"playlist_id": playlistID,
		"targets":     map[string]any{"display_ids": []string{}, "tags": []string{tag}},
		"priority":    "normal",
	}
}

// createSchedule creates a schedule, submits it and approves it (the bench
// logs in as an admin, who may): only approved schedules reach displays.
func (c *apiClient) createSchedule(ctx context.Context, name, playlistID, tag string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, pathSchedules, scheduleBody(name, playlistID, tag), http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create schedule: %w", err)
	}
	if err := c.submitSchedule(ctx, out.ID); err != nil {
		return out.ID, err
	}
	return out.ID, c.approveSchedule(ctx, out.ID)
}

// updateSchedule changes a schedule and submits the change for approval:
// it reaches displays once approveSchedule approves it.
func (c *apiClient) updateSchedule(ctx context.Context, id, name, playlistID, tag string) error {
	if err := c.do(ctx, http.MethodPut, pathSchedules+"/"+url.PathEscape(id), scheduleBody(name, playlistID, tag), http.StatusOK, nil); err != nil {
		return fmt.Errorf("change schedule: %w", err)
	}
	return c.submitSchedule(ctx, id)
}

func (c *apiClient) submitSchedule(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodPost, pathSchedules+"/"+url.PathEscape(id)+"/submit", nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("submit schedule: %w", err)
	}
	return nil
}

func (c *apiClient) approveSchedule(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodPost, pathSchedules+"/"+url.PathEscape(id)+"/approve", nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("approve schedule: %w", err)
	}
	return nil
}

// displayState returns a display's desired state as the server serves it.
func (c *apiClient) displayState(ctx context.Context, id string) ([]byte, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, pathDisplays+"/"+url.PathEscape(id)+"/state", nil, http.StatusOK, &raw); err != nil {
		return nil, fmt.Errorf("read the desired state: %w", err)
	}
	return raw, nil
}

func (c *apiClient) remove(ctx context.Context, path, id string) error {
	return c.do(ctx, http.MethodDelete, path+"/"+url.PathEscape(id), nil, http.StatusNoContent, nil)
}

// fixture is what the setup created on the server.
type fixture struct {
	tag                  string
	mediaID              string
	playlistA, playlistB string
	scheduleID           string
	creds                []Cred
}

// setup creates, through the admin API, a banner, two one-item playlists
// (items of itemA and itemB), n displays sharing one tag and a schedule
// playing playlist A on that tag.
func setup(ctx context.Context, api *apiClient, n, conc int, itemA, itemB time.Duration, progress func(string, ...any)) (*fixture, error) {
	fx := &fixture{tag: "bench-" + randomHex(4)}
	var err error
	if fx.mediaID, err = api.uploadBanner(ctx, "bench banner "+fx.tag, fx.tag); err != nil {
		return nil, err
	}
	if fx.playlistA, err = api.createPlaylist(ctx, fx.tag+" A", fx.mediaID, itemA); err != nil {
		return fx, err
	}
	if fx.playlistB, err = api.createPlaylist(ctx, fx.tag+" B", fx.mediaID, itemB); err != nil {
		return fx, err
	}
	start := time.Now()
	if fx.creds, err = api.createDisplays(ctx, n, conc, fx.tag, fx.tag); err != nil {
		return fx, err
	}
	progress("setup: %d displays created in %v", n, time.Since(start).Round(time.Millisecond))
	if fx.scheduleID, err = api.createSchedule(ctx, fx.tag, fx.playlistA, fx.tag); err != nil {
		return fx, err
	}
	return fx, nil
}

// cleanup deletes what setup created (for an external server), conc
// requests at a time; it returns the first failure.
func cleanup(ctx context.Context, api *apiClient, fx *fixture, conc int) error {
	var errs []error
	if fx.scheduleID != "" {
		if err := api.remove(ctx, pathSchedules, fx.scheduleID); err != nil {
			errs = append(errs, err)
		}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, c := range fx.creds {
		if c.ID == "" {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := api.remove(ctx, pathDisplays, c.ID); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, id := range []string{fx.playlistA, fx.playlistB} {
		if id != "" {
			if err := api.remove(ctx, pathPlaylists, id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if fx.mediaID != "" {
		if err := api.remove(ctx, pathMedia, fx.mediaID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("clean up (%d failures), first: %w", len(errs), errs[0])
	}
	return nil
}
