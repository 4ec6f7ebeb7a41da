package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file holds everything that differs between SQLite and PostgreSQL once
// a connection is open: placeholders, catalog queries, locking, transaction
// options and error classification. Opening (DSNs, pools) is in db.go, the
// schema in migrations/<dialect>/. All other SQL is written once, with ?
// placeholders, in the portable subset both engines accept.

const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// migrationLockKey is the PostgreSQL advisory lock key that serialises
// migrations between replicas ("marquee" in ASCII). Other advisory locks
// (e.g. the cron leader) must use different keys.
const migrationLockKey int64 = 0x6d61727175656501

type dialect struct {
	name string
	// numbered rewrites ? placeholders to $1, $2, … (PostgreSQL).
	numbered bool
	// tableExists is a query with one ? (a table name) returning one row
	// with a count: 0 when the table does not exist.
	tableExists string
	// lockMigrations, when set, runs first in every migration transaction
	// and holds a lock until that transaction ends.
	lockMigrations string
	// readTx are the options of read transactions: one consistent snapshot
	// for a query and its follow-ups (an item and its tags).
	readTx *sql.TxOptions
	// forUpdate ends a SELECT in a write transaction that must lock the
	// rows it reads until the transaction ends (read, decide, write).
	forUpdate string
	// cacheStmts has exec, query and queryRow run the queries they see
	// often as statements prepared once (stmtcache.go).
	cacheStmts bool
}

var (
	sqliteDialect = &dialect{
		name:        dialectSQLite,
		tableExists: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
		// Migration transactions begin IMMEDIATE (see db.go), which takes
		// the database's write lock: no advisory lock needed.
		// A deferred read transaction in WAL mode reads one snapshot.
		readTx: &sql.TxOptions{ReadOnly: true},
		// Write transactions begin IMMEDIATE on the one write connection:
		// they never overlap, so reading in one needs no row lock.
		forUpdate: "",
		// The driver parses a query each time it runs unprepared; a
		// prepared statement is recompiled by SQLite itself when the
		// schema changes.
		cacheStmts: true,
	}
	postgresDialect = &dialect{
		name:     dialectPostgres,
		numbered: true,
		// to_regclass resolves the name through search_path, so tests
		// isolated in their own schema see only their own tables.
		tableExists: `SELECT count(*) FROM (SELECT to_regclass(?) AS t) r WHERE r.t IS NOT NULL`,
		// A transaction-level advisory lock is released by COMMIT or
		// ROLLBACK, so a lost connection can never leave it held.
		lockMigrations: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrationLockKey, 10) + `)`,
		readTx:         &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
		forUpdate:      ` FOR UPDATE`,
		// pgx already keeps each query it runs prepared on its connection
		// (QueryExecModeCacheStatement, its default), so the server parses
		// it once per connection either way; and pgx drops such a statement
		// when it fails, as it does once after a schema change made
		// elsewhere ("cached plan must not change result type"), where a
		// *sql.Stmt would fail until evicted.
		cacheStmts: false,
	}
)

// rebind rewrites the ? placeholders of query for the dialect. Question
// marks inside single-quoted literals are left alone.
func (d *dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted // '' inside a literal toggles twice: still quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// violation is the kind of integrity constraint a database error reports.
type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

// constraintViolation classifies err, from either driver. Unique and primary
// key violations are uniqueViolation; a refused reference (insert of a
// dangling key, delete of a row still referenced) is foreignKeyViolation.
func constraintViolation(err error) violation {
	var se *sqlite.Error
	if errors.As(err, &se) {
		// The driver enables extended result codes on every connection.
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: // 787
			return foreignKeyViolation
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: // 2067, 1555
			return uniqueViolation
		}
		// A deferred foreign key fails at COMMIT with the primary code.
		if msg := se.Error(); strings.Contains(msg, "FOREIGN KEY constraint failed") {
			return foreignKeyViolation
		} else if strings.Contains(msg, "UNIQUE constraint failed") {
			return uniqueViolation
		}
		return noViolation
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503": // foreign_key_violation
			return foreignKeyViolation
		case "23505": // unique_violation
			return uniqueViolation
		}
	}
	return noViolation
}

// tableExists reports whether the named table exists (PostgreSQL: in the
// search_path).
func (db *DB) tableExists(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, db.d.rebind(db.d.tableExists), name).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}
