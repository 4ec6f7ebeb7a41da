package admin

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee/desired"
)

// API path prefixes. Every path the server answers, and every URL it hands
// out (Location headers), is built in this file.
const (
	apiPrefix       = "/api/v1"
	mediaPrefix     = apiPrefix + "/media"
	playlistsPrefix = apiPrefix + "/playlists"
	displaysPrefix  = apiPrefix + "/displays"
	schedulesPrefix = apiPrefix + "/schedules"
	playsPrefix     = apiPrefix + "/plays"
	// playerPrefix holds the routes players call with their display token.
	playerPrefix = apiPrefix + "/player"
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

		{http.MethodGet, playlistsPrefix, s.handleListPlaylists, false},
		{http.MethodPost, playlistsPrefix, s.handleCreatePlaylist, false},
		{http.MethodGet, playlistsPrefix + "/:id", s.handleGetPlaylist, false},
		{http.MethodPut, playlistsPrefix + "/:id", s.handleUpdatePlaylist, false},
		{http.MethodDelete, playlistsPrefix + "/:id", s.handleDeletePlaylist, false},
		{http.MethodGet, playlistsPrefix + "/:id/revisions", s.handleListPlaylistRevisions, false},
		{http.MethodGet, playlistsPrefix + "/:id/revisions/:rev", s.handleGetPlaylistRevision, false},

		{http.MethodGet, displaysPrefix, s.handleListDisplays, false},
		{http.MethodPost, displaysPrefix, s.handleCreateDisplay, false},
		{http.MethodGet, displaysPrefix + "/:id", s.handleGetDisplay, false},
		{http.MethodPut, displaysPrefix + "/:id", s.handleUpdateDisplay, false},
		{http.MethodDelete, displaysPrefix + "/:id", s.handleDeleteDisplay, false},
		{http.MethodPost, displaysPrefix + "/:id/token", s.handleRotateDisplayToken, false},
		{http.MethodGet, displaysPrefix + "/:id/state", s.handleDisplayState, false},
		{http.MethodGet, displaysPrefix + "/:id/timeline", s.handleDisplayTimeline, false},
		{http.MethodPost, displaysPrefix + "/:id/commands", s.handleSendCommand, false},
		{http.MethodGet, displaysPrefix + "/:id/commands", s.handleListCommands, false},

		{http.MethodGet, playsPrefix, s.handleListPlays, false},
		{http.MethodGet, apiPrefix + "/stats", s.handleStats, false},

		// Player routes: public to requireAuth because requireDisplay
		// admits them, with a display token instead of a user's.
		{http.MethodGet, playerPrefix + "/state", s.requireDisplay(s.handlePlayerState), true},
		{http.MethodGet, playerPrefix + "/media/:id/content", s.requireDisplay(s.handlePlayerContent), true},
		{http.MethodHead, playerPrefix + "/media/:id/content", s.requireDisplay(s.handlePlayerContent), true},
		{http.MethodGet, playerPrefix + "/media/:id/rendition", s.requireDisplay(s.handlePlayerRendition), true},
		{http.MethodHead, playerPrefix + "/media/:id/rendition", s.requireDisplay(s.handlePlayerRendition), true},

		{http.MethodGet, schedulesPrefix, s.handleListSchedules, false},
		{http.MethodPost, schedulesPrefix, s.handleCreateSchedule, false},
		{http.MethodPost, schedulesPrefix + "/check", s.handleCheckSchedule, false},
		{http.MethodGet, schedulesPrefix + "/:id", s.handleGetSchedule, false},
		{http.MethodPut, schedulesPrefix + "/:id", s.handleUpdateSchedule, false},
		{http.MethodDelete, schedulesPrefix + "/:id", s.handleDeleteSchedule, false},
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

// playlistPath is the URL path of one playlist.
func playlistPath(id string) string {
	return playlistsPrefix + "/" + url.PathEscape(id)
}

// displayPath is the URL path of one display.
func displayPath(id string) string {
	return displaysPrefix + "/" + url.PathEscape(id)
}

// schedulePath is the URL path of one schedule.
func schedulePath(id string) string {
	return schedulesPrefix + "/" + url.PathEscape(id)
}

// URLs builds the URLs that desired states hand to players; it implements
// desired.URLs. They are relative to the server's base URL and point at the
// player routes, which a display fetches with its own token.
type URLs struct{}

// RenditionURL is the URL of a media item cut to w×h with fit.
func (URLs) RenditionURL(mediaID string, w, h int, fit string) string {
	return playerMediaPath(mediaID) + "/rendition?" + desired.RenditionQuery(w, h, fit)
}

// ContentURL is the URL of a media item's original bytes.
func (URLs) ContentURL(mediaID string) string {
	return playerMediaPath(mediaID) + "/content"
}

// playerMediaPath is the URL path of one media item on the player routes.
func playerMediaPath(id string) string {
	return playerPrefix + "/media/" + url.PathEscape(id)
}
