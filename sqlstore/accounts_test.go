package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
)

// The account cases join the one conformance suite (TestConformance), so
// they run on every dialect.
func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"OrgInSubtree", testOrgInSubtree},
		{"FindUsers", testFindUsers},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserKeepsRootAdmin", testUpdateUserKeepsRootAdmin},
		{"UpdateUserLastAdminRace", testUpdateUserLastAdminRace},
		{"SessionKindsAndLists", testSessionKindsAndLists},
		{"APITokens", testAPITokens},
		{"APITokensExpiryAndCascade", testAPITokensExpiryAndCascade},
		{"LoginThrottles", testLoginThrottles},
		{"LoginThrottlesConcurrent", testLoginThrottlesConcurrent},
	}...)
}

// mustCreateOrg creates organisation id under parent.
func mustCreateOrg(t *testing.T, db *DB, id, parent string) {
	t.Helper()
	if err := db.CreateOrganisation(context.Background(), &orgs.Organisation{ID: id, ParentID: parent, Name: id}); err != nil {
		t.Fatalf("CreateOrganisation(%q): %v", id, err)
	}
}

// orgTree makes root → org_a → org_a1, root → org_b.
func orgTree(t *testing.T, db *DB) {
	t.Helper()
	mustCreateOrg(t, db, "org_a", auth.RootOrgID)
	mustCreateOrg(t, db, "org_a1", "org_a")
	mustCreateOrg(t, db, "org_b", auth.RootOrgID)
}

func testOrgInSubtree(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	for _, tc := range []struct {
		ancestor, org string
		want          bool
	}{
		{auth.RootOrgID, auth.RootOrgID, true},
		{auth.RootOrgID, "org_a1", true},
		{auth.RootOrgID, "org_b", true},
		{"org_a", "org_a", true},
		{"org_a", "org_a1", true},
		{"org_a1", "org_a1", true},
		{"org_a", "org_b", false},
		{"org_a", auth.RootOrgID, false},
		{"org_a1", "org_a", false},
		{"org_b", "org_a1", false},
		{"org_a", "org_nowhere", false},
		{"org_nowhere", "org_a", false},
	} {
		got, err := db.OrgInSubtree(ctx, tc.ancestor, tc.org)
		if err != nil {
			t.Fatalf("OrgInSubtree(%q, %q): %v", tc.ancestor, tc.org, err)
		}
		if got != tc.want {
			t.Errorf("OrgInSubtree(%q, %q) = %v, want %v", tc.ancestor, tc.org, got, tc.want)
		}
	}
}

func userIn(username, org, role string) *auth.User {
	u := newUser(username)
	u.OrgID, u.Role = org, role
	return u
}

func testFindUsers(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	mustCreateUser(t, db, userIn("root", auth.RootOrgID, auth.RoleAdmin))
	mustCreateUser(t, db, userIn("a", "org_a", auth.RoleEditor))
	mustCreateUser(t, db, userIn("a1", "org_a1", auth.RoleViewer))
	b := mustCreateUser(t, db, userIn("b", "org_b", auth.RoleApprover))

	ids := func(us []*auth.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	for _, tc := range []struct {
		subtree string
		want    []string
	}{
		{"", []string{"b", "a1", "a", "root"}},
		{auth.RootOrgID, []string{"b", "a1", "a", "root"}},
		{"org_a", []string{"a1", "a"}},
		{"org_a1", []string{"a1"}},
		{"org_b", []string{"b"}},
		{"org_nowhere", []string{}},
	} {
		got, next, err := db.FindUsers(ctx, auth.UserFilter{OrgSubtree: tc.subtree})
		if err != nil {
			t.Fatalf("FindUsers(%q): %v", tc.subtree, err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" || next != "" {
			t.Errorf("FindUsers(%q) next=%q (-want +got):\n%s", tc.subtree, next, diff)
		}
	}
	// The stored fields come back whole.
	got, _, err := db.FindUsers(ctx, auth.UserFilter{OrgSubtree: "org_b"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*auth.User{b}, got); diff != "" {
		t.Errorf("FindUsers(org_b) (-want +got):\n%s", diff)
	}

	// Pages of one, newest first.
	var pages []string
	cursor := ""
	for i := 0; ; i++ {
		page, next, err := db.FindUsers(ctx, auth.UserFilter{Limit: 1, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		pages = append(pages, ids(page)...)
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff([]string{"b", "a1", "a", "root"}, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	_, _, err = db.FindUsers(ctx, auth.UserFilter{Cursor: "!!"})
	wantCode(t, err, marquee.EINVALID)
	_, _, err = db.FindUsers(ctx, auth.UserFilter{Limit: -1})
	wantCode(t, err, marquee.EINVALID)
}

func testUpdateUser(t *testing.T, db *DB) {
	ctx := context.Background()
	mustCreateUser(t, db, newUser("root"))
	u := mustCreateUser(t, db, userIn("nam", auth.RootOrgID, auth.RoleEditor))
	other := mustCreateUser(t, db, userIn("lan", auth.RootOrgID, auth.RoleEditor))
	keep := mustCreateSession(t, db, newSession(u.ID, "k1", t0.Add(time.Hour)))
	gone := mustCreateSession(t, db, newSession(u.ID, "k2", t0.Add(time.Hour)))
	othersSession := mustCreateSession(t, db, newSession(other.ID, "k3", t0.Add(time.Hour)))
	tok := mustCreateToken(t, db, newToken(u.ID, "t1"))
	othersToken := mustCreateToken(t, db, newToken(other.ID, "t2"))

	// Without revoke: fields change, credentials stay.
	u.Role, u.PasswordHash = auth.RoleViewer, "$2a$10$changed"
	if err := db.UpdateUser(ctx, u, false, ""); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err := db.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("stored user (-want +got):\n%s", diff)
	}
	for _, h := range []string{keep.TokenHash, gone.TokenHash} {
		if _, err := db.FindSessionByTokenHash(ctx, h); err != nil {
			t.Fatalf("session %s went without revoke: %v", h, err)
		}
	}

	// With revoke: all the user's sessions but one and all its tokens go;
	// another user's stay.
	u.Disabled = true
	if err := db.UpdateUser(ctx, u, true, keep.ID); err != nil {
		t.Fatalf("UpdateUser(revoke): %v", err)
	}
	if got, err := db.FindUserByID(ctx, u.ID); err != nil || !got.Disabled {
		t.Fatalf("disabled = %v, %v", got, err)
	}
	if _, err := db.FindSessionByTokenHash(ctx, keep.TokenHash); err != nil {
		t.Fatalf("kept session: %v", err)
	}
	_, err = db.FindSessionByTokenHash(ctx, gone.TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = db.FindAPITokenByHash(ctx, tok.TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)
	if _, err := db.FindSessionByTokenHash(ctx, othersSession.TokenHash); err != nil {
		t.Fatalf("other user's session: %v", err)
	}
	if _, err := db.FindAPITokenByHash(ctx, othersToken.TokenHash); err != nil {
		t.Fatalf("other user's token: %v", err)
	}
	// keepSession "" revokes every session.
	if err := db.UpdateUser(ctx, u, true, ""); err != nil {
		t.Fatalf("UpdateUser(revoke all): %v", err)
	}
	_, err = db.FindSessionByTokenHash(ctx, keep.TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)

	wantCode(t, db.UpdateUser(ctx, &auth.User{ID: "usr_nobody", Role: auth.RoleViewer}, true, ""), marquee.ENOTFOUND)
}

func testUpdateUserKeepsRootAdmin(t *testing.T, db *DB) {
	ctx := context.Background()
	orgTree(t, db)
	// Users that are not enabled root admins do not count, and changing
	// them is never refused.
	sub := mustCreateUser(t, db, userIn("sub-admin", "org_a", auth.RoleAdmin))
	off := userIn("off-admin", auth.RootOrgID, auth.RoleAdmin)
	off.Disabled = true
	mustCreateUser(t, db, off)
	sub.Role = auth.RoleViewer
	if err := db.UpdateUser(ctx, sub, false, ""); err != nil {
		t.Fatalf("demote a sub-organisation admin with no root admin: %v", err)
	}

	first := mustCreateUser(t, db, userIn("first", auth.RootOrgID, auth.RoleAdmin))
	refuse := func(change func(u *auth.User)) {
		t.Helper()
		u := *first
		change(&u)
		wantCode(t, db.UpdateUser(ctx, &u, true, ""), marquee.ECONFLICT)
		if got, err := db.FindUserByID(ctx, first.ID); err != nil || got.Role != auth.RoleAdmin || got.Disabled {
			t.Fatalf("after a refused change: %+v, %v", got, err)
		}
	}
	refuse(func(u *auth.User) { u.Role = auth.RoleEditor })
	refuse(func(u *auth.User) { u.Disabled = true })
	// An unchanged admin, or a new password, is fine.
	first.PasswordHash = "$2a$10$new"
	if err := db.UpdateUser(ctx, first, false, ""); err != nil {
		t.Fatalf("update the last admin's password: %v", err)
	}

	second := mustCreateUser(t, db, userIn("second", auth.RootOrgID, auth.RoleAdmin))
	second.Disabled = true
	if err := db.UpdateUser(ctx, second, true, ""); err != nil {
		t.Fatalf("disable the second admin: %v", err)
	}
	refuse(func(u *auth.User) { u.Role = auth.RoleViewer })
	second.Disabled = false
	if err := db.UpdateUser(ctx, second, false, ""); err != nil {
		t.Fatalf("enable the second admin: %v", err)
	}
	first.Role = auth.RoleViewer
	if err := db.UpdateUser(ctx, first, false, ""); err != nil {
		t.Fatalf("demote one of two admins: %v", err)
	}
	second.Role = auth.RoleViewer
	wantCode(t, db.UpdateUser(ctx, second, false, ""), marquee.ECONFLICT)
}

// testUpdateUserLastAdminRace: two root admins demoting each other at
// once cannot both succeed.
func testUpdateUserLastAdminRace(t *testing.T, db *DB) {
	ctx := context.Background()
	for round := range 5 {
		a := mustCreateUser(t, db, userIn(fmt.Sprintf("a%d", round), auth.RootOrgID, auth.RoleAdmin))
		b := mustCreateUser(t, db, userIn(fmt.Sprintf("b%d", round), auth.RootOrgID, auth.RoleAdmin))
		if round > 0 {
			// Only a and b are enabled root admins.
			if _, err := db.exec(ctx, db.write, `UPDATE users SET role = ? WHERE id NOT IN (?, ?)`,
				auth.RoleViewer, a.ID, b.ID); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []*auth.User{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := *u
				v.Role = auth.RoleEditor
				errs[i] = db.UpdateUser(ctx, &v, false, "")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch marquee.ErrorCode(err) {
			case "":
				ok++
			case marquee.ECONFLICT:
			default:
				t.Fatalf("round %d: UpdateUser: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of 2 concurrent demotions succeeded (%v), want 1", round, ok, errs)
		}
	}
}

func testSessionKindsAndLists(t *testing.T, db *DB) {
	ctx := context.Background()
	u := mustCreateUser(t, db, newUser("admin"))
	other := mustCreateUser(t, db, userIn("other", auth.RootOrgID, auth.RoleViewer))
	now := t0.Add(time.Hour)
	mustCreateSession(t, db, newSession(u.ID, "h0", now)) // expired: not listed
	var live []*auth.Session
	for i, kind := range []string{auth.SessionBearer, auth.SessionCookie, ""} {
		s := newSession(u.ID, "h"+string(rune('1'+i)), now.Add(time.Hour))
		s.Kind = kind
		live = append(live, mustCreateSession(t, db, s))
	}
	mustCreateSession(t, db, newSession(other.ID, "h9", now.Add(time.Hour)))
	if got := live[2].Kind; got != auth.SessionBearer {
		t.Errorf("empty Kind stored as %q, want %q", got, auth.SessionBearer)
	}
	got, err := db.FindSessionByTokenHash(ctx, live[1].TokenHash)
	if err != nil || got.Kind != auth.SessionCookie {
		t.Fatalf("cookie session read back as %+v, %v", got, err)
	}

	all, next, err := db.FindSessions(ctx, auth.CredentialFilter{UserID: u.ID, Now: now})
	if err != nil {
		t.Fatalf("FindSessions: %v", err)
	}
	want := []*auth.Session{live[2], live[1], live[0]}
	if diff := cmp.Diff(want, all); diff != "" || next != "" {
		t.Errorf("FindSessions next=%q (-want +got):\n%s", next, diff)
	}
	page, next, err := db.FindSessions(ctx, auth.CredentialFilter{UserID: u.ID, Now: now, Limit: 2})
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page: %d sessions, next %q, %v", len(page), next, err)
	}
	page, next, err = db.FindSessions(ctx, auth.CredentialFilter{UserID: u.ID, Now: now, Limit: 2, Cursor: next})
	if err != nil || len(page) != 1 || page[0].ID != live[0].ID || next != "" {
		t.Fatalf("second page: %+v, next %q, %v", page, next, err)
	}
	none, _, err := db.FindSessions(ctx, auth.CredentialFilter{UserID: "usr_nobody", Now: now})
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("FindSessions(nobody) = %v, %v; want an empty slice", none, err)
	}

	wantCode(t, db.DeleteUserSession(ctx, other.ID, live[0].ID), marquee.ENOTFOUND)
	if err := db.DeleteUserSession(ctx, u.ID, live[0].ID); err != nil {
		t.Fatalf("DeleteUserSession: %v", err)
	}
	wantCode(t, db.DeleteUserSession(ctx, u.ID, live[0].ID), marquee.ENOTFOUND)
	_, err = db.FindSessionByTokenHash(ctx, live[0].TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)
}

func newToken(userID, hash string) *auth.APIToken {
	return &auth.APIToken{
		ID:        marquee.NewID("tok_"),
		UserID:    userID,
		Name:      "backup script",
		TokenHash: hash,
		CreatedAt: t0,
	}
}

func mustCreateToken(t *testing.T, db *DB, tok *auth.APIToken) *auth.APIToken {
	t.Helper()
	if err := db.CreateAPIToken(context.Background(), tok); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	return tok
}

func testAPITokens(t *testing.T, db *DB) {
	ctx := context.Background()
	u := mustCreateUser(t, db, newUser("admin"))
	forever := mustCreateToken(t, db, newToken(u.ID, strings.Repeat("a1", 32)))
	narrowed := newToken(u.ID, strings.Repeat("b2", 32))
	narrowed.Role, narrowed.ExpiresAt = auth.RoleViewer, t0.Add(24*time.Hour)
	mustCreateToken(t, db, narrowed)
	if want := t0.UTC().Truncate(time.Millisecond); forever.CreatedAt != want || narrowed.ExpiresAt != t0.Add(24*time.Hour).UTC().Truncate(time.Millisecond) {
		t.Errorf("stored times: created %v, expires %v", forever.CreatedAt, narrowed.ExpiresAt)
	}

	for _, want := range []*auth.APIToken{forever, narrowed} {
		got, err := db.FindAPITokenByHash(ctx, want.TokenHash)
		if err != nil {
			t.Fatalf("FindAPITokenByHash: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindAPITokenByHash (-stored +found):\n%s", diff)
		}
	}
	if got, _ := db.FindAPITokenByHash(ctx, forever.TokenHash); !got.ExpiresAt.IsZero() {
		t.Errorf("a token without expiry reads back expiring at %v", got.ExpiresAt)
	}
	_, err := db.FindAPITokenByHash(ctx, "nothing")
	wantCode(t, err, marquee.ENOTFOUND)

	wantCode(t, db.CreateAPIToken(ctx, newToken(u.ID, forever.TokenHash)), marquee.ECONFLICT)
	wantCode(t, db.CreateAPIToken(ctx, newToken("usr_nobody", "ff")), marquee.EINVALID)

	// Defaults.
	db.now = func() time.Time { return t0 }
	bare := newToken(u.ID, "c3")
	bare.ID, bare.CreatedAt = "", time.Time{}
	mustCreateToken(t, db, bare)
	if !strings.HasPrefix(bare.ID, "tok_") || bare.CreatedAt != t0.UTC().Truncate(time.Millisecond) {
		t.Errorf("defaults: ID %q, CreatedAt %v", bare.ID, bare.CreatedAt)
	}

	other := mustCreateUser(t, db, userIn("other", auth.RootOrgID, auth.RoleViewer))
	wantCode(t, db.DeleteAPIToken(ctx, other.ID, forever.ID), marquee.ENOTFOUND)
	if err := db.DeleteAPIToken(ctx, u.ID, forever.ID); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	wantCode(t, db.DeleteAPIToken(ctx, u.ID, forever.ID), marquee.ENOTFOUND)
	_, err = db.FindAPITokenByHash(ctx, forever.TokenHash)
	wantCode(t, err, marquee.ENOTFOUND)
}

func testAPITokensExpiryAndCascade(t *testing.T, db *DB) {
	ctx := context.Background()
	u := mustCreateUser(t, db, newUser("admin"))
	now := t0.Add(24 * time.Hour)
	mk := func(hash string, expires time.Time) *auth.APIToken {
		tok := newToken(u.ID, hash)
		tok.ExpiresAt = expires
		return mustCreateToken(t, db, tok)
	}
	expired := mk("h1", now.Add(-time.Hour))
	boundary := mk("h2", now)
	live := mk("h3", now.Add(time.Millisecond))
	forever := mk("h4", time.Time{})

	got, next, err := db.FindAPITokens(ctx, auth.CredentialFilter{UserID: u.ID, Now: now})
	if err != nil {
		t.Fatalf("FindAPITokens: %v", err)
	}
	if diff := cmp.Diff([]*auth.APIToken{forever, live}, got); diff != "" || next != "" {
		t.Errorf("FindAPITokens next=%q (-want +got):\n%s", next, diff)
	}
	page, next, err := db.FindAPITokens(ctx, auth.CredentialFilter{UserID: u.ID, Now: now, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != forever.ID || next == "" {
		t.Fatalf("first page: %+v, %q, %v", page, next, err)
	}
	page, next, err = db.FindAPITokens(ctx, auth.CredentialFilter{UserID: u.ID, Now: now, Limit: 1, Cursor: next})
	if err != nil || len(page) != 1 || page[0].ID != live.ID || next != "" {
		t.Fatalf("second page: %+v, %q, %v", page, next, err)
	}

	n, err := db.DeleteExpiredAPITokens(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredAPITokens = %d, %v; want 2", n, err)
	}
	for _, tok := range []*auth.APIToken{expired, boundary} {
		_, err := db.FindAPITokenByHash(ctx, tok.TokenHash)
		wantCode(t, err, marquee.ENOTFOUND)
	}

	if _, err := db.exec(ctx, db.write, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	for _, tok := range []*auth.APIToken{live, forever} {
		_, err := db.FindAPITokenByHash(ctx, tok.TokenHash)
		wantCode(t, err, marquee.ENOTFOUND)
	}
}

func testLoginThrottles(t *testing.T, db *DB) {
	ctx := context.Background()
	_, err := db.FindLoginThrottle(ctx, "nam")
	wantCode(t, err, marquee.ENOTFOUND)

	at := t0.Add(time.Minute)
	var seen auth.LoginThrottle
	got, err := db.UpdateLoginThrottle(ctx, "nam", func(th *auth.LoginThrottle) {
		seen = *th
		th.Failures, th.WindowStart, th.UpdatedAt = 1, at, at
	})
	if err != nil {
		t.Fatalf("UpdateLoginThrottle: %v", err)
	}
	if diff := cmp.Diff(auth.LoginThrottle{Account: "nam"}, seen); diff != "" {
		t.Errorf("fn saw on first use (-want +got):\n%s", diff)
	}
	want := &auth.LoginThrottle{Account: "nam", Failures: 1, WindowStart: at.UTC().Truncate(time.Millisecond),
		UpdatedAt: at.UTC().Truncate(time.Millisecond)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateLoginThrottle (-want +got):\n%s", diff)
	}

	locked := at.Add(5 * time.Minute)
	if _, err := db.UpdateLoginThrottle(ctx, "nam", func(th *auth.LoginThrottle) {
		seen = *th
		th.Failures++
		th.LockedUntil, th.Lockouts = locked, 1
	}); err != nil {
		t.Fatalf("UpdateLoginThrottle again: %v", err)
	}
	if diff := cmp.Diff(*want, seen); diff != "" {
		t.Errorf("fn saw the stored counters (-want +got):\n%s", diff)
	}
	found, err := db.FindLoginThrottle(ctx, "nam")
	if err != nil {
		t.Fatalf("FindLoginThrottle: %v", err)
	}
	want.Failures, want.LockedUntil, want.Lockouts = 2, locked.UTC().Truncate(time.Millisecond), 1
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("FindLoginThrottle (-want +got):\n%s", diff)
	}

	// Stale: both the last failure and the lock before the cut.
	if _, err := db.UpdateLoginThrottle(ctx, "old", func(th *auth.LoginThrottle) {
		th.Failures, th.WindowStart, th.UpdatedAt = 1, t0.Add(-48*time.Hour), t0.Add(-48*time.Hour)
	}); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteStaleLoginThrottles(ctx, t0)
	if err != nil || n != 1 {
		t.Fatalf("DeleteStaleLoginThrottles = %d, %v; want 1", n, err)
	}
	_, err = db.FindLoginThrottle(ctx, "old")
	wantCode(t, err, marquee.ENOTFOUND)
	if n, err := db.DeleteStaleLoginThrottles(ctx, locked); err != nil || n != 0 {
		t.Fatalf("DeleteStaleLoginThrottles while locked = %d, %v; want 0", n, err)
	}

	if err := db.DeleteLoginThrottle(ctx, "nam"); err != nil {
		t.Fatalf("DeleteLoginThrottle: %v", err)
	}
	_, err = db.FindLoginThrottle(ctx, "nam")
	wantCode(t, err, marquee.ENOTFOUND)
	if err := db.DeleteLoginThrottle(ctx, "nam"); err != nil {
		t.Fatalf("DeleteLoginThrottle of nothing: %v", err)
	}
}

// testLoginThrottlesConcurrent: concurrent failures of one account are
// all counted, including the first ones racing to create the row.
func testLoginThrottlesConcurrent(t *testing.T, db *DB) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.UpdateLoginThrottle(ctx, "nam", func(th *auth.LoginThrottle) {
				th.Failures++
				th.UpdatedAt = t0
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateLoginThrottle: %v", err)
		}
	}
	got, err := db.FindLoginThrottle(ctx, "nam")
	if err != nil || got.Failures != n {
		t.Fatalf("Failures = %+v, %v; want %d", got, err, n)
	}
}
