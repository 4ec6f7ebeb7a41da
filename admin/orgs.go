package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/orgs"
)

// withActor puts the actor of an authenticated request — the user that
// requireAuth admitted and their scope, the part of the organisation tree
// they may act in — into the request's context, where the services read it
// (auth.ScopeFrom). register installs it after requireAuth on every route
// that needs a user, so no such request reaches a service without one.
func (s *Server) withActor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil {
			return marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token")
		}
		req := c.Request()
		scope, err := s.orgs.Scope(req.Context(), u.OrgID)
		if err != nil {
			return err
		}
		c.SetRequest(req.WithContext(auth.NewContext(req.Context(), auth.Actor{User: u, Scope: scope})))
		return next(c)
	}
}

// ownerOrg is the organisation a new object is created in: the one the
// request names, or the user's own. The services check it is in the
// user's scope.
func ownerOrg(c echo.Context, requested string) string {
	if requested != "" {
		return requested
	}
	return currentUser(c).OrgID
}

// errOrgOnReplace refuses organisation_id in a replacing PUT: objects do not
// move between organisations.
func errOrgOnReplace() error {
	return marquee.Errorf(marquee.EINVALID, `"organisation_id" is set only when creating: objects do not move between organisations`)
}

// orgResponse is an organisation as the API shows it. ParentID is null for
// the root.
type orgResponse struct {
	ID        string    `json:"id"`
	ParentID  *string   `json:"parent_id"`
	Name      string    `json:"name"`
	Depth     int       `json:"depth"`
	CreatedAt time.Time `json:"created_at"`
}

func newOrgResponse(o *orgs.Organisation) orgResponse {
	r := orgResponse{ID: o.ID, Name: o.Name, Depth: o.Depth(), CreatedAt: o.CreatedAt}
	if o.ParentID != "" {
		parent := o.ParentID
		r.ParentID = &parent
	}
	return r
}

// createOrgRequest is the body of POST /api/v1/organisations.
type createOrgRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"` // "": the user's organisation
}

// renameOrgRequest is the body of PATCH /api/v1/organisations/{id}.
type renameOrgRequest struct {
	Name *string `json:"name"`
}

// handleCreateOrg: POST /api/v1/organisations {"name","parent_id"} → 201.
// The parent must be the user's organisation or one below it.
func (s *Server) handleCreateOrg(c echo.Context) error {
	var req createOrgRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	o, err := s.orgs.Create(c.Request().Context(), orgs.Input{Name: req.Name, ParentID: req.ParentID})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, orgPath(o.ID))
	return c.JSON(http.StatusCreated, newOrgResponse(o))
}

// handleListOrgs: GET /api/v1/organisations → the user's organisation and
// every one below it, as a flat list in tree order (each organisation
// before those below it) with parent_id and depth. The whole subtree is one
// page.
func (s *Server) handleListOrgs(c echo.Context) error {
	list, err := s.orgs.List(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]orgResponse, len(list))
	for i, o := range list {
		items[i] = newOrgResponse(o)
	}
	return c.JSON(http.StatusOK, listResponse[orgResponse]{Items: items})
}

// handleGetOrg: GET /api/v1/organisations/{id}; 404 outside the user's
// scope.
func (s *Server) handleGetOrg(c echo.Context) error {
	o, err := s.orgs.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(o))
}

// handleRenameOrg: PATCH /api/v1/organisations/{id} {"name"} → 200.
// Organisations are renamed, never moved.
func (s *Server) handleRenameOrg(c echo.Context) error {
	var req renameOrgRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.Name == nil {
		return marquee.Errorf(marquee.EINVALID, `"name" is required: organisations are renamed, never moved`)
	}
	o, err := s.orgs.Rename(c.Request().Context(), c.Param("id"), *req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(o))
}

// handleDeleteOrg: DELETE /api/v1/organisations/{id} → 204; 409 while it
// has organisations below it, users or objects.
func (s *Server) handleDeleteOrg(c echo.Context) error {
	if err := s.orgs.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
