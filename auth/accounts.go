package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"golang.org/x/crypto/bcrypt"
)

// AccountStore is the part of Store behind user management, sessions
// lists, API tokens and login throttling. Lookups of something absent
// return ENOTFOUND unless stated otherwise.
type AccountStore interface {
	// FindUsers returns one page of users, newest first, and the cursor
	// of the next page ("" on the last). f.OrgSubtree, when set, keeps
	// the users of that organisation and its descendants.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, string, error)
	// UpdateUser stores u.Role, u.Disabled and u.PasswordHash for user
	// u.ID. With revoke set it also deletes, in the same transaction, the
	// user's API tokens and sessions (all but keepSession, which may be
	// ""). A change that would leave the root organisation without an
	// enabled admin is refused with ECONFLICT and stores nothing.
	UpdateUser(ctx context.Context, u *User, revoke bool, keepSession string) error
	// OrgInSubtree reports whether orgID is ancestorID or one of its
	// descendants. An unknown orgID is false, not an error.
	OrgInSubtree(ctx context.Context, ancestorID, orgID string) (bool, error)

	// FindSessions returns one page of f.UserID's sessions that expire
	// after f.Now, newest first.
	FindSessions(ctx context.Context, f CredentialFilter) ([]*Session, string, error)
	// DeleteUserSession deletes session id when it belongs to userID;
	// otherwise ENOTFOUND.
	DeleteUserSession(ctx context.Context, userID, id string) error

	// CreateAPIToken inserts t; an unknown UserID is EINVALID.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	FindAPITokenByHash(ctx context.Context, tokenHash string) (*APIToken, error)
	// FindAPITokens returns one page of f.UserID's API tokens that do not
	// expire or expire after f.Now, newest first.
	FindAPITokens(ctx context.Context, f CredentialFilter) ([]*APIToken, string, error)
	// DeleteAPIToken deletes token id when it belongs to userID;
	// otherwise ENOTFOUND.
	DeleteAPIToken(ctx context.Context, userID, id string) error
	DeleteExpiredAPITokens(ctx context.Context, now time.Time) (int64, error)

	FindLoginThrottle(ctx context.Context, account string) (*LoginThrottle, error)
	// UpdateLoginThrottle reads the account's counters (zero values but
	// Account when there are none), lets fn change them and stores the
	// result, atomically with respect to other updates of the account.
	UpdateLoginThrottle(ctx context.Context, account string, fn func(*LoginThrottle)) (*LoginThrottle, error)
	// DeleteLoginThrottle deletes the account's counters; absent ones are
	// not an error.
	DeleteLoginThrottle(ctx context.Context, account string) error
	// DeleteStaleLoginThrottles deletes the counters whose last failure
	// and lock both ended before before.
	DeleteStaleLoginThrottles(ctx context.Context, before time.Time) (int64, error)
}

// UserFilter selects users. Zero fields select everything; Limit 0 means
// the store's default page size.
type UserFilter struct {
	OrgSubtree string
	Limit      int
	Cursor     string
}

// CredentialFilter selects one user's live sessions or API tokens.
type CredentialFilter struct {
	UserID string
	Now    time.Time
	Limit  int
	Cursor string
}

// maxUsernameLen is the longest username; longer login attempts are
// refused without touching the store's counters.
const maxUsernameLen = 64

// NormalizeUsername returns the form in which usernames are stored and
// compared: trimmed and lower-case.
func NormalizeUsername(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}

// checkUsername accepts a normalised username of 2–64 characters: ASCII
// letters, digits and . _ - @, starting with a letter or digit.
func checkUsername(username string) error {
	if n := len(username); n < 2 || n > maxUsernameLen {
		return marquee.Errorf(marquee.EINVALID, "username must be 2 to %d characters", maxUsernameLen)
	}
	for i := 0; i < len(username); i++ {
		c := username[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-' || c == '@'):
		default:
			return marquee.Errorf(marquee.EINVALID, "username may hold only letters a-z, digits and . _ - @, starting with a letter or digit")
		}
	}
	return nil
}

// validatePassword enforces the password policy on a password a person
// chose: CheckPasswordStrength, and not containing the username.
func validatePassword(username, password string) error {
	if err := CheckPasswordStrength(password); err != nil {
		return err
	}
	if len(username) >= 3 && strings.Contains(strings.ToLower(password), username) {
		return marquee.Errorf(marquee.EINVALID, "password is too weak: it contains the username")
	}
	return nil
}

func (s *Service) hashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// NewUser is what CreateUser needs. OrgID "" means the acting admin's
// organisation.
type NewUser struct {
	Username string
	Password string
	Role     string
	OrgID    string
}

// UserChange is a partial update of a user: nil fields stay as they are.
type UserChange struct {
	Role     *string
	Disabled *bool
}

// mayManage returns EFORBIDDEN unless actor may manage users.
func mayManage(actor *User) error {
	if !actor.Can(PermUserManage) {
		return marquee.Errorf(marquee.EFORBIDDEN, "your role may not manage users")
	}
	return nil
}

// inScope reports whether orgID is the actor's organisation or below it.
func (s *Service) inScope(ctx context.Context, actor *User, orgID string) (bool, error) {
	ok, err := s.store.OrgInSubtree(ctx, actor.OrgID, orgID)
	if err != nil {
		return false, fmt.Errorf("check organisation scope: %w", err)
	}
	return ok, nil
}

// CreateUser creates a user on behalf of actor, who must hold
// PermUserManage. The username is normalised (NormalizeUsername) and must
// pass checkUsername; the role must be one of Roles; the password must pass
// the policy (CheckPasswordStrength among others); the organisation must be
// the actor's or below it (one outside is answered as if it did not exist):
// EINVALID otherwise. A taken username is ECONFLICT.
func (s *Service) CreateUser(ctx context.Context, actor *User, in NewUser) (*User, error) {
	if err := mayManage(actor); err != nil {
		return nil, err
	}
	username := NormalizeUsername(in.Username)
	if err := checkUsername(username); err != nil {
		return nil, err
	}
	if !ValidRole(in.Role) {
		return nil, marquee.Errorf(marquee.EINVALID, "unknown role %q: want one of %s", in.Role, strings.Join(Roles, ", "))
	}
	if err := validatePassword(username, in.Password); err != nil {
		return nil, err
	}
	orgID := in.OrgID
	if orgID == "" {
		orgID = actor.OrgID
	}
	if ok, err := s.inScope(ctx, actor, orgID); err != nil {
		return nil, err
	} else if !ok {
		// As if it did not exist, like every object out of scope.
		return nil, marquee.Errorf(marquee.EINVALID, "organisation %q does not exist", orgID)
	}
	hash, err := s.hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	u := &User{
		ID:           marquee.NewID("usr_"),
		OrgID:        orgID,
		Username:     username,
		PasswordHash: hash,
		Role:         in.Role,
		CreatedAt:    s.now().UTC(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers returns one page of the users in actor's organisation subtree,
// newest first, and the next page's cursor ("" on the last).
func (s *Service) ListUsers(ctx context.Context, actor *User, limit int, cursor string) ([]*User, string, error) {
	if err := mayManage(actor); err != nil {
		return nil, "", err
	}
	return s.store.FindUsers(ctx, UserFilter{OrgSubtree: actor.OrgID, Limit: limit, Cursor: cursor})
}

// GetUser returns a user of actor's organisation subtree. A user outside
// it is ENOTFOUND, like an unknown one.
func (s *Service) GetUser(ctx context.Context, actor *User, id string) (*User, error) {
	if err := mayManage(actor); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok, err := s.inScope(ctx, actor, u.OrgID); err != nil {
		return nil, err
	} else if !ok {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "user %q not found", id)
	}
	return u, nil
}

// UpdateUser changes a user's role or disabled flag (GetUser's scope
// rules apply). Disabling revokes all the user's sessions and API tokens.
// An unknown role is EINVALID; leaving the root organisation without an
// enabled admin (demoting or disabling the last one) is ECONFLICT.
func (s *Service) UpdateUser(ctx context.Context, actor *User, id string, ch UserChange) (*User, error) {
	u, err := s.GetUser(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if ch.Role != nil {
		if !ValidRole(*ch.Role) {
			return nil, marquee.Errorf(marquee.EINVALID, "unknown role %q: want one of %s", *ch.Role, strings.Join(Roles, ", "))
		}
		u.Role = *ch.Role
	}
	revoke := false
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
		revoke = u.Disabled
	}
	if err := s.store.UpdateUser(ctx, u, revoke, ""); err != nil {
		return nil, err
	}
	return u, nil
}

// ResetPassword sets a user's password on behalf of an admin (GetUser's
// scope rules apply) and revokes all the user's sessions and API tokens.
// A password failing the policy is EINVALID.
func (s *Service) ResetPassword(ctx context.Context, actor *User, id, password string) error {
	u, err := s.GetUser(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := validatePassword(u.Username, password); err != nil {
		return err
	}
	if u.PasswordHash, err = s.hashPassword(password); err != nil {
		return err
	}
	return s.store.UpdateUser(ctx, u, true, "")
}

// ChangePassword changes the password of the user that cred authenticated,
// given the current one. It revokes the user's other sessions and all its
// API tokens; the session of cred, if any, stays. A wrong current password
// is EFORBIDDEN and counts as a failed login for the account and ip (the
// login limits apply: ETOOMANYREQUESTS while locked). A new password failing
// the policy, or equal to the current one, is EINVALID.
func (s *Service) ChangePassword(ctx context.Context, cred *Credential, ip, current, next string) error {
	u, err := s.store.FindUserByID(ctx, cred.User.ID)
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	if err := s.checkThrottle(ctx, u.Username, ip); err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		if err := s.recordFailure(ctx, u.Username, ip); err != nil {
			return err
		}
		return marquee.Errorf(marquee.EFORBIDDEN, "the current password is wrong")
	}
	if current == next {
		return marquee.Errorf(marquee.EINVALID, "the new password must differ from the current one")
	}
	if err := validatePassword(u.Username, next); err != nil {
		return err
	}
	if u.PasswordHash, err = s.hashPassword(next); err != nil {
		return err
	}
	keep := ""
	if cred.Session != nil {
		keep = cred.Session.ID
	}
	if err := s.store.UpdateUser(ctx, u, true, keep); err != nil {
		return err
	}
	return s.clearFailures(ctx, u.Username)
}
