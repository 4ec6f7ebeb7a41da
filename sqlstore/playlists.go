package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/playlists"
)

var (
	_ playlists.Store       = (*DB)(nil)
	_ playlists.MediaLookup = (*DB)(nil)
)

// playlistColumns select a playlist (p) joined with one of its revisions
// (r): identity from the playlist, content from the revision.
const playlistColumns = `p.id, p.org_id, p.created_by, p.created_at,
	r.revision, r.name, r.items_json, r.created_by, r.created_at`

// currentRevision joins each playlist p with its current revision r.
const currentRevision = `playlists p JOIN playlist_revisions r
	ON r.playlist_id = p.id AND r.revision = p.current_revision`

// msgPlaylistInUse answers a delete that a schedule's or a display's
// foreign key refused.
const msgPlaylistInUse = "playlist is used by a schedule or a display"

// CreatePlaylist inserts p as revision 1, with its media references, in one
// transaction. On success p holds what was stored: an empty ID is set to a
// new marquee.NewID("pls_"), Revision to 1, a zero CreatedAt to now,
// UpdatedAt to CreatedAt, RevisedBy to CreatedBy, nil Items to an empty
// slice and DurationMS to their total; times are truncated to milliseconds
// in UTC, item times included.
//
// A taken ID is ECONFLICT; an unknown OrgID, or an item naming media that
// does not exist, is EINVALID.
func (db *DB) CreatePlaylist(ctx context.Context, p *playlists.Playlist) error {
	if p.ID == "" {
		p.ID = marquee.NewID("pls_")
	}
	p.Revision = 1
	p.CreatedAt = db.stamp(p.CreatedAt)
	p.UpdatedAt, p.RevisedBy = p.CreatedAt, p.CreatedBy
	p.Items = storedItems(p.Items)
	p.DurationMS = playlists.TotalDurationMS(p.Items)
	itemsJSON, err := encodeItems(p.Items)
	if err != nil {
		return fmt.Errorf("create playlist: %w", err)
	}

	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO playlists (id, org_id, name, name_fold, current_revision,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)`,
			p.ID, p.OrgID, p.Name, fold(p.Name), p.CreatedBy, toMS(p.CreatedAt), toMS(p.UpdatedAt))
		switch constraintViolation(err) {
		case uniqueViolation:
			return marquee.WrapError(marquee.ECONFLICT, err, "playlist %q already exists", p.ID)
		case foreignKeyViolation:
			return marquee.WrapError(marquee.EINVALID, err, "organisation %q does not exist", p.OrgID)
		}
		if err != nil {
			return err
		}
		if err := db.insertRevision(ctx, tx, p.ID, 1, p.Name, itemsJSON, p.CreatedBy, p.CreatedAt); err != nil {
			return err
		}
		return db.insertPlaylistMedia(ctx, tx, p.ID, p.Items)
	})
	if err != nil {
		return storeError("create playlist", err)
	}
	return nil
}

// UpdatePlaylist makes r the next revision of playlist id and returns it
// with created true, unless r repeats the current revision's name and items
// (playlists.SameContent): then nothing is written and the current revision
// is returned with created false.
//
// Reading the current revision, writing the next one, moving
// current_revision and replacing the playlist's media references happen in
// one transaction that holds the playlist's row lock (SQLite: the write
// lock) from the first read: concurrent updates queue, so each gets its own
// revision number and compares against the revision before it.
//
// An unknown id is ENOTFOUND; an item naming media that does not exist is
// EINVALID. A zero r.CreatedAt means now.
func (db *DB) UpdatePlaylist(ctx context.Context, id string, r playlists.Revision) (*playlists.Playlist, bool, error) {
	items := storedItems(r.Items)
	itemsJSON, err := encodeItems(items)
	if err != nil {
		return nil, false, fmt.Errorf("update playlist: %w", err)
	}
	at := db.stamp(r.CreatedAt)

	var (
		p       *playlists.Playlist
		created bool
	)
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := db.queryRow(ctx, tx, `SELECT current_revision FROM playlists WHERE id = ?`+db.d.forUpdate, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return errPlaylistNotFound(id)
		} else if err != nil {
			return err
		}
		if p, err = db.findPlaylistRevision(ctx, tx, id, cur); err != nil {
			return err
		}
		if playlists.SameContent(r.Name, items, p.Name, p.Items) {
			return nil
		}
		next := cur + 1
		_, err = db.exec(ctx, tx, `UPDATE playlists SET current_revision = ?, name = ?, name_fold = ?, updated_at = ?
			WHERE id = ?`, next, r.Name, fold(r.Name), toMS(at), id)
		if err != nil {
			return err
		}
		if err := db.insertRevision(ctx, tx, id, next, r.Name, itemsJSON, r.CreatedBy, at); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM playlist_media WHERE playlist_id = ?`, id); err != nil {
			return err
		}
		if err := db.insertPlaylistMedia(ctx, tx, id, items); err != nil {
			return err
		}
		p.Revision, p.Name, p.Items, p.RevisedBy, p.UpdatedAt = next, r.Name, items, r.CreatedBy, at
		p.DurationMS = playlists.TotalDurationMS(items)
		created = true
		return nil
	})
	if err != nil {
		return nil, false, storeError("update playlist", err)
	}
	return p, created, nil
}

// insertRevision inserts one revision row.
func (db *DB) insertRevision(ctx context.Context, q querier, id string, rev int64, name, itemsJSON, by string, at time.Time) error {
	_, err := db.exec(ctx, q, `INSERT INTO playlist_revisions (playlist_id, revision, name, items_json,
		created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`, id, rev, name, itemsJSON, by, toMS(at))
	if err != nil {
		return fmt.Errorf("insert revision: %w", err)
	}
	return nil
}

// insertPlaylistMedia records the distinct media of items as used by
// playlist id. Media that does not exist is EINVALID.
func (db *DB) insertPlaylistMedia(ctx context.Context, q querier, id string, items []playlists.Item) error {
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.MediaID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for len(ids) > 0 {
		n := min(len(ids), insertTagsBatch)
		values := make([]string, n)
		args := make([]any, 0, 2*n)
		for i, m := range ids[:n] {
			values[i] = `(?, ?)`
			args = append(args, id, m)
		}
		_, err := db.exec(ctx, q, `INSERT INTO playlist_media (playlist_id, media_id) VALUES `+strings.Join(values, `, `), args...)
		if constraintViolation(err) == foreignKeyViolation {
			// The service checked every item first: the media was
			// deleted since.
			return marquee.WrapError(marquee.EINVALID, err, "a media item of the playlist does not exist")
		} else if err != nil {
			return fmt.Errorf("insert playlist media: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// FindPlaylistByID returns the current revision of playlist id, or
// ENOTFOUND.
func (db *DB) FindPlaylistByID(ctx context.Context, id string) (*playlists.Playlist, error) {
	row := db.queryRow(ctx, db.read, `SELECT `+playlistColumns+` FROM `+currentRevision+` WHERE p.id = ?`, id)
	p, err := scanPlaylist(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errPlaylistNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find playlist: %w", err)
	}
	return p, nil
}

// FindPlaylistRevision returns revision rev of playlist id. ENOTFOUND names
// what is missing: the playlist, or that revision of it. Revisions never
// change, so the desired state may embed the result as is.
func (db *DB) FindPlaylistRevision(ctx context.Context, id string, rev int64) (*playlists.Playlist, error) {
	var p *playlists.Playlist
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = db.findPlaylistRevision(ctx, tx, id, rev)
		return err
	})
	if err != nil {
		return nil, storeError("find playlist revision", err)
	}
	return p, nil
}

// findPlaylistRevision reads revision rev of playlist id through q.
func (db *DB) findPlaylistRevision(ctx context.Context, q querier, id string, rev int64) (*playlists.Playlist, error) {
	row := db.queryRow(ctx, q, `SELECT `+playlistColumns+` FROM playlists p
		JOIN playlist_revisions r ON r.playlist_id = p.id WHERE p.id = ? AND r.revision = ?`, id, rev)
	p, err := scanPlaylist(row)
	if errors.Is(err, sql.ErrNoRows) {
		if err := db.checkPlaylistExists(ctx, q, id); err != nil {
			return nil, err
		}
		return nil, marquee.Errorf(marquee.ENOTFOUND, "playlist %q has no revision %d", id, rev)
	} else if err != nil {
		return nil, fmt.Errorf("find playlist revision: %w", err)
	}
	return p, nil
}

// checkPlaylistExists returns nil when playlist id exists, else ENOTFOUND.
func (db *DB) checkPlaylistExists(ctx context.Context, q querier, id string) error {
	var n int
	if err := db.queryRow(ctx, q, `SELECT count(*) FROM playlists WHERE id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("find playlist: %w", err)
	}
	if n == 0 {
		return errPlaylistNotFound(id)
	}
	return nil
}

// FindPlaylistRevisions returns one page of the revisions of playlist id,
// newest first (an empty slice, not nil, past the last), and the cursor of
// the next page, "" on the last. An unknown id is ENOTFOUND. limit and
// cursor follow FindMedia's rules: 0 means 50, above 500 is 500, negative or
// a foreign cursor is EINVALID.
func (db *DB) FindPlaylistRevisions(ctx context.Context, id string, limit int, cursor string) ([]*playlists.Playlist, string, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + playlistColumns + ` FROM playlists p
		JOIN playlist_revisions r ON r.playlist_id = p.id WHERE p.id = ?`
	args := []any{id}
	if cursor != "" {
		before, err := decodeRevisionCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		query += ` AND r.revision < ?`
		args = append(args, before)
	}
	query += ` ORDER BY r.revision DESC LIMIT ?`
	args = append(args, limit+1) // one more tells whether a next page exists

	var ps []*playlists.Playlist
	err = db.withReadTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkPlaylistExists(ctx, tx, id); err != nil {
			return err
		}
		var err error
		ps, err = db.queryPlaylists(ctx, tx, query, args...)
		return err
	})
	if err != nil {
		return nil, "", storeError("find playlist revisions", err)
	}
	next := ""
	if len(ps) > limit {
		ps = ps[:limit]
		next = encodeCursor(strconv.FormatInt(ps[limit-1].Revision, 10))
	}
	return ps, next, nil
}

// decodeRevisionCursor returns the revision a cursor of
// FindPlaylistRevisions holds, or EINVALID.
func decodeRevisionCursor(cursor string) (int64, error) {
	s, err := decodeCursor(cursor)
	if err != nil {
		return 0, err
	}
	rev, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rev < 1 {
		return 0, marquee.WrapError(marquee.EINVALID, err, "invalid cursor")
	}
	return rev, nil
}

// FindPlaylists returns one page of playlists matching f, each at its
// current revision (an empty slice, not nil, when none match), newest
// first (by ID, which sorts by creation time), and the cursor of the next
// page, "" on the last. Limit and cursor follow FindMedia's rules.
func (db *DB) FindPlaylists(ctx context.Context, f playlists.Filter) ([]*playlists.Playlist, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var (
		from  = currentRevision
		key   = `p.id` // the column pages are ordered and cut by
		where []string
		args  []any
	)
	if f.MediaID != "" {
		// (playlist_id, media_id) is the primary key: no duplicates.
		// Ordering by m.playlist_id (equal to p.id) lets the
		// (media_id, playlist_id) index serve the order.
		from += ` JOIN playlist_media m ON m.playlist_id = p.id AND m.media_id = ?`
		key = `m.playlist_id`
		args = append(args, f.MediaID)
	}
	if f.Within != "" {
		where = append(where, inSubtree(`p.org_id`))
		args = append(args, f.Within)
	}
	if f.NameContains != "" {
		where = append(where, `p.name_fold LIKE ? ESCAPE '\'`)
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
	query := `SELECT ` + playlistColumns + ` FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + key + ` DESC LIMIT ?`
	args = append(args, limit+1)

	ps, err := db.queryPlaylists(ctx, db.read, query, args...)
	if err != nil {
		return nil, "", storeError("find playlists", err)
	}
	next := ""
	if len(ps) > limit {
		ps = ps[:limit]
		next = encodeCursor(ps[limit-1].ID)
	}
	return ps, next, nil
}

// DeletePlaylist deletes playlist id with all its revisions and media
// references. An unknown id is ENOTFOUND; a playlist that a schedule or a
// display (fallback) still references is ECONFLICT.
func (db *DB) DeletePlaylist(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.write, `DELETE FROM playlists WHERE id = ?`, id)
	if constraintViolation(err) == foreignKeyViolation {
		return marquee.WrapError(marquee.ECONFLICT, err, msgPlaylistInUse)
	} else if err != nil {
		return fmt.Errorf("delete playlist: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete playlist: %w", err)
	} else if n == 0 {
		return errPlaylistNotFound(id)
	}
	return nil
}

// FindMediaInfo returns the kind and clip length of the media items among
// ids that exist and that a playlist of organisation orgID may play — those
// of orgID, of an organisation above it or of one below it — by ID
// (playlists.MediaLookup). An unknown orgID finds nothing.
func (db *DB) FindMediaInfo(ctx context.Context, orgID string, ids []string) (map[string]playlists.MediaInfo, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	found := make(map[string]playlists.MediaInfo, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxMediaLimit)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		if err := db.findMediaInfo(ctx, orgID, args, found); err != nil {
			return nil, fmt.Errorf("find media info: %w", err)
		}
		ids = ids[n:]
	}
	return found, nil
}

// findMediaInfo adds the media among ids that orgID may play to found.
func (db *DB) findMediaInfo(ctx context.Context, orgID string, ids []any, found map[string]playlists.MediaInfo) error {
	rows, err := db.query(ctx, db.read, `SELECT m.id, m.kind, m.duration_ms FROM media m
		JOIN organisations mo ON mo.id = m.org_id JOIN organisations po ON po.id = ?
		WHERE `+onBranch(`mo.path`, `po.path`)+` AND m.id IN (`+placeholders(len(ids))+`)`, append([]any{orgID}, ids...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			m  playlists.MediaInfo
		)
		if err := rows.Scan(&id, &m.Kind, &m.DurationMS); err != nil {
			return err
		}
		found[id] = m
	}
	return rows.Err()
}

func errPlaylistNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "playlist %q not found", id)
}

// storeError returns err as is when it already carries a marquee error
// (its message is meant for the user), else wrapped with op.
func storeError(op string, err error) error {
	var me *marquee.Error
	if errors.As(err, &me) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// queryPlaylists runs a query selecting playlistColumns: an empty slice,
// not nil, when there are no rows.
func (db *DB) queryPlaylists(ctx context.Context, q querier, query string, args ...any) ([]*playlists.Playlist, error) {
	rows, err := db.query(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ps := []*playlists.Playlist{}
	for rows.Next() {
		p, err := scanPlaylist(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// scanPlaylist reads the playlistColumns of one row.
func scanPlaylist(row interface{ Scan(...any) error }) (*playlists.Playlist, error) {
	var (
		p                    playlists.Playlist
		itemsJSON            string
		createdAt, revisedAt int64
	)
	err := row.Scan(&p.ID, &p.OrgID, &p.CreatedBy, &createdAt,
		&p.Revision, &p.Name, &itemsJSON, &p.RevisedBy, &revisedAt)
	if err != nil {
		return nil, err
	}
	if p.Items, err = decodeItems(itemsJSON); err != nil {
		return nil, fmt.Errorf("playlist %s revision %d: %w", p.ID, p.Revision, err)
	}
	p.DurationMS = playlists.TotalDurationMS(p.Items)
	p.CreatedAt, p.UpdatedAt = fromMS(createdAt), fromMS(revisedAt)
	return &p, nil
}

// storedItem is the stored form of a playlist item in items_json: times
// are unix milliseconds, like every time in the database. It is private to
// the store, so the API's JSON may change without touching stored
// revisions.
type storedItem struct {
	MediaID    string `json:"media_id"`
	DurationMS int64  `json:"duration_ms"`
	Fit        string `json:"fit"`
	ValidFrom  *int64 `json:"valid_from_ms,omitempty"`
	ValidUntil *int64 `json:"valid_until_ms,omitempty"`
}

// storedItems returns items as they read back from the store: a new,
// non-nil slice with times in UTC, truncated to milliseconds.
func storedItems(items []playlists.Item) []playlists.Item {
	out := make([]playlists.Item, len(items))
	for i, it := range items {
		it.ValidFrom, it.ValidUntil = stampPtr(it.ValidFrom), stampPtr(it.ValidUntil)
		out[i] = it
	}
	return out
}

func stampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := fromMS(toMS(*t))
	return &u
}

func encodeItems(items []playlists.Item) (string, error) {
	out := make([]storedItem, len(items))
	for i, it := range items {
		out[i] = storedItem{MediaID: it.MediaID, DurationMS: it.DurationMS, Fit: it.Fit}
		if it.ValidFrom != nil {
			ms := toMS(*it.ValidFrom)
			out[i].ValidFrom = &ms
		}
		if it.ValidUntil != nil {
			ms := toMS(*it.ValidUntil)
			out[i].ValidUntil = &ms
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode items: %w", err)
	}
	return string(b), nil
}

func decodeItems(s string) ([]playlists.Item, error) {
	var in []storedItem
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode items: %w", err)
	}
	items := make([]playlists.Item, len(in))
	for i, it := range in {
		items[i] = playlists.Item{MediaID: it.MediaID, DurationMS: it.DurationMS, Fit: it.Fit}
		if it.ValidFrom != nil {
			t := fromMS(*it.ValidFrom)
			items[i].ValidFrom = &t
		}
		if it.ValidUntil != nil {
			t := fromMS(*it.ValidUntil)
			items[i].ValidUntil = &t
		}
	}
	return items, nil
}
