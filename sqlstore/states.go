package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

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
	var prune sql.NullInt64
	err := db.queryRow(ctx, db.read, `SELECT display_id, revision, hash, state_json, updated_at, next_prune_at, index_version
		FROM display_states WHERE display_id = ?`, displayID).Scan(&s.DisplayID, &s.Revision, &s.Hash, &doc, &updated, &prune, &s.IndexVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "display %q has no state yet", displayID)
	} else if err != nil {
		return nil, storeError("find display state", err)
	}
	s.JSON, s.UpdatedAt = []byte(doc), fromMS(updated)
	if prune.Valid {
		s.NextPruneAt = fromMS(prune.Int64)
	}
	return &s, nil
}

// SaveDisplayState stores s when the stored revision is still prevRevision
// (0: nothing stored yet); otherwise ECONFLICT, so two builders racing on one
// display cannot both claim a revision. (s.Revision may equal prevRevision:
// the same state saved again to record its index.) The state's references
// are replaced by s.Refs in the same transaction. An unknown display is
// ENOTFOUND.
func (db *DB) SaveDisplayState(ctx context.Context, s *desired.Stored, prevRevision int64) error {
	var prune sql.NullInt64
	if !s.NextPruneAt.IsZero() {
		prune = sql.NullInt64{Int64: toMS(s.NextPruneAt), Valid: true}
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if prevRevision == 0 {
			res, err = db.exec(ctx, tx, `INSERT INTO display_states (display_id, revision, hash, state_json, updated_at,
				next_prune_at, index_version)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (display_id) DO NOTHING`,
				s.DisplayID, s.Revision, s.Hash, string(s.JSON), toMS(s.UpdatedAt), prune, s.IndexVersion)
		} else {
			res, err = db.exec(ctx, tx, `UPDATE display_states SET revision = ?, hash = ?, state_json = ?, updated_at = ?,
				next_prune_at = ?, index_version = ?
				WHERE display_id = ? AND revision = ?`,
				s.Revision, s.Hash, string(s.JSON), toMS(s.UpdatedAt), prune, s.IndexVersion, s.DisplayID, prevRevision)
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
		if _, err := db.exec(ctx, tx, `DELETE FROM display_state_refs WHERE display_id = ?`, s.DisplayID); err != nil {
			return err
		}
		return db.insertPairs(ctx, tx, `display_state_refs (display_id, ref_id)`, s.DisplayID, normalizeTags(s.Refs))
	})
	if err != nil {
		return storeError("save display state", err)
	}
	return nil
}

// FindDisplaysReferencing returns the IDs of the displays whose stored state
// references any of refIDs (schedule, playlist or media IDs), sorted and
// each once: an empty slice when none do.
func (db *DB) FindDisplaysReferencing(ctx context.Context, refIDs ...string) ([]string, error) {
	set := map[string]bool{}
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		return db.selectPairs(ctx, tx, `SELECT DISTINCT display_id, display_id FROM display_state_refs WHERE ref_id IN `,
			normalizeTags(refIDs), func(id, _ string) { set[id] = true })
	})
	if err != nil {
		return nil, storeError("find displays referencing", err)
	}
	return sortedDisplayIDs(set), nil
}

// FindDisplaysDueForPruning returns the IDs of the displays whose stored
// state has a rule that expired at or before now (next_prune_at <= now),
// sorted: an empty slice when none has.
func (db *DB) FindDisplaysDueForPruning(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := db.query(ctx, db.read, `SELECT display_id FROM display_states
		WHERE next_prune_at IS NOT NULL AND next_prune_at <= ? ORDER BY display_id`, toMS(now))
	if err != nil {
		return nil, storeError("find displays due for pruning", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, storeError("find displays due for pruning", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("find displays due for pruning", err)
	}
	return ids, nil
}

// sortedDisplayIDs returns the keys of set in byte order (not the database's
// collation), as a non-nil slice.
func sortedDisplayIDs(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ desired.HistoryStore = (*DB)(nil)

// FindStateHistory returns, oldest first, the display's desired state in
// effect at from (the last saved at or before it, if any) and every state
// saved within (from, to), from display_state_history.
func (db *DB) FindStateHistory(ctx context.Context, displayID string, from, to time.Time) ([]desired.Past, error) {
	rows, err := db.query(ctx, db.read, `SELECT valid_from, revision, state_json FROM display_state_history
		WHERE display_id = ? AND valid_from > ? AND valid_from < ?
		UNION ALL
		SELECT valid_from, revision, state_json FROM (SELECT valid_from, revision, state_json FROM display_state_history
			WHERE display_id = ? AND valid_from <= ? ORDER BY valid_from DESC, revision DESC LIMIT 1) h
		ORDER BY 1, 2`, displayID, toMS(from), toMS(to), displayID, toMS(from))
	if err != nil {
		return nil, storeError("find state history", err)
	}
	defer rows.Close()
	var out []desired.Past
	for rows.Next() {
		var (
			at, rev int64
			doc     string
		)
		if err := rows.Scan(&at, &rev, &doc); err != nil {
			return nil, storeError("find state history", err)
		}
		out = append(out, desired.Past{ValidFrom: fromMS(at), JSON: []byte(doc)})
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("find state history", err)
	}
	return out, nil
}

// DeleteStateHistoryBefore deletes the recorded states that stopped being
// in effect before before: those with a later state of the same display
// saved at or before it (the state in effect at before is kept, since a
// period starting then is planned with it). It returns how many it deleted.
func (db *DB) DeleteStateHistoryBefore(ctx context.Context, before time.Time) (int64, error) {
	cutoff := toMS(before)
	res, err := db.exec(ctx, db.write, `DELETE FROM display_state_history WHERE valid_from < ? AND EXISTS (
		SELECT 1 FROM display_state_history n WHERE n.display_id = display_state_history.display_id
			AND n.valid_from <= ? AND n.revision > display_state_history.revision)`, cutoff, cutoff)
	if err != nil {
		return 0, storeError("delete state history", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, storeError("delete state history", err)
	}
	return n, nil
}
