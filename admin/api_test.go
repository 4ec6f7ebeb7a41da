package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/alerts"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
	"golang.org/x/crypto/bcrypt"
)

const (
	adminPassword = "test password 123"
	sessionTTL    = 2 * time.Hour
)

// stack is the whole server over real parts: SQLite in a temp dir, the
// media library, the auth service and an httptest server.
type stack struct {
	t        *testing.T
	srv      *httptest.Server
	db       *sqlstore.DB
	root     string // temp dir holding everything the stack writes
	mediaDir string
	clock    *clock
	logs     *syncBuffer
	token    string
	displays *displays.Service // for what the API does not expose (Authenticate)
	server   *admin.Server     // for its route table (matrix_test.go)

	mu       sync.Mutex
	readyErr error
}

type stackOptions struct {
	maxUploadBytes int64
	maxBodyBytes   int64
	changes        admin.Changes
	audit          admin.AuditLog // nil: the store
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, root: t.TempDir(), logs: &syncBuffer{}}
	s.mediaDir = filepath.Join(s.root, "data", "media")
	s.clock = &clock{t: time.Now().UTC()}

	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(s.root, "marquee.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	s.db = db
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	authSvc := auth.NewService(db, auth.Config{SessionTTL: sessionTTL, BcryptCost: bcrypt.MinCost, Now: s.clock.Now})
	if _, created, err := authSvc.Bootstrap(ctx, adminPassword); err != nil || !created {
		t.Fatalf("bootstrap: created=%v err=%v", created, err)
	}
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lib, err := media.NewLibrary(db, media.Config{Dir: s.mediaDir, Logger: logger})
	if err != nil {
		t.Fatalf("new library: %v", err)
	}
	t.Cleanup(func() { lib.Close(context.Background()) })

	s.displays = displays.NewService(db, displays.Config{Now: s.clock.Now})
	srv, err := admin.NewServer(admin.Config{
		Library:        lib,
		Auth:           authSvc,
		Orgs:           orgs.NewService(db, orgs.Config{Now: s.clock.Now}),
		Playlists:      playlists.NewService(db, db, playlists.Config{Now: s.clock.Now}),
		Displays:       s.displays,
		Schedules:      schedules.NewService(db, schedules.Config{Now: s.clock.Now}),
		States:         desired.NewBuilder(db, lib, admin.URLs{}, desired.Config{Now: s.clock.Now}),
		Changes:        opts.changes,
		Audit:          auditLogOr(opts.audit, db), // audit_test.go
		Alerts:         alerts.New(alerts.Config{Store: db, Now: s.clock.Now}),
		Availability:   db,
		Monthly:        db,
		Airtime:        db,
		Now:            s.clock.Now,
		Ready:          s.ready,
		Logger:         logger,
		MaxBodyBytes:   opts.maxBodyBytes,
		MaxUploadBytes: opts.maxUploadBytes,
		Version:        "test",
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	s.server = srv
	s.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stack) ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyErr
}

func (s *stack) setReady(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readyErr = err
}

// login logs in as the bootstrap admin and keeps the token for do.
func (s *stack) login() *stack {
	s.t.Helper()
	resp := s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
	var body struct{ Token string }
	mustDecode(s.t, resp, http.StatusOK, &body)
	s.token = body.Token
	return s
}

// do sends a request with the stack's token (if any). A header value of ""
// deletes that header.
func (s *stack) do(method, path string, body io.Reader, header map[string]string) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	s.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (s *stack) get(path string) *http.Response { return s.do(http.MethodGet, path, nil, nil) }

func (s *stack) doJSON(method, path string, v any) *http.Response {
	s.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(method, path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
}

// part is one part of a multipart body; a non-empty filename makes it a
// file part.
type part struct {
	field, filename string
	data            []byte
}

func multipartBody(t *testing.T, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.field, p.filename)
		} else {
			w, err = mw.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func (s *stack) upload(parts ...part) *http.Response {
	s.t.Helper()
	body, ct := multipartBody(s.t, parts...)
	return s.do(http.MethodPost, "/api/v1/media", body, map[string]string{"Content-Type": ct})
}

// mustUpload uploads a file and returns the created item.
func (s *stack) mustUpload(name, tags string, data []byte) media.Item {
	s.t.Helper()
	resp := s.upload(part{field: "name", data: []byte(name)}, part{field: "tags", data: []byte(tags)}, part{field: "file", filename: "f.bin", data: data})
	var it media.Item
	mustDecode(s.t, resp, http.StatusCreated, &it)
	return it
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

type errorEnvelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks an error response: status, JSON envelope and code.
func wantError(t *testing.T, resp *http.Response, status int, code string) errorEnvelope {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status=%d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type=%q; body %s", ct, body)
	}
	var env errorEnvelope
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if env.Error.Code != code || env.Error.Message == "" {
		t.Fatalf("error envelope %s, want code %q and a message", body, code)
	}
	for _, leak := range []string{"sql", "SQL", "/tmp", ".go:", "goroutine", string(filepath.Separator) + "data" + string(filepath.Separator)} {
		if strings.Contains(env.Error.Message, leak) {
			t.Fatalf("error message %q leaks %q", env.Error.Message, leak)
		}
	}
	return env
}

func mustDecode(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status=%d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// mustJPEG encodes a w×h gradient; seed varies the bytes.
func mustJPEG(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x + seed), uint8(y * 3), uint8(seed * 40), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestHealthz(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp := s.get("/healthz")
	var body map[string]string
	mustDecode(t, resp, http.StatusOK, &body)
	if body["status"] != "ok" {
		t.Fatalf("healthz body=%v", body)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Fatalf("no X-Request-ID")
	}

	// A plain client request ID is kept; anything else is replaced.
	resp = s.do(http.MethodGet, "/healthz", nil, map[string]string{"X-Request-ID": "abc-123"})
	if got := resp.Header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("X-Request-ID=%q, want abc-123", got)
	}
	resp = s.do(http.MethodGet, "/healthz", nil, map[string]string{"X-Request-ID": "evil\" id"})
	if got := resp.Header.Get("X-Request-ID"); got == "" || strings.Contains(got, "evil") {
		t.Fatalf("X-Request-ID=%q, want a fresh one", got)
	}
	if !strings.Contains(s.logs.String(), `"request_id":"abc-123"`) {
		t.Fatalf("access log lacks the request ID:\n%s", s.logs)
	}
}

func TestReadyz(t *testing.T) {
	s := newStack(t, stackOptions{})
	var body map[string]string
	mustDecode(t, s.get("/readyz"), http.StatusOK, &body)

	s.setReady(errors.New("dial tcp 10.0.0.7:5432: connection refused"))
	env := wantError(t, s.get("/readyz"), http.StatusServiceUnavailable, "unavailable")
	if strings.Contains(env.Error.Message, "10.0.0.7") {
		t.Fatalf("readyz leaks its cause: %q", env.Error.Message)
	}
	s.setReady(nil)
	mustDecode(t, s.get("/readyz"), http.StatusOK, &body)
}

func TestLogin(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp := s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login status=%d body %s", resp.StatusCode, raw)
	}
	var body struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		User      auth.User `json:"user"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body.Token, "mqt_") {
		t.Fatalf("token=%q", body.Token)
	}
	if want := s.clock.Now().Add(sessionTTL); body.ExpiresAt.Sub(want).Abs() > time.Second {
		t.Fatalf("expires_at=%v, want %v", body.ExpiresAt, want)
	}
	if body.User.Username != "admin" || body.User.Role != auth.RoleAdmin || body.User.ID == "" {
		t.Fatalf("user=%+v", body.User)
	}
	if bytes.Contains(raw, []byte("$2")) || bytes.Contains(raw, []byte("password")) {
		t.Fatalf("login response shows the password hash: %s", raw)
	}
	// The token works.
	s.token = body.Token
	mustDecode(t, s.get("/api/v1/media"), http.StatusOK, &map[string]any{})
}

func TestLoginFailures(t *testing.T) {
	s := newStack(t, stackOptions{maxBodyBytes: 1 << 10})
	login := "/api/v1/auth/login"

	wrongPass := wantError(t, s.doJSON(http.MethodPost, login, map[string]string{"username": "admin", "password": "nope nope nope"}), 401, "unauthorized")
	unknownUser := wantError(t, s.doJSON(http.MethodPost, login, map[string]string{"username": "mallory", "password": adminPassword}), 401, "unauthorized")
	if wrongPass.Error.Message != unknownUser.Error.Message {
		t.Fatalf("messages differ: %q vs %q", wrongPass.Error.Message, unknownUser.Error.Message)
	}
	if got, want := wrongPass.Error.Message, "invalid username or password"; got != want {
		t.Fatalf("message=%q, want %q", got, want)
	}

	wantError(t, s.doJSON(http.MethodPost, login, map[string]string{"username": "admin"}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPost, login, map[string]string{"username": "admin", "password": adminPassword, "otp": "1"}), 400, "invalid")
	wantError(t, s.do(http.MethodPost, login, strings.NewReader(`{"username":`), map[string]string{"Content-Type": "application/json"}), 400, "invalid")
	wantError(t, s.do(http.MethodPost, login, strings.NewReader(`{"username":"admin"} {}`), map[string]string{"Content-Type": "application/json"}), 400, "invalid")
	wantError(t, s.do(http.MethodPost, login, strings.NewReader(`{"username":1}`), map[string]string{"Content-Type": "application/json"}), 400, "invalid")
	wantError(t, s.do(http.MethodPost, login, strings.NewReader(``), map[string]string{"Content-Type": "application/json"}), 400, "invalid")
	wantError(t, s.do(http.MethodPost, login, strings.NewReader(`username=admin`), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type")
	big := `{"username":"admin","password":"` + strings.Repeat("x", 2<<10) + `"}`
	wantError(t, s.do(http.MethodPost, login, strings.NewReader(big), map[string]string{"Content-Type": "application/json"}), 413, "too_large")
}

func TestAuthRequired(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, tc := range []struct{ name, header string }{
		{"no token", ""},
		{"bad token", "Bearer mqt_not-a-real-token"},
		{"not a token", "Bearer hello"},
		{"basic auth", "Basic YWRtaW46cGFzcw=="},
		{"empty bearer", "Bearer "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(http.MethodGet, "/api/v1/media", nil, map[string]string{"Authorization": tc.header})
			wantError(t, resp, http.StatusUnauthorized, "unauthorized")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without WWW-Authenticate")
			}
		})
	}
	// Routes that change state are guarded too.
	wantError(t, s.upload(part{field: "file", filename: "a.jpg", data: mustJPEG(t, 8, 8, 1)}), 401, "unauthorized")
	wantError(t, s.do(http.MethodPost, "/api/v1/auth/logout", nil, nil), 401, "unauthorized")
	if got := files(t, s.mediaDir); len(got) != 0 {
		t.Fatalf("unauthenticated upload wrote %v", got)
	}
}

func TestTokenExpires(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	mustDecode(t, s.get("/api/v1/media"), http.StatusOK, &map[string]any{})
	s.clock.Add(sessionTTL + time.Second)
	wantError(t, s.get("/api/v1/media"), http.StatusUnauthorized, "unauthorized")
}

func TestLogoutRevokesToken(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	first := s.token
	s.login()
	second := s.token

	s.token = first
	resp := s.do(http.MethodPost, "/api/v1/auth/logout", nil, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout status=%d", resp.StatusCode)
	}
	wantError(t, s.get("/api/v1/media"), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.do(http.MethodPost, "/api/v1/auth/logout", nil, nil), http.StatusUnauthorized, "unauthorized")

	// Other sessions live on.
	s.token = second
	mustDecode(t, s.get("/api/v1/media"), http.StatusOK, &map[string]any{})
}

func TestUploadJPEG(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	data := mustJPEG(t, 320, 240, 1)
	sum := sha256.Sum256(data)

	for _, tc := range []struct {
		name  string
		parts []part
	}{
		{"fields first", []part{{field: "name", data: []byte("Tết sale")}, {field: "tags", data: []byte("lobby, Promo ,,")}, {field: "file", filename: "photo.jpg", data: data}}},
		{"fields last", []part{{field: "file", filename: "photo.jpg", data: data}, {field: "name", data: []byte("Tết sale")}, {field: "tags", data: []byte("lobby, Promo ,,")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.upload(tc.parts...)
			var it media.Item
			mustDecode(t, resp, http.StatusCreated, &it)
			if got, want := resp.Header.Get("Location"), "/api/v1/media/"+it.ID; got != want {
				t.Fatalf("Location=%q, want %q", got, want)
			}
			if it.Name != "Tết sale" || it.Kind != media.KindImage || it.MIME != "image/jpeg" ||
				it.Width != 320 || it.Height != 240 || it.Size != int64(len(data)) ||
				it.SHA256 != hex.EncodeToString(sum[:]) || it.DurationMS != 0 || it.CreatedAt.IsZero() {
				t.Fatalf("item=%+v", it)
			}
			if len(it.Tags) != 2 {
				t.Fatalf("tags=%q, want lobby and promo", it.Tags)
			}
			var got media.Item
			mustDecode(t, s.get(resp.Header.Get("Location")), http.StatusOK, &got)
			if got.ID != it.ID || got.Name != it.Name {
				t.Fatalf("GET Location = %+v, want %+v", got, it)
			}
		})
	}
}

func TestUploadDefaultName(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	var it media.Item
	mustDecode(t, s.upload(part{field: "file", filename: "banner 1.jpg", data: mustJPEG(t, 16, 16, 1)}), http.StatusCreated, &it)
	if it.Name != "banner 1.jpg" {
		t.Fatalf("name=%q, want the file name", it.Name)
	}
	if it.Tags == nil || len(it.Tags) != 0 {
		t.Fatalf("tags=%#v, want []", it.Tags)
	}

	// A file part without a filename.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="file"`}})
	w.Write(mustJPEG(t, 16, 16, 2))
	mw.Close()
	resp := s.do(http.MethodPost, "/api/v1/media", &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
	mustDecode(t, resp, http.StatusCreated, &it)
	if it.Name != "untitled" {
		t.Fatalf("name=%q, want untitled", it.Name)
	}
}

// pngHeader returns a PNG signature and IHDR chunk declaring w×h, followed by
// a little junk: enough for DecodeConfig, nothing to decode.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte("IHDR")
	ihdr = append(ihdr, byte(w>>24), byte(w>>16), byte(w>>8), byte(w), byte(h>>24), byte(h>>16), byte(h>>8), byte(h), 8, 2, 0, 0, 0)
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	b.Write([]byte{0, 0, 0, 13})
	b.Write(ihdr)
	crc := crc32.ChecksumIEEE(ihdr)
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	b.Write(bytes.Repeat([]byte{0}, 64))
	return b.Bytes()
}

func TestUploadRejects(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	before := files(t, s.mediaDir)
	jpg := mustJPEG(t, 16, 16, 1)

	for _, tc := range []struct {
		name   string
		parts  []part
		status int
		code   string
	}{
		{"no file part", []part{{field: "name", data: []byte("x")}}, 400, "invalid"},
		{"no parts", nil, 400, "invalid"},
		{"empty file", []part{{field: "file", filename: "a.jpg", data: nil}}, 400, "invalid"},
		{"png bomb", []part{{field: "file", filename: "a.png", data: pngHeader(50000, 50000)}}, 400, "invalid"},
		{"tiff", []part{{field: "file", filename: "a.jpg", data: append([]byte("II*\x00\x08\x00\x00\x00"), make([]byte, 64)...)}}, 415, "unsupported_media_type"},
		{"bmp", []part{{field: "file", filename: "a.jpg", data: append([]byte("BM\x46\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"), make([]byte, 64)...)}}, 415, "unsupported_media_type"},
		{"svg", []part{{field: "file", filename: "a.jpg", data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)}}, 415, "unsupported_media_type"},
		{"html", []part{{field: "file", filename: "a.jpg", data: []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")}}, 415, "unsupported_media_type"},
		{"elf", []part{{field: "file", filename: "a.jpg", data: append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 64)...)}}, 415, "unsupported_media_type"},
		{"two files", []part{{field: "file", filename: "a.jpg", data: jpg}, {field: "file", filename: "b.jpg", data: jpg}}, 400, "invalid"},
		{"unknown field", []part{{field: "file", filename: "a.jpg", data: jpg}, {field: "owner", data: []byte("x")}}, 400, "invalid"},
		{"name too long", []part{{field: "file", filename: "a.jpg", data: jpg}, {field: "name", data: bytes.Repeat([]byte("n"), 20<<10)}}, 400, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.upload(tc.parts...), tc.status, tc.code)
		})
	}
	wantError(t, s.do(http.MethodPost, "/api/v1/media", bytes.NewReader(jpg), map[string]string{"Content-Type": "image/jpeg"}), 415, "unsupported_media_type")
	wantError(t, s.do(http.MethodPost, "/api/v1/media", strings.NewReader("--x\r\n"), map[string]string{"Content-Type": "multipart/form-data; boundary=x"}), 400, "invalid")

	var list struct{ Items []media.Item }
	mustDecode(t, s.get("/api/v1/media"), http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("rejected uploads left items: %+v", list.Items)
	}
	if after := files(t, s.mediaDir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("rejected uploads left files: before %v, after %v", before, after)
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestUploadTooLarge(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp) // catch temp files spooled outside the media dir
	const limit = 256 << 10
	s := newStack(t, stackOptions{maxUploadBytes: limit}).login()
	before := files(t, s.mediaDir)

	// The body is generated as it is sent: the client never holds it.
	head := mustJPEG(t, 64, 64, 1)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var written int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := func() error {
			if err := mw.WriteField("name", "huge"); err != nil {
				return err
			}
			fw, err := mw.CreateFormFile("file", "huge.jpg")
			if err != nil {
				return err
			}
			if _, err := fw.Write(head); err != nil {
				return err
			}
			written, err = io.Copy(fw, io.LimitReader(zeros{}, 64<<20))
			if err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	resp := s.do(http.MethodPost, "/api/v1/media", pr, map[string]string{"Content-Type": mw.FormDataContentType()})
	wantError(t, resp, http.StatusRequestEntityTooLarge, "too_large")
	pr.Close()
	<-done
	if written >= 64<<20 {
		t.Fatalf("the client sent the whole body (%d bytes)", written)
	}

	var list struct{ Items []media.Item }
	mustDecode(t, s.get("/api/v1/media"), http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("oversized upload left items: %+v", list.Items)
	}
	if after := files(t, s.mediaDir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("oversized upload left files: before %v, after %v", before, after)
	}
	if left := files(t, tmp); len(left) != 0 {
		t.Fatalf("oversized upload left temp files %v", left)
	}

	// A small upload still fits.
	s.mustUpload("small", "", mustJPEG(t, 32, 32, 2))
}

func TestUploadNameIsData(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	name := "../../etc/passwd"
	it := s.mustUpload(name, "", mustJPEG(t, 16, 16, 1))
	if it.Name != name {
		t.Fatalf("name=%q, want %q", it.Name, name)
	}
	resp := s.get("/api/v1/media/" + it.ID + "/content")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("content status=%d", resp.StatusCode)
	}
	cd := resp.Header.Get("Content-Disposition")
	if strings.Contains(cd, "/") || !strings.Contains(cd, "filename*=UTF-8''..%2F..%2Fetc%2Fpasswd") {
		t.Fatalf("Content-Disposition=%q", cd)
	}
	// Everything written lives in the media dir or is the database.
	for _, f := range files(t, s.root) {
		if strings.Contains(f, "passwd") {
			t.Fatalf("file %q written from the name", f)
		}
		if !strings.HasPrefix(f, filepath.Join("data", "media")+string(filepath.Separator)) && !strings.HasPrefix(f, "marquee.db") {
			t.Fatalf("file %q written outside the data dir", f)
		}
	}
}

func TestListMedia(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	var all []media.Item
	for i := range 5 {
		tags := "lobby"
		if i%2 == 1 {
			tags = "lobby,street"
		}
		all = append(all, s.mustUpload(fmt.Sprintf("Banner %d", i), tags, mustJPEG(t, 16+i, 16, i)))
	}

	type page struct {
		Items      []media.Item `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
	names := func(p page) []string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.Name)
		}
		return out
	}

	// Pages of 2, newest first.
	var got, gotIDs []string
	cursor := ""
	for range 3 {
		var p page
		mustDecode(t, s.get("/api/v1/media?limit=2&cursor="+cursor), http.StatusOK, &p)
		if len(p.Items) > 2 {
			t.Fatalf("page of %d items with limit=2", len(p.Items))
		}
		got = append(got, names(p)...)
		for _, it := range p.Items {
			gotIDs = append(gotIDs, it.ID)
		}
		cursor = p.NextCursor
		if cursor == "" {
			break
		}
	}
	if want := "[Banner 4 Banner 3 Banner 2 Banner 1 Banner 0]"; fmt.Sprint(got) != want {
		t.Fatalf("paged names=%v, want %s", got, want)
	}
	if cursor != "" {
		t.Fatalf("next_cursor=%q after the last page", cursor)
	}
	for i, it := range all {
		if gotIDs[len(all)-1-i] != it.ID {
			t.Fatalf("paged IDs=%v, want the uploads newest first", gotIDs)
		}
	}

	for _, tc := range []struct {
		query string
		want  string
	}{
		{"tag=street", "[Banner 3 Banner 1]"},
		{"tag=nope", "[]"},
		{"q=banner%202", "[Banner 2]"},
		{"kind=image&tag=lobby&limit=500", "[Banner 4 Banner 3 Banner 2 Banner 1 Banner 0]"},
		{"kind=video", "[]"},
	} {
		var p page
		mustDecode(t, s.get("/api/v1/media?"+tc.query), http.StatusOK, &p)
		if fmt.Sprint(names(p)) != tc.want {
			t.Errorf("?%s: names=%v, want %s", tc.query, names(p), tc.want)
		}
		if p.Items == nil {
			t.Errorf("?%s: items is null, want []", tc.query)
		}
	}

	for _, q := range []string{"limit=0", "limit=501", "limit=abc", "limit=-1", "kind=audio", "cursor=%21%21garbage"} {
		wantError(t, s.get("/api/v1/media?"+q), http.StatusBadRequest, "invalid")
	}
}

func TestUploadVideo(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "media", "testdata", "clip.mp4"))
	if err != nil {
		t.Skipf("no sample clip: %v", err)
	}
	s := newStack(t, stackOptions{}).login()
	it := s.mustUpload("clip", "street", data)
	if it.Kind != media.KindVideo || it.DurationMS <= 0 || it.Width <= 0 {
		t.Fatalf("video item=%+v", it)
	}
	var p struct{ Items []media.Item }
	mustDecode(t, s.get("/api/v1/media?kind=video"), http.StatusOK, &p)
	if len(p.Items) != 1 || p.Items[0].ID != it.ID {
		t.Fatalf("kind=video gave %+v", p.Items)
	}
}

func TestGetUpdateDeleteMedia(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	it := s.mustUpload("Before", "a", mustJPEG(t, 16, 16, 1))
	path := "/api/v1/media/" + it.ID

	wantError(t, s.get("/api/v1/media/med_doesnotexist"), http.StatusNotFound, "not_found")

	var got media.Item
	mustDecode(t, s.doJSON(http.MethodPatch, path, map[string]any{"name": "After", "tags": []string{"x", "y"}}), http.StatusOK, &got)
	if got.Name != "After" || fmt.Sprint(got.Tags) != "[x y]" {
		t.Fatalf("patched item=%+v", got)
	}
	// Only the fields sent change.
	mustDecode(t, s.doJSON(http.MethodPatch, path, map[string]any{"tags": []string{"z"}}), http.StatusOK, &got)
	mustDecode(t, s.get(path), http.StatusOK, &got)
	if got.Name != "After" || fmt.Sprint(got.Tags) != "[z]" {
		t.Fatalf("item after second patch=%+v", got)
	}

	wantError(t, s.doJSON(http.MethodPatch, path, map[string]any{"name": "x", "kind": "video"}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPatch, path, map[string]any{"tags": "x"}), 400, "invalid")
	wantError(t, s.doJSON(http.MethodPatch, "/api/v1/media/med_doesnotexist", map[string]any{"name": "x"}), 404, "not_found")
	mustDecode(t, s.get(path), http.StatusOK, &got)
	if got.Name != "After" {
		t.Fatalf("a refused patch changed the item: %+v", got)
	}

	resp := s.do(http.MethodDelete, path, nil, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete status=%d", resp.StatusCode)
	}
	wantError(t, s.get(path), http.StatusNotFound, "not_found")
	wantError(t, s.get(path+"/content"), http.StatusNotFound, "not_found")
	wantError(t, s.do(http.MethodDelete, path, nil, nil), http.StatusNotFound, "not_found")
}

func TestMediaContent(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	data := mustJPEG(t, 64, 64, 3)
	it := s.mustUpload("Quảng cáo \"mới\"; x=1", "", data)
	path := "/api/v1/media/" + it.ID + "/content"
	etag := `"` + it.SHA256 + `"`

	resp := s.get(path)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("content status=%d, %d bytes (want %d)", resp.StatusCode, len(body), len(data))
	}
	for k, want := range map[string]string{
		"ETag":                   etag,
		"Cache-Control":          "public, max-age=31536000, immutable",
		"Content-Type":           "image/jpeg",
		"X-Content-Type-Options": "nosniff",
		"Accept-Ranges":          "bytes",
		"Content-Disposition":    `inline; filename="Qu_ng c_o _m_i_; x=1"; filename*=UTF-8''Qu%E1%BA%A3ng%20c%C3%A1o%20%22m%E1%BB%9Bi%22%3B%20x%3D1`,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}

	resp = s.do(http.MethodGet, path, nil, map[string]string{"Range": "bytes=10-19"})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[10:20]) {
		t.Fatalf("range status=%d body=%x, want 206 %x", resp.StatusCode, body, data[10:20])
	}
	if got, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes 10-19/%d", len(data)); got != want {
		t.Fatalf("Content-Range=%q, want %q", got, want)
	}

	resp = s.do(http.MethodGet, path, nil, map[string]string{"If-None-Match": etag})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match status=%d, %d bytes", resp.StatusCode, len(body))
	}

	resp = s.do(http.MethodHead, path, nil, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(data)) {
		t.Fatalf("HEAD status=%d length=%d", resp.StatusCode, resp.ContentLength)
	}

	resp = s.get("/api/v1/media/med_doesnotexist/content")
	if resp.Header.Get("ETag") != "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("404 carries caching headers (want Cache-Control: no-store only): %v", resp.Header)
	}
	wantError(t, resp, http.StatusNotFound, "not_found")
}

func TestMediaRendition(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	it := s.mustUpload("photo", "", mustJPEG(t, 320, 240, 1))
	base := "/api/v1/media/" + it.ID

	for _, tc := range []struct {
		query string
		w, h  int
	}{
		{"w=192&h=96", 192, 96},
		{"w=192&h=96&fit=fill", 192, 96},
		{"w=1536&h=256&fit=fit", 1536, 256},
		{"w=50&h=100&fit=stretch", 50, 100},
	} {
		resp := s.get(base + "/rendition?" + tc.query)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("?%s: status=%d body %s", tc.query, resp.StatusCode, body)
		}
		img, format, err := image.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("?%s: decode: %v", tc.query, err)
		}
		if got, want := img.Bounds().Size(), image.Pt(tc.w, tc.h); got != want {
			t.Fatalf("?%s: size=%v, want %v", tc.query, got, want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "image/"+format {
			t.Fatalf("?%s: Content-Type=%q for a %s", tc.query, ct, format)
		}
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("?%s: ETag=%q Cache-Control=%q", tc.query, etag, resp.Header.Get("Cache-Control"))
		}
		resp = s.do(http.MethodGet, base+"/rendition?"+tc.query, nil, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("?%s: If-None-Match status=%d", tc.query, resp.StatusCode)
		}
	}

	for _, q := range []string{"w=0&h=10", "w=9000&h=10", "w=abc&h=10", "h=10", "w=10", "w=10&h=10.5", "w=10&h=10&fit=zoom"} {
		wantError(t, s.get(base+"/rendition?"+q), http.StatusBadRequest, "invalid")
	}
	wantError(t, s.get("/api/v1/media/med_doesnotexist/rendition?w=10&h=10"), http.StatusNotFound, "not_found")
}

func TestMediaThumbnail(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	it := s.mustUpload("photo", "", mustJPEG(t, 640, 480, 1))
	resp := s.get("/api/v1/media/" + it.ID + "/thumbnail")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("thumbnail status=%d body %s", resp.StatusCode, body)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("decode thumbnail: %v", err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dx() > 640 || b.Dy() > 480 {
		t.Fatalf("thumbnail size %v", b.Size())
	}
	if resp.Header.Get("ETag") == "" {
		t.Fatalf("thumbnail without ETag")
	}
	wantError(t, s.get("/api/v1/media/med_doesnotexist/thumbnail"), http.StatusNotFound, "not_found")
}

func TestRouterErrors(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	wantError(t, s.get("/nope"), http.StatusNotFound, "not_found")
	wantError(t, s.get("/api/v1/nope"), http.StatusNotFound, "not_found")
	resp := s.do(http.MethodPut, "/api/v1/media", nil, nil)
	if resp.Header.Get("Allow") == "" {
		t.Errorf("405 without Allow")
	}
	wantError(t, resp, http.StatusMethodNotAllowed, "method_not_allowed")
	wantError(t, s.do(http.MethodDelete, "/healthz", nil, nil), http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestInternalErrorsAreHidden(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	s.db.Close() // every query now fails with a driver error
	resp := s.do(http.MethodGet, "/api/v1/media", nil, map[string]string{"X-Request-ID": "req-broken-db"})
	env := wantError(t, resp, http.StatusInternalServerError, "internal")
	if env.Error.Message != "internal error" {
		t.Fatalf("message=%q", env.Error.Message)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `"request_id":"req-broken-db"`) || !strings.Contains(logs, "request failed") {
		t.Fatalf("internal error not logged with its request ID:\n%s", logs)
	}
}
