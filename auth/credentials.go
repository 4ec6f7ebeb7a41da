package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
)

// apiTokenPrefix marks API tokens, so that they are told apart from session
// tokens ("mqt_") at a glance, by secret scanners, and by AuthenticateBearer.
const apiTokenPrefix = "mqa_"

// MaxAPITokenTTL is the longest lifetime an API token may be given.
const MaxAPITokenTTL = 5 * 366 * 24 * time.Hour

// maxTokenNameLen is the longest API token name, in characters.
const maxTokenNameLen = 100

// errBadToken is the one answer to a token that does not authenticate.
func errBadToken() error {
	return marquee.Errorf(marquee.EUNAUTHORIZED, "invalid or expired token")
}

// APIToken is a long-lived bearer token for scripts. Only the SHA-256 of
// the token is stored; the token itself is shown once.
type APIToken struct {
	ID     string
	UserID string
	Name   string
	// Role is the role the token acts with; "" means its owner's current
	// role. A role set here must stay within the owner's (RoleWithin),
	// or the token stops authenticating.
	Role      string
	TokenHash string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time
}

// Credential is what authenticated a request: a session (Session set) or an
// API token (Token set).
type Credential struct {
	// User is the effective user: for an API token with a role of its
	// own, a copy of the owner whose Role is the token's.
	User    *User
	Session *Session
	Token   *APIToken
}

// RoleWithin reports whether role holds no permission that limit lacks.
func RoleWithin(role, limit string) bool {
	if !ValidRole(role) || !ValidRole(limit) {
		return false
	}
	for p := range rolePermissions[role] {
		if !Allows(limit, p) {
			return false
		}
	}
	return true
}

// AuthenticateBearer returns the credential that an Authorization bearer
// token stands for: a bearer session ("mqt_…") or an API token ("mqa_…").
// An unknown, malformed, revoked or expired token, a cookie session's token,
// or one whose user is gone or disabled, yields EUNAUTHORIZED.
func (s *Service) AuthenticateBearer(ctx context.Context, token string) (*Credential, error) {
	if strings.HasPrefix(token, apiTokenPrefix) {
		return s.authenticateAPIToken(ctx, token)
	}
	u, sess, err := s.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	if sess.Kind == SessionCookie {
		return nil, errBadToken()
	}
	return &Credential{User: u, Session: sess}, nil
}

// AuthenticateCookie returns the credential that a session cookie's token
// stands for; only cookie sessions are accepted. The caller checks the CSRF
// token (CheckCSRF) on requests that change something.
func (s *Service) AuthenticateCookie(ctx context.Context, token string) (*Credential, error) {
	u, sess, err := s.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	if sess.Kind != SessionCookie {
		return nil, errBadToken()
	}
	return &Credential{User: u, Session: sess}, nil
}

func (s *Service) authenticateAPIToken(ctx context.Context, token string) (*Credential, error) {
	t, err := s.store.FindAPITokenByHash(ctx, HashToken(token))
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, errBadToken()
	} else if err != nil {
		return nil, fmt.Errorf("find api token: %w", err)
	}
	if !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt) {
		return nil, errBadToken()
	}
	u, err := s.store.FindUserByID(ctx, t.UserID)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, errBadToken()
	} else if err != nil {
		return nil, fmt.Errorf("find token user: %w", err)
	}
	if u.Disabled {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, "account is disabled")
	}
	if t.Role != "" && t.Role != u.Role {
		if !RoleWithin(t.Role, u.Role) {
			return nil, marquee.Errorf(marquee.EUNAUTHORIZED, "the token's role is no longer within its owner's")
		}
		narrowed := *u
		narrowed.Role = t.Role
		u = &narrowed
	}
	return &Credential{User: u, Token: t}, nil
}

// csrfLabel is what a CSRF token is the HMAC of.
const csrfLabel = "marquee csrf v1"

// CSRFToken returns the CSRF token of a cookie session: the HMAC-SHA256,
// keyed with the session token, of a fixed label, in unpadded base64url.
// It needs no storage, is bound to its session, and does not reveal the
// session token, which the browser keeps in an HttpOnly cookie that
// scripts (and so other sites) cannot read.
func CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports, in constant time, whether got is the CSRF token of
// sessionToken.
func CheckCSRF(sessionToken, got string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(CSRFToken(sessionToken)))
}

// ListSessions returns one page of the user's live sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, userID string, limit int, cursor string) ([]*Session, string, error) {
	return s.store.FindSessions(ctx, CredentialFilter{UserID: userID, Now: s.now().UTC(), Limit: limit, Cursor: cursor})
}

// RevokeSession deletes one of the user's sessions; another user's or an
// unknown one is ENOTFOUND.
func (s *Service) RevokeSession(ctx context.Context, userID, id string) error {
	return s.store.DeleteUserSession(ctx, userID, id)
}

// NewAPIToken is what CreateAPIToken needs.
type NewAPIToken struct {
	// Name tells the token's purpose: 1–100 characters.
	Name string
	// Role narrows the token to a role within the creator's effective
	// role; "" means the owner's role (or, when the creator is itself a
	// narrowed API token, that token's role).
	Role string
	// TTL is the token's lifetime: 0 means it never expires; otherwise
	// 1 minute to MaxAPITokenTTL.
	TTL time.Duration
}

// CreateAPIToken makes an API token for the user that cred authenticated.
// It returns the token, shown once ("mqa_" and 43 base64url characters),
// and its record. A bad name, role or TTL is EINVALID; a role beyond the
// creator's own is EFORBIDDEN.
func (s *Service) CreateAPIToken(ctx context.Context, cred *Credential, in NewAPIToken) (string, *APIToken, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxTokenNameLen {
		return "", nil, marquee.Errorf(marquee.EINVALID, "name must be 1 to %d characters", maxTokenNameLen)
	}
	if in.TTL != 0 && (in.TTL < time.Minute || in.TTL > MaxAPITokenTTL) {
		return "", nil, marquee.Errorf(marquee.EINVALID, "expires_in must be from 60 seconds to %d days", int(MaxAPITokenTTL/(24*time.Hour)))
	}
	role := in.Role
	switch {
	case role != "" && !ValidRole(role):
		return "", nil, marquee.Errorf(marquee.EINVALID, "unknown role %q: want one of %s", role, strings.Join(Roles, ", "))
	case role != "" && !RoleWithin(role, cred.User.Role):
		return "", nil, marquee.Errorf(marquee.EFORBIDDEN, "role %q exceeds your own", role)
	case role == "" && cred.Token != nil && cred.Token.Role != "":
		// A narrowed token cannot mint a token with its owner's role.
		role = cred.User.Role
	}
	token, _ := newSecret(apiTokenPrefix)
	now := s.now().UTC()
	t := &APIToken{
		ID:        marquee.NewID("tok_"),
		UserID:    cred.User.ID,
		Name:      name,
		Role:      role,
		TokenHash: HashToken(token),
		CreatedAt: now,
	}
	if in.TTL > 0 {
		t.ExpiresAt = now.Add(in.TTL)
	}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		return "", nil, fmt.Errorf("create api token: %w", err)
	}
	return token, t, nil
}

// ListAPITokens returns one page of the user's live API tokens, newest
// first.
func (s *Service) ListAPITokens(ctx context.Context, userID string, limit int, cursor string) ([]*APIToken, string, error) {
	return s.store.FindAPITokens(ctx, CredentialFilter{UserID: userID, Now: s.now().UTC(), Limit: limit, Cursor: cursor})
}

// RevokeAPIToken deletes one of the user's API tokens; another user's or an
// unknown one is ENOTFOUND.
func (s *Service) RevokeAPIToken(ctx context.Context, userID, id string) error {
	return s.store.DeleteAPIToken(ctx, userID, id)
}

// Revoke ends the credential: it deletes its session or API token. One
// already gone is not an error.
func (s *Service) Revoke(ctx context.Context, cred *Credential) error {
	if cred.Token != nil {
		err := s.store.DeleteAPIToken(ctx, cred.Token.UserID, cred.Token.ID)
		if err != nil && marquee.ErrorCode(err) != marquee.ENOTFOUND {
			return fmt.Errorf("delete api token: %w", err)
		}
		return nil
	}
	return s.Logout(ctx, cred.Session.ID)
}
