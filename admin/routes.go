package admin

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// API path prefixes. Every path the server answers, and every URL it hands
// out (Location headers), is built in this file.
const (
	apiPrefix   = "/api/v1"
	mediaPrefix = apiPrefix + "/media"
)

// route is one line of the route table.
type route struct {
	method  string
	path    string
	handler echo.HandlerFunc
	public  bool // reachable without a bearer token
}

// routes is the route table: the only place where routes are defined.
func (s *Server) routes() []route {
	rs := []route{
		{http.MethodGet, "/healthz", s.handleHealthz, true},
		{http.MethodGet, "/readyz", s.handleReadyz, true},

		{http.MethodPost, apiPrefix + "/auth/login", s.handleLogin, true},
		{http.MethodPost, apiPrefix + "/auth/logout", s.handleLogout, false},

		{http.MethodGet, mediaPrefix, s.handleListMedia, false},
		{http.MethodPost, mediaPrefix, s.handleUploadMedia, false},
		{http.MethodGet, mediaPrefix + "/:id", s.handleGetMedia, false},
		{http.MethodPatch, mediaPrefix + "/:id", s.handleUpdateMedia, false},
		{http.MethodDelete, mediaPrefix + "/:id", s.handleDeleteMedia, false},
		{http.MethodGet, mediaPrefix + "/:id/content", s.handleMediaContent, false},
		{http.MethodHead, mediaPrefix + "/:id/content", s.handleMediaContent, false},
		{http.MethodGet, mediaPrefix + "/:id/rendition", s.handleMediaRendition, false},
		{http.MethodHead, mediaPrefix + "/:id/rendition", s.handleMediaRendition, false},
		{http.MethodGet, mediaPrefix + "/:id/thumbnail", s.handleMediaThumbnail, false},
		{http.MethodHead, mediaPrefix + "/:id/thumbnail", s.handleMediaThumbnail, false},
	}
	if s.testHook != nil {
		rs = append(rs, route{http.MethodGet, "/_test/hook", s.testHook, true})
	}
	return rs
}

// register adds the route table to e, guarding non-public routes with
// bearer-token authentication.
func (s *Server) register(e *echo.Echo) {
	for _, r := range s.routes() {
		var mw []echo.MiddlewareFunc
		if !r.public {
			mw = append(mw, s.requireAuth)
		}
		e.Add(r.method, r.path, r.handler, mw...)
	}
}

// mediaPath is the URL path of one media item.
func mediaPath(id string) string {
	return mediaPrefix + "/" + url.PathEscape(id)
}
