package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
)

func latestVersion(t *testing.T, d *dialect) int {
	t.Helper()
	migs, err := loadMigrations(d.migrations())
	if err != nil {
		t.Fatalf("loadMigrations(%s): %v", d.name, err)
	}
	return len(migs)
}

func TestMigrate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		t.Run("EmptyToLatest", func(t *testing.T) {
			t.Parallel()
			testMigrateEmptyToLatest(t, d.open(t))
		})
		t.Run("NewerSchema", func(t *testing.T) {
			t.Parallel()
			testMigrateNewerSchema(t, d.openMigrated(t))
		})
		t.Run("FailingMigrationIsAtomic", func(t *testing.T) {
			testMigrateFailingIsAtomic(t, d)
		})
		t.Run("Concurrent", func(t *testing.T) {
			t.Parallel()
			dsn := d.newDSN(t)
			testMigrateConcurrent(t, mustOpen(t, dsn), mustOpen(t, dsn), mustOpen(t, dsn))
		})
	})
}

func testMigrateEmptyToLatest(t *testing.T, db *DB) {
	ctx := context.Background()
	latest := latestVersion(t, db.d)

	current, gotLatest, err := db.SchemaVersion(ctx)
	if err != nil || current != 0 || gotLatest != latest {
		t.Fatalf("SchemaVersion on an empty DB = %d, %d, %v; want 0, %d, nil", current, gotLatest, err, latest)
	}
	err = db.CheckSchema(ctx)
	wantCode(t, err, marquee.EUNAVAILABLE)
	if msg := marquee.ErrorMessage(err); !strings.Contains(msg, "marquee migrate") || !strings.Contains(msg, "v0") {
		t.Fatalf("CheckSchema on an empty DB = %q, want it to say v0 and to run `marquee migrate`", msg)
	}

	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	var want []int
	for v := 1; v <= latest; v++ {
		want = append(want, v)
	}
	if diff := cmp.Diff(want, applied); diff != "" {
		t.Fatalf("applied (-want +got):\n%s", diff)
	}
	if current, _, err := db.SchemaVersion(ctx); err != nil || current != latest {
		t.Fatalf("SchemaVersion after Migrate = %d, %v; want %d", current, err, latest)
	}
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after Migrate: %v", err)
	}
	var appliedAt int64
	if err := db.SQL().QueryRow(`SELECT applied_at FROM schema_migrations WHERE version = 1`).Scan(&appliedAt); err != nil || appliedAt <= 0 {
		t.Fatalf("schema_migrations row: applied_at %d, %v", appliedAt, err)
	}

	// Twice is a no-op.
	applied, err = db.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v; want none", applied, err)
	}
}

func testMigrateNewerSchema(t *testing.T, db *DB) {
	ctx := context.Background()
	latest := latestVersion(t, db.d)
	future := latest + 5
	if _, err := db.exec(ctx, db.write, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, future); err != nil {
		t.Fatalf("insert future version: %v", err)
	}
	err := db.CheckSchema(ctx)
	wantCode(t, err, marquee.EUNAVAILABLE)
	msg := marquee.ErrorMessage(err)
	for _, want := range []string{"newer", "upgrade marquee", fmt.Sprintf("(v%d)", future), fmt.Sprintf("(v%d)", latest)} {
		if !strings.Contains(msg, want) {
			t.Errorf("CheckSchema = %q, want it to contain %q", msg, want)
		}
	}
	// An old binary does not "migrate" a newer database either.
	_, err = db.Migrate(ctx)
	wantCode(t, err, marquee.EUNAVAILABLE)
}

// testMigrateFailingIsAtomic feeds broken second migrations and checks that
// nothing of them remains. "statement" fails in its last statement, after
// others ran; "record" runs fine but recording its version then fails (the
// file records it itself), which must undo the file's changes too.
func testMigrateFailingIsAtomic(t *testing.T, d testDialect) {
	init, err := fs.ReadFile(d.migrationsOf().migrations(), "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for name, broken := range map[string]string{
		"statement": `
			CREATE TABLE half_done (id INTEGER PRIMARY KEY);
			INSERT INTO organisations (id, name, created_at) VALUES ('org_half', 'Half', 0);
			INSERT INTO organisations (id, name, created_at) VALUES ('org_root', 'Twice', 0);`,
		"record": `
			CREATE TABLE half_done (id INTEGER PRIMARY KEY);
			INSERT INTO organisations (id, name, created_at) VALUES ('org_half', 'Half', 0);
			INSERT INTO schema_migrations (version, applied_at) VALUES (2, 0);`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := d.open(t)
			fsys := fstest.MapFS{
				"0001_init.sql":   {Data: init},
				"0002_broken.sql": {Data: []byte(broken)},
			}
			applied, err := db.migrateFS(ctx, fsys)
			wantCode(t, err, marquee.EINTERNAL)
			if msg := marquee.ErrorMessage(err); !strings.Contains(msg, "0002_broken.sql") {
				t.Errorf("error message %q does not name the migration", msg)
			}
			if diff := cmp.Diff([]int{1}, applied); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
			if ok, err := db.tableExists(ctx, db.write, "half_done"); err != nil || ok {
				t.Errorf("half_done exists = %v, %v; want rolled back", ok, err)
			}
			var n int
			if err := db.SQL().QueryRow(`SELECT count(*) FROM organisations WHERE id = 'org_half'`).Scan(&n); err != nil || n != 0 {
				t.Errorf("org_half rows = %d, %v; want 0", n, err)
			}
			if current, _, err := db.SchemaVersion(ctx); err != nil || current != 1 {
				t.Errorf("SchemaVersion = %d, %v; want 1", current, err)
			}
			// Fixed, it applies.
			fsys["0002_broken.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE half_done (id INTEGER PRIMARY KEY);`)}
			if applied, err := db.migrateFS(ctx, fsys); err != nil || !cmp.Equal(applied, []int{2}) {
				t.Fatalf("migrateFS after fix = %v, %v; want [2]", applied, err)
			}
		})
	}
}

// testMigrateConcurrent migrates one database from several handles at once,
// as replicas starting together do: every migration is applied exactly once.
func testMigrateConcurrent(t *testing.T, dbs ...*DB) {
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []int
	)
	for _, db := range dbs {
		wg.Go(func() {
			a, err := db.Migrate(ctx)
			if err != nil {
				t.Errorf("Migrate: %v", err)
			}
			mu.Lock()
			applied = append(applied, a...)
			mu.Unlock()
		})
	}
	wg.Wait()
	latest := latestVersion(t, dbs[0].d)
	if len(applied) != latest {
		t.Fatalf("applied in total %v, want each of 1..%d once", applied, latest)
	}
	if err := dbs[0].CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema: %v", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int
		wantErr string
	}{
		{"empty", fstest.MapFS{}, nil, ""},
		{"ordered", fstest.MapFS{"0002_b.sql": sql, "0001_a.sql": sql, "README.md": sql}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"0001_a.sql": sql, "0003_c.sql": sql}, nil, "want version 2"},
		{"duplicate", fstest.MapFS{"0001_a.sql": sql, "1_b.sql": sql}, nil, "want version 2"},
		{"zero", fstest.MapFS{"0000_a.sql": sql}, nil, "NNNN_description.sql"},
		{"no number", fstest.MapFS{"init.sql": sql}, nil, "NNNN_description.sql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			migs, err := loadMigrations(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range migs {
				got = append(got, m.version)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMigrationsMatch checks that both dialects have the same migrations,
// so a schema change is never made for one engine only.
func TestMigrationsMatch(t *testing.T) {
	names := func(d *dialect) []string {
		migs, err := loadMigrations(d.migrations())
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		var out []string
		for _, m := range migs {
			out = append(out, m.name)
		}
		return out
	}
	sqlite, postgres := names(sqliteDialect), names(postgresDialect)
	if len(sqlite) == 0 {
		t.Fatal("no embedded migrations")
	}
	if diff := cmp.Diff(sqlite, postgres); diff != "" {
		t.Fatalf("migration files differ (-sqlite +postgres):\n%s", diff)
	}
}
