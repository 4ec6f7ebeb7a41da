package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/auth"
)

// orgsIn is a query with an IN list of n placeholders: dynamic SQL, one
// query string per n.
func orgsIn(n int) string {
	return `SELECT count(*) FROM organisations WHERE id IN (` + placeholders(n) + `)`
}

// countOrgsIn runs orgsIn(n) through q with every argument the root
// organisation: the count is 1.
func countOrgsIn(ctx context.Context, db *DB, q querier, n int) error {
	args := make([]any, n)
	for i := range args {
		args[i] = auth.RootOrgID
	}
	var got int
	if err := db.queryRow(ctx, q, orgsIn(n), args...).Scan(&got); err != nil {
		return fmt.Errorf("orgsIn(%d): %w", n, err)
	}
	if got != 1 {
		return fmt.Errorf("orgsIn(%d) = %d, want 1", n, got)
	}
	return nil
}

// cached reports whether query is cached for pool.
func cached(db *DB, pool *sql.DB, query string) bool {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	return db.stmts.entries[stmtKey{pool: pool, query: query}] != nil
}

// cachedStmtOf returns the statement cached for query on pool, or nil.
func cachedStmtOf(db *DB, pool *sql.DB, query string) *sql.Stmt {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if e := db.stmts.entries[stmtKey{pool: pool, query: query}]; e != nil {
		return e.stmt
	}
	return nil
}

// isClosed reports whether s, a SELECT, was closed. (Run with one
// argument, an open s fails otherwise or returns a row.)
func isClosed(s *sql.Stmt) bool {
	var v any
	err := s.QueryRowContext(context.Background(), auth.RootOrgID).Scan(&v)
	return err != nil && strings.Contains(err.Error(), "statement is closed")
}

// waitFor fails t unless cond holds within a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// useStmtCache gives db a new statement cache of size statements, whatever
// its dialect's default.
func useStmtCache(t testing.TB, db *DB, size int) {
	t.Helper()
	if err := db.stmts.close(); err != nil {
		t.Fatal(err)
	}
	db.stmts = newStmtCache(db.d, size)
}

// TestStmtCacheDefault: SQLite caches statements, PostgreSQL leaves that to
// pgx.
func TestStmtCacheDefault(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.open(t)
		if got, want := db.stmts != nil, d.name == dialectSQLite; got != want {
			t.Fatalf("statement cache = %v, want %v", got, want)
		}
	})
}

// TestStmtCacheSchemaChange: with each dialect's default, a query works
// again after a schema change made outside the store (another process
// migrating), at worst after one failure.
func TestStmtCacheSchemaChange(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		ctx := context.Background()
		const q = `SELECT name FROM organisations WHERE id = ?`
		run := func(pool *sql.DB) (string, error) {
			var name sql.NullString
			err := db.queryRow(ctx, pool, q, auth.RootOrgID).Scan(&name)
			return name.String, err
		}
		for range 3 {
			for _, pool := range []*sql.DB{db.read, db.write} {
				if _, err := run(pool); err != nil {
					t.Fatal(err)
				}
			}
			if db.stmts != nil {
				waitIdle(t, db.stmts)
			}
		}
		if db.stmts != nil && !cached(db, db.read, q) {
			t.Fatal("not cached")
		}
		// The column changes type (SQLite: a new column of the name).
		ddl := []string{`ALTER TABLE organisations ALTER COLUMN name TYPE varchar(300)`}
		if d.name == dialectSQLite {
			ddl = []string{`ALTER TABLE organisations RENAME COLUMN name TO old_name`,
				`ALTER TABLE organisations ADD COLUMN name INTEGER DEFAULT 7`}
		}
		for _, stmt := range ddl {
			if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		for _, pool := range []*sql.DB{db.read, db.write} {
			failures := 0
			for range 3 {
				if _, err := run(pool); err != nil {
					failures++
					t.Logf("after the schema change: %v", err)
				}
			}
			if failures > 1 {
				t.Fatalf("%d of 3 runs failed after the schema change", failures)
			}
			if got, err := run(pool); err != nil || (d.name == dialectSQLite && got != "7") {
				t.Fatalf("after the schema change: %q, %v", got, err)
			}
		}
	})
}

func TestStmtCachePreparesRepeatedQueries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		useStmtCache(t, db, stmtCacheSize)
		ctx := context.Background()
		const byID = `SELECT count(*) FROM organisations WHERE id = ?`
		run := func(q querier) error {
			var n int
			if err := db.queryRow(ctx, q, byID, auth.RootOrgID).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("count = %d, want 1", n)
			}
			return nil
		}

		// Once: not queued. Twice: prepared in the background.
		if err := run(db.read); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, db.stmts)
		if cached(db, db.read, byID) {
			t.Fatal("cached after one run")
		}
		if err := run(db.read); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the statement to be cached", func() bool { return cached(db, db.read, byID) })
		for range 3 {
			if err := run(db.read); err != nil {
				t.Fatal(err)
			}
		}

		// In transactions of both pools: the statement of the pool the
		// transaction began on is borrowed (on SQLite, the write pool's is
		// prepared for withTx).
		for range 3 {
			if err := db.withReadTx(ctx, func(tx *sql.Tx) error { return run(tx) }); err != nil {
				t.Fatal(err)
			}
			if err := db.withTx(ctx, func(tx *sql.Tx) error { return run(tx) }); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the write pool's statement", func() bool { return cached(db, db.write, byID) })
		for range 3 {
			if err := db.withTx(ctx, func(tx *sql.Tx) error {
				e, _ := db.stmt(tx, byID)
				if e == nil {
					return errors.New("no cached statement in withTx")
				}
				db.stmts.release(e)
				return run(tx)
			}); err != nil {
				t.Fatal(err)
			}
		}
		// One a pool: SQLite's two pools each have theirs.
		if r, w := cachedStmtOf(db, db.read, byID), cachedStmtOf(db, db.write, byID); (r == w) != (db.read == db.write) {
			t.Errorf("read pool's statement %p, write pool's %p", r, w)
		}

		// Writes too, through a pool and a transaction.
		const touch = `UPDATE organisations SET name = name WHERE id = ?`
		for range 4 {
			if _, err := db.exec(ctx, db.write, touch, auth.RootOrgID); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, db.stmts)
		}
		for range 3 {
			err := db.withTx(ctx, func(tx *sql.Tx) error {
				res, err := db.exec(ctx, tx, touch, auth.RootOrgID)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil || n != 1 {
					return fmt.Errorf("rows affected %d, %v", n, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if !cached(db, db.write, touch) {
			t.Error("the UPDATE is not cached")
		}
	})
}

// TestStmtCacheUntrackedQueriers: a transaction not begun by withTx or
// withReadTx, and a *sql.Conn, run their queries unprepared.
func TestStmtCacheUntrackedQueriers(t *testing.T) {
	db := testDialects[0].openMigrated(t)
	ctx := context.Background()
	for range 3 {
		if err := countOrgsIn(ctx, db, db.read, 1); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, db.stmts)
	}
	if !cached(db, db.read, orgsIn(1)) {
		t.Fatal("not cached")
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if e, _ := db.stmt(tx, orgsIn(1)); e != nil {
		t.Fatal("a cached statement for an untracked transaction")
	}
	if err := countOrgsIn(ctx, db, tx, 1); err != nil {
		t.Fatal(err)
	}
	conn, err := db.read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := countOrgsIn(ctx, db, conn, 1); err != nil {
		t.Fatal(err)
	}
}

// TestStmtCacheBounded runs IN lists of many lengths: the cache keeps the
// most recently used, and closes the others.
func TestStmtCacheBounded(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		const size = 4
		useStmtCache(t, db, size)
		ctx := context.Background()
		var stmts []*sql.Stmt
		for n := 1; n <= 3*size; n++ {
			for range 3 {
				if err := countOrgsIn(ctx, db, db.read, n); err != nil {
					t.Fatal(err)
				}
				waitIdle(t, db.stmts)
			}
			s := cachedStmtOf(db, db.read, orgsIn(n))
			if s == nil {
				t.Fatalf("orgsIn(%d) not cached", n)
			}
			stmts = append(stmts, s)
			if got := db.stmts.len(); got > size {
				t.Fatalf("%d statements cached, want at most %d", got, size)
			}
		}
		for i, s := range stmts {
			n := i + 1
			if keep := n > 2*size; keep == isClosed(s) {
				waitFor(t, fmt.Sprintf("orgsIn(%d) closed = %v", n, !keep), func() bool { return isClosed(s) != keep })
			}
		}
		// The least recently used goes: using the oldest keeps it.
		oldest := 2*size + 1
		if err := countOrgsIn(ctx, db, db.read, oldest); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := countOrgsIn(ctx, db, db.read, 100); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, db.stmts)
		}
		if !cached(db, db.read, orgsIn(oldest)) || cached(db, db.read, orgsIn(oldest+1)) {
			t.Fatal("not the least recently used statement was evicted")
		}
	})
}

// TestStmtCacheEvictInUse: a statement evicted while a caller uses it stays
// open until that caller is done, rows included.
func TestStmtCacheEvictInUse(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		useStmtCache(t, db, 1)
		ctx := context.Background()
		const q = `SELECT id FROM organisations WHERE id = ?`
		for range 3 {
			rows, err := db.query(ctx, db.read, q, auth.RootOrgID)
			if err != nil {
				t.Fatal(err)
			}
			rows.Close()
			waitIdle(t, db.stmts)
		}
		e, _ := db.stmt(db.read, q)
		if e == nil {
			t.Fatal("not cached")
		}
		rows, err := e.stmt.QueryContext(ctx, auth.RootOrgID)
		if err != nil {
			t.Fatal(err)
		}
		// Evict it: another statement takes the only place.
		for range 3 {
			if err := countOrgsIn(ctx, db, db.read, 1); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, db.stmts)
		}
		if cached(db, db.read, q) {
			t.Fatal("still cached")
		}
		if isClosed(e.stmt) {
			t.Fatal("closed while in use")
		}
		// Released, it is closed; the rows read on.
		db.stmts.release(e)
		waitFor(t, "the evicted statement to close", func() bool { return isClosed(e.stmt) })
		var id string
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		if err := rows.Scan(&id); err != nil || id != auth.RootOrgID {
			t.Fatalf("Scan = %q, %v", id, err)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStmtCacheCanceledContext: a canceled call fails with its context's
// error and leaves the cached statement working.
func TestStmtCacheCanceledContext(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		useStmtCache(t, db, stmtCacheSize)
		ctx := context.Background()
		for range 3 {
			if err := countOrgsIn(ctx, db, db.read, 2); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, db.stmts)
		}
		for range 2 {
			if err := db.withReadTx(ctx, func(tx *sql.Tx) error { return countOrgsIn(ctx, db, tx, 2) }); err != nil {
				t.Fatal(err)
			}
		}
		if !cached(db, db.read, orgsIn(2)) {
			t.Fatal("not cached")
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if err := countOrgsIn(canceled, db, db.read, 2); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled: %v, want context.Canceled", err)
		}
		// Canceled inside a transaction, at its next query.
		txCtx, cancelTx := context.WithCancel(ctx)
		err := db.withReadTx(ctx, func(tx *sql.Tx) error {
			if err := countOrgsIn(txCtx, db, tx, 2); err != nil {
				return err
			}
			cancelTx()
			return countOrgsIn(txCtx, db, tx, 2)
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled in a transaction: %v, want context.Canceled", err)
		}
		for range 3 {
			if err := countOrgsIn(ctx, db, db.read, 2); err != nil {
				t.Fatalf("after cancellation: %v", err)
			}
			if err := db.withReadTx(ctx, func(tx *sql.Tx) error { return countOrgsIn(ctx, db, tx, 2) }); err != nil {
				t.Fatalf("after cancellation, in a transaction: %v", err)
			}
		}
		if !cached(db, db.read, orgsIn(2)) {
			t.Fatal("no longer cached")
		}
	})
}

// TestStmtCachePrepareWaitsForTx: a query first run in a write transaction
// is prepared once the transaction has ended (SQLite: it holds the only
// write connection), and closing the DB meanwhile cancels the prepare and
// caches nothing.
func TestStmtCachePrepareWaitsForTx(t *testing.T) {
	db := testDialects[0].openMigrated(t)
	ctx := context.Background()
	const touch = `UPDATE organisations SET name = name WHERE id = ?`
	c := db.stmts
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		for range 2 {
			if _, err := db.exec(ctx, tx, touch, auth.RootOrgID); err != nil {
				return err
			}
		}
		// The background prepare waits for the write connection.
		time.Sleep(50 * time.Millisecond)
		if cached(db, db.write, touch) {
			return errors.New("prepared while the transaction holds the write connection")
		}
		return c.close() // cancels it
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.len() != 0 {
		t.Fatalf("%d statements cached after close", c.len())
	}
	select {
	case <-c.done:
	default:
		t.Fatal("the cache's goroutine still runs")
	}

	// Nothing poisoned: a new cache prepares it.
	db.stmts = newStmtCache(db.d, stmtCacheSize)
	for range 3 {
		if err := db.withTx(ctx, func(tx *sql.Tx) error {
			_, err := db.exec(ctx, tx, touch, auth.RootOrgID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the UPDATE to be cached", func() bool { return cached(db, db.write, touch) })
}

// TestStmtCacheConcurrent runs many goroutines on a cache too small for
// their queries, through pools and transactions (for the race detector).
func TestStmtCacheConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		useStmtCache(t, db, 5)
		ctx := context.Background()
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				for i := range 120 {
					n := 1 + (g+i)%9
					var err error
					switch i % 3 {
					case 0:
						err = countOrgsIn(ctx, db, db.read, n)
					case 1:
						err = db.withReadTx(ctx, func(tx *sql.Tx) error { return countOrgsIn(ctx, db, tx, n) })
					case 2:
						err = db.withTx(ctx, func(tx *sql.Tx) error {
							if _, err := db.exec(ctx, tx, `UPDATE organisations SET name = name WHERE id IN (`+
								placeholders(n)+`)`, make([]any, n)...); err != nil {
								return err
							}
							return countOrgsIn(ctx, db, tx, n)
						})
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if got := db.stmts.len(); got > 5 {
			t.Fatalf("%d statements cached, want at most 5", got)
		}
	})
}

// TestStmtCacheClose: DB.Close closes the cached statements.
func TestStmtCacheClose(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db, err := Open(context.Background(), d.newDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			db.Close()
			t.Fatal(err)
		}
		useStmtCache(t, db, stmtCacheSize)
		ctx := context.Background()
		for range 3 {
			if err := countOrgsIn(ctx, db, db.read, 3); err != nil {
				db.Close()
				t.Fatal(err)
			}
			waitIdle(t, db.stmts)
		}
		s := cachedStmtOf(db, db.read, orgsIn(3))
		if s == nil {
			db.Close()
			t.Fatal("not cached")
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if !isClosed(s) {
			t.Fatal("cached statement not closed by Close")
		}
		if err := countOrgsIn(ctx, db, db.read, 3); err == nil {
			t.Fatal("query after Close succeeded")
		}
	})
}
