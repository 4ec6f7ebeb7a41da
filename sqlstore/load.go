package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/marquee-signage/marquee"
)

// LoadPlays bulk-loads the plays next yields (until it returns false) for
// imports and for seeding a scratch database at scale: PostgreSQL through
// COPY, SQLite through one prepared INSERT in transactions of batch plays
// (batch ≤ 0: 100,000). Unlike InsertPlays it neither skips plays already
// stored (a duplicate ID fails the load; plays loaded by earlier batches
// stay) nor adds to the rollups: call RebuildRollups over the loaded period
// afterwards. It returns how many plays it stored.
func (db *DB) LoadPlays(ctx context.Context, next func() (marquee.Play, bool), batch int, receivedAt time.Time) (int64, error) {
	if batch <= 0 {
		batch = 100_000
	}
	received := toMS(db.stamp(receivedAt))
	var n int64
	var err error
	if db.d.name == dialectSQLite {
		n, err = db.loadPlaysSQLite(ctx, next, batch, received)
	} else {
		n, err = db.loadPlaysCopy(ctx, next, batch, received)
	}
	if err != nil {
		return n, storeError("load plays", err)
	}
	return n, nil
}

// loadPlaysSQLite inserts batch plays a transaction with one prepared
// single-row INSERT (faster than multi-row ones in SQLite, see
// playsPerStatement).
func (db *DB) loadPlaysSQLite(ctx context.Context, next func() (marquee.Play, bool), batch int, received int64) (int64, error) {
	// A bigger page cache on the one write connection for the load: the
	// indexes' working set grows with the table. Restored after.
	var cache int64
	if err := db.write.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
		return 0, err
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA cache_size = -524288`); err != nil { // 512 MiB
		return 0, err
	}
	defer db.write.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, cache))
	var n int64
	for more := true; more; {
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, insertPlaySQL)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for range batch {
				p, ok := next()
				if !ok {
					more = false
					return nil
				}
				if _, err := stmt.ExecContext(ctx, playArgs([]marquee.Play{p}, received)...); err != nil {
					return fmt.Errorf("play %s: %w", p.ID, err)
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n - n%int64(batch), err
		}
	}
	return n, nil
}

// insertPlaySQL is the plain INSERT of one play (no conflict clause: a
// duplicate fails).
const insertPlaySQL = `INSERT INTO plays (` + playColumns + `, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// loadPlaysCopy streams plays to PostgreSQL with COPY, batch plays a COPY
// (each its own transaction).
func (db *DB) loadPlaysCopy(ctx context.Context, next func() (marquee.Play, bool), batch int, received int64) (int64, error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	columns := []string{"id", "display_id", "media_id", "media_sha256", "media_name", "playlist_id",
		"playlist_revision", "schedule_id", "reason", "started_at", "ended_at", "planned_ms", "played_ms",
		"completed", "received_at"}
	var total int64
	for more := true; more; {
		k := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if k == batch {
				return nil, nil
			}
			p, ok := next()
			if !ok {
				more = false
				return nil, nil
			}
			k++
			return playArgs([]marquee.Play{p}, received), nil
		})
		var copied int64
		err := conn.Raw(func(dc any) error {
			var err error
			copied, err = dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{"plays"}, columns, src)
			return err
		})
		total += copied
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// AnalyzeAfterLoad refreshes the planner's statistics after a bulk load,
// and on PostgreSQL vacuums the rollup tables so that reports get
// index-only scans at once (autovacuum would get there later): SQLite runs
// ANALYZE with a sampling limit, PostgreSQL VACUUM (ANALYZE) on the rollups
// and ANALYZE on plays.
func (db *DB) AnalyzeAfterLoad(ctx context.Context) error {
	stmts := []string{`PRAGMA analysis_limit = 2000`, `ANALYZE`}
	if db.d.name != dialectSQLite {
		stmts = []string{`VACUUM (ANALYZE) play_rollups_hourly`, `VACUUM (ANALYZE) play_rollups_daily`, `ANALYZE plays`}
	}
	for _, s := range stmts {
		if _, err := db.write.ExecContext(ctx, s); err != nil {
			return storeError("analyze", err)
		}
	}
	return nil
}
