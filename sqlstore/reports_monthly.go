package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-signage/marquee/reports"
)

// dayMS is one day in milliseconds.
const dayMS = int64(24 * time.Hour / time.Millisecond)

// MonthlyReport returns the rollups of f's period summed per day (in
// f.Location), display and schedule, ordered by day, display and
// schedule, with the displays' and schedules' current names. Rollups
// carry the display's organisation when the play was counted, so a
// display moved during the month counts where it was. When the zone keeps
// one UTC offset all month the database sums the days (from the daily
// rollups for UTC+7, the hourly ones otherwise); when it changes offset
// (daylight saving time) it sums hours and the days are added up here.
func (db *DB) MonthlyReport(ctx context.Context, f reports.MonthlyFilter) ([]reports.MonthlyRow, error) {
	loc := f.Location
	if loc == nil {
		loc = time.FixedZone("ICT", int(rollupDayOffsetMS/1000))
	}
	from, to := bucketOf(toMS(f.From)), toMS(f.To)
	if to%hourMS != 0 {
		to = bucketOf(to) + hourMS
	}
	offset, fixed := fixedOffset(loc, from, to)
	// The offset is inlined as a number (it is an int64) so that the
	// expression is the same in the SELECT and the GROUP BY in both
	// dialects. Without a fixed offset, the key is the hour.
	day := `(r.t + ` + strconv.FormatInt(offset, 10) + `) / ` + strconv.FormatInt(dayMS, 10)
	if !fixed {
		day = `r.t`
	}
	var where []string
	var args []any
	if f.Within != "" {
		where, args = append(where, inSubtree(`r.org_id`)), append(args, f.Within)
	}
	source, args := rollupSource(from, to, fixed && offset == rollupDayOffsetMS, where, args)
	query := `SELECT g.day, g.display_id, COALESCE(d.name, ''), g.schedule_id, COALESCE(s.name, ''),
		g.plays, g.completed, g.airtime FROM (
			SELECT ` + day + ` AS day, r.display_id, r.schedule_id,
				SUM(r.plays) AS plays, SUM(r.completed) AS completed, SUM(r.airtime_ms) AS airtime
			FROM ` + source + ` r
			GROUP BY ` + day + `, r.display_id, r.schedule_id) g
		LEFT JOIN displays d ON d.id = g.display_id LEFT JOIN schedules s ON s.id = g.schedule_id
		ORDER BY g.day, g.display_id, g.schedule_id`
	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, fmt.Errorf("monthly report: %w", err)
	}
	defer rows.Close()
	out := []reports.MonthlyRow{}
	at := map[[3]string]int{} // day, display, schedule → index in out (hours folded)
	for rows.Next() {
		var (
			r   reports.MonthlyRow
			key int64
		)
		if err := rows.Scan(&key, &r.DisplayID, &r.DisplayName, &r.ScheduleID, &r.ScheduleName,
			&r.Plays, &r.Completed, &r.AirtimeMS); err != nil {
			return nil, fmt.Errorf("monthly report: %w", err)
		}
		if fixed {
			r.Day = time.UnixMilli(key * dayMS).UTC().Format(time.DateOnly)
			out = append(out, r)
			continue
		}
		r.Day = fromMS(key).In(loc).Format(time.DateOnly)
		k := [3]string{r.Day, r.DisplayID, r.ScheduleID}
		if i, ok := at[k]; ok {
			out[i].Plays += r.Plays
			out[i].Completed += r.Completed
			out[i].AirtimeMS += r.AirtimeMS
			continue
		}
		at[k] = len(out)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("monthly report: %w", err)
	}
	if !fixed {
		slices.SortStableFunc(out, func(a, b reports.MonthlyRow) int {
			return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.DisplayID, b.DisplayID),
				strings.Compare(a.ScheduleID, b.ScheduleID))
		})
	}
	return out, nil
}

// fixedOffset returns loc's UTC offset in ms and whether it is the same at
// every hour of [from, to) (unix ms).
func fixedOffset(loc *time.Location, from, to int64) (int64, bool) {
	_, first := fromMS(from).In(loc).Zone()
	for h := from; h < to; h += hourMS {
		if _, off := fromMS(h).In(loc).Zone(); off != first {
			return 0, false
		}
	}
	return int64(first) * 1000, true
}
