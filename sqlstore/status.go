package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	res, err := db.SaveDisplayStatuses(ctx, []fleet.StatusSave{{Status: st}})
	if err != nil {
		return false, err
	}
	if res[0].NotFound {
		return false, marquee.Errorf(marquee.ENOTFOUND, "display %q not found", st.DisplayID)
	}
	return res[0].Transition, nil
}

// SaveDisplayStatuses applies saves in one transaction, in order, each as
// SaveDisplayStatus does, with the status event (on a transition) at the
// save's EventAt (zero: the status's UpdatedAt, zero: now). Saves of a
// display that does not exist store nothing and come back NotFound.
//
// It reads which displays exist and their stored online flags with one
// query per 500 displays, then runs prepared statements per save. On
// PostgreSQL the displays read are locked against deletion (FOR KEY SHARE)
// and the status rows against other writers (FOR UPDATE) until the commit,
// so the foreign key cannot fail halfway and a concurrent writer cannot
// slip a transition in between; SQLite's write transactions never overlap.
func (db *DB) SaveDisplayStatuses(ctx context.Context, saves []fleet.StatusSave) ([]fleet.StatusSaved, error) {
	if len(saves) == 0 {
		return nil, nil
	}
	type row struct {
		updated, eventAt int64
		current          sql.NullString
		lastSeen, offset sql.NullInt64
	}
	rows := make([]row, len(saves))
	ids := make([]string, 0, len(saves))
	for i, sv := range saves {
		st := sv.Status
		r := &rows[i]
		r.updated = toMS(db.stamp(st.UpdatedAt))
		r.eventAt = r.updated
		if !sv.EventAt.IsZero() {
			r.eventAt = toMS(db.stamp(sv.EventAt))
		}
		if st.Current != nil {
			b, err := json.Marshal(st.Current)
			if err != nil {
				return nil, fmt.Errorf("encode current of display %s: %w", st.DisplayID, err)
			}
			r.current = sql.NullString{String: string(b), Valid: true}
		}
		if st.LastSeen != nil {
			r.lastSeen = sql.NullInt64{Int64: toMS(*st.LastSeen), Valid: true}
		}
		if st.ClockOffsetMS != nil {
			r.offset = sql.NullInt64{Int64: *st.ClockOffsetMS, Valid: true}
		}
		ids = append(ids, st.DisplayID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	var out []fleet.StatusSaved
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		out = make([]fleet.StatusSaved, len(saves))
		lockDisplays := ""
		if db.d.name == dialectPostgres {
			lockDisplays = ` FOR KEY SHARE`
		}
		known := make(map[string]bool, len(ids))
		if err := db.scanIDs(ctx, tx, `SELECT id, true FROM displays WHERE id IN `, lockDisplays, ids,
			func(id string, _ bool) { known[id] = true }); err != nil {
			return err
		}
		online := make(map[string]bool, len(ids)) // display → stored online flag; absent: no status
		if err := db.scanIDs(ctx, tx, `SELECT display_id, online FROM display_status WHERE display_id IN `, db.d.forUpdate, ids,
			func(id string, on bool) { online[id] = on }); err != nil {
			return err
		}
		var upOnline, upOffline, event *sql.Stmt
		prepare := func(stmt **sql.Stmt, query string) error {
			if *stmt != nil {
				return nil
			}
			var err error
			*stmt, err = tx.PrepareContext(ctx, db.d.rebind(query))
			return err
		}
		defer func() {
			for _, st := range []*sql.Stmt{upOnline, upOffline, event} {
				if st != nil {
					st.Close()
				}
			}
		}()
		for i, sv := range saves {
			st, r := sv.Status, &rows[i]
			if !known[st.DisplayID] {
				out[i].NotFound = true
				continue
			}
			prev, had := online[st.DisplayID]
			out[i].Transition = !had || prev != st.Online
			online[st.DisplayID] = st.Online
			var err error
			if st.Online {
				if err = prepare(&upOnline, `INSERT INTO display_status (`+statusColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (display_id) DO UPDATE SET online = excluded.online, last_seen = excluded.last_seen,
					state_revision = excluded.state_revision, current_json = excluded.current_json,
					version = excluded.version, cache_bytes = excluded.cache_bytes,
					free_disk_bytes = excluded.free_disk_bytes, uptime_s = excluded.uptime_s,
					clock_offset_ms = excluded.clock_offset_ms, updated_at = excluded.updated_at`); err != nil {
					return err
				}
				_, err = upOnline.ExecContext(ctx, st.DisplayID, true, r.lastSeen, st.StateRevision, r.current, st.Version,
					st.CacheBytes, st.FreeDiskBytes, st.UptimeSeconds, r.offset, r.updated)
			} else {
				if err = prepare(&upOffline, `INSERT INTO display_status (display_id, online, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (display_id) DO UPDATE SET online = excluded.online, current_json = NULL,
					updated_at = excluded.updated_at`); err != nil {
					return err
				}
				_, err = upOffline.ExecContext(ctx, st.DisplayID, false, r.updated)
			}
			if err != nil {
				return err
			}
			if out[i].Transition {
				if err := prepare(&event, `INSERT INTO status_events (display_id, at, online) VALUES (?, ?, ?)`); err != nil {
					return err
				}
				if _, err := event.ExecContext(ctx, st.DisplayID, r.eventAt, st.Online); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if constraintViolation(err) == foreignKeyViolation {
		return nil, marquee.WrapError(marquee.ENOTFOUND, err, "a display was deleted while its status was saved")
	} else if err != nil {
		return nil, storeError("save display statuses", err)
	}
	return out, nil
}

// scanIDs runs query, which ends in "IN ", on ids, 500 at a time, with
// suffix (a locking clause) after the list, and calls fn with each row's
// text and boolean columns.
func (db *DB) scanIDs(ctx context.Context, q querier, query, suffix string, ids []string, fn func(id string, v bool)) error {
	for len(ids) > 0 {
		n := min(len(ids), idBatch)
		rows, err := db.query(ctx, q, query+`(`+placeholders(n)+`)`+suffix, anys(ids[:n])...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var v bool
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return err
			}
			fn(id, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
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
