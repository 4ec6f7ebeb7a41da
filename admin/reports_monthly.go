package admin

import (
	"context"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/export"
	"github.com/marquee-signage/marquee/reports"
)

// MonthlyReports computes the monthly report from the hourly rollups (the
// store implements it).
type MonthlyReports interface {
	// MonthlyReport returns the rollups per day, display and schedule.
	MonthlyReport(ctx context.Context, f reports.MonthlyFilter) ([]reports.MonthlyRow, error)
}

// handleMonthlyReport: GET /api/v1/reports/monthly?month=2025-06
// &organisation=&lang= → an XLSX workbook: a summary sheet, one sheet per
// campaign (schedule; the fallback as one more) and one per display, with
// the plays, completed plays and airtime of each day of the month in
// Asia/Ho_Chi_Minh. organisation defaults to the actor's own (the whole
// tree for the province); one outside the actor's subtree is 404.
func (s *Server) handleMonthlyReport(c echo.Context) error {
	if s.monthly == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "reports are not available on this server")
	}
	ctx := c.Request().Context()
	if f := c.QueryParam("format"); f != "" && f != string(export.XLSX) {
		return marquee.Errorf(marquee.EINVALID, "the monthly report is an xlsx workbook only")
	}
	loc := export.DefaultLocation
	from, to, err := reports.ParseMonth(c.QueryParam("month"), loc)
	if err != nil {
		return err
	}
	_, offset := from.Zone()
	f := reports.MonthlyFilter{From: from, To: to, OffsetMS: int64(offset) * 1000, Within: auth.ScopeFrom(ctx).Within()}
	orgName := ""
	if id := c.QueryParam("organisation"); id != "" {
		o, err := s.orgs.Get(ctx, id)
		if err != nil {
			return err
		}
		f.Within, orgName = o.ID, o.Name
	} else if f.Within != "" && f.Within != auth.NoOrg {
		if o, err := s.orgs.Get(ctx, f.Within); err == nil {
			orgName = o.Name
		}
	}
	rows, err := s.monthly.MonthlyReport(ctx, f)
	if err != nil {
		return err
	}
	return s.writeExport(c, "monthly-"+from.Format("2006-01"), export.XLSX, monthlyTables(from, f.Within, orgName, rows)...)
}

// monthlyTables are the sheets of a monthly report.
func monthlyTables(month time.Time, orgID, orgName string, rows []reports.MonthlyRow) []export.Table {
	var (
		plays, completed, airtime int64
		schedules, displays       []string
		names                     = map[string]string{}
	)
	for _, r := range rows {
		plays, completed, airtime = plays+r.Plays, completed+r.Completed, airtime+r.AirtimeMS
		if !slices.Contains(schedules, r.ScheduleID) {
			schedules = append(schedules, r.ScheduleID)
		}
		if !slices.Contains(displays, r.DisplayID) {
			displays = append(displays, r.DisplayID)
		}
		names["s:"+r.ScheduleID], names["d:"+r.DisplayID] = r.ScheduleName, r.DisplayName
	}
	slices.Sort(schedules)
	slices.Sort(displays)
	if orgID == "" {
		orgID = auth.RootOrgID
	}
	summary := [][2]any{
		{export.Text{VI: "Tháng", EN: "Month"}, month.Format("2006-01")},
		{export.Text{VI: "Đơn vị", EN: "Organisation"}, orgName + " (" + orgID + ")"},
		{export.Text{VI: "Múi giờ", EN: "Time zone"}, month.Location().String()},
		{export.Text{VI: "Số lịch phát", EN: "Campaigns"}, len(schedules)},
		{export.Text{VI: "Số màn hình", EN: "Displays"}, len(displays)},
		{export.Text{VI: "Lượt phát", EN: "Plays"}, plays},
		{export.Text{VI: "Lượt phát hoàn tất", EN: "Completed plays"}, completed},
		{export.Text{VI: "Thời lượng phát (giờ)", EN: "Airtime (h)"}, hours(airtime)},
	}
	tables := []export.Table{{
		Name:    export.Text{VI: "Tổng hợp", EN: "Summary"},
		Columns: []export.Text{{VI: "Mục", EN: "Item"}, {VI: "Giá trị", EN: "Value"}},
		Rows: func(emit func(...any) error) error {
			for _, kv := range summary {
				if err := emit(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return nil
		},
	}}
	for _, id := range schedules {
		sheet := export.Text{VI: "Lịch " + names["s:"+id], EN: "Campaign " + names["s:"+id]}
		if id == "" {
			sheet = export.Text{VI: "Nội dung dự phòng", EN: "Fallback"}
		}
		tables = append(tables, monthlySheet(sheet,
			export.Text{VI: "Màn hình", EN: "Display"}, rows, func(r reports.MonthlyRow) (bool, string, string) {
				return r.ScheduleID == id, r.DisplayID, r.DisplayName
			}))
	}
	for _, id := range displays {
		tables = append(tables, monthlySheet(export.Text{VI: "Màn hình " + names["d:"+id], EN: "Display " + names["d:"+id]},
			export.Text{VI: "Lịch phát", EN: "Campaign"}, rows, func(r reports.MonthlyRow) (bool, string, string) {
				return r.DisplayID == id, r.ScheduleID, r.ScheduleName
			}))
	}
	return tables
}

// monthlySheet is one campaign's or display's sheet: per day, the other
// dimension (displays of a campaign, campaigns of a display) with its
// plays, completed plays and airtime.
func monthlySheet(name, other export.Text, rows []reports.MonthlyRow, pick func(reports.MonthlyRow) (keep bool, id, label string)) export.Table {
	return export.Table{
		Name: name,
		Columns: []export.Text{{VI: "Ngày", EN: "Day"}, {VI: "Mã " + other.VI, EN: other.EN + " ID"}, {VI: "Tên " + other.VI, EN: other.EN + " name"},
			{VI: "Lượt phát", EN: "Plays"}, {VI: "Lượt phát hoàn tất", EN: "Completed plays"}, {VI: "Thời lượng phát (giờ)", EN: "Airtime (h)"}},
		Rows: func(emit func(...any) error) error {
			for _, r := range rows {
				keep, id, label := pick(r)
				if !keep {
					continue
				}
				if err := emit(r.Day, id, label, r.Plays, r.Completed, hours(r.AirtimeMS)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
