package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee-signage/marquee"
)

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{
		"",
		"marquee.db",
		"/var/lib/marquee/marquee.db",
		"sqlite:",
		"sqlite://",
		"sqlite:///tmp/x.db?_pragma=foreign_keys(0)",
		"file:/tmp/x.db",
		"mysql://root:secret@localhost/marquee",
	} {
		_, err := Open(context.Background(), dsn)
		wantCode(t, err, marquee.EINVALID)
		msg := marquee.ErrorMessage(err)
		if !strings.Contains(msg, "sqlite:///") || !strings.Contains(msg, "postgres://") {
			t.Errorf("Open(%q) message %q does not name the accepted forms", dsn, msg)
		}
		if strings.Contains(msg, "secret") {
			t.Errorf("Open(%q) message %q leaks the DSN", dsn, msg)
		}
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // fail fast whatever listens on the port
	_, err := Open(ctx, "postgres://marquee:secret@127.0.0.1:1/marquee?sslmode=disable&connect_timeout=1")
	wantCode(t, err, marquee.EUNAVAILABLE)
	if msg := marquee.ErrorMessage(err); strings.Contains(msg, "secret") {
		t.Errorf("message %q leaks the password", msg)
	}
}

func TestOpenSQLiteCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "marquee.db")
	db := mustOpen(t, "sqlite://"+path)
	if got := db.Dialect(); got != "sqlite" {
		t.Errorf("Dialect = %q, want sqlite", got)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestOpenSQLiteRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	db := mustOpen(t, "sqlite://data/marquee.db")
	if _, err := os.Stat(filepath.Join("data", "marquee.db")); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

// TestSQLitePragmas checks that every pooled connection, not just one, got
// the DSN pragmas, and that the read pool cannot write.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	db := testDialects[0].openMigrated(t)

	// Hold several read connections at once so they are distinct.
	var conns []interface{ Close() error }
	for i := range 3 {
		c, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{
			"foreign_keys": "1", "busy_timeout": "10000", "journal_mode": "wal", "synchronous": "1", "query_only": "1",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("read conn %d: PRAGMA %s: %v", i, pragma, err)
			}
			if got != want {
				t.Errorf("read conn %d: %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
	for pragma, want := range map[string]string{
		"foreign_keys": "1", "busy_timeout": "10000", "journal_mode": "wal", "synchronous": "1", "query_only": "0",
	} {
		var got string
		if err := db.write.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("write conn: PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("write conn: %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := db.read.ExecContext(ctx, `DELETE FROM organisations`); err == nil {
		t.Error("the read pool wrote")
	}
}

func TestDialectName(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		if got := d.open(t).Dialect(); got != d.name {
			t.Fatalf("Dialect = %q, want %q", got, d.name)
		}
	})
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, sqlite, postgres string }{
		{`SELECT 1`, `SELECT 1`, `SELECT 1`},
		{`a = ? AND b = ?`, `a = ? AND b = ?`, `a = $1 AND b = $2`},
		{`x LIKE ? ESCAPE '\' AND y = '?' AND z = ?`, `x LIKE ? ESCAPE '\' AND y = '?' AND z = ?`,
			`x LIKE $1 ESCAPE '\' AND y = '?' AND z = $2`},
		{`n = 'it''s ?' OR m IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `n = 'it''s ?' OR m IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			`n = 'it''s ?' OR m IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`},
	}
	for _, tt := range tests {
		if got := sqliteDialect.rebind(tt.in); got != tt.sqlite {
			t.Errorf("sqlite rebind(%q) = %q, want %q", tt.in, got, tt.sqlite)
		}
		if got := postgresDialect.rebind(tt.in); got != tt.postgres {
			t.Errorf("postgres rebind(%q) = %q, want %q", tt.in, got, tt.postgres)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	for in, want := range map[string]string{
		"abc": "abc", "50%": `50\%`, "a_b": `a\_b`, `a\b`: `a\\b`, `\%_`: `\\\%\_`,
	} {
		if got := escapeLike(in); got != want {
			t.Errorf("escapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	id := marquee.NewID("med_")
	got, err := decodeCursor(encodeCursor(id))
	if err != nil || got != id {
		t.Fatalf("decodeCursor(encodeCursor(%q)) = %q, %v", id, got, err)
	}
	if c := encodeCursor(id); strings.ContainsAny(c, "+/=") {
		t.Fatalf("cursor %q is not URL-safe", c)
	}
}
