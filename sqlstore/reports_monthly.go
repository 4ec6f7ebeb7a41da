package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/marquee-signage/marquee/reports"
)

// dayMS is one day in milliseconds.
const dayMS = int64(24 * time.Hour / time.Millisecond)

// MonthlyReport returns the rollups of f's period summed per day (in f's
// zone: the daily rollups serve a zone of UTC+7, the hourly ones any
// other), display and schedule, ordered by day, display and
// schedule, with the displays' and schedules' current names. Rollups
// carry the display's organisation when the play was counted, so a
// display moved during the month counts where it was.
func (db *DB) MonthlyReport(ctx context.Context, f reports.MonthlyFilter) ([]reports.MonthlyRow, error) {
	// The offset is inlined as a number (it is an int64) so that the
	// expression is the same in the SELECT and the GROUP BY in both
	// dialects.
	day := `(r.t + ` + strconv.FormatInt(f.OffsetMS, 10) + `) / ` + strconv.FormatInt(dayMS, 10)
	var where []string
	var args []any
	if f.Within != "" {
		where, args = append(where, inSubtree(`r.org_id`)), append(args, f.Within)
	}
	from, to := bucketOf(toMS(f.From)), toMS(f.To)
	if to%hourMS != 0 {
		to = bucketOf(to) + hourMS
	}
	source, args := rollupSource(from, to, f.OffsetMS == rollupDayOffsetMS, where, args)
	query := `SELECT g.day, g.display_id, COALESCE(d.name, ''), g.schedule_id, COALESCE(s.name, ''),
		g.plays, g.completed, g.airtime FROM (
			SELECT ` + day + ` AS day, r.display_id, r.schedule_id,
				SUM(r.plays) AS plays, SUM(r.completed) AS completed, SUM(r.airtime_ms) AS airtime
			FROM ` + source + ` r`
	query += ` GROUP BY ` + day + `, r.display_id, r.schedule_id) g
		LEFT JOIN displays d ON d.id = g.display_id LEFT JOIN schedules s ON s.id = g.schedule_id
		ORDER BY g.day, g.display_id, g.schedule_id`
	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, fmt.Errorf("monthly report: %w", err)
	}
	defer rows.Close()
	out := []reports.MonthlyRow{}
	for rows.Next() {
		var (
			r   reports.MonthlyRow
			day int64
		)
		if err := rows.Scan(&day, &r.DisplayID, &r.DisplayName, &r.ScheduleID, &r.ScheduleName,
			&r.Plays, &r.Completed, &r.AirtimeMS); err != nil {
			return nil, fmt.Errorf("monthly report: %w", err)
		}
		r.Day = time.UnixMilli(day * dayMS).UTC().Format(time.DateOnly)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("monthly report: %w", err)
	}
	return out, nil
}
