package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/sqlstore"
	"golang.org/x/crypto/bcrypt"
)

const testPassword = "correct horse battery"

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// MustStore opens a migrated SQLite store in a temp dir.
func MustStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "marquee.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// MustService returns a Service over a fresh store, with the admin user
// bootstrapped with testPassword, and its clock.
func MustService(t *testing.T) (*auth.Service, *sqlstore.DB, *clock) {
	t.Helper()
	db := MustStore(t)
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	svc := auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost, Now: clk.Now, SessionTTL: time.Hour})
	if _, created, err := svc.Bootstrap(context.Background(), testPassword); err != nil || !created {
		t.Fatalf("bootstrap: created=%v err=%v", created, err)
	}
	return svc, db, clk
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := marquee.ErrorCode(err); got != code {
		t.Fatalf("err=%v (code %q), want code %q", err, got, code)
	}
}

func TestBootstrapGeneratesPassword(t *testing.T) {
	ctx := context.Background()
	db := MustStore(t)
	svc := auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost})

	generated, created, err := svc.Bootstrap(ctx, "")
	if err != nil || !created {
		t.Fatalf("Bootstrap: created=%v err=%v", created, err)
	}
	if len(generated) < 20 {
		t.Fatalf("generated password %q is shorter than 20", generated)
	}
	_, u, err := svc.Login(ctx, auth.BootstrapUsername, generated)
	if err != nil {
		t.Fatalf("login with generated password: %v", err)
	}
	if u.Username != "admin" || u.Role != auth.RoleAdmin || u.OrgID != auth.RootOrgID || u.Disabled {
		t.Fatalf("bootstrap user = %+v", u)
	}
	if !strings.HasPrefix(u.PasswordHash, "$2") || strings.Contains(u.PasswordHash, generated) {
		t.Fatalf("password hash %q is not bcrypt", u.PasswordHash)
	}

	// Once users exist, Bootstrap is a no-op, whatever the password.
	for _, pw := range []string{"", "short", "another strong password"} {
		g, created, err := svc.Bootstrap(ctx, pw)
		if err != nil || created || g != "" {
			t.Fatalf("second Bootstrap(%q) = %q, %v, %v; want no-op", pw, g, created, err)
		}
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1", n, err)
	}
}

func TestBootstrapGeneratedPasswordsDiffer(t *testing.T) {
	a, b := auth.GeneratePassword(), auth.GeneratePassword()
	if a == b || len(a) < 20 {
		t.Fatalf("GeneratePassword gave %q and %q", a, b)
	}
}

func TestBootstrapRefusesWeakPassword(t *testing.T) {
	ctx := context.Background()
	db := MustStore(t)
	svc := auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost})
	for _, pw := range []string{"short", "elevenchars", strings.Repeat("x", 73)} {
		_, created, err := svc.Bootstrap(ctx, pw)
		wantCode(t, err, marquee.EINVALID)
		if created {
			t.Fatalf("Bootstrap(%q) created a user", pw)
		}
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers = %d, %v; want 0", n, err)
	}
	if _, created, err := svc.Bootstrap(ctx, "twelve chars"); err != nil || !created {
		t.Fatalf("Bootstrap with 12 chars: created=%v err=%v", created, err)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := MustService(t)

	_, _, errPass := svc.Login(ctx, "admin", "wrong password!")
	_, _, errUser := svc.Login(ctx, "nobody", testPassword)
	_, _, errEmpty := svc.Login(ctx, "admin", "")
	for _, err := range []error{errPass, errUser, errEmpty} {
		wantCode(t, err, marquee.EUNAUTHORIZED)
		if got, want := marquee.ErrorMessage(err), "invalid username or password"; got != want {
			t.Fatalf("message=%q, want %q", got, want)
		}
	}
}

func TestLoginDisabledUser(t *testing.T) {
	ctx := context.Background()
	svc, db, _ := MustService(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.User{
		ID: marquee.NewID("usr_"), OrgID: auth.RootOrgID, Username: "gone",
		PasswordHash: string(hash), Role: auth.RoleViewer, Disabled: true, CreatedAt: time.Now().UTC(),
	}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	_, _, err = svc.Login(ctx, "gone", testPassword)
	wantCode(t, err, marquee.EUNAUTHORIZED)
}

func TestLoginAuthenticateLogout(t *testing.T) {
	ctx := context.Background()
	svc, db, _ := MustService(t)

	token, u, err := svc.Login(ctx, "admin", testPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	token2, _, err := svc.Login(ctx, "admin", testPassword)
	if err != nil {
		t.Fatalf("second Login: %v", err)
	}
	if token == token2 {
		t.Fatalf("two logins gave the same token")
	}

	gotUser, sess, err := svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if gotUser.ID != u.ID || sess.UserID != u.ID {
		t.Fatalf("Authenticate user=%q session user=%q, want %q", gotUser.ID, sess.UserID, u.ID)
	}
	// Only the hash of the token is stored.
	if got, want := sess.TokenHash, auth.HashToken(token); got != want {
		t.Fatalf("stored hash=%q, want %q", got, want)
	}
	if _, err := db.FindSessionByTokenHash(ctx, token); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("session found by the raw token: err=%v", err)
	}

	if err := svc.Logout(ctx, sess.ID); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, _, err = svc.Authenticate(ctx, token)
	wantCode(t, err, marquee.EUNAUTHORIZED)
	if err := svc.Logout(ctx, sess.ID); err != nil {
		t.Fatalf("second Logout: %v", err)
	}
	// The other session is untouched.
	if _, _, err := svc.Authenticate(ctx, token2); err != nil {
		t.Fatalf("Authenticate other token: %v", err)
	}
}

func TestAuthenticateRejectsBadTokens(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := MustService(t)
	unknown, _ := auth.NewToken()
	for _, token := range []string{"", "garbage", "mqt_", unknown} {
		_, _, err := svc.Authenticate(ctx, token)
		wantCode(t, err, marquee.EUNAUTHORIZED)
	}
}

func TestSessionExpires(t *testing.T) {
	ctx := context.Background()
	svc, _, clk := MustService(t)
	token, _, err := svc.Login(ctx, "admin", testPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	clk.Add(time.Hour - time.Second)
	if _, _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("Authenticate just before expiry: %v", err)
	}
	clk.Add(time.Second)
	_, _, err = svc.Authenticate(ctx, token)
	wantCode(t, err, marquee.EUNAUTHORIZED)

	n, err := svc.PruneSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("PruneSessions = %d, %v; want 1", n, err)
	}
}

func TestNewToken(t *testing.T) {
	token, hash := auth.NewToken()
	if !strings.HasPrefix(token, "mqt_") || len(token) != 4+43 {
		t.Fatalf("token %q: want mqt_ and 43 base64url chars", token)
	}
	sum := sha256.Sum256([]byte(token))
	if got, want := hash, hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("hash=%q, want %q", got, want)
	}
	if other, _ := auth.NewToken(); other == token {
		t.Fatalf("NewToken repeated %q", token)
	}
}
