package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/export"
	"github.com/marquee-signage/marquee/reports"
)

// AirtimeReports computes airtime reports from the hourly rollups (the
// store implements it).
type AirtimeReports interface {
	// AirtimeReport returns one row per group, in key order; an invalid
	// filter is EINVALID.
	AirtimeReport(ctx context.Context, f reports.AirtimeFilter) ([]reports.AirtimeRow, error)
}

// airtimeResponse is the JSON answer of GET /api/v1/reports/airtime.
type airtimeResponse struct {
	From     time.Time            `json:"from"`
	To       time.Time            `json:"to"`
	GroupBy  string               `json:"group_by"`
	Timezone string               `json:"timezone"`
	Items    []reports.AirtimeRow `json:"items"`
}

// handleAirtimeReport: GET /api/v1/reports/airtime?from=&to=&group_by=
// &display_id=&media_id=&schedule_id=&organisation_id=&tag=&tz=&format=
// → plays, completed plays and airtime per group, counting only the
// displays in the actor's organisation subtree. from and to are dates
// (YYYY-MM-DD, whole days in tz, both included) or RFC 3339 times (from
// included, to excluded), rounded outwards to whole hours; by default the
// last 30 days up to the end of today. tz defaults to Asia/Ho_Chi_Minh.
func (s *Server) handleAirtimeReport(c echo.Context) error {
	if s.airtime == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "reports are not available on this server")
	}
	f, err := s.airtimeFilter(c)
	if err != nil {
		return err
	}
	format, err := export.ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	if err := s.checkReportFilters(c.Request().Context(), f); err != nil {
		return err
	}
	rows, err := s.airtime.AirtimeReport(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if format != export.JSON {
		return s.writeExport(c, "airtime-"+f.GroupBy, format, airtimeTable(f.GroupBy, rows))
	}
	return c.JSON(http.StatusOK, airtimeResponse{From: f.From.In(f.Location), To: f.To.In(f.Location),
		GroupBy: f.GroupBy, Timezone: f.Location.String(), Items: rows})
}

// airtimeFilter reads the query of an airtime report.
func (s *Server) airtimeFilter(c echo.Context) (reports.AirtimeFilter, error) {
	q := c.QueryParam
	f := reports.AirtimeFilter{
		GroupBy:        q("group_by"),
		DisplayID:      q("display_id"),
		MediaID:        q("media_id"),
		ScheduleID:     q("schedule_id"),
		OrganisationID: q("organisation_id"),
		Tag:            q("tag"),
		Within:         auth.ScopeFrom(c.Request().Context()).Within(),
	}
	if f.GroupBy == "" {
		f.GroupBy = reports.ByDay
	}
	for name, v := range map[string]string{"display_id": f.DisplayID, "media_id": f.MediaID,
		"schedule_id": f.ScheduleID, "organisation_id": f.OrganisationID, "tag": f.Tag} {
		if len(v) > maxFilterID {
			return f, marquee.Errorf(marquee.EINVALID, "%s is longer than %d characters", name, maxFilterID)
		}
	}
	tz := q("tz")
	if tz == "" {
		tz = reports.DefaultTimezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return f, marquee.Errorf(marquee.EINVALID, "tz must be an IANA time zone such as Asia/Ho_Chi_Minh")
	}
	f.Location = loc
	y, m, d := s.now().In(loc).Date()
	f.To = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	f.From = f.To.AddDate(0, 0, -30)
	if v := q("from"); v != "" {
		if f.From, err = reportTime(v, loc, false); err != nil {
			return f, marquee.Errorf(marquee.EINVALID, "from must be a date (2026-06-01) or an RFC 3339 time")
		}
	}
	if v := q("to"); v != "" {
		if f.To, err = reportTime(v, loc, true); err != nil {
			return f, marquee.Errorf(marquee.EINVALID, "to must be a date (2026-06-30) or an RFC 3339 time")
		}
	}
	return f, f.Validate()
}

// checkReportFilters answers 404 for a display_id or schedule_id outside
// the actor's scope, as for one that does not exist (the rollups would
// show nothing anyway). An actor of the whole tree is not checked, so that
// the airtime of deleted displays and schedules stays reachable.
func (s *Server) checkReportFilters(ctx context.Context, f reports.AirtimeFilter) error {
	if auth.ScopeFrom(ctx).All() {
		return nil
	}
	if f.DisplayID != "" {
		if _, err := s.displays.Get(ctx, f.DisplayID); err != nil {
			return err
		}
	}
	if f.ScheduleID != "" {
		if _, err := s.schedules.Get(ctx, f.ScheduleID); err != nil {
			return err
		}
	}
	return nil
}

// reportTime parses a date (midnight in loc; the next midnight when end is
// set, so that a last day is included) or an RFC 3339 time.
func reportTime(v string, loc *time.Location, end bool) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return parseQueryTime(v)
}

// airtimeTable is an airtime report as an export table.
func airtimeTable(groupBy string, rows []reports.AirtimeRow) export.Table {
	keyTitle := map[string]export.Text{
		reports.ByDay:          {VI: "Ngày", EN: "Day"},
		reports.ByDisplay:      {VI: "Mã màn hình", EN: "Display ID"},
		reports.ByMedia:        {VI: "Mã nội dung", EN: "Media ID"},
		reports.BySchedule:     {VI: "Mã lịch phát", EN: "Schedule ID"},
		reports.ByOrganisation: {VI: "Mã đơn vị", EN: "Organisation ID"},
		reports.ByTag:          {VI: "Nhãn", EN: "Tag"},
	}[groupBy]
	return export.Table{
		Name: export.Text{VI: "Thời lượng phát", EN: "Airtime"},
		Columns: []export.Text{keyTitle, {VI: "Tên", EN: "Name"}, {VI: "Lượt phát", EN: "Plays"},
			{VI: "Lượt phát hoàn tất", EN: "Completed plays"}, {VI: "Thời lượng phát (ms)", EN: "Airtime (ms)"},
			{VI: "Thời lượng phát", EN: "Airtime"}},
		Rows: func(emit func(...any) error) error {
			for _, r := range rows {
				if err := emit(r.Key, r.Label, r.Plays, r.Completed, r.AirtimeMS, r.Airtime); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
