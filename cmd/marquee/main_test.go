package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envMap(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// startMain runs a real Main on loopback :0 ports (HTTP and the embedded
// MQTT broker) and closes it at cleanup.
func startMain(t *testing.T, getenv func(string) string, args ...string) (*Main, *syncBuffer) {
	t.Helper()
	var out, logs syncBuffer
	m := NewMain(&out, &logs, getenv)
	if err := m.ParseFlags("serve", append([]string{"--http-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatalf("ParseFlags: %v", err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close(context.Background())
		t.Fatalf("Run: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m, &out
}

func login(t *testing.T, base, user, pass string) (string, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	return v.Token, resp.StatusCode
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func upload(t *testing.T, base, token, name string, data []byte) (map[string]any, int) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.WriteField("tags", "airport, facade")
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return v, resp.StatusCode
}

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestServeEndToEnd walks the README's curl walk-through against a real Main:
// log in, upload, fetch the content and a rendition of an exact LED size.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m, _ := startMain(t, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"), "--data-dir", dir)
	base := "http://" + m.HTTPAddr()

	if resp, _ := get(t, base+"/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz=%d", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/readyz", ""); resp.StatusCode != 200 {
		t.Fatalf("readyz=%d", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/api/v1/media", ""); resp.StatusCode != 401 {
		t.Fatalf("media without token=%d, want 401", resp.StatusCode)
	}
	if _, code := login(t, base, "admin", "wrong-password-123"); code != 401 {
		t.Fatalf("login with wrong password=%d, want 401", code)
	}
	token, code := login(t, base, "admin", "correct-horse-battery")
	if code != 200 || token == "" {
		t.Fatalf("login=%d token=%q", code, token)
	}

	src := testPNG(t, 300, 200)
	item, code := upload(t, base, token, "banner-cccd.png", src)
	if code != 201 {
		t.Fatalf("upload=%d %v", code, item)
	}
	if got, want := item["kind"], "image"; got != want {
		t.Fatalf("kind=%v, want %v", got, want)
	}
	if got, want := item["width"], float64(300); got != want {
		t.Fatalf("width=%v, want %v", got, want)
	}
	id := item["id"].(string)

	resp, body := get(t, base+"/api/v1/media/"+id+"/content", token)
	if resp.StatusCode != 200 || !bytes.Equal(body, src) {
		t.Fatalf("content=%d, %d bytes, want the %d uploaded bytes", resp.StatusCode, len(body), len(src))
	}
	resp, body = get(t, base+"/api/v1/media/"+id+"/rendition?w=384&h=192&fit=fit", token)
	if resp.StatusCode != 200 {
		t.Fatalf("rendition=%d %s", resp.StatusCode, body)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("decode rendition: %v", err)
	}
	if got, want := img.Bounds().Size(), image.Pt(384, 192); got != want {
		t.Fatalf("rendition size=%v, want %v", got, want)
	}

	// Data lives in the data dir: the SQLite database and the blob.
	if _, err := os.Stat(filepath.Join(dir, "marquee.db")); err != nil {
		t.Fatalf("database not in data dir: %v", err)
	}
}

// TestServeGeneratedAdminPassword: without MARQUEE_ADMIN_PASSWORD the first
// start prints a strong password once; the second start prints nothing.
func TestServeGeneratedAdminPassword(t *testing.T) {
	dir := t.TempDir()
	m, out := startMain(t, envMap(), "--data-dir", dir)
	match := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if match == nil {
		t.Fatalf("no generated password printed; stdout:\n%s", out.String())
	}
	if len(match[1]) < 20 {
		t.Fatalf("generated password %q is shorter than 20 characters", match[1])
	}
	if _, code := login(t, "http://"+m.HTTPAddr(), "admin", match[1]); code != 200 {
		t.Fatalf("login with printed password=%d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}

	_, out2 := startMain(t, envMap(), "--data-dir", dir)
	if strings.Contains(out2.String(), "password:") {
		t.Fatalf("second start printed a password again:\n%s", out2.String())
	}
}

func TestServeRefusesWeakAdminPassword(t *testing.T) {
	var out, logs syncBuffer
	m := NewMain(&out, &logs, envMap("MARQUEE_ADMIN_PASSWORD", "admin"))
	if err := m.ParseFlags("serve", []string{"--http-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	err := m.Run(context.Background())
	defer m.Close(context.Background())
	if err == nil {
		t.Fatal("Run accepted a 5-character admin password")
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	var out, logs syncBuffer
	m := NewMain(&out, &logs, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"))
	if err := m.ParseFlags("serve", []string{"--http-addr", addr, "--mqtt-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	err = m.Run(context.Background())
	m.Close(context.Background())
	if err == nil {
		t.Fatalf("Run on a taken port %s succeeded", addr)
	}
	for _, want := range []string{addr, "already in use", "--http-addr", "MARQUEE_HTTP_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFlagsAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		check   func(Config) error
		wantErr string
	}{
		{"defaults", nil, nil, func(c Config) error {
			if c.HTTPAddr != ":8080" || c.DataDir != "./marquee-data" || c.DB != "" || c.MaxImageBytes != 64<<20 || c.MaxVideoBytes != 512<<20 {
				return fmt.Errorf("defaults %+v", c)
			}
			if c.MQTTAddr != ":1883" || c.MQTTWSAddr != "" || c.Broker != "" || c.BrokerUsername != "marquee-server" || c.MQTTPrefix != "marquee/v1" {
				return fmt.Errorf("MQTT defaults %+v", c)
			}
			return nil
		}, ""},
		{"mqtt env", []string{"MARQUEE_MQTT_ADDR", "", "MARQUEE_MQTT_WS_ADDR", ":8083", "MARQUEE_BROKER", "tcp://mosquitto:1883",
			"MARQUEE_BROKER_USERNAME", "srv", "MARQUEE_BROKER_PASSWORD", "pw", "MARQUEE_MQTT_PREFIX", "city/v1"}, nil, func(c Config) error {
			if c.MQTTAddr != ":1883" || c.MQTTWSAddr != ":8083" || c.Broker != "tcp://mosquitto:1883" || c.BrokerUsername != "srv" ||
				c.BrokerPassword != "pw" || c.MQTTPrefix != "city/v1" {
				return fmt.Errorf("MQTT env not applied (an empty variable keeps the default): %+v", c)
			}
			return nil
		}, ""},
		{"mqtt off by flag", nil, []string{"--mqtt-addr", ""}, func(c Config) error {
			if c.MQTTAddr != "" {
				return fmt.Errorf("mqtt addr %q", c.MQTTAddr)
			}
			return nil
		}, ""},
		{"mqtt off by env", []string{"MARQUEE_MQTT_ADDR", "off"}, nil, func(c Config) error {
			if c.MQTTAddr != "" {
				return fmt.Errorf("mqtt addr %q", c.MQTTAddr)
			}
			return nil
		}, ""},
		{"env", []string{"MARQUEE_HTTP_ADDR", ":9000", "MARQUEE_DATA_DIR", "/srv/m", "MARQUEE_DB", "postgres://db/x", "MARQUEE_MAX_IMAGE_BYTES", "10MiB"}, nil, func(c Config) error {
			if c.HTTPAddr != ":9000" || c.DataDir != "/srv/m" || c.DB != "postgres://db/x" || c.MaxImageBytes != 10<<20 {
				return fmt.Errorf("env not applied: %+v", c)
			}
			return nil
		}, ""},
		{"flag beats env", []string{"MARQUEE_HTTP_ADDR", ":9000"}, []string{"--http-addr", ":9001"}, func(c Config) error {
			if c.HTTPAddr != ":9001" {
				return fmt.Errorf("http addr %q", c.HTTPAddr)
			}
			return nil
		}, ""},
		{"bad env size", []string{"MARQUEE_MAX_VIDEO_BYTES", "lots"}, nil, nil, "MARQUEE_MAX_VIDEO_BYTES"},
		{"bad env bool", []string{"MARQUEE_AUTO_MIGRATE", "maybe"}, nil, nil, "MARQUEE_AUTO_MIGRATE"},
		{"bad log level", nil, []string{"--log-level", "loud"}, nil, "log-level"},
		{"stray argument", nil, []string{"extra"}, nil, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain(io.Discard, io.Discard, envMap(tc.env...))
			err := m.ParseFlags("serve", tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err=%v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.check(m.Config); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHelpListsEnvironment(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &stdout, &stderr, envMap()); code != 0 {
		t.Fatalf("exit=%d", code)
	}
	for _, want := range []string{"--data-dir", "MARQUEE_DATA_DIR", "--http-addr", "MARQUEE_HTTP_ADDR", "--db", "MARQUEE_DB", "MARQUEE_ADMIN_PASSWORD",
		"--mqtt-addr", "MARQUEE_MQTT_ADDR", "--mqtt-ws-addr", "MARQUEE_MQTT_WS_ADDR", "--broker", "MARQUEE_BROKER",
		"--broker-username", "MARQUEE_BROKER_USERNAME", "--broker-password", "MARQUEE_BROKER_PASSWORD", "--mqtt-prefix", "MARQUEE_MQTT_PREFIX"} {
		want = strings.TrimPrefix(want, "-")
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve --help does not mention %q:\n%s", want, stderr.String())
		}
	}
	if code := run(context.Background(), []string{"frobnicate"}, &stdout, &stderr, envMap()); code != 2 {
		t.Fatalf("unknown command exit=%d, want 2", code)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr, envMap()); code != 0 || !strings.HasPrefix(stdout.String(), "marquee ") {
		t.Fatalf("version exit=%d out=%q", code, stdout.String())
	}
}

func TestMigrateCommandAndNewerSchema(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--data-dir", dir}, &out, &errb, envMap()); code != 0 {
		t.Fatalf("migrate exit=%d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "applied migrations") {
		t.Fatalf("first migrate said %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "--data-dir", dir}, &out, &errb, envMap()); code != 0 {
		t.Fatalf("second migrate exit=%d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate said %q", out.String())
	}

	// A database written by a newer marquee: serve must refuse it.
	m := NewMain(io.Discard, io.Discard, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"))
	if err := m.ParseFlags("serve", []string{"--data-dir", dir, "--http-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.openStore(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.SQL().Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"); err != nil {
		t.Fatal(err)
	}
	m.Close(context.Background())

	m = NewMain(io.Discard, io.Discard, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"))
	m.ParseFlags("serve", []string{"--data-dir", dir, "--http-addr", "127.0.0.1:0"})
	err := m.Run(context.Background())
	m.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("serve on a newer schema: err=%v, want a refusal naming version 9999", err)
	}
}

// TestServePostgres runs the same walk-through against PostgreSQL in a
// schema of its own, when MARQUEE_TEST_POSTGRES_DSN is set (CI sets it).
func TestServePostgres(t *testing.T) {
	dsn := os.Getenv("MARQUEE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("MARQUEE_TEST_POSTGRES_DSN is not set; skipping the PostgreSQL end-to-end test")
	}
	schema := fmt.Sprintf("e2e_%d", time.Now().UnixNano())
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	psql := func(q string) {
		t.Helper()
		if _, err := pg.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	psql("CREATE SCHEMA " + schema)
	t.Cleanup(func() { psql("DROP SCHEMA " + schema + " CASCADE") })

	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	m, _ := startMain(t, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"),
		"--data-dir", t.TempDir(), "--db", dsn+sep+"search_path="+schema)
	base := "http://" + m.HTTPAddr()
	token, code := login(t, base, "admin", "correct-horse-battery")
	if code != 200 {
		t.Fatalf("login=%d", code)
	}
	item, code := upload(t, base, token, "p.png", testPNG(t, 64, 32))
	if code != 201 {
		t.Fatalf("upload=%d %v", code, item)
	}
	resp, body := get(t, base+"/api/v1/media?tag=airport", token)
	if resp.StatusCode != 200 || !strings.Contains(string(body), item["id"].(string)) {
		t.Fatalf("list=%d %s", resp.StatusCode, body)
	}
}

// TestBinaryGracefulShutdown builds the real binary, starts it, and checks
// that SIGTERM stops it cleanly with exit code 0.
func TestBinaryGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "marquee")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(), "--http-addr", addr, "--mqtt-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MARQUEE_ADMIN_PASSWORD=correct-horse-battery")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit 15 s after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Fatalf("no shutdown log line:\n%s", logs.String())
	}
}

// TestUsageListsEveryCommand: every subcommand run dispatches appears in
// the top-level usage.
func TestUsageListsEveryCommand(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &stdout, &stderr, envMap()); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	cases := regexp.MustCompile(`case "([a-z]+)":\n\t\terr = run`).FindAllStringSubmatch(string(src), -1)
	if len(cases) < 4 {
		t.Fatalf("found %d subcommands in main.go; the pattern is stale", len(cases))
	}
	for _, c := range cases {
		if !strings.Contains(stdout.String(), "marquee "+c[1]+" ") {
			t.Errorf("usage does not list %q:\n%s", c[1], stdout.String())
		}
	}
}
