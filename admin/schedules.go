package admin

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/schedules"
)

// scheduleRequest is the body of POST and PUT /api/v1/schedules[/{id}] and
// of POST /api/v1/schedules/check. PUT replaces every field.
type scheduleRequest struct {
	Name       string            `json:"name"`
	PlaylistID string            `json:"playlist_id"`
	Targets    schedules.Targets `json:"targets"`
	Cron       string            `json:"cron"`
	Duration   string            `json:"duration"` // "10h", "90m"; "" without cron
	StartsOn   string            `json:"starts_on"`
	EndsOn     string            `json:"ends_on"`
	Priority   string            `json:"priority"`
	Timezone   string            `json:"timezone"`
	// OrganisationID owns a new schedule: the user's organisation or one
	// below it; "" means the user's. A PUT may not send it.
	OrganisationID string `json:"organisation_id"`
}

func (r *scheduleRequest) input(c echo.Context) (schedules.Input, error) {
	d, err := schedules.ParseDuration(r.Duration)
	if err != nil {
		return schedules.Input{}, err
	}
	return schedules.Input{
		OrgID:      ownerOrg(c, r.OrganisationID),
		Name:       r.Name,
		PlaylistID: r.PlaylistID,
		Targets:    r.Targets,
		Cron:       r.Cron,
		Duration:   d,
		StartsOn:   r.StartsOn,
		EndsOn:     r.EndsOn,
		Priority:   marquee.Layer(r.Priority),
		Timezone:   r.Timezone,
	}, nil
}

// bindSchedule reads a scheduleRequest into an Input; the body of a
// replacing PUT may not name an organisation.
func bindSchedule(c echo.Context, replace bool) (schedules.Input, error) {
	var req scheduleRequest
	if err := c.Bind(&req); err != nil {
		return schedules.Input{}, err
	}
	if replace && req.OrganisationID != "" {
		return schedules.Input{}, errOrgOnReplace()
	}
	return req.input(c)
}

// scheduleResponse is the answer to a create or an edit: the schedule and
// its conflict report.
type scheduleResponse struct {
	*schedules.Schedule
	Conflicts []schedules.Conflict `json:"conflicts"`
	Truncated bool                 `json:"truncated"` // the conflict report was cut short
}

func newScheduleResponse(sc *schedules.Schedule, rep *schedules.Report) scheduleResponse {
	return scheduleResponse{Schedule: sc, Conflicts: rep.Conflicts, Truncated: rep.Truncated}
}

// handleCreateSchedule: POST /api/v1/schedules → 201 with the schedule and
// its conflicts.
func (s *Server) handleCreateSchedule(c echo.Context) error {
	in, err := bindSchedule(c, false)
	if err != nil {
		return err
	}
	sc, rep, err := s.schedules.Create(c.Request().Context(), in)
	if err != nil {
		return err
	}
	s.notify(desired.ChangeSchedule, sc.ID)
	c.Response().Header().Set(echo.HeaderLocation, schedulePath(sc.ID))
	return c.JSON(http.StatusCreated, newScheduleResponse(sc, rep))
}

// handleCheckSchedule: POST /api/v1/schedules/check[?schedule_id=] → 200
// with the conflict report of the body; nothing is stored. schedule_id
// checks an edit of that schedule.
func (s *Server) handleCheckSchedule(c echo.Context) error {
	in, err := bindSchedule(c, false)
	if err != nil {
		return err
	}
	rep, err := s.schedules.Check(c.Request().Context(), c.QueryParam("schedule_id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// handleListSchedules: GET /api/v1/schedules?display_id=&playlist_id=&tag=&priority=&approval=&q=&limit=&cursor=.
// approval=pending lists what awaits approval in the user's subtree.
func (s *Server) handleListSchedules(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	scs, next, err := s.schedules.List(c.Request().Context(), schedules.Filter{
		DisplayID:    c.QueryParam("display_id"),
		PlaylistID:   c.QueryParam("playlist_id"),
		Tag:          c.QueryParam("tag"),
		Priority:     marquee.Layer(c.QueryParam("priority")),
		Approval:     c.QueryParam("approval"),
		NameContains: c.QueryParam("q"),
		Limit:        limit,
		Cursor:       c.QueryParam("cursor"),
	})
	if err != nil {
		return err
	}
	if scs == nil {
		scs = []*schedules.Schedule{}
	}
	return c.JSON(http.StatusOK, listResponse[*schedules.Schedule]{Items: scs, NextCursor: next})
}

// handleGetSchedule: GET /api/v1/schedules/{id}.
func (s *Server) handleGetSchedule(c echo.Context) error {
	sc, err := s.schedules.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sc)
}

// handleUpdateSchedule: PUT /api/v1/schedules/{id} → 200 with the schedule
// and its conflicts.
func (s *Server) handleUpdateSchedule(c echo.Context) error {
	in, err := bindSchedule(c, true)
	if err != nil {
		return err
	}
	before, _ := s.schedules.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	sc, rep, err := s.schedules.Update(c.Request().Context(), c.Param("id"), in)
	if err != nil {
		return err
	}
	setAuditChange(c, before, sc)
	s.notify(desired.ChangeSchedule, sc.ID)
	return c.JSON(http.StatusOK, newScheduleResponse(sc, rep))
}

// handleDeleteSchedule: DELETE /api/v1/schedules/{id} → 204.
func (s *Server) handleDeleteSchedule(c echo.Context) error {
	before, _ := s.schedules.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	if err := s.schedules.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	setAuditChange(c, before, nil)
	s.notify(desired.ChangeSchedule, c.Param("id"))
	return c.NoContent(http.StatusNoContent)
}

// handleSubmitSchedule: POST /api/v1/schedules/{id}/submit → 200 with the
// schedule, now pending approval.
func (s *Server) handleSubmitSchedule(c echo.Context) error {
	return s.changeApproval(c, func(ctx context.Context, id string) (*schedules.Schedule, error) {
		return s.schedules.Submit(ctx, id)
	})
}

// handleApproveSchedule: POST /api/v1/schedules/{id}/approve → 200 with the
// schedule, whose approved version now plays.
func (s *Server) handleApproveSchedule(c echo.Context) error {
	return s.changeApproval(c, func(ctx context.Context, id string) (*schedules.Schedule, error) {
		return s.schedules.Approve(ctx, id)
	})
}

// rejectRequest is the body of POST /api/v1/schedules/{id}/reject.
type rejectRequest struct {
	Reason string `json:"reason"` // required
}

// handleRejectSchedule: POST /api/v1/schedules/{id}/reject {"reason"} → 200
// with the schedule. A request without a body has no reason: 400.
func (s *Server) handleRejectSchedule(c echo.Context) error {
	var req rejectRequest
	if c.Request().ContentLength != 0 {
		if err := c.Bind(&req); err != nil {
			return err
		}
	}
	return s.changeApproval(c, func(ctx context.Context, id string) (*schedules.Schedule, error) {
		return s.schedules.Reject(ctx, id, req.Reason)
	})
}

// changeApproval runs one step of the approval workflow on schedule {id},
// records it for the audit log (before and after: an approval's "after"
// holds the version approved, with its playlist revision) and tells the
// fleet: an approval changes what plays on the displays the schedule
// reaches.
func (s *Server) changeApproval(c echo.Context, step func(ctx context.Context, id string) (*schedules.Schedule, error)) error {
	ctx, id := c.Request().Context(), c.Param("id")
	before, _ := s.schedules.Get(ctx, id) // for the audit log only
	sc, err := step(ctx, id)
	if err != nil {
		return err
	}
	setAuditChange(c, before, sc)
	s.notify(desired.ChangeSchedule, sc.ID)
	return c.JSON(http.StatusOK, sc)
}
