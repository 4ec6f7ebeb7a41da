package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
)

var _ displays.Store = (*DB)(nil)

const displayColumns = `d.id, d.org_id, d.name, d.width, d.height, d.timezone, d.address, d.latitude,
	d.longitude, d.fallback_playlist_id, d.fallback_revision, d.token_hash, d.created_at, d.updated_at`

// CreateDisplay inserts d and its tags in one transaction. On success d
// holds what was stored: an empty ID is set to a new marquee.NewID("dsp_"),
// a zero CreatedAt to now and a zero UpdatedAt to CreatedAt, times are
// truncated to milliseconds in UTC, and Tags are sorted, de-duplicated and
// non-nil. An unknown OrgID is EINVALID; so is a FallbackPlaylistID that
// does not exist in d's organisation, one above it or one below it. A taken
// ID or token hash is ECONFLICT. The fallback playlist's current revision is
// pinned as d.FallbackRevision (see pinFallback).
func (db *DB) CreateDisplay(ctx context.Context, d *displays.Display) error {
	if d.ID == "" {
		d.ID = marquee.NewID("dsp_")
	}
	d.CreatedAt = db.stamp(d.CreatedAt)
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	} else {
		d.UpdatedAt = db.stamp(d.UpdatedAt)
	}
	d.Tags = normalizeTags(d.Tags)

	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkFallback(ctx, tx, d.OrgID, d.FallbackPlaylistID); err != nil {
			return err
		}
		rev, err := db.lockFallback(ctx, tx, d.FallbackPlaylistID)
		if err != nil {
			return err
		}
		addr, lat, lon := locationArgs(d.Location)
		_, err = db.exec(ctx, tx, `INSERT INTO displays (id, org_id, name, name_fold, width, height,
			timezone, address, latitude, longitude, fallback_playlist_id, fallback_revision, token_hash,
			created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.OrgID, d.Name, fold(d.Name), d.Width, d.Height, d.Timezone, addr, lat, lon,
			nullString(d.FallbackPlaylistID), nullRevision(rev), d.TokenHash, toMS(d.CreatedAt), toMS(d.UpdatedAt))
		if err != nil {
			return err
		}
		if err := db.pinFallbackMedia(ctx, tx, d.ID, d.FallbackPlaylistID); err != nil {
			return err
		}
		d.FallbackRevision = rev
		return db.insertPairs(ctx, tx, `display_tags (display_id, tag)`, d.ID, d.Tags)
	})
	switch constraintViolation(err) {
	case uniqueViolation:
		// IDs are fresh and token hashes random: either is a bug or an attack.
		return marquee.WrapError(marquee.ECONFLICT, err, "a display with this ID or token already exists")
	case foreignKeyViolation:
		// The fallback was checked in the transaction: the organisation is missing.
		return marquee.WrapError(marquee.EINVALID, err, "organisation %q does not exist", d.OrgID)
	}
	if err != nil {
		return storeError("create display", err)
	}
	return nil
}

// FindDisplayByID returns the display with its tags, or ENOTFOUND.
func (db *DB) FindDisplayByID(ctx context.Context, id string) (*displays.Display, error) {
	var d *displays.Display
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = db.findDisplay(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// findDisplay reads one display and its tags through q.
func (db *DB) findDisplay(ctx context.Context, q querier, id string) (*displays.Display, error) {
	d, err := scanDisplay(db.queryRow(ctx, q, `SELECT `+displayColumns+` FROM displays d WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDisplayNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find display: %w", err)
	}
	if err := db.loadDisplayTags(ctx, q, []*displays.Display{d}); err != nil {
		return nil, err
	}
	return d, nil
}

// FindDisplays returns one page of displays matching f (an empty slice, not
// nil, when none do), newest first, and the cursor of the next page, "" on
// the last. Limits and cursors follow FindMedia's rules.
func (db *DB) FindDisplays(ctx context.Context, f displays.Filter) ([]*displays.Display, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var (
		from  = `displays d`
		key   = `d.id`
		where []string
		args  []any
	)
	if f.Tag != "" {
		// As in FindMedia: order by the tag row's key so the (tag,
		// display_id) index yields the page in order.
		from += ` JOIN display_tags t ON t.display_id = d.id AND t.tag = ?`
		key = `t.display_id`
		args = append(args, f.Tag)
	}
	if f.Within != "" {
		where = append(where, inSubtree(`d.org_id`))
		args = append(args, f.Within)
	}
	if f.NameContains != "" {
		where = append(where, `d.name_fold LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(fold(f.NameContains))+"%")
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, key+` < ?`)
		args = append(args, after)
	}
	query := `SELECT ` + displayColumns + ` FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + key + ` DESC LIMIT ?`
	args = append(args, limit+1)

	var (
		ds   []*displays.Display
		more bool
	)
	err = db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ds, err = db.queryDisplays(ctx, tx, query, args...); err != nil {
			return err
		}
		if more = len(ds) > limit; more {
			ds = ds[:limit]
		}
		return db.loadDisplayTags(ctx, tx, ds)
	})
	if err != nil {
		return nil, "", fmt.Errorf("find displays: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor(ds[len(ds)-1].ID)
	}
	return ds, next, nil
}

// UpdateDisplay replaces the editable fields of display d.ID — name, size,
// zone, tags, location, fallback — and sets updated_at to d.UpdatedAt (zero:
// now), in one transaction, and returns the stored display. OrgID,
// TokenHash and CreatedAt of d are ignored. An unknown ID is ENOTFOUND; a
// fallback playlist that does not exist in the display's organisation, one
// above it or one below it is EINVALID. The fallback playlist's current
// revision is pinned again, even when d names the same playlist as before:
// an update is how an admin puts a newer revision on the fallback (see
// pinFallback).
func (db *DB) UpdateDisplay(ctx context.Context, d *displays.Display) (*displays.Display, error) {
	var out *displays.Display
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		orgID, err := db.findOrgOf(ctx, tx, `displays`, d.ID, errDisplayNotFound)
		if err != nil {
			return err
		}
		if err := db.checkFallback(ctx, tx, orgID, d.FallbackPlaylistID); err != nil {
			return err
		}
		rev, err := db.lockFallback(ctx, tx, d.FallbackPlaylistID)
		if err != nil {
			return err
		}
		addr, lat, lon := locationArgs(d.Location)
		_, err = db.exec(ctx, tx, `UPDATE displays SET name = ?, name_fold = ?, width = ?, height = ?,
			timezone = ?, address = ?, latitude = ?, longitude = ?, fallback_playlist_id = ?,
			fallback_revision = ?, updated_at = ? WHERE id = ?`,
			d.Name, fold(d.Name), d.Width, d.Height, d.Timezone, addr, lat, lon,
			nullString(d.FallbackPlaylistID), nullRevision(rev), toMS(db.stamp(d.UpdatedAt)), d.ID)
		if err != nil {
			return err
		}
		if err := db.pinFallbackMedia(ctx, tx, d.ID, d.FallbackPlaylistID); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM display_tags WHERE display_id = ?`, d.ID); err != nil {
			return err
		}
		if err := db.insertPairs(ctx, tx, `display_tags (display_id, tag)`, d.ID, normalizeTags(d.Tags)); err != nil {
			return err
		}
		out, err = db.findDisplay(ctx, tx, d.ID)
		return err
	})
	if constraintViolation(err) == foreignKeyViolation {
		return nil, marquee.WrapError(marquee.EINVALID, err, "fallback playlist %q does not exist", d.FallbackPlaylistID)
	} else if err != nil {
		return nil, storeError("update display", err)
	}
	return out, nil
}

// SetDisplayTokenHash replaces the token hash of display id and sets its
// updated_at to now (zero: the current time). An unknown id is ENOTFOUND; a
// hash another display has is ECONFLICT.
func (db *DB) SetDisplayTokenHash(ctx context.Context, id, tokenHash string, now time.Time) error {
	res, err := db.exec(ctx, db.write, `UPDATE displays SET token_hash = ?, updated_at = ? WHERE id = ?`,
		tokenHash, toMS(db.stamp(now)), id)
	if constraintViolation(err) == uniqueViolation {
		return marquee.WrapError(marquee.ECONFLICT, err, "another display has this token")
	} else if err != nil {
		return fmt.Errorf("set display token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set display token: %w", err)
	} else if n == 0 {
		return errDisplayNotFound(id)
	}
	return nil
}

// DeleteDisplay deletes the display, its tags and its place in every
// schedule's targets. An unknown id is ENOTFOUND.
func (db *DB) DeleteDisplay(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.write, `DELETE FROM displays WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete display: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete display: %w", err)
	} else if n == 0 {
		return errDisplayNotFound(id)
	}
	return nil
}

func errDisplayNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "display %q not found", id)
}

// checkFallback returns EINVALID unless id is "" or names a playlist that a
// display of organisation orgID may show: one of orgID, of an organisation
// above it or of one below it. A playlist elsewhere in the tree gets the
// same answer as a missing one, revealing nothing.
func (db *DB) checkFallback(ctx context.Context, q querier, orgID, id string) error {
	if id == "" {
		return nil
	}
	var n int
	err := db.queryRow(ctx, q, `SELECT count(*) FROM playlists p
		JOIN organisations po ON po.id = p.org_id JOIN organisations dorg ON dorg.id = ?
		WHERE p.id = ? AND `+onBranch(`po.path`, `dorg.path`), orgID, id).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up fallback playlist: %w", err)
	}
	if n == 0 {
		return marquee.Errorf(marquee.EINVALID, "fallback playlist %q does not exist", id)
	}
	return nil
}

// lockFallback locks the fallback playlist id (PostgreSQL: SELECT … FOR
// UPDATE; SQLite: the write lock) and returns its current revision, the one
// the display's fallback is pinned to; 0 when id is "". Locked, the playlist
// cannot gain a revision before pinFallbackMedia copies its media in the
// same transaction.
//
// Pinning is what keeps an edit of a playlist used as a fallback off
// screens until it is approved: displays are set only by admins, who hold
// the approve permission, so setting a fallback approves the revision it
// pins, as approving a schedule pins its playlist's revision.
func (db *DB) lockFallback(ctx context.Context, q querier, id string) (int64, error) {
	if id == "" {
		return 0, nil
	}
	var rev int64
	err := db.queryRow(ctx, q, `SELECT current_revision FROM playlists WHERE id = ?`+db.d.forUpdate, id).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, marquee.Errorf(marquee.EINVALID, "fallback playlist %q does not exist", id)
	} else if err != nil {
		return 0, fmt.Errorf("lock fallback playlist: %w", err)
	}
	return rev, nil
}

// pinFallbackMedia replaces the display_fallback_media rows of display
// displayID with the media of its fallback playlist playlistID ("": none)
// as locked by lockFallback: playlist_media holds the current revision's
// media, which is the pinned one's. Their RESTRICT foreign key keeps media
// a fallback plays from being deleted, as approved_schedule_media does for
// approved schedules.
func (db *DB) pinFallbackMedia(ctx context.Context, q querier, displayID, playlistID string) error {
	if _, err := db.exec(ctx, q, `DELETE FROM display_fallback_media WHERE display_id = ?`, displayID); err != nil {
		return fmt.Errorf("unpin fallback media: %w", err)
	}
	if playlistID == "" {
		return nil
	}
	_, err := db.exec(ctx, q, `INSERT INTO display_fallback_media (display_id, media_id)
		SELECT ?, media_id FROM playlist_media WHERE playlist_id = ?`, displayID, playlistID)
	if err != nil {
		return fmt.Errorf("pin fallback media: %w", err)
	}
	return nil
}

// nullRevision stores revision 0 (no fallback) as NULL.
func nullRevision(rev int64) sql.NullInt64 {
	return sql.NullInt64{Int64: rev, Valid: rev != 0}
}

// findOrgOf returns the organisation of row id of table, or notFound(id).
// table is a constant of the caller's, never input.
func (db *DB) findOrgOf(ctx context.Context, q querier, table, id string, notFound func(string) error) (string, error) {
	var orgID string
	err := db.queryRow(ctx, q, `SELECT org_id FROM `+table+` WHERE id = ?`, id).Scan(&orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound(id)
	} else if err != nil {
		return "", fmt.Errorf("look up %s: %w", table, err)
	}
	return orgID, nil
}

// checkExists returns notFound(id) unless table has a row with that id.
// table is a constant of the caller's, never input.
func (db *DB) checkExists(ctx context.Context, q querier, table, id string, notFound func(string) error) error {
	var n int
	if err := db.queryRow(ctx, q, `SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("look up %s: %w", table, err)
	}
	if n == 0 {
		return notFound(id)
	}
	return nil
}

// queryDisplays runs a query selecting displayColumns and returns its rows
// as displays without tags: an empty slice, not nil, when there are none.
func (db *DB) queryDisplays(ctx context.Context, q querier, query string, args ...any) ([]*displays.Display, error) {
	rows, err := db.query(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ds := []*displays.Display{}
	for rows.Next() {
		d, err := scanDisplay(rows)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// scanDisplay reads the displayColumns of one row. Tags are left empty.
func scanDisplay(row interface{ Scan(...any) error }) (*displays.Display, error) {
	var (
		d                    displays.Display
		address              string
		lat, lon             sql.NullFloat64
		fallback             sql.NullString
		fallbackRev          sql.NullInt64
		createdAt, updatedAt int64
	)
	err := row.Scan(&d.ID, &d.OrgID, &d.Name, &d.Width, &d.Height, &d.Timezone, &address, &lat, &lon,
		&fallback, &fallbackRev, &d.TokenHash, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	if address != "" || lat.Valid || lon.Valid {
		d.Location = &displays.Location{Address: address}
		if lat.Valid {
			d.Location.Latitude = &lat.Float64
		}
		if lon.Valid {
			d.Location.Longitude = &lon.Float64
		}
	}
	d.FallbackPlaylistID = fallback.String
	d.FallbackRevision = fallbackRev.Int64
	d.CreatedAt, d.UpdatedAt = fromMS(createdAt), fromMS(updatedAt)
	d.Tags = []string{}
	return &d, nil
}

// locationArgs returns the address, latitude and longitude columns of l.
func locationArgs(l *displays.Location) (address string, lat, lon sql.NullFloat64) {
	if l == nil {
		return "", lat, lon
	}
	if l.Latitude != nil {
		lat = sql.NullFloat64{Float64: *l.Latitude, Valid: true}
	}
	if l.Longitude != nil {
		lon = sql.NullFloat64{Float64: *l.Longitude, Valid: true}
	}
	return l.Address, lat, lon
}

// loadDisplayTags fills the tags of ds, a batch of IDs per query.
func (db *DB) loadDisplayTags(ctx context.Context, q querier, ds []*displays.Display) error {
	byID := make(map[string]*displays.Display, len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		byID[d.ID], ids[i] = d, d.ID
	}
	err := db.selectPairs(ctx, q, `SELECT display_id, tag FROM display_tags WHERE display_id IN `, ids,
		func(id, tag string) {
			if d := byID[id]; d != nil {
				d.Tags = append(d.Tags, tag)
			}
		})
	if err != nil {
		return fmt.Errorf("load display tags: %w", err)
	}
	// Sorted in Go: the same byte order in both dialects, whatever the
	// database collation.
	for _, d := range ds {
		slices.Sort(d.Tags)
	}
	return nil
}

// idBatch bounds the IDs bound in one IN (…) list, far inside SQLite's and
// PostgreSQL's limits on parameters.
const idBatch = 500

// selectPairs runs query — ending in "IN " and selecting two text columns —
// for ids, idBatch at a time, and calls fn with each row.
func (db *DB) selectPairs(ctx context.Context, q querier, query string, ids []string, fn func(a, b string)) error {
	for len(ids) > 0 {
		n := min(len(ids), idBatch)
		rows, err := db.query(ctx, q, query+`(`+placeholders(n)+`)`, anys(ids[:n])...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				rows.Close()
				return err
			}
			fn(a, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// insertPairs inserts (id, v) for each of values, which must be
// de-duplicated, into into — a table and its two columns, "t (a, b)", a
// constant of the caller's.
func (db *DB) insertPairs(ctx context.Context, q querier, into, id string, values []string) error {
	for len(values) > 0 {
		n := min(len(values), insertTagsBatch)
		rows := make([]string, n)
		args := make([]any, 0, 2*n)
		for i, v := range values[:n] {
			rows[i] = `(?, ?)`
			args = append(args, id, v)
		}
		if _, err := db.exec(ctx, q, `INSERT INTO `+into+` VALUES `+strings.Join(rows, `, `), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", into, err)
		}
		values = values[n:]
	}
	return nil
}

// anys converts ss for use as query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// nullString stores "" as NULL.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
