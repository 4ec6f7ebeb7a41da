package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-signage/marquee/reports"
)

// AirtimeReport returns the plays, completed plays and airtime of the
// rollups matching f, one row per group in key order (an empty slice when
// none match). It reads the rollups only, never the raw plays (see
// rollupSource): a 30-day report for one organisation reads 30 daily rows
// per display × media × schedule, through the index on (org_id,
// day_start), and hourly rows for the partial days at its edges. From is
// rounded down and To up to whole UTC hours. Days (reports.ByDay) are sums
// of the hours that start in each day of f.Location; the daily rollups
// serve them when f.Location's days are the rollup days (UTC+7) over the
// whole period, the hourly ones otherwise.
func (db *DB) AirtimeReport(ctx context.Context, f reports.AirtimeFilter) ([]reports.AirtimeRow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	from, to := bucketOf(toMS(f.From)), toMS(f.To)
	if to%hourMS != 0 {
		to = bucketOf(to) + hourMS
	}
	where, args := []string{}, []any{}
	for _, eq := range []struct{ col, v string }{
		{"r.display_id", f.DisplayID}, {"r.media_id", f.MediaID}, {"r.schedule_id", f.ScheduleID},
	} {
		if eq.v != "" {
			where = append(where, eq.col+` = ?`)
			args = append(args, eq.v)
		}
	}
	for _, org := range []string{f.Within, f.OrganisationID} {
		if org != "" {
			where = append(where, inSubtree(`r.org_id`))
			args = append(args, org)
		}
	}
	if f.Tag != "" {
		where = append(where, `r.display_id IN (SELECT tf.display_id FROM display_tags tf WHERE tf.tag = ?)`)
		args = append(args, f.Tag)
	}

	key, label, join, names := `r.t`, `''`, ``, ``
	switch f.GroupBy {
	case reports.ByDisplay:
		key, names = `r.display_id`, `LEFT JOIN displays n ON n.id = g.k`
	case reports.ByMedia:
		key, label = `r.media_id`, `MAX(r.media_name)`
	case reports.BySchedule:
		key, names = `r.schedule_id`, `LEFT JOIN schedules n ON n.id = g.k`
	case reports.ByOrganisation:
		key, names = `r.org_id`, `LEFT JOIN organisations n ON n.id = g.k`
	case reports.ByTag:
		key, join = `t.tag`, ` JOIN display_tags t ON t.display_id = r.display_id`
	}
	name := `g.label`
	if names != "" {
		name = `COALESCE(n.name, g.label)`
	}
	daily := f.GroupBy != reports.ByDay || rollupDaysAreDaysOf(f.Location, from, to)
	source, args := rollupSource(from, to, daily, where, args)
	query := `SELECT g.k, ` + name + `, g.plays, g.completed, g.airtime FROM (
		SELECT ` + key + ` AS k, ` + label + ` AS label, SUM(r.plays) AS plays,
			SUM(r.completed) AS completed, SUM(r.airtime_ms) AS airtime
		FROM ` + source + ` r` + join + `
		GROUP BY ` + key + `) g ` + names + ` ORDER BY g.k`
	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, fmt.Errorf("airtime report: %w", err)
	}
	defer rows.Close()
	out := []reports.AirtimeRow{}
	for rows.Next() {
		var (
			r   reports.AirtimeRow
			k   any
			lbl string
		)
		if err := rows.Scan(&k, &lbl, &r.Plays, &r.Completed, &r.AirtimeMS); err != nil {
			return nil, fmt.Errorf("airtime report: %w", err)
		}
		r.Key, r.Label = asString(k), lbl
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("airtime report: %w", err)
	}
	if f.GroupBy == reports.ByDay {
		out = foldDays(out, f.Location)
	}
	for i := range out {
		out[i].Airtime = reports.FormatAirtime(out[i].AirtimeMS)
	}
	return out, nil
}

// asString returns a scanned key as text (bucket starts scan as int64).
func asString(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// foldDays sums hourly rows (Key: the bucket's unix ms, in order) into the
// days of loc they start in (nil: UTC), keyed YYYY-MM-DD.
func foldDays(hours []reports.AirtimeRow, loc *time.Location) []reports.AirtimeRow {
	if loc == nil {
		loc = time.UTC
	}
	days := []reports.AirtimeRow{}
	for _, h := range hours {
		ms, _ := strconv.ParseInt(h.Key, 10, 64) // written by AirtimeReport
		day := fromMS(ms).In(loc).Format(time.DateOnly)
		if n := len(days); n == 0 || days[n-1].Key != day {
			days = append(days, reports.AirtimeRow{Key: day})
		}
		d := &days[len(days)-1]
		d.Plays += h.Plays
		d.Completed += h.Completed
		d.AirtimeMS += h.AirtimeMS
	}
	return days
}

// rollupSource returns a subquery (to be aliased) of the rollups of the
// hours [from, to) (unix ms, whole hours) that match every condition of
// where (on columns of r, with args): rows of t (the start of the hour or
// day), display_id, media_id, schedule_id, org_id, media_name, plays,
// completed and airtime_ms. With daily it reads play_rollups_daily for the
// whole rollup days inside [from, to) and play_rollups_hourly for the
// hours before the first and after the last; otherwise the hourly rows
// only. Each branch carries the conditions, so each uses the indexes.
func rollupSource(from, to int64, daily bool, where []string, args []any) (string, []any) {
	type span struct {
		table, at string
		lo, hi    int64
	}
	spans := []span{{"play_rollups_hourly", "bucket_start", from, to}}
	if d1, d2 := dayOf(from+dayMS-1), dayOf(to); daily && d1 < d2 {
		spans = []span{{"play_rollups_hourly", "bucket_start", from, d1},
			{"play_rollups_daily", "day_start", d1, d2},
			{"play_rollups_hourly", "bucket_start", d2, to}}
	}
	var branches []string
	var all []any
	for _, sp := range spans {
		if sp.lo >= sp.hi {
			continue
		}
		conds := append([]string{`r.` + sp.at + ` >= ?`, `r.` + sp.at + ` < ?`}, where...)
		branches = append(branches, `SELECT r.`+sp.at+` AS t, r.display_id, r.media_id, r.schedule_id, r.org_id,
			r.media_name, r.plays, r.completed, r.airtime_ms FROM `+sp.table+` r WHERE `+strings.Join(conds, ` AND `))
		all = append(append(all, sp.lo, sp.hi), args...)
	}
	if len(branches) == 0 { // an empty period
		branches = append(branches, `SELECT r.bucket_start AS t, r.display_id, r.media_id, r.schedule_id, r.org_id,
			r.media_name, r.plays, r.completed, r.airtime_ms FROM play_rollups_hourly r WHERE 1 = 0`)
	}
	return `(` + strings.Join(branches, ` UNION ALL `) + `)`, all
}

// rollupDaysAreDaysOf reports whether every rollup day that starts in
// [from, to) (unix ms) is a whole day of loc (nil: UTC): whether loc is
// UTC+7 all through.
func rollupDaysAreDaysOf(loc *time.Location, from, to int64) bool {
	if loc == nil {
		return false
	}
	for d := dayOf(from + dayMS - 1); d < to; d += dayMS {
		for _, at := range []int64{d, d + dayMS - 1} {
			if _, off := fromMS(at).In(loc).Zone(); int64(off)*1000 != rollupDayOffsetMS {
				return false
			}
		}
	}
	return true
}
