package orgs_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/sqlstore"
)

func newService(t *testing.T) *orgs.Service {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "marquee.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return orgs.NewService(db, orgs.Config{})
}

// actingIn returns a context whose actor is a user of organisation org.
func actingIn(t *testing.T, svc *orgs.Service, org string) context.Context {
	t.Helper()
	scope, err := svc.Scope(context.Background(), org)
	if err != nil {
		t.Fatalf("Scope(%s): %v", org, err)
	}
	return auth.NewContext(context.Background(), auth.Actor{User: &auth.User{OrgID: org}, Scope: scope})
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := marquee.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

func TestScopes(t *testing.T) {
	svc := newService(t)
	ctx := context.Background() // no actor: the whole tree
	a, err := svc.Create(ctx, orgs.Input{Name: "District A"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ParentID != auth.RootOrgID || a.Depth() != 1 {
		t.Fatalf("created %+v, want it below the root", a)
	}
	b, _ := svc.Create(ctx, orgs.Input{Name: "District B", ParentID: auth.RootOrgID})
	a1, _ := svc.Create(ctx, orgs.Input{Name: "Commune A1", ParentID: a.ID})

	if s, err := svc.Scope(ctx, auth.RootOrgID); err != nil || !s.All() || s.Within() != "" {
		t.Fatalf("root scope = %+v, %v; want everything", s, err)
	}
	s, err := svc.Scope(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]bool{a.ID: true, a1.ID: true, b.ID: false, auth.RootOrgID: false} {
		if s.Contains(org) != want {
			t.Errorf("scope of A contains %s = %v, want %v", org, !want, want)
		}
	}
	if s.Within() != a.ID || s.OrgID() != a.ID {
		t.Errorf("scope of A: Within %q, OrgID %q", s.Within(), s.OrgID())
	}
	_, err = svc.Scope(ctx, "org_nowhere")
	wantCode(t, err, marquee.ENOTFOUND)
	if z := (auth.Scope{}); z.Contains(a.ID) || z.Within() != auth.NoOrg {
		t.Errorf("the zero Scope contains %s or filters by %q", a.ID, z.Within())
	}

	inA := actingIn(t, svc, a.ID)
	list, err := svc.List(inA)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != a1.ID {
		t.Fatalf("List as A = %+v, %v", list, err)
	}
	// Below A by default; never under B; B is invisible.
	c, err := svc.Create(inA, orgs.Input{Name: "Commune A2"})
	if err != nil || c.ParentID != a.ID {
		t.Fatalf("Create as A = %+v, %v", c, err)
	}
	_, err = svc.Create(inA, orgs.Input{Name: "x", ParentID: b.ID})
	wantCode(t, err, marquee.EINVALID)
	_, err = svc.Get(inA, b.ID)
	wantCode(t, err, marquee.ENOTFOUND)
	_, err = svc.Rename(inA, b.ID, "x")
	wantCode(t, err, marquee.ENOTFOUND)
	wantCode(t, svc.Delete(inA, b.ID), marquee.ENOTFOUND)
	wantCode(t, svc.Delete(inA, a.ID), marquee.EFORBIDDEN)
	_, err = svc.Rename(inA, a.ID, " ")
	wantCode(t, err, marquee.EINVALID)
	inA = actingIn(t, svc, a.ID) // a new request: the scope now holds C
	if err := svc.Delete(inA, c.ID); err != nil {
		t.Fatalf("Delete(empty commune) as A: %v", err)
	}
	wantCode(t, svc.Delete(ctx, a.ID), marquee.ECONFLICT) // A1 is below it

	// The tree nests at most MaxDepth levels.
	parent := a1.ID
	for range orgs.MaxDepth - 2 {
		o, err := svc.Create(ctx, orgs.Input{Name: "deeper", ParentID: parent})
		if err != nil {
			t.Fatal(err)
		}
		parent = o.ID
	}
	_, err = svc.Create(ctx, orgs.Input{Name: "too deep", ParentID: parent})
	wantCode(t, err, marquee.EINVALID)
}
