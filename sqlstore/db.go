package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/media"
)

var (
	_ media.Store = (*DB)(nil)
	_ auth.Store  = (*DB)(nil)
)

// DB is the Marquee store on SQLite or PostgreSQL. It implements media.Store
// and auth.Store and is safe for concurrent use. Create it with Open; bring
// its schema up to date with Migrate (or refuse to start with CheckSchema).
type DB struct {
	d *dialect
	// write runs every statement that writes. SQLite: a pool of exactly
	// one connection (see openSQLite). PostgreSQL: the only pool.
	write *sql.DB
	// read runs plain reads. SQLite: a pool of read-only connections that
	// read in parallel with the writer (WAL). PostgreSQL: same as write.
	read *sql.DB
	// now stamps rows whose caller left a time unset.
	now func() time.Time
	// stmts keeps the statements of exec, query and queryRow prepared
	// (see stmtcache.go); nil (PostgreSQL) turns that off.
	stmts *stmtCache
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dsnForms names the accepted DSNs in error messages.
const dsnForms = `"sqlite:///absolute/path.db", "sqlite://relative/path.db", "postgres://…" or "postgresql://…"`

// Open connects to the database named by dsn and pings it. It does not
// migrate: call Migrate or CheckSchema next.
//
// dsn is "sqlite:///absolute/path.db", "sqlite://relative/path.db" (the
// parent directory is created if missing) or a PostgreSQL URL
// "postgres://…" / "postgresql://…" in pgx syntax (query parameters pgx does
// not know, such as search_path, become session settings). Any other form is
// an EINVALID error; an unreachable database is EUNAVAILABLE.
func Open(ctx context.Context, dsn string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	}
	// The DSN itself is not echoed: it may hold a password.
	return nil, marquee.Errorf(marquee.EINVALID, "unsupported database DSN: want %s", dsnForms)
}

// sqlitePragmas are applied by the driver to every new connection. They
// must be in the DSN: a PRAGMA run with db.Exec reaches one pooled
// connection only. busy_timeout is applied first by the driver.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// openSQLite opens a SQLite database file with two pools.
//
// SQLite allows one writer at a time. Several pooled connections writing at
// once would contend for the lock, and a deferred transaction that reads
// then writes can fail with SQLITE_BUSY at once, whatever busy_timeout says.
// So all writes go through a pool of exactly one connection: writers queue in
// database/sql (honouring their contexts) instead of in SQLite. Its
// transactions also BEGIN IMMEDIATE, taking the write lock up front, so that
// another process on the same file (marquee migrate next to marquee serve)
// waits for busy_timeout instead of failing mid-transaction. Reads use a
// separate pool of query_only connections; in WAL mode they run in parallel
// with each other and with the writer.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, marquee.Errorf(marquee.EINVALID, "invalid SQLite DSN: want %s with a plain file path", dsnForms)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot create the database directory")
	}

	// journal_mode is persistent in the file: setting it on the writer,
	// which is opened and pinged first, covers the readers too.
	write, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot open the database")
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot open the database")
	}

	read, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot open the database")
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot open the database")
	}
	return &DB{d: sqliteDialect, write: write, read: read, now: time.Now,
		stmts: stmtCacheFor(sqliteDialect)}, nil
}

// openPostgres opens a pgx-backed pool.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its error; it goes to Err only.
		return nil, marquee.WrapError(marquee.EINVALID, err, "invalid PostgreSQL DSN")
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(10)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, marquee.WrapError(marquee.EUNAVAILABLE, err, "cannot connect to PostgreSQL")
	}
	return &DB{d: postgresDialect, write: pool, read: pool, now: time.Now,
		stmts: stmtCacheFor(postgresDialect)}, nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// Ping checks that the database answers; failures are EUNAVAILABLE.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return marquee.WrapError(marquee.EUNAVAILABLE, err, "database unavailable")
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return marquee.WrapError(marquee.EUNAVAILABLE, err, "database unavailable")
		}
	}
	return nil
}

// Close closes the prepared statements and the pools. It waits only for
// the statement cache's goroutine (canceling a prepare under way): callers
// stop using the DB first.
func (db *DB) Close() error {
	var errs []error
	if db.stmts != nil {
		errs = append(errs, db.stmts.close())
	}
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	return errors.Join(append(errs, db.write.Close())...)
}

// SQL returns the pool that writes (for SQLite, its single connection),
// for tests and benchmarks only. Holding a transaction or connection from it
// blocks every SQLite write of this DB.
func (db *DB) SQL() *sql.DB { return db.write }

// withTx runs fn in a write transaction and commits it, or rolls back when
// fn or the commit fails.
func (db *DB) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	db.stmts.track(tx, db.write)
	defer db.stmts.untrack(tx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// withReadTx runs fn in a read-only transaction on the read pool, so that
// several queries see one snapshot.
func (db *DB) withReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, db.d.readTx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	db.stmts.track(tx, db.read)
	defer db.stmts.untrack(tx)
	defer tx.Rollback() // read-only: ending it is all that is needed
	return fn(tx)
}

// exec, query and queryRow run query, rebound for the dialect, through q:
// a pool of db, a transaction of withTx or withReadTx (or any querier, run
// unprepared). A query run often runs as a statement prepared once (see
// stmtcache.go); in a transaction, its rows must be closed before the same
// query runs again in that transaction.
func (db *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	e, tx := db.stmt(q, query)
	if e == nil {
		return q.ExecContext(ctx, db.d.rebind(query), args...)
	}
	defer db.stmts.release(e)
	if tx == nil {
		return e.stmt.ExecContext(ctx, args...)
	}
	s := tx.StmtContext(ctx, e.stmt)
	defer s.Close()
	return s.ExecContext(ctx, args...)
}

// query's rows keep their statement open after release until they are
// closed; a statement borrowed by a transaction is closed when it ends.
func (db *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	e, tx := db.stmt(q, query)
	if e == nil {
		return q.QueryContext(ctx, db.d.rebind(query), args...)
	}
	defer db.stmts.release(e)
	if tx == nil {
		return e.stmt.QueryContext(ctx, args...)
	}
	return tx.StmtContext(ctx, e.stmt).QueryContext(ctx, args...)
}

func (db *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	e, tx := db.stmt(q, query)
	if e == nil {
		return q.QueryRowContext(ctx, db.d.rebind(query), args...)
	}
	defer db.stmts.release(e)
	if tx == nil {
		return e.stmt.QueryRowContext(ctx, args...)
	}
	return tx.StmtContext(ctx, e.stmt).QueryRowContext(ctx, args...)
}

// toMS and fromMS convert between time.Time and the stored form: unix
// milliseconds, UTC.
func toMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// stamp returns t truncated to what the database keeps (milliseconds, UTC),
// or now when t is zero.
func (db *DB) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = db.now()
	}
	return fromMS(toMS(t))
}
