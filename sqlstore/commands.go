package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/fleet"
)

const commandColumns = `id, display_id, type, args_json, issued_by, issued_at, status, error, finished_at`

// CreateCommand stores c. On success c holds what was stored: an empty ID
// is set to a new marquee.NewID("cmd_"), a zero IssuedAt to now, times are
// truncated to milliseconds in UTC and Args is non-nil. An unknown display
// is ENOTFOUND; a taken ID ECONFLICT.
func (db *DB) CreateCommand(ctx context.Context, c *fleet.Command) error {
	if c.ID == "" {
		c.ID = marquee.NewID("cmd_")
	}
	if c.Args == nil {
		c.Args = map[string]string{}
	}
	c.IssuedAt = db.stamp(c.IssuedAt)
	if c.FinishedAt != nil {
		t := db.stamp(*c.FinishedAt)
		c.FinishedAt = &t
	}
	args, err := json.Marshal(c.Args)
	if err != nil {
		return fmt.Errorf("encode command args: %w", err)
	}
	_, err = db.exec(ctx, db.write, `INSERT INTO commands (`+commandColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.DisplayID, c.Type, string(args), c.IssuedBy, toMS(c.IssuedAt), c.Status, c.Error, msPtr(c.FinishedAt))
	switch constraintViolation(err) {
	case foreignKeyViolation:
		return marquee.WrapError(marquee.ENOTFOUND, err, "display %q not found", c.DisplayID)
	case uniqueViolation:
		return marquee.WrapError(marquee.ECONFLICT, err, "a command with this ID already exists")
	}
	if err != nil {
		return fmt.Errorf("create command: %w", err)
	}
	return nil
}

// UpdateCommandStatus sets the status, error and finish time of command
// u.ID when it belongs to display u.DisplayID and its status is one of
// u.From (empty: any). It reports whether a command matched.
func (db *DB) UpdateCommandStatus(ctx context.Context, u fleet.CommandUpdate) (bool, error) {
	query := `UPDATE commands SET status = ?, error = ?, finished_at = ? WHERE id = ? AND display_id = ?`
	args := []any{u.Status, u.Error, msPtr(u.FinishedAt), u.ID, u.DisplayID}
	if len(u.From) > 0 {
		query += ` AND status IN (` + placeholders(len(u.From)) + `)`
		args = append(args, anys(u.From)...)
	}
	res, err := db.exec(ctx, db.write, query, args...)
	if err != nil {
		return false, fmt.Errorf("update command: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update command: %w", err)
	}
	return n > 0, nil
}

// FindCommandByID returns the command, or ENOTFOUND.
func (db *DB) FindCommandByID(ctx context.Context, id string) (*fleet.Command, error) {
	c, err := scanCommand(db.queryRow(ctx, db.read, `SELECT `+commandColumns+` FROM commands WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "command %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find command: %w", err)
	}
	return c, nil
}

// FindCommands returns one page of the commands of display displayID (an
// empty slice, not nil, when there are none), newest first, and the cursor
// of the next page, "" on the last. An unknown display is ENOTFOUND;
// limit and cursor follow FindMedia's rules.
func (db *DB) FindCommands(ctx context.Context, displayID string, limit int, cursor string) ([]*fleet.Command, string, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + commandColumns + ` FROM commands WHERE display_id = ?`
	args := []any{displayID}
	if cursor != "" {
		before, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		query += ` AND id < ?`
		args = append(args, before)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	cs := []*fleet.Command{}
	err = db.withReadTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkExists(ctx, tx, `displays`, displayID, errDisplayNotFound); err != nil {
			return err
		}
		rows, err := db.query(ctx, tx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCommand(rows)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", storeError("find commands", err)
	}
	next := ""
	if len(cs) > limit {
		cs = cs[:limit]
		next = encodeCursor(cs[limit-1].ID)
	}
	return cs, next, nil
}

// scanCommand reads the commandColumns of one row.
func scanCommand(row interface{ Scan(...any) error }) (*fleet.Command, error) {
	var (
		c        fleet.Command
		args     string
		issued   int64
		finished sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.DisplayID, &c.Type, &args, &c.IssuedBy, &issued, &c.Status, &c.Error, &finished)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(args), &c.Args); err != nil {
		return nil, fmt.Errorf("decode args of command %s: %w", c.ID, err)
	}
	if c.Args == nil {
		c.Args = map[string]string{}
	}
	c.IssuedAt = fromMS(issued)
	if finished.Valid {
		t := fromMS(finished.Int64)
		c.FinishedAt = &t
	}
	return &c, nil
}

// msPtr stores a nil time as NULL.
func msPtr(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMS(*t), Valid: true}
}
