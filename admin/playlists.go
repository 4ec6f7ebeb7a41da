package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/playlists"
)

// playlistRequest is the body of POST and PUT /api/v1/playlists[/{id}].
// PUT replaces the whole playlist, so there items must be present (an
// empty array empties it): a client that sends only a new name must not
// wipe the items by accident.
type playlistRequest struct {
	Name  string                 `json:"name"`
	Items *[]playlistItemRequest `json:"items"`
	// OrganisationID owns a new playlist: the user's organisation or one
	// below it; "" means the user's. A PUT may not send it.
	OrganisationID string `json:"organisation_id"`
}

// playlistItemRequest is one item as sent. Times are strings so that a bad
// one is reported with its item's index.
type playlistItemRequest struct {
	MediaID    string  `json:"media_id"`
	DurationMS int64   `json:"duration_ms"` // 0: the default
	Fit        string  `json:"fit"`         // "": fill
	ValidFrom  *string `json:"valid_from"`  // RFC 3339; null or "": open
	ValidUntil *string `json:"valid_until"`
}

// input turns the request into a playlists.Input for the calling user.
func (r *playlistRequest) input(c echo.Context) (playlists.Input, error) {
	u := currentUser(c)
	in := playlists.Input{Name: r.Name, OrgID: ownerOrg(c, r.OrganisationID), CreatedBy: u.ID}
	if r.Items == nil {
		return in, nil
	}
	in.Items = make([]playlists.Item, len(*r.Items))
	for i, it := range *r.Items {
		from, err := parseItemTime(i, "valid_from", it.ValidFrom)
		if err != nil {
			return in, err
		}
		until, err := parseItemTime(i, "valid_until", it.ValidUntil)
		if err != nil {
			return in, err
		}
		in.Items[i] = playlists.Item{
			MediaID:    it.MediaID,
			DurationMS: it.DurationMS,
			Fit:        it.Fit,
			ValidFrom:  from,
			ValidUntil: until,
		}
	}
	return in, nil
}

// parseItemTime parses an item's optional RFC 3339 time; nil or "" is no
// time.
func parseItemTime(i int, field string, s *string) (*time.Time, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, marquee.Errorf(marquee.EINVALID,
			"item %d: %s must be an RFC 3339 time such as 2026-03-01T08:00:00+07:00", i, field)
	}
	return &t, nil
}

// handleListPlaylists: GET /api/v1/playlists?q=&media_id=&limit=&cursor=.
func (s *Server) handleListPlaylists(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	ps, next, err := s.playlists.List(c.Request().Context(), playlists.Filter{
		NameContains: c.QueryParam("q"),
		MediaID:      c.QueryParam("media_id"),
		Limit:        limit,
		Cursor:       c.QueryParam("cursor"),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, playlistList(ps, next))
}

// handleCreatePlaylist: POST /api/v1/playlists {"name","items"} → 201.
func (s *Server) handleCreatePlaylist(c echo.Context) error {
	var req playlistRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	in, err := req.input(c)
	if err != nil {
		return err
	}
	p, err := s.playlists.Create(c.Request().Context(), in)
	if err != nil {
		return err
	}
	s.notify(desired.ChangePlaylist, p.ID)
	c.Response().Header().Set(echo.HeaderLocation, playlistPath(p.ID))
	return c.JSON(http.StatusCreated, p)
}

// handleGetPlaylist: GET /api/v1/playlists/{id} (the current revision).
func (s *Server) handleGetPlaylist(c echo.Context) error {
	p, err := s.playlists.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// handleUpdatePlaylist: PUT /api/v1/playlists/{id} {"name","items"} → 200
// with the new revision, or the current one when nothing changed.
func (s *Server) handleUpdatePlaylist(c echo.Context) error {
	var req playlistRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.Items == nil {
		return marquee.Errorf(marquee.EINVALID, `"items" is required; send [] for an empty playlist`)
	}
	if req.OrganisationID != "" {
		return errOrgOnReplace()
	}
	in, err := req.input(c)
	if err != nil {
		return err
	}
	before, _ := s.playlists.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	p, err := s.playlists.Update(c.Request().Context(), c.Param("id"), in)
	if err != nil {
		return err
	}
	setAuditChange(c, before, p)
	s.notify(desired.ChangePlaylist, p.ID)
	return c.JSON(http.StatusOK, p)
}

// handleDeletePlaylist: DELETE /api/v1/playlists/{id} → 204; 409 while a
// schedule or a display uses it.
func (s *Server) handleDeletePlaylist(c echo.Context) error {
	before, _ := s.playlists.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	if err := s.playlists.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	setAuditChange(c, before, nil)
	s.notify(desired.ChangePlaylist, c.Param("id"))
	return c.NoContent(http.StatusNoContent)
}

// handleListPlaylistRevisions: GET /api/v1/playlists/{id}/revisions?limit=&cursor=,
// newest first.
func (s *Server) handleListPlaylistRevisions(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	ps, next, err := s.playlists.ListRevisions(c.Request().Context(), c.Param("id"), limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, playlistList(ps, next))
}

// handleGetPlaylistRevision: GET /api/v1/playlists/{id}/revisions/{rev}.
func (s *Server) handleGetPlaylistRevision(c echo.Context) error {
	rev, err := strconv.ParseInt(c.Param("rev"), 10, 64)
	if err != nil || rev < 1 {
		return marquee.Errorf(marquee.EINVALID, "revision must be a positive integer")
	}
	p, err := s.playlists.GetRevision(c.Request().Context(), c.Param("id"), rev)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// playlistList is the list envelope of playlists; items is never null.
func playlistList(ps []*playlists.Playlist, next string) listResponse[*playlists.Playlist] {
	if ps == nil {
		ps = []*playlists.Playlist{}
	}
	return listResponse[*playlists.Playlist]{Items: ps, NextCursor: next}
}
