package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee/reports"
)

// reportDisplays returns the condition and arguments selecting the
// displays d of a report: by ID, by tag and within an organisation's
// subtree (each when set).
func reportDisplays(displayID, tag, within string) (string, []any) {
	where := []string{`1 = 1`}
	var args []any
	if displayID != "" {
		where = append(where, `d.id = ?`)
		args = append(args, displayID)
	}
	if tag != "" {
		where = append(where, `d.id IN (SELECT t.display_id FROM display_tags t WHERE t.tag = ?)`)
		args = append(args, tag)
	}
	if within != "" {
		where = append(where, inSubtree(`d.org_id`))
		args = append(args, within)
	}
	return strings.Join(where, ` AND `), args
}

// UptimeReport returns the online, offline and unknown time of each
// display selected by f within [f.From, min(f.To, f.Now)), in display ID
// order, from the status history (status_events) and the current status
// (display_status). Displays that no longer exist are not reported. An
// invalid filter is EINVALID.
func (db *DB) UptimeReport(ctx context.Context, f reports.UptimeFilter) ([]reports.DisplayUptime, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	end := f.To
	if !f.Now.IsZero() && f.Now.Before(end) {
		end = f.Now
	}
	var out []reports.DisplayUptime
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		ds, before, err := db.uptimeDisplays(ctx, tx, f)
		if err != nil {
			return err
		}
		events, err := db.statusTransitions(ctx, tx, f.DisplayID, f.Tag, f.Within, f.From, end)
		if err != nil {
			return err
		}
		for i := range ds {
			u := &ds[i]
			sp := reports.Availability(before[i], events[u.DisplayID], f.From, end)
			u.OnlineMS, u.OfflineMS, u.UnknownMS = sp.OnlineMS, sp.OfflineMS, sp.UnknownMS
			u.Transitions, u.Ratio = len(events[u.DisplayID]), sp.Ratio()
		}
		out = ds
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("uptime report: %w", err)
	}
	if out == nil {
		out = []reports.DisplayUptime{}
	}
	return out, nil
}

// uptimeDisplays returns the displays of an uptime report with their
// current status, and the status each had just before f.From (nil: none).
func (db *DB) uptimeDisplays(ctx context.Context, tx *sql.Tx, f reports.UptimeFilter) ([]reports.DisplayUptime, []*bool, error) {
	cond, args := reportDisplays(f.DisplayID, f.Tag, f.Within)
	rows, err := db.query(ctx, tx, `SELECT d.id, d.name, d.org_id, s.online, s.last_seen,
		(SELECT e.online FROM status_events e WHERE e.display_id = d.id AND e.at < ? ORDER BY e.at DESC LIMIT 1)
		FROM displays d LEFT JOIN display_status s ON s.display_id = d.id
		WHERE `+cond+` ORDER BY d.id`, append([]any{toMS(f.From)}, args...)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		ds     []reports.DisplayUptime
		before []*bool
	)
	for rows.Next() {
		var (
			u             reports.DisplayUptime
			online, prior sql.NullBool
			lastSeen      sql.NullInt64
		)
		if err := rows.Scan(&u.DisplayID, &u.Name, &u.OrgID, &online, &lastSeen, &prior); err != nil {
			return nil, nil, err
		}
		u.Online = online.Valid && online.Bool
		if lastSeen.Valid {
			t := fromMS(lastSeen.Int64)
			u.LastSeen = &t
		}
		var b *bool
		if prior.Valid {
			b = &prior.Bool
		}
		ds, before = append(ds, u), append(before, b)
	}
	return ds, before, rows.Err()
}

// statusTransitions returns the status events of the selected displays
// with from <= at < to, oldest first, by display ID.
func (db *DB) statusTransitions(ctx context.Context, tx *sql.Tx, displayID, tag, within string, from, to time.Time) (map[string][]reports.Transition, error) {
	cond, args := reportDisplays(displayID, tag, within)
	rows, err := db.query(ctx, tx, `SELECT e.display_id, e.at, e.online FROM status_events e
		WHERE e.at >= ? AND e.at < ? AND e.display_id IN (SELECT d.id FROM displays d WHERE `+cond+`)
		ORDER BY e.display_id, e.at`, append([]any{toMS(from), toMS(to)}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]reports.Transition{}
	for rows.Next() {
		var (
			id string
			at int64
			tr reports.Transition
		)
		if err := rows.Scan(&id, &at, &tr.Online); err != nil {
			return nil, err
		}
		tr.At = fromMS(at)
		out[id] = append(out[id], tr)
	}
	return out, rows.Err()
}
