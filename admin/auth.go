package admin

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// requireAuth admits a request only with a valid credential (see
// authenticate), and keeps the effective user, the session (nil for an API
// token) and the whole credential in the context.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cred, err := s.authenticate(c)
		if err != nil {
			return err
		}
		c.Set(ctxUser, cred.User)
		c.Set(ctxSession, cred.Session)
		c.Set(ctxCredential, cred)
		return next(c)
	}
}

// ctxCredential keeps the *auth.Credential that requireAuth admitted.
const ctxCredential = "marquee.credential"

// Session cookies. Over TLS the cookie is named with the "__Host-" prefix,
// which browsers accept only with Secure, Path=/ and no Domain, so that a
// sibling subdomain cannot plant one; over plain HTTP it cannot be.
const (
	sessionCookieName    = "marquee_session"
	sessionCookieNameTLS = "__Host-marquee_session"
	headerCSRFToken      = "X-CSRF-Token"
)

// authenticate finds the credential of a request. An Authorization header
// wins: "Bearer <token>", a bearer session's or an API token's, and no CSRF
// token is needed, since browsers never add that header by themselves.
// Otherwise the session cookie (a cookie session's token) counts, and every
// method but GET, HEAD and OPTIONS must also carry the session's CSRF token
// in X-CSRF-Token (403 otherwise). Neither is 401.
func (s *Server) authenticate(c echo.Context) (*auth.Credential, error) {
	ctx := c.Request().Context()
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		token, ok := bearerToken(h)
		if !ok {
			return nil, marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token")
		}
		return s.auth.AuthenticateBearer(ctx, token)
	}
	ck, err := c.Cookie(cookieName(c))
	if err != nil || ck.Value == "" {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token or session cookie")
	}
	cred, err := s.auth.AuthenticateCookie(ctx, ck.Value)
	if err != nil {
		return nil, err
	}
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !auth.CheckCSRF(ck.Value, c.Request().Header.Get(headerCSRFToken)) {
			return nil, marquee.Errorf(marquee.EFORBIDDEN, "missing or invalid CSRF token (%s header)", headerCSRFToken)
		}
	}
	return cred, nil
}

// cookieName is the session cookie's name for this request's scheme.
func cookieName(c echo.Context) string {
	if c.IsTLS() {
		return sessionCookieNameTLS
	}
	return sessionCookieName
}

// sessionCookie is the cookie that carries a cookie session's token: HttpOnly
// (scripts cannot read it), SameSite=Strict (other sites' pages do not send
// it), Secure over TLS, expiring with the session. An empty token with a
// zero expiry deletes the cookie.
func sessionCookie(c echo.Context, token string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:     cookieName(c),
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   c.IsTLS(),
		SameSite: http.SameSiteStrictMode,
	}
	if token == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires.UTC()
	}
	return ck
}

// currentCredential returns the credential that requireAuth admitted.
func currentCredential(c echo.Context) *auth.Credential {
	cred, _ := c.Get(ctxCredential).(*auth.Credential)
	return cred
}

// bearerToken extracts the token of an Authorization header. The scheme is
// case-insensitive (RFC 9110).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// currentUser returns the user that requireAuth admitted.
func currentUser(c echo.Context) *auth.User {
	u, _ := c.Get(ctxUser).(*auth.User)
	return u
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Cookie asks for a cookie session: the token goes into an HttpOnly
	// cookie and the answer carries the CSRF token instead of the token.
	Cookie bool `json:"cookie"`
}

type loginResponse struct {
	Token     string     `json:"token,omitempty"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`
	User      *auth.User `json:"user"`
}

// handleLogin: POST /api/v1/auth/login {"username","password"}.
func (s *Server) handleLogin(c echo.Context) error {
	var req loginRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return marquee.Errorf(marquee.EINVALID, "username and password are required")
	}
	g, err := s.auth.OpenSession(c.Request().Context(), auth.Credentials{
		Username: req.Username,
		Password: req.Password,
		IP:       c.RealIP(),
		Cookie:   req.Cookie,
	})
	if err != nil {
		setRetryAfter(c, err)
		return err
	}
	c.Set(ctxUser, g.User)
	// The stored expiry (truncated to milliseconds) is what Authenticate
	// enforces.
	resp := loginResponse{ExpiresAt: g.Session.ExpiresAt.UTC(), User: g.User}
	if req.Cookie {
		c.SetCookie(sessionCookie(c, g.Token, g.Session.ExpiresAt))
		resp.CSRFToken = auth.CSRFToken(g.Token)
	} else {
		resp.Token = g.Token
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, resp)
}

// setRetryAfter sets Retry-After (whole seconds, at least 1) when err is a
// throttled login.
func setRetryAfter(c echo.Context, err error) {
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		secs := int64(math.Ceil(te.RetryAfter.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
}

// handleLogout: POST /api/v1/auth/logout revokes the session or API token
// the request carries, and deletes a session cookie.
func (s *Server) handleLogout(c echo.Context) error {
	cred := currentCredential(c)
	if cred == nil {
		return marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token")
	}
	if err := s.auth.Revoke(c.Request().Context(), cred); err != nil {
		return err
	}
	if cred.Session != nil && cred.Session.Kind == auth.SessionCookie {
		c.SetCookie(sessionCookie(c, "", time.Time{}))
	}
	return c.NoContent(http.StatusNoContent)
}

// requirePermission admits a request only when the user that requireAuth
// admitted holds p; otherwise 403.
func requirePermission(p auth.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u := currentUser(c); !u.Can(p) {
				return marquee.Errorf(marquee.EFORBIDDEN, "your role may not do this (needs %s)", p)
			}
			return next(c)
		}
	}
}
