package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
)

var (
	_ desired.StatesFinder = (*DB)(nil)
	_ desired.StatesSaver  = (*DB)(nil)
)

// FindDisplayStates returns the stored state of each of displayIDs that has
// one, keyed by display ID (Refs nil), idBatch IDs per query in one read
// transaction.
func (db *DB) FindDisplayStates(ctx context.Context, displayIDs []string) (map[string]*desired.Stored, error) {
	ids := normalizeTags(displayIDs)
	out := make(map[string]*desired.Stored, len(ids))
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		for rest := ids; len(rest) > 0; rest = rest[min(len(rest), idBatch):] {
			batch := rest[:min(len(rest), idBatch)]
			rows, err := db.query(ctx, tx, `SELECT display_id, revision, hash, state_json, updated_at, next_prune_at, index_version
				FROM display_states WHERE display_id IN (`+placeholders(len(batch))+`)`, anys(batch)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var s desired.Stored
				var doc string
				var updated int64
				var prune sql.NullInt64
				if err := rows.Scan(&s.DisplayID, &s.Revision, &s.Hash, &doc, &updated, &prune, &s.IndexVersion); err != nil {
					rows.Close()
					return err
				}
				s.JSON, s.UpdatedAt = []byte(doc), fromMS(updated)
				if prune.Valid {
					s.NextPruneAt = fromMS(prune.Int64)
				}
				out[s.DisplayID] = &s
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, storeError("find display states", err)
	}
	return out, nil
}

// SaveDisplayStates saves each of saves as SaveDisplayState would, in one
// transaction: errs[i] is nil, ECONFLICT (the stored revision is not
// saves[i].PrevRevision) or ENOTFOUND (no such display) for saves[i], and
// one state's failure does not undo the others. No statement may fail
// inside the transaction (PostgreSQL would abort it), so a missing display
// is detected rather than left to the foreign key. The references of the
// saved states are replaced with two statements per idBatch displays.
func (db *DB) SaveDisplayStates(ctx context.Context, saves []desired.StateSave) ([]error, error) {
	errs := make([]error, len(saves))
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		clear(errs)
		var done []*desired.Stored
		for i, sv := range saves {
			s := sv.State
			var prune sql.NullInt64
			if !s.NextPruneAt.IsZero() {
				prune = sql.NullInt64{Int64: toMS(s.NextPruneAt), Valid: true}
			}
			var res sql.Result
			var err error
			if sv.PrevRevision == 0 {
				res, err = db.exec(ctx, tx, `INSERT INTO display_states (display_id, revision, hash, state_json, updated_at,
					next_prune_at, index_version)
					SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM displays WHERE id = ?)
					ON CONFLICT (display_id) DO NOTHING`,
					s.DisplayID, s.Revision, s.Hash, string(s.JSON), toMS(s.UpdatedAt), prune, s.IndexVersion, s.DisplayID)
			} else {
				res, err = db.exec(ctx, tx, `UPDATE display_states SET revision = ?, hash = ?, state_json = ?, updated_at = ?,
					next_prune_at = ?, index_version = ?
					WHERE display_id = ? AND revision = ?`,
					s.Revision, s.Hash, string(s.JSON), toMS(s.UpdatedAt), prune, s.IndexVersion, s.DisplayID, sv.PrevRevision)
			}
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				done = append(done, s)
				continue
			}
			errs[i] = marquee.Errorf(marquee.ECONFLICT, "display %q state changed concurrently", s.DisplayID)
			if sv.PrevRevision == 0 {
				var exists int
				if err := db.queryRow(ctx, tx, `SELECT count(*) FROM displays WHERE id = ?`, s.DisplayID).Scan(&exists); err != nil {
					return err
				}
				if exists == 0 {
					errs[i] = marquee.Errorf(marquee.ENOTFOUND, "display %q not found", s.DisplayID)
				}
			}
		}
		return db.replaceStateRefs(ctx, tx, done)
	})
	if err != nil {
		return nil, storeError("save display states", err)
	}
	return errs, nil
}

// replaceStateRefs replaces the references of the states with their Refs.
func (db *DB) replaceStateRefs(ctx context.Context, tx *sql.Tx, states []*desired.Stored) error {
	for rest := states; len(rest) > 0; rest = rest[min(len(rest), idBatch):] {
		batch := rest[:min(len(rest), idBatch)]
		ids := make([]any, len(batch))
		for i, s := range batch {
			ids[i] = s.DisplayID
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM display_state_refs WHERE display_id IN (`+placeholders(len(ids))+`)`, ids...); err != nil {
			return err
		}
	}
	var rows []string
	var args []any
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		_, err := db.exec(ctx, tx, `INSERT INTO display_state_refs (display_id, ref_id) VALUES `+strings.Join(rows, `, `), args...)
		rows, args = rows[:0], args[:0]
		return err
	}
	for _, s := range states {
		for _, ref := range normalizeTags(s.Refs) {
			rows = append(rows, `(?, ?)`)
			args = append(args, s.DisplayID, ref)
			if len(rows) == insertTagsBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}
