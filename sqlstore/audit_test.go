package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/audit"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"AuditAppendFind", testAuditAppendFind},
		{"AuditRejects", testAuditRejects},
		{"AuditFilterAndPaginate", testAuditFilterAndPaginate},
		{"AuditOrgSubtree", testAuditOrgSubtree},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"AuditOutlivesUser", testAuditOutlivesUser},
		{"AuditMalformedCursor", testAuditMalformedCursor},
	}...)
}

// newAuditEntry returns a valid entry at at; opts adjust it.
func newAuditEntry(at time.Time, opts ...func(*audit.Entry)) *audit.Entry {
	e := &audit.Entry{
		At:         at,
		UserID:     "usr_a",
		Username:   "an",
		OrgID:      auth.RootOrgID,
		Action:     audit.ActionUpdate,
		ObjectType: "display",
		ObjectID:   "dsp_a",
		Summary:    json.RawMessage(`{"before":{"name":"Cũ"},"after":{"name":"Mới"}}`),
		RequestID:  "req-1",
		RemoteIP:   "192.0.2.7",
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

func mustAppendAudit(t *testing.T, db *DB, e *audit.Entry) *audit.Entry {
	t.Helper()
	if err := db.AppendAudit(context.Background(), e); err != nil {
		t.Fatalf("AppendAudit(%s %s): %v", e.Action, e.ObjectID, err)
	}
	return e
}

func mustFindAudit(t *testing.T, db *DB, f audit.Filter) ([]*audit.Entry, string) {
	t.Helper()
	es, next, err := db.FindAudit(context.Background(), f)
	if err != nil {
		t.Fatalf("FindAudit(%+v): %v", f, err)
	}
	return es, next
}

func testAuditAppendFind(t *testing.T, db *DB) {
	e := mustAppendAudit(t, db, newAuditEntry(t0))
	if !strings.HasPrefix(e.ID, "aud_") {
		t.Errorf("ID = %q, want aud_…", e.ID)
	}
	if want := t0.UTC().Truncate(time.Millisecond); e.At != want {
		t.Errorf("stored At = %v, want %v", e.At, want)
	}
	// Defaults: no time is now, no summary is {}, no user or object is
	// stored as NULL and read back as "".
	db.now = func() time.Time { return t0.Add(time.Hour) }
	bare := mustAppendAudit(t, db, newAuditEntry(time.Time{}, func(e *audit.Entry) {
		e.UserID, e.ObjectID, e.Summary, e.Action = "", "", nil, audit.ActionLoginFailed
	}))
	if want := t0.Add(time.Hour).UTC().Truncate(time.Millisecond); bare.At != want {
		t.Errorf("default At = %v, want %v", bare.At, want)
	}
	if got, want := string(bare.Summary), `{}`; got != want {
		t.Errorf("default Summary = %s, want %s", got, want)
	}
	got, next := mustFindAudit(t, db, audit.Filter{})
	if next != "" {
		t.Errorf("next = %q, want none", next)
	}
	if diff := cmp.Diff([]*audit.Entry{bare, e}, got); diff != "" {
		t.Fatalf("FindAudit (-stored +found):\n%s", diff)
	}
	if got[0].At.Location() != time.UTC {
		t.Errorf("At not in UTC: %v", got[0].At.Location())
	}
	var nulls int
	if err := db.queryRow(context.Background(), db.read,
		`SELECT count(*) FROM audit_log WHERE user_id IS NULL AND object_id IS NULL AND id = ?`, bare.ID).Scan(&nulls); err != nil || nulls != 1 {
		t.Errorf("empty user and object stored as NULL: %d rows, %v", nulls, err)
	}
	wantCode(t, db.AppendAudit(context.Background(), newAuditEntry(t0, func(d *audit.Entry) { d.ID = e.ID })), marquee.ECONFLICT)
}

func testAuditRejects(t *testing.T, db *DB) {
	ctx := context.Background()
	tests := []struct {
		name string
		edit func(*audit.Entry)
	}{
		{"no action", func(e *audit.Entry) { e.Action = "" }},
		{"no object type", func(e *audit.Entry) { e.ObjectType = "" }},
		{"no organisation", func(e *audit.Entry) { e.OrgID = "" }},
		{"summary not JSON", func(e *audit.Entry) { e.Summary = json.RawMessage(`{"a":`) }},
		{"summary not an object", func(e *audit.Entry) { e.Summary = json.RawMessage(`[1,2]`) }},
		{"summary null", func(e *audit.Entry) { e.Summary = json.RawMessage(`null`) }},
		{"summary too large", func(e *audit.Entry) {
			e.Summary = json.RawMessage(`{"a":"` + strings.Repeat("x", audit.MaxSummaryBytes) + `"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, db.AppendAudit(ctx, newAuditEntry(t0, tt.edit)), marquee.EINVALID)
		})
	}
	if n := countRows(t, db, "audit_log"); n != 0 {
		t.Errorf("audit_log rows = %d, want 0", n)
	}
	// The largest summary allowed is stored.
	max := `{"a":"` + strings.Repeat("x", audit.MaxSummaryBytes-8) + `"}`
	mustAppendAudit(t, db, newAuditEntry(t0, func(e *audit.Entry) { e.Summary = json.RawMessage(max) }))
}

func testAuditFilterAndPaginate(t *testing.T, db *DB) {
	ctx := context.Background()
	// 36 entries by 3 users on 2 object types and 3 objects; every 3rd
	// pair shares a time, so the ID breaks ties.
	var all []*audit.Entry
	for i := range 36 {
		at := t0.Add(time.Duration(i/2) * time.Minute)
		if i%6 >= 4 {
			at = t0.Add(time.Duration(i/2-1) * time.Minute)
		}
		all = append(all, mustAppendAudit(t, db, newAuditEntry(at, func(e *audit.Entry) {
			e.UserID = []string{"usr_a", "usr_b", "usr_c"}[i%3]
			e.ObjectType = []string{"display", "schedule"}[i%2]
			e.ObjectID = fmt.Sprintf("obj_%d", i%3)
			e.Action = []string{audit.ActionCreate, audit.ActionUpdate, audit.ActionDelete, audit.ActionUpdate}[i%4]
		})))
	}
	newestFirst := func(keep func(e *audit.Entry) bool) []string {
		ids := []string{}
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		// at DESC, id DESC; IDs ascend in creation order.
		for i := range ids {
			for j := i + 1; j < len(ids); j++ {
				a, b := all[indexOfEntry(all, ids[i])], all[indexOfEntry(all, ids[j])]
				if b.At.After(a.At) || (b.At.Equal(a.At) && b.ID > a.ID) {
					ids[i], ids[j] = ids[j], ids[i]
				}
			}
		}
		return ids
	}
	base := t0.UTC().Truncate(time.Millisecond)
	from, to := base.Add(4*time.Minute), base.Add(11*time.Minute)
	tests := []struct {
		name string
		f    audit.Filter
		keep func(e *audit.Entry) bool
	}{
		{"all", audit.Filter{}, func(*audit.Entry) bool { return true }},
		{"user", audit.Filter{UserID: "usr_b"}, func(e *audit.Entry) bool { return e.UserID == "usr_b" }},
		{"object type", audit.Filter{ObjectType: "schedule"}, func(e *audit.Entry) bool { return e.ObjectType == "schedule" }},
		{"object", audit.Filter{ObjectType: "display", ObjectID: "obj_1"}, func(e *audit.Entry) bool {
			return e.ObjectType == "display" && e.ObjectID == "obj_1"
		}},
		{"action", audit.Filter{Action: audit.ActionUpdate}, func(e *audit.Entry) bool { return e.Action == audit.ActionUpdate }},
		{"range", audit.Filter{From: from, To: to}, func(e *audit.Entry) bool { return !e.At.Before(from) && e.At.Before(to) }},
		{"user+range+org", audit.Filter{UserID: "usr_a", From: from, Within: auth.RootOrgID}, func(e *audit.Entry) bool {
			return e.UserID == "usr_a" && !e.At.Before(from)
		}},
		{"none", audit.Filter{UserID: "usr_none"}, func(*audit.Entry) bool { return false }},
	}
	for _, tt := range tests {
		want := newestFirst(tt.keep)
		for _, limit := range []int{1, 4, 7, 50} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.name, limit), func(t *testing.T) {
				f := tt.f
				f.Limit = limit
				got := []string{}
				for page := 0; ; page++ {
					if page > len(all) {
						t.Fatal("pagination does not end")
					}
					es, next, err := db.FindAudit(ctx, f)
					if err != nil {
						t.Fatalf("FindAudit page %d: %v", page, err)
					}
					if len(es) > limit {
						t.Fatalf("page %d has %d entries, limit %d", page, len(es), limit)
					}
					for _, e := range es {
						got = append(got, e.ID)
					}
					if next == "" {
						break
					}
					if len(es) != limit {
						t.Fatalf("page %d: short page (%d of %d) with a next cursor", page, len(es), limit)
					}
					f.Cursor = next
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("IDs (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func indexOfEntry(es []*audit.Entry, id string) int {
	for i, e := range es {
		if e.ID == id {
			return i
		}
	}
	return -1
}

// mustCreateAuditOrg creates organisation id under parent.
func mustCreateAuditOrg(t *testing.T, db *DB, id, parent string) {
	t.Helper()
	if err := db.CreateOrganisation(context.Background(), &orgs.Organisation{ID: id, ParentID: parent, Name: id}); err != nil {
		t.Fatalf("create organisation %s: %v", id, err)
	}
}

func testAuditOrgSubtree(t *testing.T, db *DB) {
	// root → dept → commune, and root → district.
	mustCreateAuditOrg(t, db, "org_dept", auth.RootOrgID)
	mustCreateAuditOrg(t, db, "org_commune", "org_dept")
	mustCreateAuditOrg(t, db, "org_district", auth.RootOrgID)
	ids := map[string]string{}
	for i, org := range []string{auth.RootOrgID, "org_dept", "org_commune", "org_district", "org_gone"} {
		e := mustAppendAudit(t, db, newAuditEntry(t0.Add(time.Duration(i)*time.Second), func(e *audit.Entry) { e.OrgID = org }))
		ids[org] = e.ID
	}
	tests := []struct {
		org  string
		want []string
	}{
		// The root sees every organisation's entries, but not those of one
		// that no longer exists in the tree.
		{auth.RootOrgID, []string{ids["org_district"], ids["org_commune"], ids["org_dept"], ids[auth.RootOrgID]}},
		{"org_dept", []string{ids["org_commune"], ids["org_dept"]}},
		{"org_commune", []string{ids["org_commune"]}},
		{"org_district", []string{ids["org_district"]}},
		{"org_unknown", []string{}},
	}
	for _, tt := range tests {
		es, _ := mustFindAudit(t, db, audit.Filter{Within: tt.org})
		got := []string{}
		for _, e := range es {
			got = append(got, e.ID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("subtree of %s (-want +got):\n%s", tt.org, diff)
		}
	}
}

// testAuditAppendOnly proves the database itself refuses to change or
// delete audit rows, whatever SQL the application sends.
func testAuditAppendOnly(t *testing.T, db *DB) {
	ctx := context.Background()
	e := mustAppendAudit(t, db, newAuditEntry(t0))
	attempts := []string{
		`UPDATE audit_log SET username = 'someone else' WHERE id = '` + e.ID + `'`,
		`UPDATE audit_log SET summary = '{}'`,
		`DELETE FROM audit_log WHERE id = '` + e.ID + `'`,
		`DELETE FROM audit_log`,
	}
	if db.d.name == dialectPostgres {
		attempts = append(attempts,
			`TRUNCATE audit_log`,
			// Per statement: refused even when nothing matches.
			`DELETE FROM audit_log WHERE id = 'aud_none'`)
	}
	for _, q := range attempts {
		if _, err := db.SQL().ExecContext(ctx, q); err == nil {
			t.Errorf("%s: succeeded, want an error", q)
		} else if !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only error", q, err)
		}
	}
	// Inside a transaction too: the refusal fails it as a whole.
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO audit_log (`+auditColumns+`)
			VALUES ('aud_tx', 0, NULL, 'x', ?, 'update', 'display', NULL, '{}', '', '')`, auth.RootOrgID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `DELETE FROM audit_log WHERE id = ?`, e.ID)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete in a transaction: %v, want the append-only error", err)
	}
	got, _ := mustFindAudit(t, db, audit.Filter{})
	if diff := cmp.Diff([]*audit.Entry{e}, got); diff != "" {
		t.Fatalf("audit rows changed (-appended +found):\n%s", diff)
	}
	// Appending still works.
	mustAppendAudit(t, db, newAuditEntry(t0.Add(time.Second)))
}

func testAuditOutlivesUser(t *testing.T, db *DB) {
	ctx := context.Background()
	u := &auth.User{OrgID: auth.RootOrgID, Username: "tạm", PasswordHash: "x", Role: auth.RoleEditor}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	e := mustAppendAudit(t, db, newAuditEntry(t0, func(e *audit.Entry) { e.UserID, e.Username = u.ID, u.Username }))
	if _, err := db.exec(ctx, db.write, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	got, _ := mustFindAudit(t, db, audit.Filter{UserID: u.ID})
	if len(got) != 1 || got[0].ID != e.ID || got[0].Username != "tạm" {
		t.Fatalf("entries of the deleted user = %v, want the one naming %q", got, "tạm")
	}
}

func testAuditMalformedCursor(t *testing.T, db *DB) {
	ctx := context.Background()
	for _, c := range []string{"!!", "bm9kb3Q", "MTIzLg", "eC5hdWRfYQ", "MTIzLmF1ZF8nOy0t"} {
		_, _, err := db.FindAudit(ctx, audit.Filter{Cursor: c})
		wantCode(t, err, marquee.EINVALID)
	}
	_, _, err := db.FindAudit(ctx, audit.Filter{Limit: -1})
	wantCode(t, err, marquee.EINVALID)
}
