package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
)

var _ desired.Store = (*DB)(nil)

// FindDisplayState returns the last state stored for the display, or
// ENOTFOUND when none was built yet.
func (db *DB) FindDisplayState(ctx context.Context, displayID string) (*desired.Stored, error) {
	var s desired.Stored
	var doc string
	var updated int64
	err := db.queryRow(ctx, db.read, `SELECT display_id, revision, hash, state_json, updated_at
		FROM display_states WHERE display_id = ?`, displayID).Scan(&s.DisplayID, &s.Revision, &s.Hash, &doc, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "display %q has no state yet", displayID)
	} else if err != nil {
		return nil, storeError("find display state", err)
	}
	s.JSON, s.UpdatedAt = []byte(doc), fromMS(updated)
	return &s, nil
}

// SaveDisplayState stores s when the stored revision is still prevRevision
// (0: nothing stored yet); otherwise ECONFLICT, so two builders racing on one
// display cannot both claim a revision. An unknown display is ENOTFOUND.
func (db *DB) SaveDisplayState(ctx context.Context, s *desired.Stored, prevRevision int64) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if prevRevision == 0 {
			res, err = db.exec(ctx, tx, `INSERT INTO display_states (display_id, revision, hash, state_json, updated_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (display_id) DO NOTHING`,
				s.DisplayID, s.Revision, s.Hash, string(s.JSON), toMS(s.UpdatedAt))
		} else {
			res, err = db.exec(ctx, tx, `UPDATE display_states SET revision = ?, hash = ?, state_json = ?, updated_at = ?
				WHERE display_id = ? AND revision = ?`,
				s.Revision, s.Hash, string(s.JSON), toMS(s.UpdatedAt), s.DisplayID, prevRevision)
		}
		if constraintViolation(err) == foreignKeyViolation {
			return marquee.WrapError(marquee.ENOTFOUND, err, "display %q not found", s.DisplayID)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return marquee.Errorf(marquee.ECONFLICT, "display %q state changed concurrently", s.DisplayID)
		}
		return nil
	})
	if err != nil {
		return storeError("save display state", err)
	}
	return nil
}
