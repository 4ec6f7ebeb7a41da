package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
)

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, code := range []string{
		marquee.ENOTFOUND, marquee.EINVALID, marquee.ECONFLICT, marquee.EUNAUTHORIZED, marquee.EFORBIDDEN,
		marquee.ETOOLARGE, marquee.EUNSUPPORTED, marquee.EUNAVAILABLE, marquee.EINTERNAL,
	} {
		if statusByCode[code] == 0 {
			t.Errorf("code %q has no HTTP status", code)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err     error
		status  int
		code    string
		message string
	}{
		{marquee.Errorf(marquee.ENOTFOUND, "media not found"), 404, "not_found", "media not found"},
		{fmt.Errorf("wrapped: %w", marquee.Errorf(marquee.ECONFLICT, "in use")), 409, "conflict", "in use"},
		{marquee.Errorf(marquee.EINTERNAL, "open /var/lib/x: denied"), 500, "internal", "internal error"},
		{marquee.Errorf("bogus", "what"), 500, "internal", "internal error"},
		{errors.New(`pq: syntax error at "SELECT"`), 500, "internal", "internal error"},
		{&http.MaxBytesError{Limit: 10}, 413, "too_large", "request body too large"},
		{marquee.WrapError(marquee.EINTERNAL, &http.MaxBytesError{Limit: 10}, "copy"), 413, "too_large", "request body too large"},
		{echo.ErrNotFound, 404, "not_found", "not found"},
		{echo.ErrMethodNotAllowed, 405, "method_not_allowed", "method not allowed"},
		{echo.NewHTTPError(http.StatusBadRequest, "raw detail").SetInternal(errors.New("secret")), 400, "invalid", "bad request"},
		{echo.NewHTTPError(http.StatusBadGateway), 500, "internal", "internal error"},
	} {
		status, code, message := classify(tc.err)
		if status != tc.status || code != tc.code || message != tc.message {
			t.Errorf("classify(%v) = %d %q %q, want %d %q %q", tc.err, status, code, message, tc.status, tc.code, tc.message)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"banner.jpg", `inline; filename="banner.jpg"; filename*=UTF-8''banner.jpg`},
		{"../../etc/passwd", `inline; filename=".._.._etc_passwd"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`},
		{"a\"b\\c\r\nSet-Cookie: x", `inline; filename="a_b_c__Set-Cookie: x"; filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x`},
		{"100%", `inline; filename="100_"; filename*=UTF-8''100%25`},
		{"", `inline`},
	} {
		if got := contentDisposition(tc.name); got != tc.want {
			t.Errorf("contentDisposition(%q)=%q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer mqt_x", "mqt_x", true},
		{"bearer mqt_x", "mqt_x", true},
		{"Bearer  mqt_x ", "mqt_x", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	} {
		token, ok := bearerToken(tc.header)
		if token != tc.token || ok != tc.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.header, token, ok, tc.token, tc.ok)
		}
	}
}

// TestPanicIsJSON500 installs a panicking handler through the test hook.
func TestPanicIsJSON500(t *testing.T) {
	var logs strings.Builder
	s := &Server{
		logger:   slog.New(slog.NewJSONHandler(&logs, nil)),
		maxBody:  DefaultMaxBodyBytes,
		testHook: func(echo.Context) error { panic("boom in /srv/secret.go") },
	}
	s.echo = s.newEcho()

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/_test/hook", nil)
	req.Header.Set("X-Request-ID", "req-panic")
	s.Handler().ServeHTTP(rec, req)

	body, _ := io.ReadAll(rec.Body)
	if got, want := rec.Code, http.StatusInternalServerError; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := strings.TrimSpace(string(body)), `{"error":{"code":"internal","message":"internal error"}}`; got != want {
		t.Fatalf("body=%s, want %s", got, want)
	}
	if got := rec.Header().Get("X-Request-ID"); got != "req-panic" {
		t.Fatalf("X-Request-ID=%q", got)
	}
	for _, want := range []string{`"panic":"boom in /srv/secret.go"`, `"stack":"goroutine`, `"request_id":"req-panic"`, `"status":500`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

func TestSnakeJSON(t *testing.T) {
	for in, want := range map[string]string{
		"MQTTClient": "mqtt_client", "BatchesDropped": "batches_dropped", "Fleet": "fleet",
		"ACLDenials": "acl_denials", "HTTP2Conns": "http2_conns", "ID": "id", "UnknownDisplay": "unknown_display",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
	type inner struct{ Dropped uint64 }
	v := struct {
		Plays   inner
		Broker  *inner
		Missing *inner
		hidden  int
	}{Plays: inner{3}, Broker: &inner{5}}
	got, err := json.Marshal(snakeJSON(reflect.ValueOf(v)))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"broker":{"dropped":5},"missing":null,"plays":{"dropped":3}}`; string(got) != want {
		t.Errorf("snakeJSON = %s, want %s", got, want)
	}
	_ = v.hidden
}
