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
// none match). It reads play_rollups_hourly only, never the raw plays: a
// 30-day report for one organisation reads at most 720 buckets of its
// displays, through the index on (org_id, bucket_start). From is rounded
// down and To up to whole UTC hours. Days (reports.ByDay) are sums of the
// hours that start in each day of f.Location.
func (db *DB) AirtimeReport(ctx context.Context, f reports.AirtimeFilter) ([]reports.AirtimeRow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	from, to := bucketOf(toMS(f.From)), toMS(f.To)
	if to%hourMS != 0 {
		to = bucketOf(to) + hourMS
	}
	where := []string{`r.bucket_start >= ?`, `r.bucket_start < ?`}
	args := []any{from, to}
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

	key, label, join, names := `r.bucket_start`, `''`, ``, ``
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
	query := `SELECT g.k, ` + name + `, g.plays, g.completed, g.airtime FROM (
		SELECT ` + key + ` AS k, ` + label + ` AS label, SUM(r.plays) AS plays,
			SUM(r.completed) AS completed, SUM(r.airtime_ms) AS airtime
		FROM play_rollups_hourly r` + join + `
		WHERE ` + strings.Join(where, ` AND `) + `
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
