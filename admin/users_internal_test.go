package admin

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestSessionCookieOverTLS: over TLS the session cookie is Secure and named
// with the __Host- prefix; over plain HTTP it cannot be either.
func TestSessionCookieOverTLS(t *testing.T) {
	expires := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		tls        bool
		wantName   string
		wantSecure bool
	}{
		{false, "marquee_session", false},
		{true, "__Host-marquee_session", true},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", nil)
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		c := echo.New().NewContext(req, httptest.NewRecorder())
		ck := sessionCookie(c, "mqt_x", expires)
		if ck.Name != tc.wantName || ck.Secure != tc.wantSecure || !ck.HttpOnly ||
			ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" || !ck.Expires.Equal(expires) {
			t.Errorf("tls=%v: cookie %+v", tc.tls, ck)
		}
		if got := cookieName(c); got != tc.wantName {
			t.Errorf("tls=%v: cookieName=%q, want %q", tc.tls, got, tc.wantName)
		}
		if del := sessionCookie(c, "", time.Time{}); del.MaxAge >= 0 || del.Name != tc.wantName || del.Value != "" {
			t.Errorf("tls=%v: deleting cookie %+v", tc.tls, del)
		}
	}
}
