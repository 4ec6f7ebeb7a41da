package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

// Small limits, so that "over the limit" is cheap to send.
const (
	testMaxBody   = 4 << 10
	testMaxUpload = 64 << 10
)

// limitFixture is a whole Server over SQLite, with small body limits, an
// admin's session token and a display's token.
type limitFixture struct {
	t            *testing.T
	srv          *Server
	auth         *auth.Service
	userToken    string
	displayToken string
}

func newLimitFixture(t *testing.T) *limitFixture {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(root, "marquee.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	authSvc := auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost})
	if _, _, err := authSvc.Bootstrap(ctx, limitPassword); err != nil {
		t.Fatal(err)
	}
	lib, err := media.NewLibrary(db, media.Config{Dir: filepath.Join(root, "media"), FFprobePath: "-", FFmpegPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close(context.Background()) })
	srv, err := NewServer(Config{
		Library:        lib,
		Auth:           authSvc,
		Orgs:           orgs.NewService(db, orgs.Config{}),
		Playlists:      playlists.NewService(db, db, playlists.Config{}),
		Displays:       displays.NewService(db, displays.Config{}),
		Schedules:      schedules.NewService(db, schedules.Config{}),
		States:         desired.NewBuilder(db, lib, URLs{}, desired.Config{}),
		Players:        db,
		Logger:         slog.New(slog.DiscardHandler),
		MaxBodyBytes:   testMaxBody,
		MaxUploadBytes: testMaxUpload,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &limitFixture{t: t, srv: srv, auth: authSvc}
	f.userToken = f.login()
	req := httptest.NewRequest(http.MethodPost, displaysPrefix, strings.NewReader(`{"name":"Lobby","width":64,"height":32}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.userToken)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	var d struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &d); rec.Code != http.StatusCreated || err != nil || d.Token == "" {
		t.Fatalf("create display: %d %s", rec.Code, rec.Body)
	}
	f.displayToken = d.Token
	return f
}

const limitPassword = "limit test password 1"

// login opens a new session of the admin and returns its token.
func (f *limitFixture) login() string {
	f.t.Helper()
	token, _, err := f.auth.Login(context.Background(), auth.BootstrapUsername, limitPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	return token
}

// wantLimit is the body limit each route must have: the spec, written
// independently of bodyLimit.
func wantLimit(r route) int64 {
	switch {
	case r.method == http.MethodGet || r.method == http.MethodHead || r.method == http.MethodDelete:
		return maxNoBodyBytes
	case r.method == http.MethodPost && r.path == "/api/v1/media":
		return testMaxUpload
	}
	return testMaxBody
}

// request builds a request to r with the credentials the route takes, so
// that only the body limit can stop it. Each has a session of its own:
// the logout route ends the one it is given.
func (f *limitFixture) request(r route, body io.Reader) *http.Request {
	path := strings.NewReplacer(":id", "x", ":rev", "1").Replace(r.path)
	req := httptest.NewRequest(r.method, path, body)
	token := f.login()
	if strings.HasPrefix(r.path, playerPrefix) {
		token = f.displayToken
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if r.method == http.MethodPost && r.path == mediaPrefix {
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless is a body that never ends: prefix, then 'a' for ever. The
// prefixes make it a JSON string or a multipart file part, so that a
// handler that reads its body keeps reading.
type endless struct{ prefix []byte }

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.prefix)
	e.prefix = e.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestBodyLimitEveryRoute sends every route in the route table a body one
// byte over its limit, first with a declared Content-Length (refused with
// 413 before a byte is read), then chunked and endless (whatever reads it
// stops at the limit, and a route that reads it answers 413). The server
// must stay healthy throughout.
func TestBodyLimitEveryRoute(t *testing.T) {
	f := newLimitFixture(t)
	h := f.srv.Handler()
	routes := f.srv.routes()
	if len(routes) < 40 {
		t.Fatalf("route table has %d routes; expected the whole table", len(routes))
	}
	for _, r := range routes {
		limit := wantLimit(r)
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			// Declared: 413 before reading.
			body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte{'{'}, int(limit)+1))}
			req := f.request(r, body)
			req.ContentLength = limit + 1
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got, want := rec.Code, http.StatusRequestEntityTooLarge; got != want {
				t.Fatalf("declared %d bytes: status=%d, want %d; body %s", limit+1, got, want, rec.Body)
			}
			if body.n != 0 {
				t.Fatalf("declared %d bytes: %d bytes were read before refusing", limit+1, body.n)
			}
			if r.method != http.MethodHead && !strings.Contains(rec.Body.String(), `"code":"too_large"`) {
				t.Fatalf("declared %d bytes: body %s", limit+1, rec.Body)
			}
			if got := rec.Header().Get("Connection"); got != "close" {
				t.Fatalf("Connection=%q, want close", got)
			}

			// Chunked and endless: never read past the limit.
			prefix := `{"name":"`
			if r.method == http.MethodPost && r.path == mediaPrefix {
				prefix = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\n\r\n\xFF\xD8\xFF"
			}
			body = &countingReader{r: &endless{prefix: []byte(prefix)}}
			req = f.request(r, body)
			req.ContentLength = -1
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if body.n > limit+1 {
				t.Fatalf("chunked: %d bytes read, limit %d", body.n, limit)
			}
			if body.n > 0 && rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("chunked: the route read %d bytes and answered %d, want 413; body %s", body.n, rec.Code, rec.Body)
			}
			if rec.Code == http.StatusInternalServerError {
				t.Fatalf("chunked: status=%d; body %s", rec.Code, rec.Body)
			}
		})
	}

	// Over a real connection too, and the server still answers.
	ts := httptest.NewServer(h)
	defer ts.Close()
	for _, path := range []string{"/healthz", "/api/v1/player/state", "/api/v1/auth/login"} {
		method := http.MethodGet
		if path == "/api/v1/auth/login" {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(make([]byte, testMaxBody+1)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s %s with %d bytes: status=%d, want 413", method, path, testMaxBody+1, resp.StatusCode)
		}
	}
	resp, err := ts.Client().Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after oversized requests: %d", resp.StatusCode)
	}
}

// TestBodyLimitAllowsNormalBodies: the limits do not get in the way of what
// fits: an empty GET, a small JSON body, a login.
func TestBodyLimitAllowsNormalBodies(t *testing.T) {
	f := newLimitFixture(t)
	h := f.srv.Handler()
	for _, tc := range []struct {
		method, path, body string
		token              string
		want               int
	}{
		{http.MethodGet, "/healthz", "", "", http.StatusOK},
		{http.MethodGet, "/api/v1/media", "{}", f.userToken, http.StatusOK},
		{http.MethodGet, "/api/v1/player/state", "", f.displayToken, http.StatusOK},
		{http.MethodPost, "/api/v1/playlists", `{"name":"P","items":[]}`, f.userToken, http.StatusCreated},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %s: status=%d, want %d; body %s", tc.method, tc.path, rec.Code, tc.want, rec.Body)
		}
	}
}
