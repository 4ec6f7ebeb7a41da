package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
)

const statusColumns = `display_id, online, last_seen, state_revision, current_json, version, cache_bytes,
	free_disk_bytes, uptime_s, clock_offset_ms, updated_at`

// SaveDisplayStatus stores st as the latest status of display st.DisplayID
// and, when its online flag differs from the stored one or nothing was
// stored yet, appends a status event at st.UpdatedAt (zero: now);
// transition reports that. An online status replaces every column; an
// offline one (a Last Will carries nothing else) sets online false, clears
// current and keeps last_seen and the figures. An unknown display is
// ENOTFOUND.
func (db *DB) SaveDisplayStatus(ctx context.Context, st *fleet.DisplayStatus) (transition bool, err error) {
	updated := toMS(db.stamp(st.UpdatedAt))
	var current sql.NullString
	if st.Current != nil {
		b, err := json.Marshal(st.Current)
		if err != nil {
			return false, fmt.Errorf("encode current: %w", err)
		}
		current = sql.NullString{String: string(b), Valid: true}
	}
	var lastSeen, offset sql.NullInt64
	if st.LastSeen != nil {
		lastSeen = sql.NullInt64{Int64: toMS(*st.LastSeen), Valid: true}
	}
	if st.ClockOffsetMS != nil {
		offset = sql.NullInt64{Int64: *st.ClockOffsetMS, Valid: true}
	}

	err = db.withTx(ctx, func(tx *sql.Tx) error {
		var prev bool
		err := db.queryRow(ctx, tx, `SELECT online FROM display_status WHERE display_id = ?`+db.d.forUpdate,
			st.DisplayID).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			transition = true
		case err != nil:
			return err
		default:
			transition = prev != st.Online
		}
		if st.Online {
			_, err = db.exec(ctx, tx, `INSERT INTO display_status (`+statusColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (display_id) DO UPDATE SET online = excluded.online, last_seen = excluded.last_seen,
					state_revision = excluded.state_revision, current_json = excluded.current_json,
					version = excluded.version, cache_bytes = excluded.cache_bytes,
					free_disk_bytes = excluded.free_disk_bytes, uptime_s = excluded.uptime_s,
					clock_offset_ms = excluded.clock_offset_ms, updated_at = excluded.updated_at`,
				st.DisplayID, true, lastSeen, st.StateRevision, current, st.Version, st.CacheBytes,
				st.FreeDiskBytes, st.UptimeSeconds, offset, updated)
		} else {
			_, err = db.exec(ctx, tx, `INSERT INTO display_status (display_id, online, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (display_id) DO UPDATE SET online = excluded.online, current_json = NULL,
					updated_at = excluded.updated_at`,
				st.DisplayID, false, updated)
		}
		if err != nil {
			return err
		}
		if transition {
			_, err = db.exec(ctx, tx, `INSERT INTO status_events (display_id, at, online) VALUES (?, ?, ?)`,
				st.DisplayID, updated, st.Online)
		}
		return err
	})
	if constraintViolation(err) == foreignKeyViolation {
		return false, marquee.WrapError(marquee.ENOTFOUND, err, "display %q not found", st.DisplayID)
	} else if err != nil {
		return false, storeError("save display status", err)
	}
	return transition, nil
}

// FindDisplayStatuses returns the stored status of each of ids that has
// one, keyed by display ID, with one query per 500 IDs.
func (db *DB) FindDisplayStatuses(ctx context.Context, ids []string) (map[string]*fleet.DisplayStatus, error) {
	out := make(map[string]*fleet.DisplayStatus, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), idBatch)
		rows, err := db.query(ctx, db.read, `SELECT `+statusColumns+` FROM display_status WHERE display_id IN (`+
			placeholders(n)+`)`, anys(ids[:n])...)
		if err != nil {
			return nil, fmt.Errorf("find display statuses: %w", err)
		}
		for rows.Next() {
			st, err := scanStatus(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("find display statuses: %w", err)
			}
			out[st.DisplayID] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find display statuses: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// scanStatus reads the statusColumns of one row.
func scanStatus(row interface{ Scan(...any) error }) (*fleet.DisplayStatus, error) {
	var (
		st               fleet.DisplayStatus
		lastSeen, offset sql.NullInt64
		current          sql.NullString
		updated          int64
	)
	err := row.Scan(&st.DisplayID, &st.Online, &lastSeen, &st.StateRevision, &current, &st.Version,
		&st.CacheBytes, &st.FreeDiskBytes, &st.UptimeSeconds, &offset, &updated)
	if err != nil {
		return nil, err
	}
	if lastSeen.Valid {
		t := fromMS(lastSeen.Int64)
		st.LastSeen = &t
	}
	if offset.Valid {
		st.ClockOffsetMS = &offset.Int64
	}
	if current.Valid {
		st.Current = &marquee.NowPlaying{}
		if err := json.Unmarshal([]byte(current.String), st.Current); err != nil {
			return nil, fmt.Errorf("decode current of display %s: %w", st.DisplayID, err)
		}
	}
	st.UpdatedAt = fromMS(updated)
	return &st, nil
}

// FindStatusEvents returns the online/offline transitions of the display
// with from <= at < to (zero: open), oldest first. Events outlive their
// display.
func (db *DB) FindStatusEvents(ctx context.Context, displayID string, from, to time.Time) ([]fleet.StatusEvent, error) {
	query := `SELECT display_id, at, online FROM status_events WHERE display_id = ?`
	args := []any{displayID}
	if !from.IsZero() {
		query += ` AND at >= ?`
		args = append(args, toMS(from))
	}
	if !to.IsZero() {
		query += ` AND at < ?`
		args = append(args, toMS(to))
	}
	rows, err := db.query(ctx, db.read, query+` ORDER BY at`, args...)
	if err != nil {
		return nil, fmt.Errorf("find status events: %w", err)
	}
	defer rows.Close()
	events := []fleet.StatusEvent{}
	for rows.Next() {
		var e fleet.StatusEvent
		var at int64
		if err := rows.Scan(&e.DisplayID, &at, &e.Online); err != nil {
			return nil, fmt.Errorf("find status events: %w", err)
		}
		e.At = fromMS(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find status events: %w", err)
	}
	return events, nil
}

// FindDisplayByTokenHash returns the display whose token has this hash
// (auth.HashToken of the token), with its tags, or ENOTFOUND. Players
// authenticate their HTTP requests with it: a hash is looked up through
// the unique index, so no constant-time comparison is needed.
func (db *DB) FindDisplayByTokenHash(ctx context.Context, tokenHash string) (*displays.Display, error) {
	var d *displays.Display
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDisplay(db.queryRow(ctx, tx, `SELECT `+displayColumns+` FROM displays d WHERE d.token_hash = ?`, tokenHash))
		if errors.Is(err, sql.ErrNoRows) {
			return marquee.Errorf(marquee.ENOTFOUND, "no display has this token")
		} else if err != nil {
			return fmt.Errorf("find display by token: %w", err)
		}
		return db.loadDisplayTags(ctx, tx, []*displays.Display{d})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
