package admin

import (
	"context"
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
// &organisation=&lang=&tz= → an XLSX workbook: a summary sheet, one sheet
// per campaign (schedule; the fallback as one more) and one per display,
// with the plays, completed plays and airtime of each day of the month in
// tz (default Asia/Ho_Chi_Minh). organisation defaults to the actor's own (the whole
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
	if tz := c.QueryParam("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return marquee.Errorf(marquee.EINVALID, "tz must be an IANA time zone such as Asia/Ho_Chi_Minh")
		}
		loc = l
	}
	from, to, err := reports.ParseMonth(c.QueryParam("month"), loc)
	if err != nil {
		return err
	}
	f := reports.MonthlyFilter{From: from, To: to, Location: loc, Within: auth.ScopeFrom(ctx).Within()}
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
	return s.writeExport(c, "monthly-"+from.Format("2006-01"), export.XLSX, reports.MonthlyTables(from, f.Within, orgName, rows)...)
}
