package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/marquee-signage/marquee"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// createSchemaMigrations is valid in both dialects.
const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at BIGINT  NOT NULL
)`

// migration is one numbered file, e.g. 0001_init.sql.
type migration struct {
	version int
	name    string // file name, for messages
	sql     string
}

// migrations returns the dialect's embedded migration directory.
func (d *dialect) migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, path.Join("migrations", d.name))
	if err != nil {
		panic("sqlstore: embedded migrations: " + err.Error()) // unreachable: fixed path
	}
	return sub
}

// loadMigrations reads the *.sql files at the root of fsys. Names must start
// with a version number and an underscore; versions must run 1, 2, 3, …
// without gaps or duplicates, so a misnumbered file fails every test instead
// of being skipped in production.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var migs []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		migs = append(migs, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	for i, m := range migs {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d (versions run 1, 2, 3, … without gaps or duplicates)", m.name, i+1)
		}
	}
	return migs, nil
}

// Migrate applies the pending migrations in order and returns their versions
// (none when the schema is current). Each migration runs in one transaction
// together with its schema_migrations row, so a failure leaves the schema at
// the previous version. Several processes may migrate at once: on
// PostgreSQL each migration transaction holds an advisory lock, on SQLite
// the database write lock, and each re-checks under that lock that its
// version is still pending.
//
// A database newer than this binary is an EUNAVAILABLE error (as from
// CheckSchema); a failing migration is EINTERNAL naming its file.
func (db *DB) Migrate(ctx context.Context) (applied []int, err error) {
	return db.migrateFS(ctx, db.d.migrations())
}

// migrateFS is Migrate with the migrations read from fsys (tests feed it
// deliberately broken sets).
func (db *DB) migrateFS(ctx context.Context, fsys fs.FS) (applied []int, err error) {
	migs, err := loadMigrations(fsys)
	if err != nil {
		return nil, marquee.WrapError(marquee.EINTERNAL, err, "invalid embedded migrations")
	}
	err = db.withMigrationTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, createSchemaMigrations)
		return err
	})
	if err != nil {
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot create the schema_migrations table")
	}
	done, err := db.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}
	if current := maxVersion(done); current > len(migs) {
		return nil, errSchemaNewer(current, len(migs))
	}
	for _, m := range migs {
		if done[m.version] {
			continue
		}
		ok, err := db.applyMigration(ctx, m)
		if err != nil {
			return applied, marquee.WrapError(marquee.EINTERNAL, err, "migration %s failed", m.name)
		}
		if ok {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyMigration runs m and records it in one transaction. It reports false
// when another process applied m first.
func (db *DB) applyMigration(ctx context.Context, m migration) (applied bool, err error) {
	err = db.withMigrationTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := db.queryRow(ctx, tx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
			return fmt.Errorf("check version: %w", err)
		}
		if n > 0 {
			return nil
		}
		// Without arguments both drivers run every statement of the file.
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.version, toMS(db.now())); err != nil {
			return fmt.Errorf("record version: %w", err)
		}
		applied = true
		return nil
	})
	return applied, err
}

// withMigrationTx is withTx holding the dialect's migration lock.
func (db *DB) withMigrationTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if db.d.lockMigrations != "" {
			if _, err := tx.ExecContext(ctx, db.d.lockMigrations); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		return fn(tx)
	})
}

// appliedVersions returns the recorded versions; none on an empty database.
func (db *DB) appliedVersions(ctx context.Context) (map[int]bool, error) {
	done := map[int]bool{}
	ok, err := db.tableExists(ctx, db.read, "schema_migrations")
	if err != nil {
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot read the schema version")
	} else if !ok {
		return done, nil
	}
	rows, err := db.query(ctx, db.read, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot read the schema version")
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot read the schema version")
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot read the schema version")
	}
	return done, nil
}

func maxVersion(done map[int]bool) int {
	n := 0
	for v := range done {
		n = max(n, v)
	}
	return n
}

// SchemaVersion returns the highest applied migration (0 on an empty
// database) and the highest this binary knows.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	migs, err := loadMigrations(db.d.migrations())
	if err != nil {
		return 0, 0, marquee.WrapError(marquee.EINTERNAL, err, "invalid embedded migrations")
	}
	done, err := db.appliedVersions(ctx)
	if err != nil {
		return 0, 0, err
	}
	return maxVersion(done), len(migs), nil
}

// CheckSchema returns nil when the database schema is exactly the one this
// binary knows, and otherwise an EUNAVAILABLE error telling the operator what
// to do: run `marquee migrate` (older schema) or upgrade marquee (newer).
func (db *DB) CheckSchema(ctx context.Context) error {
	current, latest, err := db.SchemaVersion(ctx)
	switch {
	case err != nil:
		return err
	case current > latest:
		return errSchemaNewer(current, latest)
	case current < latest:
		return marquee.Errorf(marquee.EUNAVAILABLE,
			"database schema (v%d) is older than this binary needs (v%d): run `marquee migrate`", current, latest)
	}
	return nil
}

func errSchemaNewer(current, latest int) error {
	return marquee.Errorf(marquee.EUNAVAILABLE,
		"database schema (v%d) is newer than this binary knows (v%d): upgrade marquee", current, latest)
}
