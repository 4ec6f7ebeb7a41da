package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
	"golang.org/x/crypto/bcrypt"
)

// BootstrapUsername is the user that Bootstrap creates in an empty store.
const BootstrapUsername = "admin"

// MinPasswordLen is the shortest password Bootstrap accepts.
const MinPasswordLen = 12

// maxPasswordLen is bcrypt's input limit; longer passwords are refused
// rather than silently truncated.
const maxPasswordLen = 72

// tokenPrefix marks Marquee bearer tokens so that they are recognisable in
// logs and by secret scanners.
const tokenPrefix = "mqt_"

// msgBadCredentials is the one answer to a failed login, whether the user
// or the password was wrong, so that logins do not reveal which usernames
// exist.
const msgBadCredentials = "invalid username or password"

// Config holds the settings of a Service. The zero value is usable.
type Config struct {
	// SessionTTL is how long a token from Login stays valid; 0 means 12h.
	SessionTTL time.Duration
	// BcryptCost is the cost of new password hashes; 0 means
	// bcrypt.DefaultCost. Tests may use bcrypt.MinCost.
	BcryptCost int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Throttle holds the login limits; the zero value means the defaults.
	Throttle ThrottleConfig
}

// Service logs users in and out and turns bearer tokens back into users.
// It is safe for concurrent use.
type Service struct {
	store Store
	ttl   time.Duration
	cost  int
	now   func() time.Time

	// throttle holds the login limits; ips counts failures per address.
	throttle ThrottleConfig
	ips      *ipLimiter

	// dummyHash is compared against when the username is unknown, so that
	// a failed login costs one bcrypt run either way.
	dummyOnce sync.Once
	dummyHash []byte
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	s := &Service{store: store, ttl: cfg.SessionTTL, cost: cfg.BcryptCost, now: cfg.Now}
	if s.ttl <= 0 {
		s.ttl = 12 * time.Hour
	}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.throttle = cfg.Throttle.withDefaults()
	s.ips = newIPLimiter(s.throttle)
	return s
}

// Login checks a username and password and opens a bearer session, under
// the login limits (OpenSession without an address). It returns the bearer
// token (shown once; only its hash is stored) and the user.
//
// A wrong username or password yields EUNAUTHORIZED with the same message
// either way; a disabled account yields EUNAUTHORIZED too; a locked
// username ETOOMANYREQUESTS.
func (s *Service) Login(ctx context.Context, username, password string) (string, *User, error) {
	g, err := s.OpenSession(ctx, Credentials{Username: username, Password: password})
	if err != nil {
		return "", nil, err
	}
	return g.Token, g.User, nil
}

// Authenticate returns the user and session that a bearer token stands for.
// An unknown, malformed or expired token, or one whose user is gone or
// disabled, yields EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, *Session, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return nil, nil, marquee.Errorf(marquee.EUNAUTHORIZED, "invalid or expired token")
	}
	sess, err := s.store.FindSessionByTokenHash(ctx, HashToken(token))
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, nil, marquee.Errorf(marquee.EUNAUTHORIZED, "invalid or expired token")
	} else if err != nil {
		return nil, nil, fmt.Errorf("find session: %w", err)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, nil, marquee.Errorf(marquee.EUNAUTHORIZED, "invalid or expired token")
	}
	u, err := s.store.FindUserByID(ctx, sess.UserID)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, nil, marquee.Errorf(marquee.EUNAUTHORIZED, "invalid or expired token")
	} else if err != nil {
		return nil, nil, fmt.Errorf("find session user: %w", err)
	}
	if u.Disabled {
		return nil, nil, marquee.Errorf(marquee.EUNAUTHORIZED, "account is disabled")
	}
	return u, sess, nil
}

// Logout revokes a session. Revoking a session that does not exist (already
// revoked or pruned) is not an error, so logging out twice succeeds.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	if err := s.store.DeleteSession(ctx, sessionID); err != nil && marquee.ErrorCode(err) != marquee.ENOTFOUND {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PruneSessions deletes expired sessions and API tokens, and login
// counters untouched for a day, and returns how many sessions and tokens
// went. Expired credentials are already refused by Authenticate; this only
// reclaims space, for a periodic job.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	n, err := s.store.DeleteExpiredSessions(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	nt, err := s.store.DeleteExpiredAPITokens(ctx, now)
	if err != nil {
		return n, fmt.Errorf("delete expired api tokens: %w", err)
	}
	if _, err := s.store.DeleteStaleLoginThrottles(ctx, now.Add(-staleThrottleAfter)); err != nil {
		return n + nt, fmt.Errorf("delete stale login throttles: %w", err)
	}
	return n + nt, nil
}

// Bootstrap creates the first user when the store has none: "admin", with
// role admin in the root organisation. With password == "" it generates a
// strong password and returns it, so that the caller can show it once; with
// a non-empty password it uses that one and returns "". A password shorter
// than MinPasswordLen (or longer than bcrypt's 72 bytes) yields EINVALID.
//
// When users already exist Bootstrap does nothing (the password is not even
// checked) and returns created=false; so it does when another process
// bootstraps at the same moment.
func (s *Service) Bootstrap(ctx context.Context, password string) (generated string, created bool, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return "", false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	if password == "" {
		generated = GeneratePassword()
		password = generated
	} else if err := checkPassword(password); err != nil {
		return "", false, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return "", false, fmt.Errorf("hash password: %w", err)
	}
	u := &User{
		ID:           marquee.NewID("usr_"),
		OrgID:        RootOrgID,
		Username:     BootstrapUsername,
		PasswordHash: string(hash),
		Role:         RoleAdmin,
		CreatedAt:    s.now().UTC(),
	}
	if err := s.store.CreateUser(ctx, u); marquee.ErrorCode(err) == marquee.ECONFLICT {
		return "", false, nil // lost a race with another bootstrap
	} else if err != nil {
		return "", false, fmt.Errorf("create bootstrap user: %w", err)
	}
	return generated, true, nil
}

// checkPassword enforces the password policy: MinPasswordLen characters at
// least, and no more than bcrypt can hash.
func checkPassword(password string) error {
	if len([]rune(password)) < MinPasswordLen {
		return marquee.Errorf(marquee.EINVALID, "password is too weak: use at least %d characters", MinPasswordLen)
	}
	if len(password) > maxPasswordLen {
		return marquee.Errorf(marquee.EINVALID, "password is too long: at most %d bytes", maxPasswordLen)
	}
	return nil
}

// dummy returns a bcrypt hash of a random password at the service's cost.
func (s *Service) dummy() []byte {
	s.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), s.cost)
		if err != nil {
			panic("auth: bcrypt of a random password failed: " + err.Error())
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// NewToken returns a new bearer token — "mqt_" followed by 32 random bytes
// in unpadded base64url — and its hash, as HashToken computes it.
func NewToken() (token, hash string) {
	return newSecret(tokenPrefix)
}

// newSecret returns prefix followed by 32 random bytes in unpadded
// base64url, and its hash (HashToken).
func newSecret(prefix string) (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it crashes instead
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the hex SHA-256 of a whole token, prefix included: the
// form in which sessions store it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// GeneratePassword returns a random password of 26 base32 characters
// (128 bits from crypto/rand).
func GeneratePassword() string {
	return rand.Text()
}
