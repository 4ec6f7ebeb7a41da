package admin

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/export"
	"github.com/marquee-signage/marquee/reports"
)

// complianceResponse is the JSON answer of GET /api/v1/reports/compliance.
type complianceResponse struct {
	ScheduleID   string                  `json:"schedule_id"`
	ScheduleName string                  `json:"schedule_name"`
	From         time.Time               `json:"from"`
	To           time.Time               `json:"to"` // clipped to now
	Timezone     string                  `json:"timezone"`
	Items        []reports.ComplianceRow `json:"items"`
}

// handleComplianceReport: GET /api/v1/reports/compliance?schedule_id=
// &from=&to=&tz=&format=&lang= → for each display in the actor's subtree
// that the schedule's approved version reaches (and each that played it
// within the period), the airtime planned by the resolver against the
// airtime delivered by the plays, the gap, and the display's offline time.
// The plan runs the resolver over the desired states the display had
// during the period (desired.Builder.StatesOver: its state history, and
// today's schedules for any part older than that history). The period is
// clipped to now. A schedule outside the scope is 404.
func (s *Server) handleComplianceReport(c echo.Context) error {
	if s.availability == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "reports are not available on this server")
	}
	ctx := c.Request().Context()
	id := c.QueryParam("schedule_id")
	if id == "" || len(id) > maxFilterID {
		return marquee.Errorf(marquee.EINVALID, "schedule_id is required (at most %d characters)", maxFilterID)
	}
	p, err := s.readPeriod(c)
	if err != nil {
		return err
	}
	format, err := export.ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	sc, err := s.schedules.Get(ctx, id)
	if err != nil {
		return err
	}
	end := p.To
	if now := s.now(); now.Before(end) {
		end = now
	}
	rows, err := s.complianceRows(c, sc.ID, sc.OrgID, p.From, end)
	if err != nil {
		return err
	}
	if format != export.JSON {
		return s.writeExport(c, "compliance", format, complianceTable(rows))
	}
	return c.JSON(http.StatusOK, complianceResponse{ScheduleID: sc.ID, ScheduleName: sc.Name,
		From: p.From.In(p.Location), To: end.In(p.Location), Timezone: p.Location.String(), Items: rows})
}

// complianceRows computes a compliance report over [from, end).
func (s *Server) complianceRows(c echo.Context, scheduleID, orgID string, from, end time.Time) ([]reports.ComplianceRow, error) {
	ctx := c.Request().Context()
	rows, err := s.availability.FindDisplaysReachedBy(ctx, scheduleID, orgID, auth.ScopeFrom(ctx).Within())
	if err != nil || !end.After(from) {
		return rows, err
	}
	delivered, err := s.availability.DeliveredAirtime(ctx, scheduleID, from, end)
	if err != nil {
		return nil, err
	}
	// A display the schedule no longer reaches may have had it in its
	// state during the period, or played it.
	extra, err := s.availability.FindDisplaysPlannedWith(ctx, scheduleID, from, end)
	if err != nil {
		return nil, err
	}
	for id := range delivered {
		extra = append(extra, id)
	}
	slices.Sort(extra)
	for _, id := range slices.Compact(extra) {
		if slices.ContainsFunc(rows, func(r reports.ComplianceRow) bool { return r.DisplayID == id }) {
			continue
		}
		d, err := s.displays.Get(ctx, id)
		if marquee.ErrorCode(err) == marquee.ENOTFOUND {
			continue // deleted, or outside the actor's scope
		} else if err != nil {
			return nil, err
		}
		rows = append(rows, reports.ComplianceRow{DisplayID: d.ID, Name: d.Name})
	}
	slices.SortFunc(rows, func(a, b reports.ComplianceRow) int { return strings.Compare(a.DisplayID, b.DisplayID) })
	for i := range rows {
		r := &rows[i]
		spans, err := s.states.StatesOver(ctx, r.DisplayID, from, end)
		if err != nil {
			return nil, err
		}
		var planned int64
		for _, sp := range spans {
			ms, err := reports.PlannedMS(sp.State, scheduleID, sp.From, sp.To)
			if err != nil {
				return nil, err
			}
			planned += ms
		}
		r.Compliance(planned, delivered[r.DisplayID])
		up, err := s.availability.UptimeReport(ctx, reports.UptimeFilter{From: from, To: end, DisplayID: r.DisplayID})
		if err != nil {
			return nil, err
		}
		if len(up) == 1 {
			r.OfflineMS, r.UnknownMS = up[0].OfflineMS, up[0].UnknownMS
		}
	}
	return rows, nil
}

// complianceTable is a compliance report as an export table; times are in
// hours.
func complianceTable(rows []reports.ComplianceRow) export.Table {
	return export.Table{
		Name: export.Text{VI: "Tuân thủ lịch phát", EN: "Compliance"},
		Columns: []export.Text{
			{VI: "Mã màn hình", EN: "Display ID"}, {VI: "Tên màn hình", EN: "Display name"},
			{VI: "Dự kiến (giờ)", EN: "Planned (h)"}, {VI: "Đã phát (giờ)", EN: "Delivered (h)"},
			{VI: "Chênh lệch (giờ)", EN: "Gap (h)"}, {VI: "Tỷ lệ đã phát (%)", EN: "Delivered (%)"},
			{VI: "Lượt phát", EN: "Plays"}, {VI: "Lượt phát hoàn tất", EN: "Completed plays"},
			{VI: "Ngoại tuyến (giờ)", EN: "Offline (h)"}, {VI: "Không rõ trạng thái (giờ)", EN: "Unknown (h)"},
		},
		Rows: func(emit func(...any) error) error {
			for _, r := range rows {
				if err := emit(r.DisplayID, r.Name, hours(r.PlannedMS), hours(r.DeliveredMS), hours(r.GapMS),
					percent(r.Ratio), r.Plays, r.Completed, hours(r.OfflineMS), hours(r.UnknownMS)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
