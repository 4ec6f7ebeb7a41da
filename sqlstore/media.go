package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/media"
)

// Page sizes of FindMedia.
const (
	defaultMediaLimit = 50
	maxMediaLimit     = 500
)

const mediaColumns = `m.id, m.org_id, m.name, m.kind, m.mime, m.sha256, m.size, m.width, m.height,
	m.duration_ms, m.created_by, m.created_at, m.updated_at`

// CreateMedia inserts it and its tags in one transaction. On success it
// holds what was stored: an empty ID is set to a new marquee.NewID("med_"), a
// zero CreatedAt to now and a zero UpdatedAt to CreatedAt, times are
// truncated to milliseconds in UTC, and Tags are sorted, de-duplicated and
// non-nil. A taken ID is ECONFLICT; an unknown OrgID is EINVALID.
func (db *DB) CreateMedia(ctx context.Context, it *media.Item) error {
	if it.ID == "" {
		it.ID = marquee.NewID("med_")
	}
	it.CreatedAt = db.stamp(it.CreatedAt)
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = it.CreatedAt
	} else {
		it.UpdatedAt = db.stamp(it.UpdatedAt)
	}
	it.Tags = normalizeTags(it.Tags)

	err := db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO media (id, org_id, name, name_fold, kind, mime, sha256,
			size, width, height, duration_ms, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			it.ID, it.OrgID, it.Name, fold(it.Name), string(it.Kind), it.MIME, it.SHA256,
			it.Size, it.Width, it.Height, it.DurationMS, it.CreatedBy, toMS(it.CreatedAt), toMS(it.UpdatedAt))
		if err != nil {
			return err
		}
		return db.insertTags(ctx, tx, it.ID, it.Tags)
	})
	switch constraintViolation(err) {
	case uniqueViolation:
		return marquee.WrapError(marquee.ECONFLICT, err, "media %q already exists", it.ID)
	case foreignKeyViolation:
		return marquee.WrapError(marquee.EINVALID, err, "organisation %q does not exist", it.OrgID)
	}
	if err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	return nil
}

// FindMediaByID returns the item with its tags, or ENOTFOUND.
func (db *DB) FindMediaByID(ctx context.Context, id string) (*media.Item, error) {
	var it *media.Item
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		it, err = db.findMedia(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// findMedia reads one item and its tags through q.
func (db *DB) findMedia(ctx context.Context, q querier, id string) (*media.Item, error) {
	row := db.queryRow(ctx, q, `SELECT `+mediaColumns+` FROM media m WHERE m.id = ?`, id)
	it, err := scanMedia(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMediaNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find media: %w", err)
	}
	if err := db.loadTags(ctx, q, []*media.Item{it}); err != nil {
		return nil, err
	}
	return it, nil
}

// FindMedia returns one page of items matching f (an empty slice, not nil,
// when none do), newest first (by ID, which sorts by creation time), and the
// cursor of the next page, "" on the last.
//
// f.Limit 0 means 50 and anything above 500 is clamped to 500; a negative
// limit or a cursor that this method did not produce is EINVALID. The cursor
// is the base64url encoding (no padding) of the last returned ID: pages stay
// stable while items are added or deleted.
func (db *DB) FindMedia(ctx context.Context, f media.Filter) ([]*media.Item, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	query, args, err := findMediaQuery(f, limit+1) // one more tells whether a next page exists
	if err != nil {
		return nil, "", err
	}
	var (
		items []*media.Item
		more  bool
	)
	err = db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		if items, err = db.queryMedia(ctx, tx, query, args...); err != nil {
			return err
		}
		if more = len(items) > limit; more {
			items = items[:limit]
		}
		return db.loadTags(ctx, tx, items)
	})
	if err != nil {
		return nil, "", fmt.Errorf("find media: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor(items[len(items)-1].ID)
	}
	return items, next, nil
}

// findMediaQuery returns the page query of FindMedia and its arguments.
func findMediaQuery(f media.Filter, limit int) (string, []any, error) {
	var (
		from  = `media m`
		key   = `m.id` // the column pages are ordered and cut by
		where []string
		args  []any
	)
	if f.Tag != "" {
		// (media_id, tag) is the primary key: the join adds no duplicates.
		// Ordering by t.media_id (equal to m.id) lets SQLite walk the
		// (tag, media_id) index backwards and stop after one page; ordered
		// by m.id it sorts every tagged item first.
		from += ` JOIN media_tags t ON t.media_id = m.id AND t.tag = ?`
		key = `t.media_id`
		args = append(args, f.Tag)
	}
	if f.Within != "" {
		where = append(where, inSubtree(`m.org_id`))
		args = append(args, f.Within)
	}
	if f.Kind != "" {
		where = append(where, `m.kind = ?`)
		args = append(args, string(f.Kind))
	}
	if f.NameContains != "" {
		where = append(where, `m.name_fold LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(fold(f.NameContains))+"%")
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		where = append(where, key+` < ?`)
		args = append(args, after)
	}
	query := `SELECT ` + mediaColumns + ` FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + key + ` DESC LIMIT ?`
	return query, append(args, limit), nil
}

// UpdateMedia applies u and sets updated_at to now (zero: the current time)
// in one transaction, and returns the updated item. Non-nil u.Tags replaces
// all tags. An unknown id is ENOTFOUND.
func (db *DB) UpdateMedia(ctx context.Context, id string, u media.Update, now time.Time) (*media.Item, error) {
	sets := []string{`updated_at = ?`}
	args := []any{toMS(db.stamp(now))}
	if u.Name != nil {
		sets = append(sets, `name = ?`, `name_fold = ?`)
		args = append(args, *u.Name, fold(*u.Name))
	}
	args = append(args, id)

	var it *media.Item
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE media SET `+strings.Join(sets, `, `)+` WHERE id = ?`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errMediaNotFound(id)
		}
		if u.Tags != nil {
			if _, err := db.exec(ctx, tx, `DELETE FROM media_tags WHERE media_id = ?`, id); err != nil {
				return err
			}
			if err := db.insertTags(ctx, tx, id, normalizeTags(*u.Tags)); err != nil {
				return err
			}
		}
		it, err = db.findMedia(ctx, tx, id)
		return err
	})
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("update media: %w", err)
	}
	return it, nil
}

// DeleteMedia deletes the item and its tags. An unknown id is ENOTFOUND; an
// item that something still references (a playlist) is ECONFLICT.
func (db *DB) DeleteMedia(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.write, `DELETE FROM media WHERE id = ?`, id)
	if constraintViolation(err) == foreignKeyViolation {
		return marquee.WrapError(marquee.ECONFLICT, err, "media is used by a playlist")
	} else if err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete media: %w", err)
	} else if n == 0 {
		return errMediaNotFound(id)
	}
	return nil
}

// CountMediaBySHA256 counts the items whose bytes are the blob sha256.
func (db *DB) CountMediaBySHA256(ctx context.Context, sha256 string) (int, error) {
	var n int
	if err := db.queryRow(ctx, db.read, `SELECT count(*) FROM media WHERE sha256 = ?`, sha256).Scan(&n); err != nil {
		return 0, fmt.Errorf("count media by sha256: %w", err)
	}
	return n, nil
}

func errMediaNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "media %q not found", id)
}

// queryMedia runs a query selecting mediaColumns and returns its rows as
// items without tags: an empty slice, not nil, when there are none.
func (db *DB) queryMedia(ctx context.Context, q querier, query string, args ...any) ([]*media.Item, error) {
	rows, err := db.query(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []*media.Item{}
	for rows.Next() {
		it, err := scanMedia(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// scanMedia reads the mediaColumns of one row. Tags are left empty.
func scanMedia(row interface{ Scan(...any) error }) (*media.Item, error) {
	var (
		it                   media.Item
		kind                 string
		createdAt, updatedAt int64
	)
	err := row.Scan(&it.ID, &it.OrgID, &it.Name, &kind, &it.MIME, &it.SHA256, &it.Size, &it.Width,
		&it.Height, &it.DurationMS, &it.CreatedBy, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	it.Kind = media.Kind(kind)
	it.CreatedAt, it.UpdatedAt = fromMS(createdAt), fromMS(updatedAt)
	it.Tags = []string{}
	return &it, nil
}

// loadTags fills the tags of items with one query.
func (db *DB) loadTags(ctx context.Context, q querier, items []*media.Item) error {
	if len(items) == 0 {
		return nil
	}
	byID := make(map[string]*media.Item, len(items))
	args := make([]any, len(items))
	for i, it := range items {
		byID[it.ID] = it
		args[i] = it.ID
	}
	rows, err := db.query(ctx, q, `SELECT media_id, tag FROM media_tags WHERE media_id IN (`+placeholders(len(items))+`)`, args...)
	if err != nil {
		return fmt.Errorf("load tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return fmt.Errorf("load tags: %w", err)
		}
		if it := byID[id]; it != nil {
			it.Tags = append(it.Tags, tag)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load tags: %w", err)
	}
	// Sorted in Go: the same byte order in both dialects, whatever the
	// database collation.
	for _, it := range items {
		slices.Sort(it.Tags)
	}
	return nil
}

// insertTagsBatch bounds the rows of one INSERT, well inside SQLite's and
// PostgreSQL's limits on bound parameters.
const insertTagsBatch = 200

// insertTags inserts tags, which must be de-duplicated, for media id.
func (db *DB) insertTags(ctx context.Context, q querier, id string, tags []string) error {
	for len(tags) > 0 {
		n := min(len(tags), insertTagsBatch)
		values := make([]string, n)
		args := make([]any, 0, 2*n)
		for i, tag := range tags[:n] {
			values[i] = `(?, ?)`
			args = append(args, id, tag)
		}
		if _, err := db.exec(ctx, q, `INSERT INTO media_tags (media_id, tag) VALUES `+strings.Join(values, `, `), args...); err != nil {
			return fmt.Errorf("insert tags: %w", err)
		}
		tags = tags[n:]
	}
	return nil
}

// normalizeTags returns tags sorted and de-duplicated, never nil.
func normalizeTags(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// fold is the form of a name that NameContains searches: NFC (names from
// macOS file names arrive decomposed) and lower case, computed in Go so
// that Vietnamese matches the same way in both dialects (SQLite's LIKE
// folds ASCII only; PostgreSQL's depends on the database locale).
func fold(s string) string {
	return strings.ToLower(norm.NFC.String(s))
}

// escapeLike escapes s for a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func pageLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, marquee.Errorf(marquee.EINVALID, "limit must not be negative")
	case n == 0:
		return defaultMediaLimit, nil
	case n > maxMediaLimit:
		return maxMediaLimit, nil
	}
	return n, nil
}

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// decodeCursor returns the ID a cursor holds, or EINVALID.
func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !validID(string(b)) {
		return "", marquee.WrapError(marquee.EINVALID, err, "invalid cursor")
	}
	return string(b), nil
}

// validID reports whether s looks like a marquee.NewID result with an
// optional prefix: 1–64 bytes of lower-case letters, digits and _.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
