package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
)

// displayRequest is the body of POST and PUT /api/v1/displays[/{id}]. PUT
// replaces every field: an absent one takes its zero value (no tags, no
// location, no fallback, the default zone).
type displayRequest struct {
	Name               string             `json:"name"`
	Width              int                `json:"width"`
	Height             int                `json:"height"`
	Timezone           string             `json:"timezone"`
	Tags               []string           `json:"tags"`
	Location           *displays.Location `json:"location"`
	FallbackPlaylistID string             `json:"fallback_playlist_id"`
	// OrganisationID owns a new display: the user's organisation or one
	// below it; "" means the user's. A PUT may not send it.
	OrganisationID string `json:"organisation_id"`
}

func (r *displayRequest) input(c echo.Context) displays.Input {
	return displays.Input{
		OrgID:              ownerOrg(c, r.OrganisationID),
		Name:               r.Name,
		Width:              r.Width,
		Height:             r.Height,
		Timezone:           r.Timezone,
		Tags:               r.Tags,
		Location:           r.Location,
		FallbackPlaylistID: r.FallbackPlaylistID,
	}
}

// createdDisplay is the answer to a create: the display and its token,
// which is shown only here.
type createdDisplay struct {
	*displays.Display
	Token string `json:"token"`
}

type tokenResponse struct {
	Token string `json:"token"`
}

// handleCreateDisplay: POST /api/v1/displays → 201 with the display and
// its token.
func (s *Server) handleCreateDisplay(c echo.Context) error {
	var req displayRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	d, token, err := s.displays.Create(c.Request().Context(), req.input(c))
	if err != nil {
		return err
	}
	s.notify(desired.ChangeDisplay, d.ID)
	c.Response().Header().Set(echo.HeaderLocation, displayPath(d.ID))
	return c.JSON(http.StatusCreated, createdDisplay{Display: d, Token: token})
}

// handleListDisplays: GET /api/v1/displays?tag=&q=&limit=&cursor=.
func (s *Server) handleListDisplays(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	ds, next, err := s.displays.List(c.Request().Context(), displays.Filter{
		Tag:          c.QueryParam("tag"),
		NameContains: c.QueryParam("q"),
		Limit:        limit,
		Cursor:       c.QueryParam("cursor"),
	})
	if err != nil {
		return err
	}
	return s.writeDisplays(c, ds, next) // with each player's status
}

// handleGetDisplay: GET /api/v1/displays/{id}.
func (s *Server) handleGetDisplay(c echo.Context) error {
	d, err := s.displays.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.writeDisplay(c, d) // with its player's status
}

// handleUpdateDisplay: PUT /api/v1/displays/{id} replaces the display's
// editable fields; its token stays.
func (s *Server) handleUpdateDisplay(c echo.Context) error {
	var req displayRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.OrganisationID != "" {
		return errOrgOnReplace()
	}
	before, _ := s.displays.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	d, err := s.displays.Update(c.Request().Context(), c.Param("id"), req.input(c))
	if err != nil {
		return err
	}
	setAuditChange(c, before, d)
	s.notify(desired.ChangeDisplay, d.ID)
	return c.JSON(http.StatusOK, d)
}

// handleDeleteDisplay: DELETE /api/v1/displays/{id} → 204; schedules stop
// targeting it.
func (s *Server) handleDeleteDisplay(c echo.Context) error {
	before, _ := s.displays.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	if err := s.displays.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	setAuditChange(c, before, nil)
	s.notify(desired.ChangeDisplay, c.Param("id"))
	return c.NoContent(http.StatusNoContent)
}

// handleRotateDisplayToken: POST /api/v1/displays/{id}/token → 200 with a
// new token; the old one stops working at once.
func (s *Server) handleRotateDisplayToken(c echo.Context) error {
	token, err := s.displays.RotateToken(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	s.notify(TokenRotated, c.Param("id"))
	return c.JSON(http.StatusOK, tokenResponse{Token: token})
}
