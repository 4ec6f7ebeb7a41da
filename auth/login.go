package auth

import (
	"context"
	"fmt"

	"github.com/marquee-signage/marquee"
	"golang.org/x/crypto/bcrypt"
)

// Session kinds. A bearer session's token is sent in an Authorization
// header; a cookie session's token lives in an HttpOnly cookie, and every
// request that changes something must also carry its CSRF token
// (CSRFToken). Each kind is accepted only in its own place.
const (
	SessionBearer = "bearer"
	SessionCookie = "cookie"
)

// Credentials are what a login presents.
type Credentials struct {
	Username string
	Password string
	// IP is the client's address, for the per-address limit; "" is not
	// limited by address.
	IP string
	// Cookie asks for a cookie session instead of a bearer one.
	Cookie bool
}

// Grant is an opened session: its token (shown once; only its hash is
// stored), the session and its user.
type Grant struct {
	Token   string
	Session *Session
	User    *User
}

// OpenSession checks credentials under the login limits (see throttle.go)
// and opens a session.
//
// A wrong username or password yields EUNAUTHORIZED with the same message
// either way, and counts against the username and the address; a disabled
// account yields EUNAUTHORIZED too. While the username or the address is
// locked the password is not checked and the answer is ETOOMANYREQUESTS
// whose cause is a *ThrottledError.
func (s *Service) OpenSession(ctx context.Context, cr Credentials) (*Grant, error) {
	account := NormalizeUsername(cr.Username)
	if len(account) > maxUsernameLen {
		// No such user can exist: count the address only, and keep
		// arbitrary strings out of the store.
		_ = bcrypt.CompareHashAndPassword(s.dummy(), []byte(cr.Password))
		s.ips.fail(cr.IP, s.now())
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, msgBadCredentials)
	}
	if err := s.checkThrottle(ctx, account, cr.IP); err != nil {
		return nil, err
	}
	u, err := s.checkCredentials(ctx, account, cr.Password)
	if marquee.ErrorCode(err) == marquee.EUNAUTHORIZED {
		if ferr := s.recordFailure(ctx, account, cr.IP); ferr != nil {
			return nil, ferr
		}
		return nil, err
	} else if err != nil {
		return nil, err
	}
	if err := s.clearFailures(ctx, account); err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, "account is disabled")
	}

	token, hash := NewToken()
	now := s.now().UTC()
	sess := &Session{
		ID:        marquee.NewID("ses_"),
		UserID:    u.ID,
		TokenHash: hash,
		CreatedAt: now,
		ExpiresAt: now.Add(s.ttl),
		Kind:      SessionBearer,
	}
	if cr.Cookie {
		sess.Kind = SessionCookie
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return &Grant{Token: token, Session: sess, User: u}, nil
}

// checkCredentials returns the user whose username and password these are,
// or EUNAUTHORIZED (msgBadCredentials) after one bcrypt run either way.
func (s *Service) checkCredentials(ctx context.Context, username, password string) (*User, error) {
	u, err := s.store.FindUserByUsername(ctx, username)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		// Spend the same bcrypt time as for a real user.
		_ = bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, msgBadCredentials)
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, msgBadCredentials)
	}
	return u, nil
}
