package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee-signage/marquee"
)

// postgresEnv names the PostgreSQL server the tests use when set, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Each test gets a
// fresh schema in it, dropped afterwards.
const postgresEnv = "MARQUEE_TEST_POSTGRES_DSN"

// testDialect opens empty databases of one dialect.
type testDialect struct {
	name string
	// newDSN returns the DSN of a fresh, empty database that is removed
	// when t ends, or skips t.
	newDSN func(t testing.TB) string
}

var testDialects = []testDialect{
	{name: dialectSQLite, newDSN: newSQLiteDSN},
	{name: dialectPostgres, newDSN: newPostgresDSN},
}

// forEachDialect runs fn as a subtest per dialect: name/sqlite, name/postgres.
func forEachDialect(t *testing.T, fn func(t *testing.T, d testDialect)) {
	t.Helper()
	for _, d := range testDialects {
		t.Run(d.name, func(t *testing.T) { fn(t, d) })
	}
}

// migrationsOf returns the store dialect of d.
func (d testDialect) migrationsOf() *dialect {
	if d.name == dialectPostgres {
		return postgresDialect
	}
	return sqliteDialect
}

// open opens a fresh, unmigrated database.
func (d testDialect) open(t testing.TB) *DB {
	t.Helper()
	return mustOpen(t, d.newDSN(t))
}

// openMigrated opens a fresh database at the latest schema.
func (d testDialect) openMigrated(t testing.TB) *DB {
	t.Helper()
	db := d.open(t)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// skipUnavailable skips t when the dialect's server is not configured.
func (d testDialect) skipUnavailable(t testing.TB) {
	t.Helper()
	if d.name == dialectPostgres && os.Getenv(postgresEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s, e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
			postgresEnv, postgresEnv)
	}
}

func mustOpen(t testing.TB, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func newSQLiteDSN(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "marquee.db")
}

// newPostgresDSN creates schema t_<random> and returns the DSN with it as
// search_path; the schema is dropped when t ends.
func newPostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s", postgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", postgresEnv, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	// Registered before mustOpen's Close, so it runs after it.
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// wantCode fails t unless err carries the marquee error code want.
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := marquee.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (err %v), want %q", got, err, want)
	}
	// Messages are shown to users: no SQL or driver text.
	if msg := strings.ToLower(marquee.ErrorMessage(err)); strings.Contains(msg, "select ") ||
		strings.Contains(msg, "insert ") || strings.Contains(msg, "constraint") || strings.Contains(msg, "sqlstate") {
		t.Fatalf("error message %q leaks database text", msg)
	}
}
