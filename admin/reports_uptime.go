package admin

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/export"
	"github.com/marquee-signage/marquee/reports"
)

// Availability computes uptime and compliance reports from the status
// history and the playback log (the store implements it).
type Availability interface {
	// UptimeReport returns one line per selected display, in ID order;
	// an invalid filter is EINVALID.
	UptimeReport(ctx context.Context, f reports.UptimeFilter) ([]reports.DisplayUptime, error)
	// FindDisplaysReachedBy returns the displays (ID and name, in ID
	// order) that the approved version of a schedule of organisation
	// orgID reaches, within the organisation within ("" for all).
	FindDisplaysReachedBy(ctx context.Context, scheduleID, orgID, within string) ([]reports.ComplianceRow, error)
	// DeliveredAirtime returns per display what the plays of a schedule
	// that started within [from, to) add up to.
	DeliveredAirtime(ctx context.Context, scheduleID string, from, to time.Time) (map[string]reports.Delivered, error)
	// FindDisplaysPlannedWith returns the IDs of the displays whose
	// desired state named the schedule at some time within [from, to)
	// (from the state history), sorted.
	FindDisplaysPlannedWith(ctx context.Context, scheduleID string, from, to time.Time) ([]string, error)
}

// reportPeriod is the period of a report: from, to and tz as the airtime
// report reads them (dates are whole days in tz, both included; RFC 3339
// times are from included, to excluded), by default the last 30 days up to
// the end of today.
type reportPeriod struct {
	From, To time.Time
	Location *time.Location
}

func (s *Server) readPeriod(c echo.Context) (reportPeriod, error) {
	var p reportPeriod
	tz := c.QueryParam("tz")
	if tz == "" {
		tz = reports.DefaultTimezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return p, marquee.Errorf(marquee.EINVALID, "tz must be an IANA time zone such as Asia/Ho_Chi_Minh")
	}
	p.Location = loc
	y, m, d := s.now().In(loc).Date()
	p.To = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	p.From = p.To.AddDate(0, 0, -30)
	if v := c.QueryParam("from"); v != "" {
		if p.From, err = reportTime(v, loc, false); err != nil {
			return p, marquee.Errorf(marquee.EINVALID, "from must be a date (2026-06-01) or an RFC 3339 time")
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if p.To, err = reportTime(v, loc, true); err != nil {
			return p, marquee.Errorf(marquee.EINVALID, "to must be a date (2026-06-30) or an RFC 3339 time")
		}
	}
	switch {
	case !p.To.After(p.From):
		return p, marquee.Errorf(marquee.EINVALID, "to must be after from")
	case p.To.Sub(p.From) > reports.MaxRange:
		return p, marquee.Errorf(marquee.EINVALID, "a report covers at most %d days", int(reports.MaxRange/(24*time.Hour)))
	}
	return p, nil
}

// uptimeResponse is the JSON answer of GET /api/v1/reports/uptime.
type uptimeResponse struct {
	From     time.Time               `json:"from"`
	To       time.Time               `json:"to"`
	Timezone string                  `json:"timezone"`
	Items    []reports.DisplayUptime `json:"items"`
}

// handleUptimeReport: GET /api/v1/reports/uptime?from=&to=&tz=
// &display_id=&tag=&format=&lang= → online, offline and unknown time per
// display in the actor's subtree within the period (clipped to now), from
// the status history. A display_id outside the scope is 404.
func (s *Server) handleUptimeReport(c echo.Context) error {
	if s.availability == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "reports are not available on this server")
	}
	ctx := c.Request().Context()
	p, err := s.readPeriod(c)
	if err != nil {
		return err
	}
	format, err := export.ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	f := reports.UptimeFilter{
		From: p.From, To: p.To, Now: s.now(),
		DisplayID: c.QueryParam("display_id"),
		Tag:       strings.ToLower(norm.NFC.String(strings.TrimSpace(c.QueryParam("tag")))),
		Within:    auth.ScopeFrom(ctx).Within(),
	}
	if len(f.DisplayID) > maxFilterID || len(f.Tag) > maxFilterID {
		return marquee.Errorf(marquee.EINVALID, "display_id and tag are at most %d characters", maxFilterID)
	}
	if f.DisplayID != "" {
		if _, err := s.displays.Get(ctx, f.DisplayID); err != nil {
			return err
		}
	}
	rows, err := s.availability.UptimeReport(ctx, f)
	if err != nil {
		return err
	}
	if format != export.JSON {
		return s.writeExport(c, "uptime", format, uptimeTable(rows))
	}
	return c.JSON(http.StatusOK, uptimeResponse{From: p.From.In(p.Location), To: p.To.In(p.Location),
		Timezone: p.Location.String(), Items: rows})
}

// uptimeTable is an uptime report as an export table; times are in hours.
func uptimeTable(rows []reports.DisplayUptime) export.Table {
	return export.Table{
		Name: export.Text{VI: "Thời gian hoạt động", EN: "Uptime"},
		Columns: []export.Text{
			{VI: "Mã màn hình", EN: "Display ID"}, {VI: "Tên màn hình", EN: "Display name"}, {VI: "Mã đơn vị", EN: "Organisation ID"},
			{VI: "Trực tuyến (giờ)", EN: "Online (h)"}, {VI: "Ngoại tuyến (giờ)", EN: "Offline (h)"},
			{VI: "Không rõ (giờ)", EN: "Unknown (h)"}, {VI: "Tỷ lệ trực tuyến (%)", EN: "Online (%)"},
			{VI: "Số lần chuyển trạng thái", EN: "Transitions"}, {VI: "Đang trực tuyến", EN: "Online now"},
			{VI: "Liên lạc lần cuối", EN: "Last seen"},
		},
		Rows: func(emit func(...any) error) error {
			for _, u := range rows {
				var last any
				if u.LastSeen != nil {
					last = *u.LastSeen
				}
				if err := emit(u.DisplayID, u.Name, u.OrgID, hours(u.OnlineMS), hours(u.OfflineMS), hours(u.UnknownMS),
					percent(u.Ratio), u.Transitions, u.Online, last); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// hours is ms in hours, rounded to 1/1000 h (3.6 s).
func hours(ms int64) float64 { return reports.Hours(ms) }

// percent is a ratio in percent, rounded to 0.1 %.
func percent(r float64) float64 { return float64(int64(r*1000+0.5)) / 10 }
