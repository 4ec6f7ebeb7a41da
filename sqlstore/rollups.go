package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
)

// Airtime rollups (issue 6): play_rollups_hourly holds, per UTC hour (the
// hour a play started in) × display × media × schedule ("" for the
// fallback), the plays, completed plays and airtime (sum of played_ms).
// InsertPlays keeps it current in the transaction that stores the plays;
// RebuildRollups recomputes it from the raw plays; reports read it alone.
//
// org_id is the organisation of the display when the play was counted (or
// rebuilt). A play of a display the store does not know (deleted, or never
// registered) gets org_id "": it then shows only in reports of the whole
// tree (root scope), never in an organisation's, which is the safe side.

// hourMS is one hour in milliseconds: the width of a rollup bucket.
const hourMS = int64(time.Hour / time.Millisecond)

// bucketOf returns the bucket (unix ms of the UTC hour) of a start time in
// unix ms, as the SQL of RebuildRollups computes it.
func bucketOf(ms int64) int64 { return ms - ms%hourMS }

// play_rollups_daily holds the sums of the hourly rows per day of UTC+7
// (rollupDayOffsetMS: Asia/Ho_Chi_Minh, which has no daylight saving time),
// kept in the same transactions as the hourly rows. Reports read it for
// the whole days inside their period (see rollupSource).
const rollupDayOffsetMS = int64(7 * time.Hour / time.Millisecond)

// dayOf returns the start (unix ms) of the rollup day holding the instant
// ms, as the SQL of the daily rollups computes it (ms ≥ 0).
func dayOf(ms int64) int64 { return ms - (ms+rollupDayOffsetMS)%dayMS }

// rollupKey identifies one row of play_rollups_hourly.
type rollupKey struct {
	bucket                   int64
	display, media, schedule string
}

// rollupSums is what a rollup row adds up.
type rollupSums struct {
	mediaName                 string
	plays, completed, airtime int64
}

// upsertRollupsSQL is the upsert of n rows (distinct keys) of the rollup
// table (play_rollups_hourly or play_rollups_daily) whose time column
// (bucket_start or day_start) is at.
func upsertRollupsSQL(table, at string, n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + table + ` (` + at + `, display_id, media_id, schedule_id,
	org_id, media_name, plays, completed, airtime_ms) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(`, `)
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	}
	b.WriteString(` ON CONFLICT (` + at + `, display_id, media_id, schedule_id) DO UPDATE SET
	org_id = excluded.org_id, media_name = excluded.media_name,
	plays = ` + table + `.plays + excluded.plays,
	completed = ` + table + `.completed + excluded.completed,
	airtime_ms = ` + table + `.airtime_ms + excluded.airtime_ms`)
	return b.String()
}

// addToRollups adds to the hourly and daily rollups, within tx, the plays
// whose ID is in inserted (each ID once: the first such play of plays, the
// one stored).
func (db *DB) addToRollups(ctx context.Context, tx *sql.Tx, plays []marquee.Play, inserted map[string]bool) error {
	if len(inserted) == 0 {
		return nil
	}
	sums := map[rollupKey]*rollupSums{}
	displayIDs := []string{}
	seenDisplay := map[string]bool{}
	for _, p := range plays {
		if !inserted[p.ID] {
			continue
		}
		delete(inserted, p.ID) // counted once
		k := rollupKey{bucketOf(toMS(p.StartedAt)), p.DisplayID, p.MediaID, p.ScheduleID}
		s := sums[k]
		if s == nil {
			s = &rollupSums{}
			sums[k] = s
		}
		s.mediaName = p.MediaName
		s.plays++
		if p.Completed {
			s.completed++
		}
		s.airtime += p.PlayedMS
		if !seenDisplay[p.DisplayID] {
			seenDisplay[p.DisplayID] = true
			displayIDs = append(displayIDs, p.DisplayID)
		}
	}
	orgOf := map[string]string{}
	err := db.selectPairs(ctx, tx, `SELECT id, org_id FROM displays WHERE id IN `, displayIDs,
		func(id, org string) { orgOf[id] = org })
	if err != nil {
		return fmt.Errorf("rollups: displays: %w", err)
	}
	days := map[rollupKey]*rollupSums{}
	for k, h := range sums {
		dk := rollupKey{dayOf(k.bucket), k.display, k.media, k.schedule}
		d := days[dk]
		if d == nil {
			d = &rollupSums{}
			days[dk] = d
		}
		d.mediaName = h.mediaName
		d.plays += h.plays
		d.completed += h.completed
		d.airtime += h.airtime
	}
	if err := db.upsertRollups(ctx, tx, "play_rollups_hourly", "bucket_start", sums, orgOf); err != nil {
		return err
	}
	return db.upsertRollups(ctx, tx, "play_rollups_daily", "day_start", days, orgOf)
}

// upsertRollups adds sums to the rollup table (its time column at), in key
// order, so that concurrent transactions lock rows in one order
// (PostgreSQL would otherwise risk deadlocks).
func (db *DB) upsertRollups(ctx context.Context, tx *sql.Tx, table, at string, sums map[rollupKey]*rollupSums, orgOf map[string]string) error {
	keys := make([]rollupKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.bucket != b.bucket {
			return a.bucket < b.bucket
		}
		if a.display != b.display {
			return a.display < b.display
		}
		if a.media != b.media {
			return a.media < b.media
		}
		return a.schedule < b.schedule
	})
	// As many rows a statement as plays (PostgreSQL: fewer round trips).
	n := db.playsPerStatement()
	for rest := keys; len(rest) > 0; rest = rest[min(n, len(rest)):] {
		chunk := rest[:min(n, len(rest))]
		args := make([]any, 0, 9*len(chunk))
		for _, k := range chunk {
			s := sums[k]
			args = append(args, k.bucket, k.display, k.media, k.schedule, orgOf[k.display], s.mediaName,
				s.plays, s.completed, s.airtime)
		}
		if _, err := db.exec(ctx, tx, upsertRollupsSQL(table, at, len(chunk)), args...); err != nil {
			return fmt.Errorf("rollups: upsert %s: %w", table, err)
		}
	}
	return nil
}

// RebuildRollups recomputes the hourly rollups of the hours that overlap
// [from, to) from the raw plays, replacing what was there, and the daily
// rollups of the days they fall in from the hourly ones; running it again
// changes nothing. Hours before the oldest raw play still stored are left
// alone, so that rebuilding never erases the rollups of plays that
// retention deleted (DeletePlaysBefore deletes whole hours only). It works
// one rollup day per transaction, so ingest is never held up for long.
func (db *DB) RebuildRollups(ctx context.Context, from, to time.Time) error {
	lo, hi := bucketOf(toMS(from)), toMS(to)
	if hi%hourMS != 0 {
		hi = bucketOf(hi) + hourMS
	}
	var oldest sql.NullInt64
	if err := db.queryRow(ctx, db.write, `SELECT MIN(started_at) FROM plays`).Scan(&oldest); err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	if !oldest.Valid {
		return nil // no raw plays: nothing to rebuild from
	}
	lo = max(lo, bucketOf(oldest.Int64))
	for day := dayOf(lo); day < hi; day += dayMS {
		start, end := max(lo, day), min(hi, day+dayMS)
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			// PostgreSQL: wait for the inserts already adding to rollups
			// and hold new ones back until this rebuild commits, so that
			// every play is counted by exactly one of the two (an insert
			// that commits first is in the rebuild's snapshot; one that
			// waits adds to the rebuilt rows). Inserts lock the hourly
			// table first. SQLite has one writer.
			if db.d.name != dialectSQLite {
				if _, err := tx.ExecContext(ctx, `LOCK TABLE play_rollups_hourly, play_rollups_daily IN SHARE ROW EXCLUSIVE MODE`); err != nil {
					return err
				}
			}
			if _, err := db.exec(ctx, tx, `DELETE FROM play_rollups_hourly WHERE bucket_start >= ? AND bucket_start < ?`,
				start, end); err != nil {
				return err
			}
			_, err := db.exec(ctx, tx, `INSERT INTO play_rollups_hourly (bucket_start, display_id, media_id,
				schedule_id, org_id, media_name, plays, completed, airtime_ms)
				SELECT p.started_at - p.started_at % 3600000, p.display_id, p.media_id,
					COALESCE(p.schedule_id, ''), COALESCE(MAX(d.org_id), ''), MAX(p.media_name),
					COUNT(*), SUM(CASE WHEN p.completed THEN 1 ELSE 0 END), SUM(p.played_ms)
				FROM plays p LEFT JOIN displays d ON d.id = p.display_id
				WHERE p.started_at >= ? AND p.started_at < ?
				GROUP BY p.started_at - p.started_at % 3600000, p.display_id, p.media_id, COALESCE(p.schedule_id, '')`,
				start, end)
			if err != nil {
				return err
			}
			return db.rebuildDay(ctx, tx, day)
		})
		if err != nil {
			return storeError("rebuild rollups", err)
		}
	}
	return nil
}

// rebuildDay recomputes, within tx, the daily rollups of the rollup day
// starting at day from its hourly rows.
func (db *DB) rebuildDay(ctx context.Context, tx *sql.Tx, day int64) error {
	if _, err := db.exec(ctx, tx, `DELETE FROM play_rollups_daily WHERE day_start = ?`, day); err != nil {
		return err
	}
	_, err := db.exec(ctx, tx, `INSERT INTO play_rollups_daily (day_start, display_id, media_id, schedule_id,
		org_id, media_name, plays, completed, airtime_ms)
		SELECT CAST(? AS BIGINT), display_id, media_id, schedule_id, MAX(org_id), MAX(media_name), SUM(plays), SUM(completed), SUM(airtime_ms)
		FROM play_rollups_hourly WHERE bucket_start >= ? AND bucket_start < ?
		GROUP BY display_id, media_id, schedule_id`, day, day, day+dayMS)
	return err
}

// CloseRollupHour rebuilds the rollups of the hour that starts at hour
// (truncated to the hour) and records it in rollup_closed; closing an
// hour again rebuilds it again and updates closed_at. The last hour of a
// rollup day (16:00–17:00 UTC) closes the day too: its daily rows are
// recomputed from its hours and it is recorded in rollup_closed_days.
func (db *DB) CloseRollupHour(ctx context.Context, hour time.Time) error {
	start := bucketOf(toMS(hour))
	if err := db.RebuildRollups(ctx, fromMS(start), fromMS(start+hourMS)); err != nil {
		return err
	}
	now := toMS(db.stamp(time.Time{}))
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO rollup_closed (bucket_start, closed_at) VALUES (?, ?)
			ON CONFLICT (bucket_start) DO UPDATE SET closed_at = excluded.closed_at`, start, now); err != nil {
			return err
		}
		day := dayOf(start)
		if start+hourMS != day+dayMS {
			return nil
		}
		if db.d.name != dialectSQLite {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE play_rollups_hourly, play_rollups_daily IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		if err := db.rebuildDay(ctx, tx, day); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `INSERT INTO rollup_closed_days (day_start, closed_at) VALUES (?, ?)
			ON CONFLICT (day_start) DO UPDATE SET closed_at = excluded.closed_at`, day, now)
		return err
	})
	if err != nil {
		return storeError("close rollup hour", err)
	}
	return nil
}

// DeletePlaysBefore deletes the raw plays that started before the UTC hour
// of before (rounded down, so that every hour left is whole), at most batch
// rows a transaction (batch ≤ 0: 10,000), and returns how many it deleted.
// Rollups are kept.
func (db *DB) DeletePlaysBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 10000
	}
	cutoff := bucketOf(toMS(before))
	var total int64
	for {
		res, err := db.exec(ctx, db.write, `DELETE FROM plays WHERE id IN
			(SELECT id FROM plays WHERE started_at < ? ORDER BY started_at LIMIT ?)`, cutoff, batch)
		if err != nil {
			return total, storeError("delete plays", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, storeError("delete plays", err)
		}
		total += n
		if n < int64(batch) || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
