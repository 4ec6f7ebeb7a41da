package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
	"golang.org/x/crypto/bcrypt"
)

const strongPassword = "Nine blue kites 2026"

// mustAdmin returns the bootstrap admin.
func mustAdmin(t *testing.T, db interface {
	FindUserByUsername(context.Context, string) (*auth.User, error)
}) *auth.User {
	t.Helper()
	u, err := db.FindUserByUsername(context.Background(), auth.BootstrapUsername)
	if err != nil {
		t.Fatalf("find admin: %v", err)
	}
	return u
}

// wantThrottled checks err is ETOOMANYREQUESTS with a wait of want.
func wantThrottled(t *testing.T, err error, want time.Duration) {
	t.Helper()
	wantCode(t, err, marquee.ETOOMANYREQUESTS)
	var te *auth.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("err=%v carries no ThrottledError", err)
	}
	if te.RetryAfter != want {
		t.Fatalf("RetryAfter=%v, want %v", te.RetryAfter, want)
	}
}

func TestAccountLockout(t *testing.T) {
	ctx := context.Background()
	svc, db, clk := MustService(t)
	login := func(user, pw string) error {
		_, err := svc.OpenSession(ctx, auth.Credentials{Username: user, Password: pw, IP: "192.0.2.1"})
		return err
	}

	// 5 failures in the window: 401 each, then the account is locked
	// for 5 minutes, even for the right password.
	for i := range 5 {
		clk.Add(time.Minute)
		wantCode(t, login("admin", "wrong password "+string(rune('a'+i))), marquee.EUNAUTHORIZED)
	}
	wantThrottled(t, login("admin", testPassword), 5*time.Minute)
	clk.Add(4 * time.Minute)
	wantThrottled(t, login("admin", testPassword), time.Minute)
	// A restart (a new Service over the same store) keeps the lock.
	svc = auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost, Now: clk.Now, SessionTTL: time.Hour})
	wantThrottled(t, login("admin", testPassword), time.Minute)

	// Once it ends, 5 more failures lock it for twice as long.
	clk.Add(time.Minute)
	for range 5 {
		wantCode(t, login("admin", "wrong again"), marquee.EUNAUTHORIZED)
	}
	wantThrottled(t, login("admin", testPassword), 10*time.Minute)
	clk.Add(10 * time.Minute)

	// A success clears the counters: 4 failures then do not lock.
	if err := login("admin", testPassword); err != nil {
		t.Fatalf("login after the lock: %v", err)
	}
	if _, err := db.FindLoginThrottle(ctx, "admin"); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("counters after a success: err=%v, want not found", err)
	}
	for range 4 {
		wantCode(t, login("admin", "wrong"), marquee.EUNAUTHORIZED)
	}
	if err := login("admin", testPassword); err != nil {
		t.Fatalf("login after 4 failures: %v", err)
	}

	// Failures spread over more than the window do not add up.
	for range 8 {
		wantCode(t, login("admin", "wrong"), marquee.EUNAUTHORIZED)
		clk.Add(4 * time.Minute)
	}
	// 8 failures over 32 minutes: 4 in each 15-minute window.
	if err := login("admin", testPassword); err != nil {
		t.Fatalf("failures spread over two windows locked the account: %v", err)
	}
}

func TestLockoutGrowsToMax(t *testing.T) {
	ctx := context.Background()
	db := MustStore(t)
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	svc := auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost, Now: clk.Now,
		Throttle: auth.ThrottleConfig{AccountFailures: 2, LockoutBase: time.Minute, LockoutMax: 5 * time.Minute}})
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		for range 2 {
			_, err := svc.OpenSession(ctx, auth.Credentials{Username: "ghost", Password: "x"})
			wantCode(t, err, marquee.EUNAUTHORIZED)
		}
		_, err := svc.OpenSession(ctx, auth.Credentials{Username: "ghost", Password: "x"})
		wantThrottled(t, err, want)
		clk.Add(want)
	}
	// A day without failures forgets the lockouts: back to the base.
	clk.Add(25 * time.Hour)
	for range 2 {
		_, _ = svc.OpenSession(ctx, auth.Credentials{Username: "ghost", Password: "x"})
	}
	_, err := svc.OpenSession(ctx, auth.Credentials{Username: "ghost", Password: "x"})
	wantThrottled(t, err, time.Minute)
	// Stale counters are pruned.
	clk.Add(25 * time.Hour)
	if _, err := svc.PruneSessions(ctx); err != nil {
		t.Fatalf("PruneSessions: %v", err)
	}
	if _, err := db.FindLoginThrottle(ctx, "ghost"); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("stale counters not pruned: %v", err)
	}
}

// TestLockoutNoEnumeration: an unknown username is counted and locked
// exactly like a real one, with the same answers.
func TestLockoutNoEnumeration(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := MustService(t)
	var msgs [2][]string
	for i, user := range []string{"admin", "nobody"} {
		for range 6 {
			_, err := svc.OpenSession(ctx, auth.Credentials{Username: user, Password: "wrong password"})
			msgs[i] = append(msgs[i], marquee.ErrorCode(err)+": "+marquee.ErrorMessage(err))
		}
	}
	if strings.Join(msgs[0], "\n") != strings.Join(msgs[1], "\n") {
		t.Fatalf("answers differ:\nadmin:  %q\nnobody: %q", msgs[0], msgs[1])
	}
	if !strings.HasPrefix(msgs[0][5], marquee.ETOOMANYREQUESTS) {
		t.Fatalf("6th answer %q, want throttled", msgs[0][5])
	}
	// Usernames are normalised: "ADMIN " is the same account.
	_, err := svc.OpenSession(ctx, auth.Credentials{Username: " ADMIN ", Password: testPassword})
	wantCode(t, err, marquee.ETOOMANYREQUESTS)
}

func TestIPLimit(t *testing.T) {
	ctx := context.Background()
	svc, _, clk := MustService(t)
	try := func(ip, user, pw string) error {
		_, err := svc.OpenSession(ctx, auth.Credentials{Username: user, Password: pw, IP: ip})
		return err
	}
	// 20 failures from one address, over many usernames (none locked).
	for i := range 20 {
		wantCode(t, try("203.0.113.7", "user"+string(rune('a'+i)), "wrong"), marquee.EUNAUTHORIZED)
	}
	clk.Add(5 * time.Minute)
	wantThrottled(t, try("203.0.113.7", "admin", testPassword), 10*time.Minute)
	// Another address is not affected; an IPv4-mapped IPv6 form is the
	// same address.
	if err := try("203.0.113.8", "admin", testPassword); err != nil {
		t.Fatalf("login from another address: %v", err)
	}
	wantCode(t, try("::ffff:203.0.113.7", "admin", testPassword), marquee.ETOOMANYREQUESTS)
	clk.Add(10 * time.Minute)
	if err := try("203.0.113.7", "admin", testPassword); err != nil {
		t.Fatalf("login after the window: %v", err)
	}

	// IPv6 addresses count per /64.
	for i := range 20 {
		ip := "2001:db8:1:2::" + string(rune('a'+i%6))
		wantCode(t, try(ip, "v6user"+string(rune('a'+i)), "wrong"), marquee.EUNAUTHORIZED)
	}
	wantCode(t, try("2001:db8:1:2:ffff::1", "admin", testPassword), marquee.ETOOMANYREQUESTS)
	if err := try("2001:db8:1:3::1", "admin", testPassword); err != nil {
		t.Fatalf("login from another /64: %v", err)
	}
}

func TestIPLimiterBounded(t *testing.T) {
	ctx := context.Background()
	db := MustStore(t)
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	svc := auth.NewService(db, auth.Config{BcryptCost: bcrypt.MinCost, Now: clk.Now,
		Throttle: auth.ThrottleConfig{IPFailures: 2, MaxTrackedIPs: 2}})
	fail := func(ip string) error {
		_, err := svc.OpenSession(ctx, auth.Credentials{Username: "u" + ip, Password: "x", IP: ip})
		return err
	}
	_ = fail("192.0.2.1")
	_ = fail("192.0.2.1")
	wantCode(t, fail("192.0.2.1"), marquee.ETOOMANYREQUESTS)
	clk.Add(time.Second)
	_ = fail("192.0.2.2")
	clk.Add(time.Second)
	// A third address evicts the oldest entry (192.0.2.1).
	_ = fail("192.0.2.3")
	wantCode(t, fail("192.0.2.1"), marquee.EUNAUTHORIZED)
}

func TestCreateUserValidation(t *testing.T) {
	ctx := context.Background()
	svc, db, _ := MustService(t)
	admin := mustAdmin(t, db)
	for _, tc := range []struct {
		name string
		in   auth.NewUser
		code string
	}{
		{"weak password", auth.NewUser{Username: "nam", Password: "password1234", Role: auth.RoleEditor}, marquee.EINVALID},
		{"short password", auth.NewUser{Username: "nam", Password: "Short1!", Role: auth.RoleEditor}, marquee.EINVALID},
		{"password holds username", auth.NewUser{Username: "nguyenvan", Password: "Nguyenvan-2026-x", Role: auth.RoleEditor}, marquee.EINVALID},
		{"unknown role", auth.NewUser{Username: "nam", Password: strongPassword, Role: "owner"}, marquee.EINVALID},
		{"empty role", auth.NewUser{Username: "nam", Password: strongPassword}, marquee.EINVALID},
		{"bad username", auth.NewUser{Username: "nam nguyen", Password: strongPassword, Role: auth.RoleEditor}, marquee.EINVALID},
		{"short username", auth.NewUser{Username: "n", Password: strongPassword, Role: auth.RoleEditor}, marquee.EINVALID},
		{"unknown organisation", auth.NewUser{Username: "nam", Password: strongPassword, Role: auth.RoleEditor, OrgID: "org_nowhere"}, marquee.EINVALID},
		{"taken username", auth.NewUser{Username: "Admin", Password: strongPassword, Role: auth.RoleEditor}, marquee.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateUser(ctx, admin, tc.in)
			wantCode(t, err, tc.code)
		})
	}
	u, err := svc.CreateUser(ctx, admin, auth.NewUser{Username: " Nam.Nguyen ", Password: strongPassword, Role: auth.RoleEditor})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.Username != "nam.nguyen" || u.OrgID != auth.RootOrgID || u.Role != auth.RoleEditor || u.Disabled {
		t.Fatalf("created %+v", u)
	}
	// Only admins manage users.
	_, err = svc.CreateUser(ctx, u, auth.NewUser{Username: "lan", Password: strongPassword, Role: auth.RoleViewer})
	wantCode(t, err, marquee.EFORBIDDEN)
	_, _, err = svc.ListUsers(ctx, u, 0, "")
	wantCode(t, err, marquee.EFORBIDDEN)
}

func TestUserOrganisationScope(t *testing.T) {
	ctx := context.Background()
	svc, db, _ := MustService(t)
	root := mustAdmin(t, db)
	for _, o := range []*orgs.Organisation{
		{ID: "org_dept", ParentID: auth.RootOrgID, Name: "Department"},
		{ID: "org_commune", ParentID: "org_dept", Name: "Commune"},
		{ID: "org_district", ParentID: auth.RootOrgID, Name: "District"},
	} {
		if err := db.CreateOrganisation(ctx, o); err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
	}
	mk := func(actor *auth.User, name, role, org string) (*auth.User, error) {
		return svc.CreateUser(ctx, actor, auth.NewUser{Username: name, Password: strongPassword, Role: role, OrgID: org})
	}
	deptAdmin, err := mk(root, "dept-admin", auth.RoleAdmin, "org_dept")
	if err != nil {
		t.Fatal(err)
	}
	communeUser, err := mk(deptAdmin, "commune-editor", auth.RoleEditor, "org_commune")
	if err != nil {
		t.Fatalf("department admin creates a commune user: %v", err)
	}
	if _, err := mk(deptAdmin, "own-editor", auth.RoleEditor, ""); err != nil {
		t.Fatalf("department admin creates a user in its own organisation: %v", err)
	}
	districtUser, err := mk(root, "district-viewer", auth.RoleViewer, "org_district")
	if err != nil {
		t.Fatal(err)
	}
	// Out of scope: above or beside.
	for _, org := range []string{auth.RootOrgID, "org_district"} {
		_, err := mk(deptAdmin, "x-"+org[4:], auth.RoleViewer, org)
		wantCode(t, err, marquee.EINVALID)
	}
	for _, id := range []string{root.ID, districtUser.ID} {
		_, err := svc.GetUser(ctx, deptAdmin, id)
		wantCode(t, err, marquee.ENOTFOUND)
		viewer := auth.RoleViewer
		_, err = svc.UpdateUser(ctx, deptAdmin, id, auth.UserChange{Role: &viewer})
		wantCode(t, err, marquee.ENOTFOUND)
		wantCode(t, svc.ResetPassword(ctx, deptAdmin, id, strongPassword+"!"), marquee.ENOTFOUND)
	}
	if got, err := svc.GetUser(ctx, deptAdmin, communeUser.ID); err != nil || got.ID != communeUser.ID {
		t.Fatalf("GetUser(commune user) = %v, %v", got, err)
	}
	list, _, err := svc.ListUsers(ctx, deptAdmin, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Username)
	}
	if got, want := strings.Join(names, ","), "own-editor,commune-editor,dept-admin"; got != want {
		t.Fatalf("department admin lists %s, want %s", got, want)
	}
	all, _, err := svc.ListUsers(ctx, root, 0, "")
	if err != nil || len(all) != 5 {
		t.Fatalf("root admin lists %d users, %v; want 5", len(all), err)
	}
}

func TestAPITokenRoles(t *testing.T) {
	ctx := context.Background()
	svc, db, clk := MustService(t)
	admin := mustAdmin(t, db)
	token, _, err := svc.Login(ctx, "admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	session, err := svc.AuthenticateBearer(ctx, token)
	if err != nil {
		t.Fatal(err)
	}

	full, rec, err := svc.CreateAPIToken(ctx, session, auth.NewAPIToken{Name: "backup"})
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if !strings.HasPrefix(full, "mqa_") || len(full) != 4+43 || rec.Role != "" || !rec.ExpiresAt.IsZero() {
		t.Fatalf("token %q, record %+v", full, rec)
	}
	cred, err := svc.AuthenticateBearer(ctx, full)
	if err != nil || cred.Token == nil || cred.Session != nil || cred.User.Role != auth.RoleAdmin {
		t.Fatalf("AuthenticateBearer(api token) = %+v, %v", cred, err)
	}
	// API tokens are not sessions.
	_, _, err = svc.Authenticate(ctx, full)
	wantCode(t, err, marquee.EUNAUTHORIZED)

	viewerTok, _, err := svc.CreateAPIToken(ctx, session, auth.NewAPIToken{Name: "report", Role: auth.RoleViewer, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := svc.AuthenticateBearer(ctx, viewerTok)
	if err != nil || viewer.User.Role != auth.RoleViewer || viewer.User.ID != admin.ID {
		t.Fatalf("narrowed token = %+v, %v", viewer, err)
	}
	if viewer.User.Can(auth.PermUserManage) {
		t.Fatalf("a viewer token may manage users")
	}
	// A narrowed token cannot mint a wider one; one without a role gets
	// the narrowed role.
	_, _, err = svc.CreateAPIToken(ctx, viewer, auth.NewAPIToken{Name: "wider", Role: auth.RoleAdmin})
	wantCode(t, err, marquee.EFORBIDDEN)
	_, minted, err := svc.CreateAPIToken(ctx, viewer, auth.NewAPIToken{Name: "same"})
	if err != nil || minted.Role != auth.RoleViewer {
		t.Fatalf("token minted by a viewer token: %+v, %v", minted, err)
	}
	for _, in := range []auth.NewAPIToken{
		{Name: ""}, {Name: strings.Repeat("x", 101)}, {Name: "x", Role: "owner"},
		{Name: "x", TTL: time.Second}, {Name: "x", TTL: auth.MaxAPITokenTTL + time.Hour},
	} {
		_, _, err := svc.CreateAPIToken(ctx, session, in)
		wantCode(t, err, marquee.EINVALID)
	}

	// Demoting the owner to editor: the viewer token (audit.read, which
	// editors lack) stops; the owner-role token follows the owner down.
	editor := auth.RoleEditor
	if _, err := svc.CreateUser(ctx, admin, auth.NewUser{Username: "second", Password: strongPassword, Role: auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(ctx, admin, admin.ID, auth.UserChange{Role: &editor}); err != nil {
		t.Fatalf("demote: %v", err)
	}
	_, err = svc.AuthenticateBearer(ctx, viewerTok)
	wantCode(t, err, marquee.EUNAUTHORIZED)
	if cred, err := svc.AuthenticateBearer(ctx, full); err != nil || cred.User.Role != auth.RoleEditor {
		t.Fatalf("owner-role token after demotion = %+v, %v", cred, err)
	}

	// Expiry.
	short, _, err := svc.CreateAPIToken(ctx, session, auth.NewAPIToken{Name: "short", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateBearer(ctx, short); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	clk.Add(time.Minute)
	_, err = svc.AuthenticateBearer(ctx, short)
	wantCode(t, err, marquee.EUNAUTHORIZED)
	if n, err := svc.PruneSessions(ctx); err != nil || n < 1 {
		t.Fatalf("PruneSessions = %d, %v; want the expired token", n, err)
	}
}

func TestRoleWithin(t *testing.T) {
	for _, tc := range []struct {
		role, limit string
		want        bool
	}{
		{auth.RoleAdmin, auth.RoleAdmin, true},
		{auth.RoleViewer, auth.RoleAdmin, true},
		{auth.RoleEditor, auth.RoleAdmin, true},
		{auth.RoleApprover, auth.RoleAdmin, true},
		{auth.RoleAdmin, auth.RoleEditor, false},
		{auth.RoleViewer, auth.RoleEditor, false}, // audit.read
		{auth.RoleViewer, auth.RoleApprover, true},
		{auth.RoleEditor, auth.RoleApprover, false},
		{"", auth.RoleAdmin, false},
		{auth.RoleViewer, "owner", false},
	} {
		if got := auth.RoleWithin(tc.role, tc.limit); got != tc.want {
			t.Errorf("RoleWithin(%q, %q) = %v, want %v", tc.role, tc.limit, got, tc.want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	a, _ := auth.NewToken()
	b, _ := auth.NewToken()
	ca, cb := auth.CSRFToken(a), auth.CSRFToken(b)
	if ca == cb || ca != auth.CSRFToken(a) || len(ca) != 43 || strings.Contains(ca, a[4:]) {
		t.Fatalf("CSRF tokens %q, %q", ca, cb)
	}
	if !auth.CheckCSRF(a, ca) || auth.CheckCSRF(a, cb) || auth.CheckCSRF(a, "") || auth.CheckCSRF(a, ca[:42]) {
		t.Fatalf("CheckCSRF accepts the wrong tokens")
	}
}

func TestSessionKinds(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := MustService(t)
	cookie, err := svc.OpenSession(ctx, auth.Credentials{Username: "admin", Password: testPassword, Cookie: true})
	if err != nil || cookie.Session.Kind != auth.SessionCookie {
		t.Fatalf("cookie login = %+v, %v", cookie, err)
	}
	bearer, err := svc.OpenSession(ctx, auth.Credentials{Username: "admin", Password: testPassword})
	if err != nil || bearer.Session.Kind != auth.SessionBearer {
		t.Fatalf("bearer login = %+v, %v", bearer, err)
	}
	// Each kind only in its place.
	_, err = svc.AuthenticateBearer(ctx, cookie.Token)
	wantCode(t, err, marquee.EUNAUTHORIZED)
	_, err = svc.AuthenticateCookie(ctx, bearer.Token)
	wantCode(t, err, marquee.EUNAUTHORIZED)
	if _, err := svc.AuthenticateCookie(ctx, cookie.Token); err != nil {
		t.Fatalf("AuthenticateCookie: %v", err)
	}
	list, _, err := svc.ListSessions(ctx, cookie.User.ID, 0, "")
	if err != nil || len(list) != 2 || list[0].ID != bearer.Session.ID {
		t.Fatalf("ListSessions = %+v, %v", list, err)
	}
	wantCode(t, svc.RevokeSession(ctx, "usr_other", cookie.Session.ID), marquee.ENOTFOUND)
	if err := svc.RevokeSession(ctx, cookie.User.ID, cookie.Session.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.AuthenticateCookie(ctx, cookie.Token)
	wantCode(t, err, marquee.EUNAUTHORIZED)
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := MustService(t)
	g1, err := svc.OpenSession(ctx, auth.Credentials{Username: "admin", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := svc.OpenSession(ctx, auth.Credentials{Username: "admin", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := svc.AuthenticateBearer(ctx, g1.Token)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.CreateAPIToken(ctx, cred, auth.NewAPIToken{Name: "script"})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.ChangePassword(ctx, cred, "", "wrong password", strongPassword), marquee.EFORBIDDEN)
	wantCode(t, svc.ChangePassword(ctx, cred, "", testPassword, "weak"), marquee.EINVALID)
	wantCode(t, svc.ChangePassword(ctx, cred, "", testPassword, testPassword), marquee.EINVALID)
	if err := svc.ChangePassword(ctx, cred, "", testPassword, strongPassword); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := svc.AuthenticateBearer(ctx, g1.Token); err != nil {
		t.Fatalf("the session that changed the password: %v", err)
	}
	for _, token := range []string{g2.Token, tok} {
		_, err := svc.AuthenticateBearer(ctx, token)
		wantCode(t, err, marquee.EUNAUTHORIZED)
	}
	_, _, err = svc.Login(ctx, "admin", testPassword)
	wantCode(t, err, marquee.EUNAUTHORIZED)
	if _, _, err := svc.Login(ctx, "admin", strongPassword); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	// Wrong current passwords count towards the lock.
	for range 5 {
		wantCode(t, svc.ChangePassword(ctx, cred, "", "wrong password", testPassword+"x"), marquee.EFORBIDDEN)
	}
	wantCode(t, svc.ChangePassword(ctx, cred, "", strongPassword, testPassword+"x"), marquee.ETOOMANYREQUESTS)
}
