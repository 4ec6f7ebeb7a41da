package admin

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee/auth"
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
	reportsPrefix   = apiPrefix + "/reports"
	orgsPrefix      = apiPrefix + "/organisations"
	usersPrefix     = apiPrefix + "/users"
	alertsPrefix    = apiPrefix + "/alerts"
	webhooksPrefix  = apiPrefix + "/webhooks"
	authPrefix      = apiPrefix + "/auth"
	// playerPrefix holds the routes players call with their display token.
	playerPrefix = apiPrefix + "/player"
)

// route is one line of the route table.
type route struct {
	method  string
	path    string
	handler echo.HandlerFunc
	// perm is the permission a user's role must hold (auth.Permission);
	// permPublic marks the routes reachable without a user's token.
	// Every route names one: register refuses an empty one.
	perm auth.Permission
}

// permPublic marks a route that needs no user token: health checks, login,
// and the player routes (requireDisplay admits those with a display token).
const permPublic auth.Permission = "public"

// routes is the route table: the only place where routes are defined.
func (s *Server) routes() []route {
	rs := []route{
		{http.MethodGet, "/healthz", s.handleHealthz, permPublic},
		{http.MethodGet, "/readyz", s.handleReadyz, permPublic},

		{http.MethodPost, apiPrefix + "/auth/login", s.handleLogin, permPublic},
		{http.MethodPost, apiPrefix + "/auth/logout", s.handleLogout, auth.PermSelf},
		{http.MethodGet, authPrefix + "/session", s.handleCurrentSession, auth.PermSelf},
		{http.MethodPost, authPrefix + "/password", s.handleChangePassword, auth.PermSelf},
		{http.MethodGet, authPrefix + "/sessions", s.handleListSessions, auth.PermSelf},
		{http.MethodDelete, authPrefix + "/sessions/:id", s.handleRevokeSession, auth.PermSelf},
		{http.MethodGet, authPrefix + "/tokens", s.handleListTokens, auth.PermSelf},
		{http.MethodPost, authPrefix + "/tokens", s.handleCreateToken, auth.PermSelf},
		{http.MethodDelete, authPrefix + "/tokens/:id", s.handleRevokeToken, auth.PermSelf},

		{http.MethodGet, usersPrefix, s.handleListUsers, auth.PermUserManage},
		{http.MethodPost, usersPrefix, s.handleCreateUser, auth.PermUserManage},
		{http.MethodGet, usersPrefix + "/:id", s.handleGetUser, auth.PermUserManage},
		{http.MethodPatch, usersPrefix + "/:id", s.handleUpdateUser, auth.PermUserManage},
		{http.MethodPost, usersPrefix + "/:id/password", s.handleResetPassword, auth.PermUserManage},

		{http.MethodGet, mediaPrefix, s.handleListMedia, auth.PermRead},
		{http.MethodPost, mediaPrefix, s.handleUploadMedia, auth.PermContentWrite},
		{http.MethodGet, mediaPrefix + "/:id", s.handleGetMedia, auth.PermRead},
		{http.MethodPatch, mediaPrefix + "/:id", s.handleUpdateMedia, auth.PermContentWrite},
		{http.MethodDelete, mediaPrefix + "/:id", s.handleDeleteMedia, auth.PermContentWrite},
		{http.MethodGet, mediaPrefix + "/:id/content", s.handleMediaContent, auth.PermRead},
		{http.MethodHead, mediaPrefix + "/:id/content", s.handleMediaContent, auth.PermRead},
		{http.MethodGet, mediaPrefix + "/:id/rendition", s.handleMediaRendition, auth.PermRead},
		{http.MethodHead, mediaPrefix + "/:id/rendition", s.handleMediaRendition, auth.PermRead},
		{http.MethodGet, mediaPrefix + "/:id/thumbnail", s.handleMediaThumbnail, auth.PermRead},
		{http.MethodHead, mediaPrefix + "/:id/thumbnail", s.handleMediaThumbnail, auth.PermRead},

		{http.MethodGet, playlistsPrefix, s.handleListPlaylists, auth.PermRead},
		{http.MethodPost, playlistsPrefix, s.handleCreatePlaylist, auth.PermContentWrite},
		{http.MethodGet, playlistsPrefix + "/:id", s.handleGetPlaylist, auth.PermRead},
		{http.MethodPut, playlistsPrefix + "/:id", s.handleUpdatePlaylist, auth.PermContentWrite},
		{http.MethodDelete, playlistsPrefix + "/:id", s.handleDeletePlaylist, auth.PermContentWrite},
		{http.MethodGet, playlistsPrefix + "/:id/revisions", s.handleListPlaylistRevisions, auth.PermRead},
		{http.MethodGet, playlistsPrefix + "/:id/revisions/:rev", s.handleGetPlaylistRevision, auth.PermRead},

		{http.MethodGet, displaysPrefix, s.handleListDisplays, auth.PermRead},
		{http.MethodPost, displaysPrefix, s.handleCreateDisplay, auth.PermDisplayManage},
		{http.MethodGet, displaysPrefix + "/:id", s.handleGetDisplay, auth.PermRead},
		{http.MethodPut, displaysPrefix + "/:id", s.handleUpdateDisplay, auth.PermDisplayManage},
		{http.MethodDelete, displaysPrefix + "/:id", s.handleDeleteDisplay, auth.PermDisplayManage},
		{http.MethodPost, displaysPrefix + "/:id/token", s.handleRotateDisplayToken, auth.PermDisplayManage},
		{http.MethodGet, displaysPrefix + "/:id/state", s.handleDisplayState, auth.PermRead},
		{http.MethodGet, displaysPrefix + "/:id/timeline", s.handleDisplayTimeline, auth.PermRead},
		{http.MethodPost, displaysPrefix + "/:id/commands", s.handleSendCommand, auth.PermDisplayManage},
		{http.MethodGet, displaysPrefix + "/:id/commands", s.handleListCommands, auth.PermRead},

		{http.MethodGet, orgsPrefix, s.handleListOrgs, auth.PermRead},
		{http.MethodPost, orgsPrefix, s.handleCreateOrg, auth.PermUserManage},
		{http.MethodGet, orgsPrefix + "/:id", s.handleGetOrg, auth.PermRead},
		{http.MethodPatch, orgsPrefix + "/:id", s.handleRenameOrg, auth.PermUserManage},
		{http.MethodDelete, orgsPrefix + "/:id", s.handleDeleteOrg, auth.PermUserManage},

		{http.MethodGet, playsPrefix, s.handleListPlays, auth.PermRead},
		{http.MethodGet, reportsPrefix + "/airtime", s.handleAirtimeReport, auth.PermRead},
		{http.MethodGet, reportsPrefix + "/uptime", s.handleUptimeReport, auth.PermRead},
		{http.MethodGet, reportsPrefix + "/compliance", s.handleComplianceReport, auth.PermRead},
		{http.MethodGet, reportsPrefix + "/monthly", s.handleMonthlyReport, auth.PermRead},
		{http.MethodGet, apiPrefix + "/stats", s.handleStats, auth.PermRead},
		{http.MethodGet, apiPrefix + "/audit", s.handleListAudit, auth.PermAuditRead},

		{http.MethodGet, alertsPrefix, s.handleListAlerts, auth.PermRead},
		{http.MethodGet, webhooksPrefix, s.handleListWebhooks, auth.PermUserManage},
		{http.MethodPost, webhooksPrefix, s.handleCreateWebhook, auth.PermUserManage},
		{http.MethodDelete, webhooksPrefix + "/:id", s.handleDeleteWebhook, auth.PermUserManage},
		{http.MethodGet, displaysPrefix + "/:id/offline-alert", s.handleGetOfflineAlert, auth.PermRead},
		{http.MethodPut, displaysPrefix + "/:id/offline-alert", s.handlePutOfflineAlert, auth.PermDisplayManage},

		// Player routes: public to requireAuth because requireDisplay
		// admits them, with a display token instead of a user's.
		{http.MethodGet, playerPrefix + "/state", s.requireDisplay(s.handlePlayerState), permPublic},
		{http.MethodGet, playerPrefix + "/media/:id/content", s.requireDisplay(s.handlePlayerContent), permPublic},
		{http.MethodHead, playerPrefix + "/media/:id/content", s.requireDisplay(s.handlePlayerContent), permPublic},
		{http.MethodGet, playerPrefix + "/media/:id/rendition", s.requireDisplay(s.handlePlayerRendition), permPublic},
		{http.MethodHead, playerPrefix + "/media/:id/rendition", s.requireDisplay(s.handlePlayerRendition), permPublic},

		{http.MethodGet, schedulesPrefix, s.handleListSchedules, auth.PermRead},
		{http.MethodPost, schedulesPrefix, s.handleCreateSchedule, auth.PermScheduleWrite},
		{http.MethodPost, schedulesPrefix + "/check", s.handleCheckSchedule, auth.PermRead},
		{http.MethodGet, schedulesPrefix + "/:id", s.handleGetSchedule, auth.PermRead},
		{http.MethodPut, schedulesPrefix + "/:id", s.handleUpdateSchedule, auth.PermScheduleWrite},
		{http.MethodDelete, schedulesPrefix + "/:id", s.handleDeleteSchedule, auth.PermScheduleWrite},
		{http.MethodPost, schedulesPrefix + "/:id/submit", s.handleSubmitSchedule, auth.PermScheduleWrite},
		{http.MethodPost, schedulesPrefix + "/:id/approve", s.handleApproveSchedule, auth.PermScheduleApprove},
		{http.MethodPost, schedulesPrefix + "/:id/reject", s.handleRejectSchedule, auth.PermScheduleApprove},
	}
	if s.testHook != nil {
		rs = append(rs, route{http.MethodGet, "/_test/hook", s.testHook, permPublic})
	}
	return rs
}

// register adds the route table to e, guarding non-public routes with
// bearer-token authentication.
func (s *Server) register(e *echo.Echo) {
	for _, r := range s.routes() {
		var mw []echo.MiddlewareFunc
		switch r.perm {
		case permPublic:
		case "":
			panic("admin: route " + r.method + " " + r.path + " names no permission")
		default:
			// withActor: the services see the user's scope (orgs.go).
			mw = append(mw, s.requireAuth, requirePermission(r.perm), s.withActor)
		}
		if sp, ok := auditSpecFor(r); ok {
			mw = append(mw, s.withAudit(sp)) // audit.go
		}
		e.Add(r.method, r.path, r.handler, mw...)
	}
}

// userPath is the URL path of one user.
func userPath(id string) string {
	return usersPrefix + "/" + url.PathEscape(id)
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

// orgPath is the URL path of one organisation.
func orgPath(id string) string {
	return orgsPrefix + "/" + url.PathEscape(id)
}

// webhookPath is the URL path of one webhook.
func webhookPath(id string) string {
	return webhooksPrefix + "/" + url.PathEscape(id)
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
