package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee/reports"
)

// FindDisplaysReachedBy returns the displays (ID and name, in ID order)
// that the approved version of schedule scheduleID of organisation orgID
// reaches — those it names and those sharing one of its tags, in orgID's
// subtree — keeping only those within the organisation within ("" keeps
// all). A schedule never approved reaches none.
func (db *DB) FindDisplaysReachedBy(ctx context.Context, scheduleID, orgID, within string) ([]reports.ComplianceRow, error) {
	query := `SELECT d.id, d.name FROM displays d
		WHERE (d.id IN (SELECT sd.display_id FROM approved_schedule_displays sd WHERE sd.schedule_id = ?)
			OR d.id IN (SELECT dt.display_id FROM display_tags dt JOIN approved_schedule_tags st ON st.tag = dt.tag
				WHERE st.schedule_id = ?))
		AND ` + inSubtree(`d.org_id`)
	args := []any{scheduleID, scheduleID, orgID}
	if within != "" {
		query += ` AND ` + inSubtree(`d.org_id`)
		args = append(args, within)
	}
	rows, err := db.query(ctx, db.read, query+` ORDER BY d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find displays reached by schedule: %w", err)
	}
	defer rows.Close()
	out := []reports.ComplianceRow{}
	for rows.Next() {
		var r reports.ComplianceRow
		if err := rows.Scan(&r.DisplayID, &r.Name); err != nil {
			return nil, fmt.Errorf("find displays reached by schedule: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find displays reached by schedule: %w", err)
	}
	return out, nil
}

// DeliveredAirtime returns, per display, the plays of schedule scheduleID
// that started within [from, to): how many, how many completed, and their
// played time. Displays without such plays have no entry. When from and to
// are whole UTC hours (any period of days or hours in a zone with a
// whole-hour offset) it reads the rollups (daily ones for whole rollup
// days), so it stays fast over long periods and still answers after
// retention deleted the raw plays; otherwise it sums the raw plays.
func (db *DB) DeliveredAirtime(ctx context.Context, scheduleID string, from, to time.Time) (map[string]reports.Delivered, error) {
	lo, hi := toMS(from), toMS(to)
	query := `SELECT display_id, COUNT(*),
		COALESCE(SUM(CASE WHEN completed THEN 1 ELSE 0 END), 0), COALESCE(SUM(played_ms), 0)
		FROM plays WHERE schedule_id = ? AND started_at >= ? AND started_at < ? GROUP BY display_id`
	args := []any{scheduleID, lo, hi}
	if lo%hourMS == 0 && hi%hourMS == 0 && lo < hi {
		var source string
		source, args = rollupSource(lo, hi, true, []string{`r.schedule_id = ?`}, []any{scheduleID})
		query = `SELECT r.display_id, SUM(r.plays), SUM(r.completed), SUM(r.airtime_ms) FROM ` + source + ` r GROUP BY r.display_id`
	}
	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, fmt.Errorf("delivered airtime: %w", err)
	}
	defer rows.Close()
	out := map[string]reports.Delivered{}
	for rows.Next() {
		var (
			id string
			d  reports.Delivered
		)
		if err := rows.Scan(&id, &d.Plays, &d.Completed, &d.PlayedMS); err != nil {
			return nil, fmt.Errorf("delivered airtime: %w", err)
		}
		out[id] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivered airtime: %w", err)
	}
	return out, nil
}

// FindDisplaysPlannedWith returns, sorted, the IDs of the displays whose
// desired state named the schedule at some time within [from, to): a
// recorded state saved before to whose next revision (if any) was saved
// after from, whose rules hold the schedule's ID. It reads the state
// history (display_state_history), matching the JSON text.
func (db *DB) FindDisplaysPlannedWith(ctx context.Context, scheduleID string, from, to time.Time) ([]string, error) {
	pattern := `%"schedule_id":"` + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(scheduleID) + `"%`
	rows, err := db.query(ctx, db.read, `SELECT DISTINCT h.display_id FROM display_state_history h
		WHERE h.valid_from < ? AND h.state_json LIKE ? ESCAPE '\' AND NOT EXISTS (
			SELECT 1 FROM display_state_history n WHERE n.display_id = h.display_id
				AND n.revision > h.revision AND n.valid_from <= ?)
		ORDER BY h.display_id`, toMS(to), pattern, toMS(from))
	if err != nil {
		return nil, fmt.Errorf("find displays planned with a schedule: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find displays planned with a schedule: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
