package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/alerts"
	"github.com/marquee-signage/marquee/internal/export"
)

// Alerts serves offline alerts and webhook management (alerts.Service
// implements it). Each method scopes itself to the actor in ctx.
type Alerts interface {
	// FindAlerts returns one page of alerts and the next cursor (""
	// on the last page); a malformed cursor is EINVALID.
	FindAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, string, error)
	CreateWebhook(ctx context.Context, w *alerts.Webhook) error
	FindWebhooks(ctx context.Context) ([]*alerts.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	DisplayThreshold(ctx context.Context, id string) (*alerts.Threshold, error)
	SetDisplayThreshold(ctx context.Context, id string, seconds *int64) (*alerts.Threshold, error)
}

var _ Alerts = (*alerts.Service)(nil)

// handleListAlerts: GET /api/v1/alerts?state=open|closed&display_id=
// &from=&to=&limit=&cursor=&format=&lang= → the alerts of displays in the
// actor's scope, newest opened first (by opened_at, then ID; from/to bound
// opened_at), with next_cursor ("" on the last page). With format=csv or
// xlsx, every matching alert is exported instead (limit and cursor are
// ignored).
func (s *Server) handleListAlerts(c echo.Context) error {
	if s.alerts == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "alerts are not available on this server")
	}
	f := alerts.Filter{State: c.QueryParam("state"), DisplayID: c.QueryParam("display_id"), Cursor: c.QueryParam("cursor")}
	if len(f.DisplayID) > maxFilterID {
		return marquee.Errorf(marquee.EINVALID, "display_id is longer than %d characters", maxFilterID)
	}
	var err error
	if f.From, f.To, err = queryRange(c); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	format, err := export.ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	if format != export.JSON {
		return s.exportAlerts(c, f, format)
	}
	as, next, err := s.alerts.FindAlerts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if as == nil {
		as = []*alerts.Alert{}
	}
	return c.JSON(http.StatusOK, listResponse[*alerts.Alert]{Items: as, NextCursor: next})
}

// alertColumns are the columns of the offline alerts export. The
// duration is in seconds, up to the export's time for an open alert.
var alertColumns = []export.Text{
	{VI: "Mã cảnh báo", EN: "Alert ID"},
	{VI: "Mã màn hình", EN: "Display ID"},
	{VI: "Tên màn hình", EN: "Display name"},
	{VI: "Mã đơn vị", EN: "Organisation ID"},
	{VI: "Bắt đầu mất kết nối", EN: "Opened at"},
	{VI: "Kết thúc mất kết nối", EN: "Closed at"},
	{VI: "Trực tuyến lần cuối", EN: "Last seen"},
	{VI: "Thời lượng mất kết nối (giây)", EN: "Offline duration (s)"},
}

// exportAlerts writes every alert matching f as CSV or XLSX, paging
// through them maxListLimit at a time: a CSV is streamed page by page.
// Closed at is empty while an alert is open, last seen when the display
// was never online.
func (s *Server) exportAlerts(c echo.Context, f alerts.Filter, format export.Format) error {
	ctx := c.Request().Context()
	f.Limit = maxListLimit
	table := export.Table{
		Name:    export.Text{VI: "Cảnh báo mất kết nối", EN: "Offline alerts"},
		Columns: alertColumns,
		Rows: func(emit func(...any) error) error {
			return eachPage(func(cursor string) ([]*alerts.Alert, string, error) {
				f.Cursor = cursor
				return s.alerts.FindAlerts(ctx, f)
			}, func(a *alerts.Alert) error {
				return emit(a.ID, a.DisplayID, a.DisplayName, a.OrgID, a.OpenedAt,
					timeOrNil(a.ClosedAt), timeOrNil(a.LastSeen), a.Duration)
			})
		},
	}
	return s.writeExport(c, "alerts", format, table)
}

// timeOrNil is *t, or an untyped nil (an empty cell) when t is nil.
func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

type createWebhookRequest struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
	OrgID  string   `json:"organisation_id"`
}

// handleCreateWebhook: POST /api/v1/webhooks {"url","secret","events",
// "organisation_id"} → 201 with the webhook; its secret (generated when
// none was given) is shown in this answer only.
func (s *Server) handleCreateWebhook(c echo.Context) error {
	if s.alerts == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "webhooks are not available on this server")
	}
	var req createWebhookRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	w := &alerts.Webhook{URL: req.URL, Secret: req.Secret, Events: req.Events, OrgID: req.OrgID}
	if err := s.alerts.CreateWebhook(c.Request().Context(), w); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, webhookPath(w.ID))
	return c.JSON(http.StatusCreated, w)
}

// handleListWebhooks: GET /api/v1/webhooks → the webhooks in the actor's
// scope, without secrets.
func (s *Server) handleListWebhooks(c echo.Context) error {
	if s.alerts == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "webhooks are not available on this server")
	}
	ws, err := s.alerts.FindWebhooks(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[*alerts.Webhook]{Items: ws})
}

// handleDeleteWebhook: DELETE /api/v1/webhooks/:id → 204; its pending
// deliveries are dropped.
func (s *Server) handleDeleteWebhook(c echo.Context) error {
	if s.alerts == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "webhooks are not available on this server")
	}
	if err := s.alerts.DeleteWebhook(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleGetOfflineAlert: GET /api/v1/displays/:id/offline-alert → the
// display's silence threshold: {"display_id","offline_alert_after" (seconds,
// null: the default),"default_offline_alert_after"}.
func (s *Server) handleGetOfflineAlert(c echo.Context) error {
	if s.alerts == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "alerts are not available on this server")
	}
	t, err := s.alerts.DisplayThreshold(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type offlineAlertRequest struct {
	AfterSeconds *int64 `json:"offline_alert_after"`
}

// handlePutOfflineAlert: PUT /api/v1/displays/:id/offline-alert
// {"offline_alert_after": seconds|null} → the threshold as GET shows it.
func (s *Server) handlePutOfflineAlert(c echo.Context) error {
	if s.alerts == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "alerts are not available on this server")
	}
	var req offlineAlertRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	t, err := s.alerts.SetDisplayThreshold(c.Request().Context(), c.Param("id"), req.AfterSeconds)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}
