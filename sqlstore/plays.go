package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/fleet"
)

var _ fleet.Store = (*DB)(nil)

const playColumns = `id, display_id, media_id, media_sha256, media_name, playlist_id, playlist_revision,
	schedule_id, reason, started_at, ended_at, planned_ms, played_ms, completed`

// playsPerStatement is how many plays one INSERT carries. Full statements
// are prepared once per transaction and reused. On PostgreSQL many rows a
// statement save round trips: 100 to 500 measured the same, about 4× one
// row a statement (BenchmarkInsertPlays), and 1,500 parameters stay far
// inside its limit of 65,535. On SQLite, in process, there is no round trip
// to save, and a prepared one-row INSERT measured about 30% faster than
// multi-row ones (which SQLite runs as a co-routine over the VALUES list).
func (db *DB) playsPerStatement() int {
	if db.d.name == dialectSQLite {
		return 1
	}
	return 100
}

// InsertPlays stores plays in one transaction with INSERT … ON CONFLICT
// (id) DO NOTHING, so a play whose ID is already stored — or that appears
// twice in plays — is stored once; it returns how many rows it inserted.
// In the same transaction it adds the plays it inserted, and only those, to
// the hourly rollups (see rollups.go), so a re-sent play never counts twice.
// receivedAt (zero: now) is recorded with each. Times are stored as unix
// milliseconds; an empty ScheduleID as NULL. Plays have no foreign keys:
// they outlive the media, displays and schedules they name.
func (db *DB) InsertPlays(ctx context.Context, plays []marquee.Play, receivedAt time.Time) (int, error) {
	if len(plays) == 0 {
		return 0, nil
	}
	received := toMS(db.stamp(receivedAt))
	inserted := 0
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		n := db.playsPerStatement()
		var full *sql.Stmt                         // the statement of n rows, prepared on first use
		added := make(map[string]bool, len(plays)) // IDs this transaction inserted
		for rest := plays; len(rest) > 0; {
			k := min(len(rest), n)
			args := playArgs(rest[:k], received)
			var rows *sql.Rows
			var err error
			if k == n {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, db.d.rebind(insertPlaysSQL(n))); err != nil {
						return err
					}
					defer full.Close()
				}
				rows, err = full.QueryContext(ctx, args...)
			} else {
				rows, err = db.query(ctx, tx, insertPlaysSQL(k), args...)
			}
			if err != nil {
				return err
			}
			if err := collectIDs(rows, added); err != nil {
				return err
			}
			rest = rest[k:]
		}
		inserted = len(added)
		return db.addToRollups(ctx, tx, plays, added)
	})
	if err != nil {
		return 0, storeError("insert plays", err)
	}
	return inserted, nil
}

// insertPlaysSQL is the INSERT of n plays.
func insertPlaysSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO plays (` + playColumns + `, received_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(`, `)
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	}
	b.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
	return b.String()
}

// collectIDs reads the IDs that rows (an INSERT … RETURNING id) returns
// into ids, and closes rows.
func collectIDs(rows *sql.Rows, ids map[string]bool) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids[id] = true
	}
	return rows.Err()
}

// playArgs returns the parameters of insertPlaysSQL for plays.
func playArgs(plays []marquee.Play, received int64) []any {
	args := make([]any, 0, 15*len(plays))
	for _, p := range plays {
		args = append(args, p.ID, p.DisplayID, p.MediaID, p.MediaSHA256, p.MediaName, p.PlaylistID,
			p.PlaylistRevision, nullString(p.ScheduleID), p.Reason, toMS(p.StartedAt), toMS(p.EndedAt),
			p.PlannedMS, p.PlayedMS, p.Completed, received)
	}
	return args
}

// FindKnownDisplays returns which of ids name a display: a map holding
// true for each that does.
func (db *DB) FindKnownDisplays(ctx context.Context, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	err := db.selectPairs(ctx, db.read, `SELECT id, id FROM displays WHERE id IN `, ids,
		func(id, _ string) { known[id] = true })
	if err != nil {
		return nil, fmt.Errorf("find known displays: %w", err)
	}
	return known, nil
}

// FindPlays returns one page of plays matching f (an empty slice, not nil,
// when none do), newest first by start time then ID, and the cursor of the
// next page, "" on the last. From is inclusive, To exclusive. Limits follow
// FindMedia's rules; a malformed cursor is EINVALID.
func (db *DB) FindPlays(ctx context.Context, f fleet.PlayFilter) ([]marquee.Play, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var (
		where []string
		args  []any
	)
	for _, eq := range []struct{ col, v string }{
		{"display_id", f.DisplayID}, {"media_id", f.MediaID}, {"schedule_id", f.ScheduleID},
	} {
		if eq.v != "" {
			where = append(where, eq.col+` = ?`)
			args = append(args, eq.v)
		}
	}
	if f.Within != "" {
		// Plays keep no organisation: a play is in scope when its display is.
		where = append(where, `display_id IN (SELECT d.id FROM displays d WHERE `+inSubtree(`d.org_id`)+`)`)
		args = append(args, f.Within)
	}
	if !f.From.IsZero() {
		where = append(where, `started_at >= ?`)
		args = append(args, toMS(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, `started_at < ?`)
		args = append(args, toMS(f.To))
	}
	if f.Cursor != "" {
		at, id, err := decodeTimeCursor(f.Cursor, isUUIDByte)
		if err != nil {
			return nil, "", err
		}
		// (started_at, id) < (at, id), spelt so that both planners bound
		// the index range by started_at.
		where = append(where, `started_at <= ? AND (started_at < ? OR id < ?)`)
		args = append(args, at, at, id)
	}
	query := `SELECT ` + playColumns + ` FROM plays`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("find plays: %w", err)
	}
	defer rows.Close()
	plays := []marquee.Play{}
	for rows.Next() {
		p, err := scanPlay(rows)
		if err != nil {
			return nil, "", fmt.Errorf("find plays: %w", err)
		}
		plays = append(plays, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("find plays: %w", err)
	}
	next := ""
	if len(plays) > limit {
		plays = plays[:limit]
		last := plays[limit-1]
		next = encodeTimeCursor(toMS(last.StartedAt), last.ID)
	}
	return plays, next, nil
}

// scanPlay reads the playColumns of one row.
func scanPlay(row interface{ Scan(...any) error }) (marquee.Play, error) {
	var (
		p                 marquee.Play
		schedule          sql.NullString
		started, finished int64
	)
	err := row.Scan(&p.ID, &p.DisplayID, &p.MediaID, &p.MediaSHA256, &p.MediaName, &p.PlaylistID,
		&p.PlaylistRevision, &schedule, &p.Reason, &started, &finished, &p.PlannedMS, &p.PlayedMS, &p.Completed)
	p.ScheduleID = schedule.String
	p.StartedAt, p.EndedAt = fromMS(started), fromMS(finished)
	return p, err
}
