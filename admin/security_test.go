package admin_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wantSecurityHeaders checks the headers every response carries.
func wantSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	for k, v := range map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Resource-Policy": "same-origin",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s %s: %s=%q, want %q", resp.Request.Method, resp.Request.URL.Path, k, got, v)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	it := s.mustUpload("Banner", "", mustJPEG(t, 64, 32, 1))

	for _, tc := range []struct {
		method, path string
		status       int
		cache        string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, "no-store"},
		{http.MethodGet, "/api/v1/media", http.StatusOK, "no-store"},
		{http.MethodGet, "/api/v1/media/" + it.ID, http.StatusOK, "no-store"},
		{http.MethodGet, "/api/v1/media/missing", http.StatusNotFound, "no-store"},
		{http.MethodGet, "/api/v1/nowhere", http.StatusNotFound, "no-store"},
		{http.MethodPut, "/api/v1/media", http.StatusMethodNotAllowed, "no-store"},
		// Media bytes keep their own caching.
		{http.MethodGet, "/api/v1/media/" + it.ID + "/content", http.StatusOK, "public, max-age=31536000, immutable"},
		{http.MethodHead, "/api/v1/media/" + it.ID + "/content", http.StatusOK, "public, max-age=31536000, immutable"},
		{http.MethodGet, "/api/v1/media/" + it.ID + "/thumbnail", http.StatusOK, "public, max-age=31536000, immutable"},
		// A failed media request must not be cached as immutable.
		{http.MethodGet, "/api/v1/media/" + it.ID + "/rendition?w=0&h=1", http.StatusBadRequest, "no-store"},
	} {
		resp := s.do(tc.method, tc.path, nil, nil)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status=%d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		wantSecurityHeaders(t, resp)
		if got := resp.Header.Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s %s: Cache-Control=%q, want %q", tc.method, tc.path, got, tc.cache)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s %s over plain HTTP: Strict-Transport-Security=%q", tc.method, tc.path, got)
		}
	}

	// A login answer (a token) is never stored.
	resp := s.doJSON(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
	io.Copy(io.Discard, resp.Body)
	if got := resp.Header.Get("Cache-Control"); resp.StatusCode != http.StatusOK || got != "no-store" {
		t.Errorf("login: status=%d Cache-Control=%q, want 200 no-store", resp.StatusCode, got)
	}
}

// TestHSTSOverTLS: over TLS every answer, errors included, pins HTTPS.
func TestHSTSOverTLS(t *testing.T) {
	s := newStack(t, stackOptions{})
	ts := httptest.NewTLSServer(s.srv.Config.Handler)
	defer ts.Close()
	for _, path := range []string{"/healthz", "/api/v1/media", "/nowhere"} {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.Header.Get("Strict-Transport-Security"), "max-age=31536000"; got != want {
			t.Errorf("GET %s over TLS (%d): Strict-Transport-Security=%q, want %q", path, resp.StatusCode, got, want)
		}
		wantSecurityHeaders(t, resp)
	}
}

// leaks are what an error answer must never contain: SQL, paths, Go
// source positions, stacks.
var leaks = []string{"sql", "SQL", "database", "/tmp", "/var", ".go", "goroutine", "open ", "no such", "symbolic link", "not a directory"}

// wantGeneric500 checks that resp is the generic internal error and that
// its whole body leaks nothing, not even the stack's temp dir.
func (s *stack) wantGeneric500(resp *http.Response) {
	s.t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusInternalServerError; got != want {
		s.t.Fatalf("%s %s: status=%d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, got, want, body)
	}
	if got, want := strings.TrimSpace(string(body)), `{"error":{"code":"internal","message":"internal error"}}`; got != want {
		s.t.Fatalf("%s %s: body %s, want %s", resp.Request.Method, resp.Request.URL.Path, got, want)
	}
	for _, leak := range append(leaks, s.root) {
		for k, vs := range resp.Header {
			for _, v := range vs {
				if strings.Contains(v, leak) {
					s.t.Fatalf("header %s: %s leaks %q", k, v, leak)
				}
			}
		}
	}
}

// TestInternalErrorsAreGeneric forces internal errors — a media file that
// cannot be opened, a rendition directory that cannot be written, a closed
// database — and checks that the client is told "internal error" only,
// while the log keeps the detail with the request ID.
func TestInternalErrorsAreGeneric(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	it := s.mustUpload("Banner", "", mustJPEG(t, 64, 32, 1))

	// The blob becomes a symbolic link to itself: opening it fails with
	// ELOOP, which is not "missing" (that would be a 404).
	blob := filepath.Join(s.mediaDir, "blobs", it.SHA256[:2], it.SHA256)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(blob, blob); err != nil {
		t.Fatal(err)
	}
	resp := s.do(http.MethodGet, "/api/v1/media/"+it.ID+"/content", nil, map[string]string{"X-Request-ID": "req-blob"})
	s.wantGeneric500(resp)
	wantLogged(t, s.logs.String(), "req-blob", blob)
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// The renditions directory becomes a file: generating one fails.
	renditions := filepath.Join(s.mediaDir, "renditions")
	if err := os.RemoveAll(renditions); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(renditions, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp = s.do(http.MethodGet, "/api/v1/media/"+it.ID+"/rendition?w=32&h=16&fit=fill", nil, map[string]string{"X-Request-ID": "req-rendition"})
	s.wantGeneric500(resp)
	wantLogged(t, s.logs.String(), "req-rendition", renditions)

	// The database goes away under the server.
	s.db.Close()
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/media", ""},
		{http.MethodGet, "/api/v1/displays", ""},
		{http.MethodPost, "/api/v1/auth/login", `{"username":"admin","password":"whatever it is"}`},
	} {
		resp := s.do(tc.method, tc.path, strings.NewReader(tc.body), map[string]string{"Content-Type": "application/json", "X-Request-ID": "req-closed-db"})
		s.wantGeneric500(resp)
	}
	wantLogged(t, s.logs.String(), "req-closed-db", "database is closed")
}

// wantLogged checks that a log line of the request has the detail.
func wantLogged(t *testing.T, logs, requestID, detail string) {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"request_id":"`+requestID+`"`) && strings.Contains(line, `"msg":"request failed"`) &&
			strings.Contains(line, jsonEscaped(detail)) {
			return
		}
	}
	t.Fatalf("no \"request failed\" log line of %s mentions %q:\n%s", requestID, detail, logs)
}

// jsonEscaped is s as it appears inside a JSON string.
func jsonEscaped(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// TestSecretsNeverLogged runs what carries secrets through the whole
// server (HTTP, the embedded broker, the fleet service) and checks the log
// holds none of them: failed and successful logins, a display's token on
// the player routes (in the header, and pasted in query strings), a token
// rotation, MQTT logins accepted and refused, a logout.
func TestSecretsNeverLogged(t *testing.T) {
	fs := newFleetStack(t) // logged in as the admin
	const wrongPassword = "not-the-right-password-9"
	secrets := map[string]string{
		"admin password": adminPassword,
		"wrong password": wrongPassword,
		"session token":  fs.token,
		"MQTT password":  serverPassword,
	}

	for _, body := range []map[string]string{
		{"username": "admin", "password": wrongPassword},
		{"username": "nobody", "password": wrongPassword},
	} {
		wantError(t, fs.doJSON(http.MethodPost, "/api/v1/auth/login", body), http.StatusUnauthorized, "unauthorized")
	}

	d := fs.mustCreateDisplay(display("Lobby"))
	secrets["display token"] = d.Token
	bearer := "Bearer " + d.Token
	for _, path := range []string{
		"/api/v1/player/state",
		"/api/v1/player/state?token=" + d.Token + "&access_token=" + fs.token,
	} {
		resp := fs.playerGet(path, bearer, nil)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	resp := fs.do(http.MethodGet, "/api/v1/media?token="+fs.token, nil, nil)
	io.Copy(io.Discard, resp.Body)
	// A display token where a user's belongs, and a made-up one.
	wantError(t, fs.playerGet("/api/v1/media", bearer, nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, fs.playerGet("/api/v1/player/state", "Bearer mqd_made_up_token_0123456789", nil), http.StatusUnauthorized, "unauthorized")

	// MQTT: the display logs in, then someone with a wrong password.
	c := fs.connectDisplay(d)
	c.Close(t.Context())
	const wrongMQTT = "mqd_wrong_mqtt_password_42"
	secrets["wrong MQTT password"] = wrongMQTT
	if code := mqttConnect(t, fs.broker.Addr(), d.ID, wrongMQTT); code == 0 {
		t.Fatalf("MQTT login with a wrong password accepted")
	}

	// Rotation: the new token is a secret too, and the old one is refused.
	var rotated struct{ Token string }
	mustDecode(t, fs.do(http.MethodPost, "/api/v1/displays/"+d.ID+"/token", nil, nil), http.StatusOK, &rotated)
	secrets["rotated display token"] = rotated.Token
	wantError(t, fs.playerGet("/api/v1/player/state", bearer, nil), http.StatusUnauthorized, "unauthorized")

	resp = fs.do(http.MethodPost, "/api/v1/auth/logout", nil, nil)
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}

	logs := fs.logs.String()
	for _, want := range []string{`"path":"/api/v1/auth/login"`, `"path":"/api/v1/player/state"`, `"status":401`, "mqtt login refused"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log lacks %s: was it captured?\n%s", want, logs)
		}
	}
	for name, secret := range secrets {
		if secret == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
	for _, bad := range []string{"Bearer", "Authorization", "access_token", "token="} {
		if strings.Contains(logs, bad) {
			t.Errorf("the log contains %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}

// mqttConnect sends a bare MQTT 3.1.1 CONNECT with username and password
// and returns the CONNACK return code (0: accepted).
func mqttConnect(t *testing.T, addr, username, password string) byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	str := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
	}
	var vh []byte
	vh = str(vh, "MQTT")
	vh = append(vh, 4, 0xC2, 0, 30) // level 4; username, password, clean session; keepalive 30 s
	vh = str(vh, "probe-"+username)
	vh = str(vh, username)
	vh = str(vh, password)
	pkt := append([]byte{0x10, byte(len(vh))}, vh...) // remaining length < 128
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(bufio.NewReader(conn), ack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if ack[0] != 0x20 {
		t.Fatalf("CONNACK expected, got % x", ack)
	}
	return ack[3]
}
