package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// User management (admins, within their organisation subtree) and
// self-service: one's password, sessions and API tokens.

type createUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     string `json:"role"`
	OrgID    string `json:"organisation_id"`
}

// handleCreateUser: POST /api/v1/users → 201 with the user.
func (s *Server) handleCreateUser(c echo.Context) error {
	var req createUserRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	u, err := s.auth.CreateUser(c.Request().Context(), currentUser(c), auth.NewUser{
		Username: req.Username,
		Password: req.Password,
		Role:     req.Role,
		OrgID:    req.OrgID,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, userPath(u.ID))
	return c.JSON(http.StatusCreated, u)
}

// handleListUsers: GET /api/v1/users?limit=&cursor= lists the users of the
// caller's organisation subtree, newest first.
func (s *Server) handleListUsers(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	us, next, err := s.auth.ListUsers(c.Request().Context(), currentUser(c), limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[*auth.User]{Items: us, NextCursor: next})
}

// handleGetUser: GET /api/v1/users/{id}.
func (s *Server) handleGetUser(c echo.Context) error {
	u, err := s.auth.GetUser(c.Request().Context(), currentUser(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

// updateUserRequest is the body of PATCH /api/v1/users/{id}: absent fields
// stay as they are.
type updateUserRequest struct {
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}

// handleUpdateUser: PATCH /api/v1/users/{id} {role?, disabled?} → 200 with
// the user. Disabling revokes the user's sessions and API tokens.
func (s *Server) handleUpdateUser(c echo.Context) error {
	var req updateUserRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	u, err := s.auth.UpdateUser(c.Request().Context(), currentUser(c), c.Param("id"),
		auth.UserChange{Role: req.Role, Disabled: req.Disabled})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

type resetPasswordRequest struct {
	Password string `json:"password"`
}

// handleResetPassword: POST /api/v1/users/{id}/password {password} → 204;
// the user's sessions and API tokens are revoked.
func (s *Server) handleResetPassword(c echo.Context) error {
	var req resetPasswordRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if err := s.auth.ResetPassword(c.Request().Context(), currentUser(c), c.Param("id"), req.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleChangePassword: POST /api/v1/auth/password {current_password,
// new_password} → 204. The caller's other sessions and all its API tokens
// are revoked; the session making the request stays.
func (s *Server) handleChangePassword(c echo.Context) error {
	var req changePasswordRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || req.NewPassword == "" {
		return marquee.Errorf(marquee.EINVALID, "current_password and new_password are required")
	}
	err := s.auth.ChangePassword(c.Request().Context(), currentCredential(c), c.RealIP(), req.CurrentPassword, req.NewPassword)
	if err != nil {
		setRetryAfter(c, err)
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// currentSessionResponse describes the credential of the request.
type currentSessionResponse struct {
	User *auth.User `json:"user"`
	// Kind is "bearer" or "cookie" (sessions) or "api_token".
	Kind      string     `json:"kind"`
	ID        string     `json:"id"`
	ExpiresAt *time.Time `json:"expires_at"`
	// CSRFToken is set for cookie sessions, so that a web page reloaded
	// (and so without the login answer) can get it back.
	CSRFToken string `json:"csrf_token,omitempty"`
}

// credentialKindAPIToken is the kind of an API token in answers.
const credentialKindAPIToken = "api_token"

// handleCurrentSession: GET /api/v1/auth/session → the caller's user (with
// the role it acts with) and credential.
func (s *Server) handleCurrentSession(c echo.Context) error {
	cred := currentCredential(c)
	resp := currentSessionResponse{User: cred.User}
	switch {
	case cred.Token != nil:
		resp.Kind, resp.ID, resp.ExpiresAt = credentialKindAPIToken, cred.Token.ID, optionalTime(cred.Token.ExpiresAt)
	default:
		resp.Kind, resp.ID, resp.ExpiresAt = cred.Session.Kind, cred.Session.ID, optionalTime(cred.Session.ExpiresAt)
		if cred.Session.Kind == auth.SessionCookie {
			if ck, err := c.Cookie(cookieName(c)); err == nil {
				resp.CSRFToken = auth.CSRFToken(ck.Value)
			}
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, resp)
}

// sessionView is one session in GET /api/v1/auth/sessions.
type sessionView struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Current marks the session making the request.
	Current bool `json:"current"`
}

// handleListSessions: GET /api/v1/auth/sessions?limit=&cursor= lists the
// caller's live sessions, newest first.
func (s *Server) handleListSessions(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	cred := currentCredential(c)
	ss, next, err := s.auth.ListSessions(c.Request().Context(), cred.User.ID, limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	items := make([]sessionView, 0, len(ss))
	for _, ses := range ss {
		items = append(items, sessionView{
			ID:        ses.ID,
			Kind:      ses.Kind,
			CreatedAt: ses.CreatedAt,
			ExpiresAt: ses.ExpiresAt,
			Current:   cred.Session != nil && cred.Session.ID == ses.ID,
		})
	}
	return c.JSON(http.StatusOK, listResponse[sessionView]{Items: items, NextCursor: next})
}

// handleRevokeSession: DELETE /api/v1/auth/sessions/{id} → 204 revokes one
// of the caller's sessions (another user's is 404).
func (s *Server) handleRevokeSession(c echo.Context) error {
	cred := currentCredential(c)
	id := c.Param("id")
	if err := s.auth.RevokeSession(c.Request().Context(), cred.User.ID, id); err != nil {
		return err
	}
	if cred.Session != nil && cred.Session.ID == id && cred.Session.Kind == auth.SessionCookie {
		c.SetCookie(sessionCookie(c, "", time.Time{}))
	}
	return c.NoContent(http.StatusNoContent)
}

// tokenView is one API token in answers; the token itself is never shown
// again after its creation.
type tokenView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is the token's own role; null means its owner's role.
	Role      *string    `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func newTokenView(t *auth.APIToken) tokenView {
	v := tokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: optionalTime(t.ExpiresAt)}
	if t.Role != "" {
		v.Role = &t.Role
	}
	return v
}

// optionalTime is nil for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type createTokenRequest struct {
	Name string `json:"name"`
	// Role narrows the token; "" or absent: the owner's role.
	Role string `json:"role"`
	// ExpiresIn is the lifetime in seconds; absent or 0: never expires.
	ExpiresIn int64 `json:"expires_in"`
}

// createdToken is the answer to a token's creation, the only one that
// shows the token.
type createdToken struct {
	tokenView
	Token string `json:"token"`
}

// handleCreateToken: POST /api/v1/auth/tokens {name, role?, expires_in?} →
// 201 with the token.
func (s *Server) handleCreateToken(c echo.Context) error {
	var req createTokenRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.ExpiresIn < 0 || req.ExpiresIn > int64(auth.MaxAPITokenTTL/time.Second) {
		return marquee.Errorf(marquee.EINVALID, "expires_in must be from 60 seconds to %d days", int(auth.MaxAPITokenTTL/(24*time.Hour)))
	}
	token, t, err := s.auth.CreateAPIToken(c.Request().Context(), currentCredential(c), auth.NewAPIToken{
		Name: req.Name,
		Role: req.Role,
		TTL:  time.Duration(req.ExpiresIn) * time.Second,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, createdToken{tokenView: newTokenView(t), Token: token})
}

// handleListTokens: GET /api/v1/auth/tokens?limit=&cursor= lists the
// caller's live API tokens, newest first, without their secrets.
func (s *Server) handleListTokens(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	ts, next, err := s.auth.ListAPITokens(c.Request().Context(), currentUser(c).ID, limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	items := make([]tokenView, 0, len(ts))
	for _, t := range ts {
		items = append(items, newTokenView(t))
	}
	return c.JSON(http.StatusOK, listResponse[tokenView]{Items: items, NextCursor: next})
}

// handleRevokeToken: DELETE /api/v1/auth/tokens/{id} → 204 revokes one of
// the caller's API tokens (another user's is 404).
func (s *Server) handleRevokeToken(c echo.Context) error {
	if err := s.auth.RevokeAPIToken(c.Request().Context(), currentUser(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
