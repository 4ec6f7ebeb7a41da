package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/orgs"
)

var _ orgs.Store = (*DB)(nil)

const orgColumns = `o.id, o.parent_id, o.name, o.path, o.created_at`

// pathWithin is the condition "organisation path a is path b or below it"
// (a and b are SQL expressions). Paths end in '/', so "starts with b" is the
// range [b, b without its last '/' followed by '0'): '0' is the byte after
// '/', and no ID holds a '/'. A range, unlike LIKE (whose '_' is a wildcard
// and which PostgreSQL indexes only with special operator classes), is
// served by the index on path in both dialects.
func pathWithin(a, b string) string {
	return a + ` >= ` + b + ` AND ` + a + ` < substr(` + b + `, 1, length(` + b + `) - 1) || '0'`
}

// inSubtree returns the condition "column col names organisation ? or an
// organisation below it"; it takes the organisation ID as its one argument.
// col is a constant of the caller's, never input.
func inSubtree(col string) string {
	return col + ` IN (SELECT sub.id FROM organisations sub JOIN organisations top ON top.id = ?
		WHERE ` + pathWithin(`sub.path`, `top.path`) + `)`
}

// onBranch returns the condition "organisations whose paths are a and b are
// one, or one is above the other": the organisations whose content an object
// of the other may use (content flows down the tree and is shared up it;
// siblings and cousins share nothing). a and b are SQL expressions.
func onBranch(a, b string) string {
	return `(substr(` + a + `, 1, length(` + b + `)) = ` + b + ` OR substr(` + b + `, 1, length(` + a + `)) = ` + a + `)`
}

// CreateOrganisation inserts o under o.ParentID in one transaction. On
// success o holds what was stored: an empty ID is set to a new
// marquee.NewID("org_"), Path to the parent's path followed by the ID and a
// '/', and CreatedAt (now when zero) truncated to milliseconds in UTC. A
// parent that does not exist is EINVALID; a taken ID ECONFLICT.
func (db *DB) CreateOrganisation(ctx context.Context, o *orgs.Organisation) error {
	if o.ID == "" {
		o.ID = marquee.NewID("org_")
	}
	if strings.Contains(o.ID, "/") {
		return marquee.Errorf(marquee.EINVALID, "organisation ID %q must not contain '/'", o.ID)
	}
	o.CreatedAt = db.stamp(o.CreatedAt)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var parentPath string
		err := db.queryRow(ctx, tx, `SELECT path FROM organisations WHERE id = ?`, o.ParentID).Scan(&parentPath)
		if errors.Is(err, sql.ErrNoRows) {
			return marquee.Errorf(marquee.EINVALID, "parent organisation %q does not exist", o.ParentID)
		} else if err != nil {
			return err
		}
		o.Path = parentPath + o.ID + "/"
		_, err = db.exec(ctx, tx, `INSERT INTO organisations (id, parent_id, name, path, created_at)
			VALUES (?, ?, ?, ?, ?)`, o.ID, o.ParentID, o.Name, o.Path, toMS(o.CreatedAt))
		return err
	})
	switch constraintViolation(err) {
	case uniqueViolation:
		return marquee.WrapError(marquee.ECONFLICT, err, "organisation %q already exists", o.ID)
	case foreignKeyViolation:
		// The parent was read in the transaction; only a concurrent
		// delete gets here.
		return marquee.WrapError(marquee.EINVALID, err, "parent organisation %q does not exist", o.ParentID)
	}
	if err != nil {
		return storeError("create organisation", err)
	}
	return nil
}

// FindOrganisationByID returns the organisation, or ENOTFOUND.
func (db *DB) FindOrganisationByID(ctx context.Context, id string) (*orgs.Organisation, error) {
	o, err := scanOrganisation(db.queryRow(ctx, db.read, `SELECT `+orgColumns+` FROM organisations o WHERE o.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errOrganisationNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find organisation: %w", err)
	}
	return o, nil
}

// FindOrganisations returns organisation id and every organisation below
// it, ordered by path: each organisation before those below it, siblings by
// ID (that is, by creation). An unknown id is ENOTFOUND.
func (db *DB) FindOrganisations(ctx context.Context, id string) ([]*orgs.Organisation, error) {
	rows, err := db.query(ctx, db.read, `SELECT `+orgColumns+` FROM organisations o
		JOIN organisations top ON top.id = ? WHERE `+pathWithin(`o.path`, `top.path`)+` ORDER BY o.path`, id)
	if err != nil {
		return nil, fmt.Errorf("find organisations: %w", err)
	}
	defer rows.Close()
	var out []*orgs.Organisation
	for rows.Next() {
		o, err := scanOrganisation(rows)
		if err != nil {
			return nil, fmt.Errorf("find organisations: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find organisations: %w", err)
	}
	if len(out) == 0 {
		return nil, errOrganisationNotFound(id)
	}
	return out, nil
}

// RenameOrganisation sets the name of organisation id and returns it. An
// unknown id is ENOTFOUND.
func (db *DB) RenameOrganisation(ctx context.Context, id, name string) (*orgs.Organisation, error) {
	var out *orgs.Organisation
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE organisations SET name = ? WHERE id = ?`, name, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errOrganisationNotFound(id)
		}
		out, err = scanOrganisation(db.queryRow(ctx, tx, `SELECT `+orgColumns+` FROM organisations o WHERE o.id = ?`, id))
		return err
	})
	if err != nil {
		return nil, storeError("rename organisation", err)
	}
	return out, nil
}

// orgContents counts what belongs to one organisation, in the order of
// orgContentNames; the organisation ID is its every argument.
const orgContents = `SELECT
	(SELECT count(*) FROM organisations WHERE parent_id = ?),
	(SELECT count(*) FROM users WHERE org_id = ?),
	(SELECT count(*) FROM media WHERE org_id = ?),
	(SELECT count(*) FROM playlists WHERE org_id = ?),
	(SELECT count(*) FROM displays WHERE org_id = ?),
	(SELECT count(*) FROM schedules WHERE org_id = ?)`

var orgContentNames = []string{"organisations below it", "users", "media items", "playlists", "displays", "schedules"}

// DeleteOrganisation deletes organisation id when nothing belongs to it: no
// organisation below it, no user, media item, playlist, display or schedule
// (ECONFLICT otherwise, saying what is left). Rows that reference
// organisations from other features (say, the audit log) make the delete a
// conflict too. An unknown id is ENOTFOUND.
func (db *DB) DeleteOrganisation(ctx context.Context, id string) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		counts := make([]int64, len(orgContentNames))
		dest := make([]any, len(counts))
		args := make([]any, len(counts))
		for i := range counts {
			dest[i], args[i] = &counts[i], id
		}
		if err := db.queryRow(ctx, tx, orgContents, args...).Scan(dest...); err != nil {
			return err
		}
		var left []string
		for i, n := range counts {
			if n > 0 {
				left = append(left, fmt.Sprintf("%d %s", n, orgContentNames[i]))
			}
		}
		if len(left) > 0 {
			return marquee.Errorf(marquee.ECONFLICT, "organisation %q still has %s; delete them first", id, strings.Join(left, ", "))
		}
		res, err := db.exec(ctx, tx, `DELETE FROM organisations WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errOrganisationNotFound(id)
		}
		return nil
	})
	if constraintViolation(err) == foreignKeyViolation {
		return marquee.WrapError(marquee.ECONFLICT, err, "organisation %q is still referenced", id)
	} else if err != nil {
		return storeError("delete organisation", err)
	}
	return nil
}

func errOrganisationNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "organisation %q not found", id)
}

// scanOrganisation reads the orgColumns of one row.
func scanOrganisation(row interface{ Scan(...any) error }) (*orgs.Organisation, error) {
	var (
		o         orgs.Organisation
		parent    sql.NullString
		createdAt int64
	)
	if err := row.Scan(&o.ID, &parent, &o.Name, &o.Path, &createdAt); err != nil {
		return nil, err
	}
	o.ParentID, o.CreatedAt = parent.String, fromMS(createdAt)
	return &o, nil
}

// selectColumn runs query, which selects one text column, and calls fn with
// each row's value.
func (db *DB) selectColumn(ctx context.Context, q querier, query string, args []any, fn func(string)) error {
	rows, err := db.query(ctx, q, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		fn(v)
	}
	return rows.Err()
}
