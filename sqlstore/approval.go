package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/schedules"
)

// Schedule approval (see migrations/*/0009_approval.sql).
//
// A schedules row is the working copy; approved_schedules holds the
// approved version, with its own targets and the media of its pinned
// playlist revision. Approving copies the working copy, inside the
// transaction that changes the approval, with the playlist row locked so
// that the revision pinned is the one the caller saw. The desired-state
// queries (FindLiveSchedulesForDisplay, FindLiveSchedulesReaching) reach
// displays through the approved targets only.

var _ desired.SchedulesFinder = (*DB)(nil)

// ChangeScheduleApproval changes the approval of schedule id in one
// transaction (schedules.Store): it locks the schedule's row and its
// playlist's (PostgreSQL: SELECT … FOR UPDATE; SQLite: the write lock), reads
// the schedule with its playlist's current revision, and calls decide. When
// decide fails nothing is written and its error is returned as is;
// otherwise its approval is stored and, when it approves, the working copy
// becomes the approved version. An unknown id is ENOTFOUND.
func (db *DB) ChangeScheduleApproval(ctx context.Context, id string,
	decide func(sc *schedules.Schedule) (schedules.Approval, bool, error)) (*schedules.Schedule, error) {
	var out *schedules.Schedule
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, _, err := db.lockScheduleAndPlaylist(ctx, tx, id); err != nil {
			return err
		}
		sc, err := db.findSchedule(ctx, tx, id)
		if err != nil {
			return err
		}
		a, approve, err := decide(sc)
		if err != nil {
			return err
		}
		if err := db.setApproval(ctx, tx, id, a); err != nil {
			return err
		}
		if approve {
			if err := db.approveWorkingCopy(ctx, tx, id, a); err != nil {
				return err
			}
		}
		out, err = db.findSchedule(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, storeError("change schedule approval", err)
	}
	return out, nil
}

// lockScheduleAndPlaylist locks schedule id and the playlist its working
// copy names until the transaction ends, and returns that playlist and its
// current revision. An unknown schedule is ENOTFOUND. Every transaction
// that locks both locks the schedule first (UpdateSchedule writes its row
// before it approves), so two cannot deadlock; UpdatePlaylist locks only
// the playlist.
func (db *DB) lockScheduleAndPlaylist(ctx context.Context, q querier, id string) (playlistID string, rev int64, err error) {
	err = db.queryRow(ctx, q, `SELECT playlist_id FROM schedules WHERE id = ?`+db.d.forUpdate, id).Scan(&playlistID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, errScheduleNotFound(id)
	} else if err != nil {
		return "", 0, fmt.Errorf("lock schedule: %w", err)
	}
	err = db.queryRow(ctx, q, `SELECT current_revision FROM playlists WHERE id = ?`+db.d.forUpdate, playlistID).Scan(&rev)
	if err != nil {
		// The schedule's foreign key keeps its playlist.
		return "", 0, fmt.Errorf("lock playlist: %w", err)
	}
	return playlistID, rev, nil
}

// setApproval stores the status, reason, submission and decision of a.
func (db *DB) setApproval(ctx context.Context, q querier, id string, a schedules.Approval) error {
	a = storedApproval(a)
	_, err := db.exec(ctx, q, `UPDATE schedules SET approval_status = ?, approval_reason = ?, submitted_by = ?,
		submitted_at = ?, submitted_revision = ?, decided_by = ?, decided_at = ? WHERE id = ?`,
		a.Status, a.Reason, a.SubmittedBy, msPtr(a.SubmittedAt), a.SubmittedRevision, a.DecidedBy, msPtr(a.DecidedAt), id)
	if err != nil {
		return fmt.Errorf("set approval: %w", err)
	}
	return nil
}

// approveWorkingCopy makes the stored working copy of schedule id, with its
// playlist's current revision, the schedule's approved version, approved by
// a.DecidedBy at a.DecidedAt (nil: now), in place of the one before. It
// locks the schedule and the playlist first (a no-op when the caller did).
func (db *DB) approveWorkingCopy(ctx context.Context, q querier, id string, a schedules.Approval) error {
	playlistID, rev, err := db.lockScheduleAndPlaylist(ctx, q, id)
	if err != nil {
		return err
	}
	at := db.stamp(time.Time{})
	if a.DecidedAt != nil {
		at = db.stamp(*a.DecidedAt)
	}
	steps := []struct {
		what, query string
		args        []any
	}{
		{"drop the previous approved version", `DELETE FROM approved_schedules WHERE schedule_id = ?`, []any{id}},
		{"copy the working copy", `INSERT INTO approved_schedules (schedule_id, name, playlist_id, playlist_revision,
			cron, duration_ms, starts_on, ends_on, priority, timezone, approved_by, approved_at)
			SELECT id, name, playlist_id, ?, cron, duration_ms, starts_on, ends_on, priority, timezone, ?, ?
			FROM schedules WHERE id = ?`, []any{rev, a.DecidedBy, toMS(at), id}},
		{"copy its displays", `INSERT INTO approved_schedule_displays (schedule_id, display_id)
			SELECT schedule_id, display_id FROM schedule_displays WHERE schedule_id = ?`, []any{id}},
		{"copy its tags", `INSERT INTO approved_schedule_tags (schedule_id, tag)
			SELECT schedule_id, tag FROM schedule_tags WHERE schedule_id = ?`, []any{id}},
		// playlist_media holds the current revision's media: the pinned
		// revision's, since the playlist is locked.
		{"record its media", `INSERT INTO approved_schedule_media (schedule_id, media_id)
			SELECT ?, media_id FROM playlist_media WHERE playlist_id = ?`, []any{id, playlistID}},
	}
	for _, st := range steps {
		if _, err := db.exec(ctx, q, st.query, st.args...); err != nil {
			return fmt.Errorf("approve schedule: %s: %w", st.what, err)
		}
	}
	return nil
}

// FindLiveSchedulesForDisplay returns the schedules whose approved version
// reaches display id — by its ID or through any of its tags, from the
// display's organisation or one above it — with their approved versions,
// ordered by ID (an empty slice when none): what plays on the display. An
// unknown display is ENOTFOUND.
func (db *DB) FindLiveSchedulesForDisplay(ctx context.Context, displayID string) ([]*schedules.Schedule, error) {
	var scs []*schedules.Schedule
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkExists(ctx, tx, `displays`, displayID, errDisplayNotFound); err != nil {
			return err
		}
		var err error
		scs, err = db.querySchedules(ctx, tx, `SELECT `+scheduleColumns+` FROM schedules s WHERE s.id IN (`+
			reachingBy(approvedTargets, `x.schedule_id`, `(?)`)+`) ORDER BY s.id`, displayID, displayID)
		if err != nil {
			return err
		}
		return db.complete(ctx, tx, scs)
	})
	if err != nil {
		return nil, storeError("find live schedules for display", err)
	}
	return scs, nil
}

// FindLiveSchedulesReaching returns, for each of the displays, the schedules
// whose approved version reaches it, with their approved versions, ordered
// by ID: for each display exactly what FindLiveSchedulesForDisplay returns.
// A display that nothing reaches, or that does not exist, has no entry; a
// schedule that reaches several of the displays is one *Schedule shared by
// their entries.
func (db *DB) FindLiveSchedulesReaching(ctx context.Context, displayIDs []string) (map[string][]*schedules.Schedule, error) {
	return db.findSchedulesReaching(ctx, approvedTargets, displayIDs)
}

// loadApproved sets the approved version of each of scs that has one: one
// query per batch of IDs, and two more for the versions' targets.
func (db *DB) loadApproved(ctx context.Context, q querier, scs []*schedules.Schedule) error {
	byID := make(map[string]*schedules.Schedule, len(scs))
	ids := make([]string, len(scs))
	for i, s := range scs {
		s.Approval.Approved = nil
		byID[s.ID], ids[i] = s, s.ID
	}
	var approved []string
	for rest := ids; len(rest) > 0; rest = rest[min(len(rest), idBatch):] {
		batch := rest[:min(len(rest), idBatch)]
		rows, err := db.query(ctx, q, `SELECT schedule_id, name, playlist_id, playlist_revision, cron, duration_ms,
			starts_on, ends_on, priority, timezone, approved_by, approved_at
			FROM approved_schedules WHERE schedule_id IN (`+placeholders(len(batch))+`)`, anys(batch)...)
		if err != nil {
			return fmt.Errorf("load approved versions: %w", err)
		}
		for rows.Next() {
			var (
				id               string
				v                schedules.Version
				durationMS, at   int64
				startsOn, endsOn sql.NullString
				priority         string
			)
			if err := rows.Scan(&id, &v.Name, &v.PlaylistID, &v.PlaylistRevision, &v.Cron, &durationMS,
				&startsOn, &endsOn, &priority, &v.Timezone, &v.ApprovedBy, &at); err != nil {
				rows.Close()
				return fmt.Errorf("load approved versions: %w", err)
			}
			v.Duration = schedules.Duration(time.Duration(durationMS) * time.Millisecond)
			v.StartsOn, v.EndsOn = startsOn.String, endsOn.String
			v.Priority = marquee.Layer(priority)
			v.ApprovedAt = fromMS(at)
			v.Targets = schedules.Targets{DisplayIDs: []string{}, Tags: []string{}}
			if s := byID[id]; s != nil {
				s.Approval.Approved = &v
				approved = append(approved, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load approved versions: %w", err)
		}
	}
	if len(approved) == 0 {
		return nil
	}
	err := db.selectPairs(ctx, q, `SELECT schedule_id, display_id FROM approved_schedule_displays WHERE schedule_id IN `, approved,
		func(id, displayID string) {
			v := byID[id].Approval.Approved
			v.Targets.DisplayIDs = append(v.Targets.DisplayIDs, displayID)
		})
	if err != nil {
		return fmt.Errorf("load approved displays: %w", err)
	}
	err = db.selectPairs(ctx, q, `SELECT schedule_id, tag FROM approved_schedule_tags WHERE schedule_id IN `, approved,
		func(id, tag string) {
			v := byID[id].Approval.Approved
			v.Targets.Tags = append(v.Targets.Tags, tag)
		})
	if err != nil {
		return fmt.Errorf("load approved tags: %w", err)
	}
	for _, id := range approved {
		v := byID[id].Approval.Approved
		slices.Sort(v.Targets.DisplayIDs)
		slices.Sort(v.Targets.Tags)
	}
	return nil
}

// storedApproval returns what the store keeps of a: the status ("" is
// StatusDraft), reason, submission and decision, times in milliseconds.
func storedApproval(a schedules.Approval) schedules.Approval {
	if a.Status == "" {
		a.Status = schedules.StatusDraft
	}
	return schedules.Approval{Status: a.Status, Reason: a.Reason,
		SubmittedBy: a.SubmittedBy, SubmittedAt: stampPtr(a.SubmittedAt), SubmittedRevision: a.SubmittedRevision,
		DecidedBy: a.DecidedBy, DecidedAt: stampPtr(a.DecidedAt)}
}

// nullableTime reads a nullable time (msPtr writes one).
func nullableTime(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMS(ms.Int64)
	return &t
}
