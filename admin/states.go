package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/scheduler"
)

// Timeline limits: a preview spans at most maxTimelineSpan and returns at
// most maxTimelineEntries entries (10-second items over 7 days are ~60,000).
const (
	defaultTimelineSpan    = 24 * time.Hour
	maxTimelineSpan        = 31 * 24 * time.Hour
	defaultTimelineEntries = 10_000
	maxTimelineEntries     = 100_000
)

// handleDisplayState: GET /api/v1/displays/{id}/state → the display's
// desired state, rebuilt (and its revision bumped) when something that
// affects it changed. ETag "rev-N"; If-None-Match answers 304.
func (s *Server) handleDisplayState(c echo.Context) error {
	if err := s.checkDisplay(c); err != nil {
		return err
	}
	st, _, err := s.states.State(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	etag := `"rev-` + strconv.FormatInt(st.Revision, 10) + `"`
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.JSON(http.StatusOK, st)
}

// checkDisplay answers 404 unless display {id} exists in the user's scope:
// what hangs off a display (its state, timeline and commands) is reached
// through it. The desired-state builder itself reads whatever the display
// shows, content from organisations above it included.
func (s *Server) checkDisplay(c echo.Context) error {
	_, err := s.displays.Get(c.Request().Context(), c.Param("id"))
	return err
}

func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == etag || part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// timelineEntry is one entry of a preview, with names for people.
type timelineEntry struct {
	Start            time.Time     `json:"start"`
	End              time.Time     `json:"end"`
	PlaylistID       string        `json:"playlist_id,omitempty"`
	PlaylistRevision int64         `json:"playlist_revision,omitempty"`
	PlaylistName     string        `json:"playlist_name,omitempty"`
	ItemIndex        int           `json:"item_index"`
	MediaID          string        `json:"media_id,omitempty"`
	MediaName        string        `json:"media_name,omitempty"`
	SHA256           string        `json:"sha256,omitempty"`
	Priority         marquee.Layer `json:"priority,omitempty"`
	Reason           string        `json:"reason"`
	ScheduleID       string        `json:"schedule_id,omitempty"`
	ScheduleName     string        `json:"schedule_name,omitempty"`
}

type timelineResponse struct {
	DisplayID string          `json:"display_id"`
	Revision  int64           `json:"revision"`
	Timezone  string          `json:"timezone"`
	From      time.Time       `json:"from"`
	To        time.Time       `json:"to"`
	Entries   []timelineEntry `json:"entries"`
	Truncated bool            `json:"truncated"`
}

// handleDisplayTimeline: GET /api/v1/displays/{id}/timeline?from=&to=&limit=
// → what the display will show, entry by entry, computed by the same
// resolver the player runs on the same desired state.
func (s *Server) handleDisplayTimeline(c echo.Context) error {
	from, to, limit, err := timelineParams(c, s.now())
	if err != nil {
		return err
	}
	if err := s.checkDisplay(c); err != nil {
		return err
	}
	st, _, err := s.states.State(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	plan, err := scheduler.Compile(st)
	if err != nil {
		return err
	}
	entries, truncated := plan.Timeline(from, to, limit)

	names := map[string]string{}
	for _, r := range st.Rules {
		names[r.ScheduleID] = r.Name
	}
	resp := timelineResponse{DisplayID: st.DisplayID, Revision: st.Revision, Timezone: st.Display.Timezone,
		From: from.UTC(), To: to.UTC(), Entries: make([]timelineEntry, 0, len(entries)), Truncated: truncated}
	for _, e := range entries {
		te := timelineEntry{Start: e.Start, End: e.End, ItemIndex: e.ItemIndex, MediaID: e.MediaID,
			SHA256: e.SHA256, Priority: e.Layer, Reason: e.Reason.Kind, ScheduleID: e.Reason.ScheduleID,
			ScheduleName: names[e.Reason.ScheduleID]}
		if e.Playlist != nil {
			te.PlaylistID, te.PlaylistRevision = e.Playlist.PlaylistID, e.Playlist.Revision
			if p := st.Playlist(*e.Playlist); p != nil {
				te.PlaylistName = p.Name
			}
		}
		if a := plan.Asset(e.SHA256); a != nil {
			te.MediaName = a.Name
		}
		resp.Entries = append(resp.Entries, te)
	}
	return c.JSON(http.StatusOK, resp)
}

// timelineParams reads from (default now), to (default from + 24 h) and
// limit (default 10,000).
func timelineParams(c echo.Context, now time.Time) (from, to time.Time, limit int, err error) {
	from, to, limit = now, time.Time{}, defaultTimelineEntries
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseQueryTime(v); err != nil {
			return from, to, 0, marquee.Errorf(marquee.EINVALID, "from must be an RFC 3339 time such as 2025-06-05T07:00:00+07:00")
		}
	}
	to = from.Add(defaultTimelineSpan)
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseQueryTime(v); err != nil {
			return from, to, 0, marquee.Errorf(marquee.EINVALID, "to must be an RFC 3339 time such as 2025-06-06T07:00:00+07:00")
		}
	}
	if !to.After(from) {
		return from, to, 0, marquee.Errorf(marquee.EINVALID, "to must be after from")
	}
	if to.Sub(from) > maxTimelineSpan {
		return from, to, 0, marquee.Errorf(marquee.EINVALID, "a timeline spans at most 31 days")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > maxTimelineEntries {
			return from, to, 0, marquee.Errorf(marquee.EINVALID, "limit must be an integer from 1 to %d", maxTimelineEntries)
		}
		limit = n
	}
	return from, to, limit, nil
}

// queryRange reads the optional from and to of a list (RFC 3339 times;
// zero when absent); to must be after from when both are given.
func queryRange(c echo.Context) (from, to time.Time, err error) {
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseQueryTime(v); err != nil {
			return from, to, marquee.Errorf(marquee.EINVALID, "from must be an RFC 3339 time such as 2026-03-01T00:00:00+07:00")
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseQueryTime(v); err != nil {
			return from, to, marquee.Errorf(marquee.EINVALID, "to must be an RFC 3339 time such as 2026-04-01T00:00:00+07:00")
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, marquee.Errorf(marquee.EINVALID, "to must be after from")
	}
	return from, to, nil
}

// parseQueryTime parses an RFC 3339 time from a query string, forgiving the
// usual mistake of an unescaped "+" in the zone offset (which arrives as a
// space).
func parseQueryTime(v string) (time.Time, error) {
	return time.Parse(time.RFC3339, strings.Replace(v, " ", "+", 1))
}
