package auth

import (
	"context"
	"time"
)

// Roles a user may hold. Only admin exists until organisations and roles
// land; the others are reserved so stored data stays valid.
const (
	RoleAdmin    = "admin"
	RoleEditor   = "editor"
	RoleApprover = "approver"
	RoleViewer   = "viewer"
)

// RootOrgID is the organisation that migrations create: the top of the tree
// (the province). The bootstrap admin belongs to it.
const RootOrgID = "org_root"

// User is a person who logs in to the admin API.
type User struct {
	ID           string    `json:"id"`
	OrgID        string    `json:"organisation_id"`
	Username     string    `json:"username"`
	PasswordHash string    `json:"-"` // bcrypt
	Role         string    `json:"role"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a bearer token issued at login. Only the SHA-256 of the token is
// stored; the token itself is shown once.
type Session struct {
	ID        string
	UserID    string
	TokenHash string // hex SHA-256 of the token
	CreatedAt time.Time
	ExpiresAt time.Time
	// Kind is SessionBearer or SessionCookie; "" is read as SessionBearer.
	Kind string
}

// Store persists users and sessions. It is implemented by sqlstore.
// Lookups of something absent return an error with code ENOTFOUND;
// CreateUser with a taken username returns ECONFLICT.
type Store interface {
	CountUsers(ctx context.Context) (int, error)
	CreateUser(ctx context.Context, u *User) error
	FindUserByUsername(ctx context.Context, username string) (*User, error)
	FindUserByID(ctx context.Context, id string) (*User, error)
	CreateSession(ctx context.Context, s *Session) error
	FindSessionByTokenHash(ctx context.Context, tokenHash string) (*Session, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	// AccountStore: user management, API tokens, login throttling.
	AccountStore
}
