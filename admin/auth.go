package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// requireAuth admits a request only with a valid "Authorization: Bearer
// <token>" header, and keeps the user and session in the context.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token")
		}
		u, sess, err := s.auth.Authenticate(c.Request().Context(), token)
		if err != nil {
			return err
		}
		c.Set(ctxUser, u)
		c.Set(ctxSession, sess)
		return next(c)
	}
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
}

type loginResponse struct {
	Token     string     `json:"token"`
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
	ctx := c.Request().Context()
	token, u, err := s.auth.Login(ctx, req.Username, req.Password)
	if err != nil {
		return err
	}
	// The session's expiry is read back rather than recomputed, so the
	// answer is exactly what Authenticate will enforce.
	_, sess, err := s.auth.Authenticate(ctx, token)
	if err != nil {
		return err
	}
	c.Set(ctxUser, u)
	return c.JSON(http.StatusOK, loginResponse{Token: token, ExpiresAt: sess.ExpiresAt.UTC(), User: u})
}

// handleLogout: POST /api/v1/auth/logout revokes the token it carries.
func (s *Server) handleLogout(c echo.Context) error {
	sess, _ := c.Get(ctxSession).(*auth.Session)
	if sess == nil {
		return marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token")
	}
	if err := s.auth.Logout(c.Request().Context(), sess.ID); err != nil {
		return err
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
