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
	"github.com/marquee-signage/marquee/schedules"
)

var _ schedules.Store = (*DB)(nil)

// scheduleColumns select a schedule's working copy, its approval and its
// playlist's current revision; its targets and approved version are loaded
// after (complete).
const scheduleColumns = `s.id, s.org_id, s.name, s.playlist_id, s.cron, s.duration_ms, s.starts_on,
	s.ends_on, s.priority, s.timezone, s.created_at, s.updated_at,
	s.approval_status, s.approval_reason, s.submitted_by, s.submitted_at, s.submitted_revision,
	s.decided_by, s.decided_at,
	(SELECT sp.current_revision FROM playlists sp WHERE sp.id = s.playlist_id)`

// targetTables names the two tables of a set of schedule targets: the
// working copies' (schedule_displays, schedule_tags) or the approved
// versions' (approved_schedule_displays, approved_schedule_tags).
type targetTables struct{ displays, tags string }

var (
	workingTargets  = targetTables{`schedule_displays`, `schedule_tags`}
	approvedTargets = targetTables{`approved_schedule_displays`, `approved_schedule_tags`}
)

// reaching returns a query selecting sel (columns of x: x.display_id,
// x.schedule_id) from the pairs in which a schedule's working copy reaches
// a display of the list in (see reachingBy).
func reaching(sel, in string) string {
	return reachingBy(workingTargets, sel, in)
}

// reachingBy returns a query selecting sel (columns of x: x.display_id,
// x.schedule_id) from the pairs in which a schedule reaches a display of the
// list in ("(?, ?)", bound twice, once per route) through the targets in t:
// the schedule names the display or shares a tag with it, and the display
// belongs to the schedule's organisation or one below it. The last
// condition is what keeps a commune's "airport" schedule off the province's
// airport screens; a schedule of the province reaches the communes'
// displays. Through approvedTargets, only schedules with an approved
// version reach anything: what plays.
func reachingBy(t targetTables, sel, in string) string {
	return `SELECT ` + sel + ` FROM (
		SELECT sd.display_id, sd.schedule_id FROM ` + t.displays + ` sd WHERE sd.display_id IN ` + in + `
		UNION
		SELECT dt.display_id, st.schedule_id FROM display_tags dt JOIN ` + t.tags + ` st ON st.tag = dt.tag
		WHERE dt.display_id IN ` + in + `) x
	JOIN displays xd ON xd.id = x.display_id JOIN organisations xdo ON xdo.id = xd.org_id
	JOIN schedules xs ON xs.id = x.schedule_id JOIN organisations xso ON xso.id = xs.org_id
	WHERE ` + pathWithin(`xdo.path`, `xso.path`)
}

// reachesDisplay is the condition "schedule s reaches display ?" (see
// reaching). It takes the display ID twice.
var reachesDisplay = `s.id IN (` + reaching(`x.schedule_id`, `(?)`) + `)`

// CreateSchedule inserts s and its targets in one transaction. On success
// s holds what was stored: an empty ID is set to a new
// marquee.NewID("sch_"), a zero CreatedAt to now and a zero UpdatedAt to
// CreatedAt, times are truncated to milliseconds in UTC, and both target
// lists are sorted, de-duplicated and non-nil. An unknown OrgID, a
// playlist that does not exist in s's organisation, one above it or one
// below it, or a display that does not exist in s's organisation or one
// below it, is EINVALID naming it; a taken ID is ECONFLICT.
//
// s.Approval's status ("" is StatusDraft), reason, submission and decision
// are stored with it; when the status is StatusApproved the schedule is
// approved in the same transaction (its approved version is what was
// stored, with its playlist's current revision), and s.Approval is
// completed with it.
func (db *DB) CreateSchedule(ctx context.Context, s *schedules.Schedule) error {
	if s.ID == "" {
		s.ID = marquee.NewID("sch_")
	}
	s.CreatedAt = db.stamp(s.CreatedAt)
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.CreatedAt
	} else {
		s.UpdatedAt = db.stamp(s.UpdatedAt)
	}
	s.Targets = normalizeTargets(s.Targets)
	a := storedApproval(s.Approval)

	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkScheduleRefs(ctx, tx, s); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `INSERT INTO schedules (id, org_id, name, name_fold, playlist_id, cron,
			duration_ms, starts_on, ends_on, priority, timezone, created_at, updated_at,
			approval_status, approval_reason, submitted_by, submitted_at, submitted_revision, decided_by, decided_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.OrgID, s.Name, fold(s.Name), s.PlaylistID, s.Cron, time.Duration(s.Duration).Milliseconds(),
			nullString(s.StartsOn), nullString(s.EndsOn), string(s.Priority), s.Timezone,
			toMS(s.CreatedAt), toMS(s.UpdatedAt),
			a.Status, a.Reason, a.SubmittedBy, msPtr(a.SubmittedAt), a.SubmittedRevision, a.DecidedBy, msPtr(a.DecidedAt))
		if err != nil {
			return err
		}
		if err := db.insertTargets(ctx, tx, s.ID, s.Targets); err != nil {
			return err
		}
		if a.Status == schedules.StatusApproved {
			if err := db.approveWorkingCopy(ctx, tx, s.ID, a); err != nil {
				return err
			}
		}
		stored, err := db.findSchedule(ctx, tx, s.ID)
		if err != nil {
			return err
		}
		*s = *stored
		return nil
	})
	switch constraintViolation(err) {
	case uniqueViolation:
		return marquee.WrapError(marquee.ECONFLICT, err, "schedule %q already exists", s.ID)
	case foreignKeyViolation:
		// Playlist and displays were checked in the transaction.
		return marquee.WrapError(marquee.EINVALID, err, "organisation %q does not exist", s.OrgID)
	}
	if err != nil {
		return storeError("create schedule", err)
	}
	return nil
}

// FindScheduleByID returns the schedule with its targets, or ENOTFOUND.
func (db *DB) FindScheduleByID(ctx context.Context, id string) (*schedules.Schedule, error) {
	var s *schedules.Schedule
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = db.findSchedule(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// findSchedule reads one schedule and its targets through q.
func (db *DB) findSchedule(ctx context.Context, q querier, id string) (*schedules.Schedule, error) {
	s, err := scanSchedule(db.queryRow(ctx, q, `SELECT `+scheduleColumns+` FROM schedules s WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errScheduleNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find schedule: %w", err)
	}
	if err := db.complete(ctx, q, []*schedules.Schedule{s}); err != nil {
		return nil, err
	}
	return s, nil
}

// FindSchedules returns one page of schedules matching f (an empty slice,
// not nil, when none do), newest first, and the cursor of the next page, ""
// on the last. f.DisplayID keeps the schedules that reach that display by
// its ID or a tag. Limits and cursors follow FindMedia's rules.
func (db *DB) FindSchedules(ctx context.Context, f schedules.Filter) ([]*schedules.Schedule, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var (
		from  = `schedules s`
		key   = `s.id`
		where []string
		args  []any
	)
	if f.Tag != "" {
		from += ` JOIN schedule_tags t ON t.schedule_id = s.id AND t.tag = ?`
		key = `t.schedule_id`
		args = append(args, f.Tag)
	}
	if f.DisplayID != "" {
		where = append(where, reachesDisplay)
		args = append(args, f.DisplayID, f.DisplayID)
	}
	if f.Within != "" {
		where = append(where, inSubtree(`s.org_id`))
		args = append(args, f.Within)
	}
	if f.PlaylistID != "" {
		// The working copy's playlist, or the approved version's: both
		// keep the playlist from being deleted.
		where = append(where, `(s.playlist_id = ? OR s.id IN (SELECT ap.schedule_id FROM approved_schedules ap WHERE ap.playlist_id = ?))`)
		args = append(args, f.PlaylistID, f.PlaylistID)
	}
	if f.Approval != "" {
		where = append(where, `s.approval_status = ?`)
		args = append(args, f.Approval)
	}
	if f.Priority != "" {
		where = append(where, `s.priority = ?`)
		args = append(args, string(f.Priority))
	}
	if f.NameContains != "" {
		where = append(where, `s.name_fold LIKE ? ESCAPE '\'`)
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
	query := `SELECT ` + scheduleColumns + ` FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + key + ` DESC LIMIT ?`
	args = append(args, limit+1)

	var (
		scs  []*schedules.Schedule
		more bool
	)
	err = db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		if scs, err = db.querySchedules(ctx, tx, query, args...); err != nil {
			return err
		}
		if more = len(scs) > limit; more {
			scs = scs[:limit]
		}
		return db.complete(ctx, tx, scs)
	})
	if err != nil {
		return nil, "", fmt.Errorf("find schedules: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor(scs[len(scs)-1].ID)
	}
	return scs, next, nil
}

// UpdateSchedule replaces every field of schedule s.ID's working copy
// except OrgID and CreatedAt, targets included, and sets updated_at to
// s.UpdatedAt (zero: now), in one transaction; it returns the stored
// schedule. An unknown ID is ENOTFOUND; a playlist or display that the
// schedule's organisation may not use is EINVALID, as for CreateSchedule.
//
// The approval is left as it is when s.Approval.Status is ""; otherwise it
// is replaced, and a StatusApproved approves the new working copy, as for
// CreateSchedule.
func (db *DB) UpdateSchedule(ctx context.Context, s *schedules.Schedule) (*schedules.Schedule, error) {
	targets := normalizeTargets(s.Targets)
	var out *schedules.Schedule
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		orgID, err := db.findOrgOf(ctx, tx, `schedules`, s.ID, errScheduleNotFound)
		if err != nil {
			return err
		}
		owned := *s
		owned.OrgID = orgID // the stored owner, whatever s says
		if err := db.checkScheduleRefs(ctx, tx, &owned); err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, `UPDATE schedules SET name = ?, name_fold = ?, playlist_id = ?, cron = ?,
			duration_ms = ?, starts_on = ?, ends_on = ?, priority = ?, timezone = ?, updated_at = ?
			WHERE id = ?`,
			s.Name, fold(s.Name), s.PlaylistID, s.Cron, time.Duration(s.Duration).Milliseconds(),
			nullString(s.StartsOn), nullString(s.EndsOn), string(s.Priority), s.Timezone,
			toMS(db.stamp(s.UpdatedAt)), s.ID)
		if err != nil {
			return err
		}
		for _, table := range []string{`schedule_displays`, `schedule_tags`} {
			if _, err := db.exec(ctx, tx, `DELETE FROM `+table+` WHERE schedule_id = ?`, s.ID); err != nil {
				return err
			}
		}
		if err := db.insertTargets(ctx, tx, s.ID, targets); err != nil {
			return err
		}
		if s.Approval.Status != "" {
			if err := db.setApproval(ctx, tx, s.ID, s.Approval); err != nil {
				return err
			}
			if s.Approval.Status == schedules.StatusApproved {
				if err := db.approveWorkingCopy(ctx, tx, s.ID, s.Approval); err != nil {
					return err
				}
			}
		}
		out, err = db.findSchedule(ctx, tx, s.ID)
		return err
	})
	if constraintViolation(err) == foreignKeyViolation {
		// Checked in the transaction; only a concurrent delete gets here.
		return nil, marquee.WrapError(marquee.EINVALID, err, "the playlist or a display of the schedule does not exist")
	} else if err != nil {
		return nil, storeError("update schedule", err)
	}
	return out, nil
}

// DeleteSchedule deletes the schedule and its targets. An unknown id is
// ENOTFOUND.
func (db *DB) DeleteSchedule(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.write, `DELETE FROM schedules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	} else if n == 0 {
		return errScheduleNotFound(id)
	}
	return nil
}

// CheckScheduleReferences returns EINVALID, naming what is wrong, unless
// s.OrgID exists, s's playlist belongs to it, to an organisation above it or
// to one below it (content flows down the tree), and every display in its
// targets belongs to it or to an organisation below it (screens do not flow
// up). A playlist or display elsewhere in the tree gets the same answer as a
// missing one, so the message reveals nothing outside the caller's branch.
func (db *DB) CheckScheduleReferences(ctx context.Context, s *schedules.Schedule) error {
	return db.withReadTx(ctx, func(tx *sql.Tx) error {
		return db.checkScheduleRefs(ctx, tx, s)
	})
}

// checkScheduleRefs is CheckScheduleReferences through q. Displays are
// reported in ID order, so the message does not depend on the database.
func (db *DB) checkScheduleRefs(ctx context.Context, q querier, s *schedules.Schedule) error {
	var n int
	if err := db.queryRow(ctx, q, `SELECT count(*) FROM organisations WHERE id = ?`, s.OrgID).Scan(&n); err != nil {
		return fmt.Errorf("look up organisation: %w", err)
	} else if n == 0 {
		return marquee.Errorf(marquee.EINVALID, "organisation %q does not exist", s.OrgID)
	}
	err := db.queryRow(ctx, q, `SELECT count(*) FROM playlists p
		JOIN organisations po ON po.id = p.org_id JOIN organisations so ON so.id = ?
		WHERE p.id = ? AND `+onBranch(`po.path`, `so.path`), s.OrgID, s.PlaylistID).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up playlist: %w", err)
	} else if n == 0 {
		return marquee.Errorf(marquee.EINVALID, "playlist %q does not exist", s.PlaylistID)
	}
	ids := normalizeTags(s.Targets.DisplayIDs)
	found := make(map[string]bool, len(ids))
	for rest := ids; len(rest) > 0; rest = rest[min(len(rest), idBatch):] {
		batch := rest[:min(len(rest), idBatch)]
		err := db.selectColumn(ctx, q, `SELECT d.id FROM displays d
			JOIN organisations dorg ON dorg.id = d.org_id JOIN organisations so ON so.id = ?
			WHERE `+pathWithin(`dorg.path`, `so.path`)+` AND d.id IN (`+placeholders(len(batch))+`)`,
			append([]any{s.OrgID}, anys(batch)...), func(id string) { found[id] = true })
		if err != nil {
			return fmt.Errorf("look up displays: %w", err)
		}
	}
	for _, id := range ids {
		if !found[id] {
			return marquee.Errorf(marquee.EINVALID,
				"display %q does not exist in organisation %q or below it: a schedule reaches only the displays of its own organisation and those below it", id, s.OrgID)
		}
	}
	return nil
}

// FindSchedulesForDisplay returns the schedules that reach display id — by
// its ID or through any of its tags, from the display's organisation or one
// above it — with their targets, ordered by ID (an empty slice when none
// do). An unknown display is ENOTFOUND. One query finds the schedules
// whatever their number; their targets take two more.
func (db *DB) FindSchedulesForDisplay(ctx context.Context, displayID string) ([]*schedules.Schedule, error) {
	var scs []*schedules.Schedule
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkExists(ctx, tx, `displays`, displayID, errDisplayNotFound); err != nil {
			return err
		}
		var err error
		scs, err = db.querySchedules(ctx, tx, `SELECT `+scheduleColumns+` FROM schedules s WHERE `+reachesDisplay+
			` ORDER BY s.id`, displayID, displayID)
		if err != nil {
			return err
		}
		return db.complete(ctx, tx, scs)
	})
	if err != nil {
		return nil, storeError("find schedules for display", err)
	}
	return scs, nil
}

// FindSchedulesForDisplays returns the schedules that reach any of the
// displays — by ID or through a tag, from the display's organisation or one
// above it — with their targets, ordered by ID and each once. Unknown
// display IDs reach nothing.
//
// Which of the displays each schedule reaches cannot be told from its
// targets alone (a tag reaches only the displays of the schedule's
// organisation and below): FindSchedulesReaching answers that.
func (db *DB) FindSchedulesForDisplays(ctx context.Context, displayIDs []string) ([]*schedules.Schedule, error) {
	ids := normalizeTags(displayIDs)
	var out []*schedules.Schedule
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		seen := map[string]bool{}
		for len(ids) > 0 {
			n := min(len(ids), idBatch)
			in := `(` + placeholders(n) + `)`
			batch := anys(ids[:n])
			scs, err := db.querySchedules(ctx, tx, `SELECT `+scheduleColumns+` FROM schedules s WHERE s.id IN (`+
				reaching(`x.schedule_id`, in)+`)`, append(batch, batch...)...)
			if err != nil {
				return err
			}
			for _, s := range scs {
				if !seen[s.ID] {
					seen[s.ID] = true
					out = append(out, s)
				}
			}
			ids = ids[n:]
		}
		return db.complete(ctx, tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("find schedules for displays: %w", err)
	}
	slices.SortFunc(out, func(a, b *schedules.Schedule) int { return strings.Compare(a.ID, b.ID) })
	if out == nil {
		out = []*schedules.Schedule{}
	}
	return out, nil
}

// FindSchedulesReaching returns, for each of the displays, the schedules
// that reach it — by its ID or through a tag, from the display's
// organisation or one above it — with their targets, ordered by ID. A
// display that nothing reaches, or that does not exist, has no entry; a
// schedule that reaches several of the displays is one *Schedule shared by
// their entries.
func (db *DB) FindSchedulesReaching(ctx context.Context, displayIDs []string) (map[string][]*schedules.Schedule, error) {
	return db.findSchedulesReaching(ctx, workingTargets, displayIDs)
}

// findSchedulesReaching is FindSchedulesReaching through the targets in t.
func (db *DB) findSchedulesReaching(ctx context.Context, t targetTables, displayIDs []string) (map[string][]*schedules.Schedule, error) {
	ids := normalizeTags(displayIDs)
	out := make(map[string][]*schedules.Schedule)
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		pairs := map[string][]string{} // schedule ID → display IDs
		for rest := ids; len(rest) > 0; rest = rest[min(len(rest), idBatch):] {
			batch := anys(rest[:min(len(rest), idBatch)])
			in := `(` + placeholders(len(batch)) + `)`
			rows, err := db.query(ctx, tx, reachingBy(t, `x.schedule_id, x.display_id`, in), append(batch, batch...)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var sid, did string
				if err := rows.Scan(&sid, &did); err != nil {
					rows.Close()
					return err
				}
				pairs[sid] = append(pairs[sid], did)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		sids := make([]string, 0, len(pairs))
		for sid := range pairs {
			sids = append(sids, sid)
		}
		slices.Sort(sids)
		var scs []*schedules.Schedule
		for rest := sids; len(rest) > 0; rest = rest[min(len(rest), idBatch):] {
			batch := rest[:min(len(rest), idBatch)]
			found, err := db.querySchedules(ctx, tx, `SELECT `+scheduleColumns+` FROM schedules s WHERE s.id IN (`+
				placeholders(len(batch))+`) ORDER BY s.id`, anys(batch)...)
			if err != nil {
				return err
			}
			scs = append(scs, found...)
		}
		for _, sc := range scs {
			for _, did := range pairs[sc.ID] {
				out[did] = append(out[did], sc)
			}
		}
		return db.complete(ctx, tx, scs)
	})
	if err != nil {
		return nil, fmt.Errorf("find schedules reaching displays: %w", err)
	}
	return out, nil
}

// FindDisplaysForSchedule returns the displays that schedule s reaches: those
// its targets name or tag that belong to s's organisation or one below it,
// with their tags, ordered by ID and each once (an empty slice when none).
func (db *DB) FindDisplaysForSchedule(ctx context.Context, s *schedules.Schedule) ([]*displays.Display, error) {
	if s.OrgID == "" {
		return []*displays.Display{}, nil // an organisation of none reaches nothing
	}
	return db.findDisplaysForTargets(ctx, s.OrgID, s.Targets)
}

// FindDisplaysForTargets returns the displays that t reaches — those it
// names and those carrying any of its tags — with their tags, ordered by ID
// and each once (an empty slice when none). Unknown IDs reach nothing.
//
// It ignores organisations, so for a schedule's targets it returns a
// superset of the displays the schedule reaches (its tags reach only the
// displays of its organisation and below): FindDisplaysForSchedule is exact.
func (db *DB) FindDisplaysForTargets(ctx context.Context, t schedules.Targets) ([]*displays.Display, error) {
	return db.findDisplaysForTargets(ctx, "", t)
}

// findDisplaysForTargets is FindDisplaysForTargets keeping, unless orgID is
// "", only the displays of organisation orgID and those below it.
func (db *DB) findDisplaysForTargets(ctx context.Context, orgID string, t schedules.Targets) ([]*displays.Display, error) {
	t = normalizeTargets(t)
	scope, scopeArgs := ``, []any(nil)
	if orgID != "" {
		scope, scopeArgs = ` AND `+inSubtree(`d.org_id`), []any{orgID}
	}
	var out []*displays.Display
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		seen := map[string]bool{}
		add := func(query string, args []any) error {
			ds, err := db.queryDisplays(ctx, tx, query, args...)
			for _, d := range ds {
				if !seen[d.ID] {
					seen[d.ID] = true
					out = append(out, d)
				}
			}
			return err
		}
		if len(t.Tags) > 0 {
			// IN (…), not a join: a display with two of the tags is one row.
			err := add(`SELECT `+displayColumns+` FROM displays d WHERE d.id IN (
				SELECT dt.display_id FROM display_tags dt WHERE dt.tag IN (`+placeholders(len(t.Tags))+`))`+scope,
				append(anys(t.Tags), scopeArgs...))
			if err != nil {
				return err
			}
		}
		for ids := t.DisplayIDs; len(ids) > 0; {
			n := min(len(ids), idBatch)
			if err := add(`SELECT `+displayColumns+` FROM displays d WHERE d.id IN (`+placeholders(n)+`)`+scope,
				append(anys(ids[:n]), scopeArgs...)); err != nil {
				return err
			}
			ids = ids[n:]
		}
		return db.loadDisplayTags(ctx, tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("find displays for targets: %w", err)
	}
	slices.SortFunc(out, func(a, b *displays.Display) int { return strings.Compare(a.ID, b.ID) })
	if out == nil {
		out = []*displays.Display{}
	}
	return out, nil
}

func errScheduleNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "schedule %q not found", id)
}

// querySchedules runs a query selecting scheduleColumns and returns its rows
// as schedules without targets: an empty slice, not nil, when there are none.
func (db *DB) querySchedules(ctx context.Context, q querier, query string, args ...any) ([]*schedules.Schedule, error) {
	rows, err := db.query(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	scs := []*schedules.Schedule{}
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, err
		}
		scs = append(scs, s)
	}
	return scs, rows.Err()
}

// scanSchedule reads the scheduleColumns of one row, with empty targets
// and no approved version.
func scanSchedule(row interface{ Scan(...any) error }) (*schedules.Schedule, error) {
	var (
		s                      schedules.Schedule
		durationMS             int64
		startsOn, endsOn       sql.NullString
		priority               string
		createdAt, updatedAt   int64
		submittedAt, decidedAt sql.NullInt64
		revision               sql.NullInt64
	)
	a := &s.Approval
	err := row.Scan(&s.ID, &s.OrgID, &s.Name, &s.PlaylistID, &s.Cron, &durationMS, &startsOn, &endsOn,
		&priority, &s.Timezone, &createdAt, &updatedAt,
		&a.Status, &a.Reason, &a.SubmittedBy, &submittedAt, &a.SubmittedRevision, &a.DecidedBy, &decidedAt,
		&revision)
	if err != nil {
		return nil, err
	}
	a.SubmittedAt, a.DecidedAt = nullableTime(submittedAt), nullableTime(decidedAt)
	s.PlaylistRevision = revision.Int64
	s.Duration = schedules.Duration(time.Duration(durationMS) * time.Millisecond)
	s.StartsOn, s.EndsOn = startsOn.String, endsOn.String
	s.Priority = marquee.Layer(priority)
	s.CreatedAt, s.UpdatedAt = fromMS(createdAt), fromMS(updatedAt)
	s.Targets = schedules.Targets{DisplayIDs: []string{}, Tags: []string{}}
	return &s, nil
}

// complete fills in what scanSchedule leaves out: the targets and approved
// versions of scs (loadTargets, loadApproved), and their derived approval
// fields.
func (db *DB) complete(ctx context.Context, q querier, scs []*schedules.Schedule) error {
	if err := db.loadTargets(ctx, q, scs); err != nil {
		return err
	}
	if err := db.loadApproved(ctx, q, scs); err != nil {
		return err
	}
	for _, s := range scs {
		s.Derive()
	}
	return nil
}

// loadTargets fills the targets of scs: two queries per batch of IDs.
func (db *DB) loadTargets(ctx context.Context, q querier, scs []*schedules.Schedule) error {
	byID := make(map[string]*schedules.Schedule, len(scs))
	ids := make([]string, len(scs))
	for i, s := range scs {
		byID[s.ID], ids[i] = s, s.ID
	}
	err := db.selectPairs(ctx, q, `SELECT schedule_id, display_id FROM schedule_displays WHERE schedule_id IN `, ids,
		func(id, displayID string) {
			if s := byID[id]; s != nil {
				s.Targets.DisplayIDs = append(s.Targets.DisplayIDs, displayID)
			}
		})
	if err != nil {
		return fmt.Errorf("load schedule displays: %w", err)
	}
	err = db.selectPairs(ctx, q, `SELECT schedule_id, tag FROM schedule_tags WHERE schedule_id IN `, ids,
		func(id, tag string) {
			if s := byID[id]; s != nil {
				s.Targets.Tags = append(s.Targets.Tags, tag)
			}
		})
	if err != nil {
		return fmt.Errorf("load schedule tags: %w", err)
	}
	for _, s := range scs {
		slices.Sort(s.Targets.DisplayIDs)
		slices.Sort(s.Targets.Tags)
	}
	return nil
}

// insertTargets inserts the target rows of schedule id; t is normalised.
func (db *DB) insertTargets(ctx context.Context, q querier, id string, t schedules.Targets) error {
	if err := db.insertPairs(ctx, q, `schedule_displays (schedule_id, display_id)`, id, t.DisplayIDs); err != nil {
		return err
	}
	return db.insertPairs(ctx, q, `schedule_tags (schedule_id, tag)`, id, t.Tags)
}

// normalizeTargets returns t with both lists sorted, de-duplicated and
// non-nil.
func normalizeTargets(t schedules.Targets) schedules.Targets {
	return schedules.Targets{DisplayIDs: normalizeTags(t.DisplayIDs), Tags: normalizeTags(t.Tags)}
}
