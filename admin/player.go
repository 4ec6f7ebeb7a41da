package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
)

// The player routes (/api/v1/player/…) serve what a display fetches over
// HTTP: its desired state and the files of its manifest. They take the
// display's own token ("Authorization: Bearer mqd_…"), never a user's; a
// display token is in turn refused on every other route (requireAuth knows
// only user sessions). A display may fetch only the files its current
// desired state lists, and renditions only at its own size, so a stolen
// display token opens no more than that display shows anyway.

// Players is what the player routes need from the store (sqlstore.DB).
type Players interface {
	// FindDisplayByTokenHash returns the display whose token hashes to
	// tokenHash (auth.HashToken), or ENOTFOUND.
	FindDisplayByTokenHash(ctx context.Context, tokenHash string) (*displays.Display, error)
	// FindDisplayState returns the display's last built state, or
	// ENOTFOUND.
	FindDisplayState(ctx context.Context, displayID string) (*desired.Stored, error)
}

// ctxDisplay keeps the display requireDisplay admitted.
const ctxDisplay = "marquee.display"

// maxDisplayToken bounds what requireDisplay hashes; real tokens are 47
// bytes.
const maxDisplayToken = 256

// requireDisplay admits a request only with a valid display token and keeps
// the display in the context.
func (s *Server) requireDisplay(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.players == nil {
			return marquee.Errorf(marquee.EUNAVAILABLE, "player routes are not available on this server")
		}
		token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return marquee.Errorf(marquee.EUNAUTHORIZED, "missing bearer token")
		}
		if len(token) > maxDisplayToken {
			return marquee.Errorf(marquee.EUNAUTHORIZED, "invalid display token")
		}
		d, err := s.players.FindDisplayByTokenHash(c.Request().Context(), auth.HashToken(token))
		if marquee.ErrorCode(err) == marquee.ENOTFOUND {
			return marquee.Errorf(marquee.EUNAUTHORIZED, "invalid display token")
		} else if err != nil {
			return err
		}
		c.Set(ctxDisplay, d)
		return next(c)
	}
}

// currentDisplay returns the display that requireDisplay admitted.
func currentDisplay(c echo.Context) *displays.Display {
	d, _ := c.Get(ctxDisplay).(*displays.Display)
	return d
}

// handlePlayerState: GET /api/v1/player/state → the calling display's
// desired state, rebuilt when something that affects it changed; ETag
// "rev-N", 304 on a matching If-None-Match, Cache-Control no-cache.
func (s *Server) handlePlayerState(c echo.Context) error {
	d := currentDisplay(c)
	st, changed, err := s.states.State(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	if changed {
		// Built here first: have it published over MQTT too.
		s.notify(desired.ChangeDisplay, d.ID)
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

// handlePlayerContent: GET /api/v1/player/media/{id}/content → the
// original bytes, as GET /api/v1/media/{id}/content, if the display's
// manifest lists them.
func (s *Server) handlePlayerContent(c echo.Context) error {
	if err := s.checkManifest(c, URLs{}.ContentURL(c.Param("id"))); err != nil {
		return err
	}
	return s.handleMediaContent(c)
}

// handlePlayerRendition: GET /api/v1/player/media/{id}/rendition?w=&h=&fit=
// → the rendition, as GET /api/v1/media/{id}/rendition, if it is the
// display's own size and its manifest lists it.
func (s *Server) handlePlayerRendition(c echo.Context) error {
	w, err := querySide(c, "w")
	if err != nil {
		return err
	}
	h, err := querySide(c, "h")
	if err != nil {
		return err
	}
	fit, err := media.ParseFit(c.QueryParam("fit"))
	if err != nil {
		return err
	}
	if d := currentDisplay(c); w != d.Width || h != d.Height {
		return errNotInManifest()
	}
	if err := s.checkManifest(c, URLs{}.RenditionURL(c.Param("id"), w, h, string(fit))); err != nil {
		return err
	}
	return s.handleMediaRendition(c)
}

func errNotInManifest() error {
	return marquee.Errorf(marquee.ENOTFOUND, "media not found")
}

// checkManifest returns ENOTFOUND unless the calling display's stored
// desired state lists a file at url (in the form URLs builds). The stored
// state is the one the display was last given, over MQTT or HTTP.
func (s *Server) checkManifest(c echo.Context, url string) error {
	stored, err := s.players.FindDisplayState(c.Request().Context(), currentDisplay(c).ID)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return errNotInManifest()
	} else if err != nil {
		return err
	}
	var st struct {
		Media []struct {
			URL string `json:"url"`
		} `json:"media"`
	}
	if err := json.Unmarshal(stored.JSON, &st); err != nil {
		return marquee.WrapError(marquee.EINTERNAL, err, "decode stored state")
	}
	for _, a := range st.Media {
		if a.URL == url {
			return nil
		}
	}
	return errNotInManifest()
}

// What players report: the display routes show each display's last status.

// Statuses gives the status each display last reported (package fleet
// implements it, through an adapter in cmd/marquee).
type Statuses interface {
	// DisplayStatuses returns the status of each of ids that has one.
	DisplayStatuses(ctx context.Context, ids []string) (map[string]*DisplayStatus, error)
}

// DisplayStatus is the latest status of a display; the fields mirror
// fleet.DisplayStatus.
type DisplayStatus struct {
	DisplayID     string
	Online        bool
	LastSeen      *time.Time
	StateRevision int64
	Current       *marquee.NowPlaying
	Version       string
	CacheBytes    int64
	FreeDiskBytes int64
	UptimeSeconds int64
	ClockOffsetMS *int64
	UpdatedAt     time.Time
}

// displayJSON is a display as the display routes show it: its settings and
// what its player last reported.
type displayJSON struct {
	*displays.Display
	Online        bool                `json:"online"`
	LastSeen      *time.Time          `json:"last_seen"`      // null: never heard online
	Current       *marquee.NowPlaying `json:"current"`        // null: unknown or offline
	StateRevision *int64              `json:"state_revision"` // applied by the player; null: never reported
}

// withStatus returns ds with their statuses, read with one batched query.
func (s *Server) withStatus(ctx context.Context, ds []*displays.Display) ([]displayJSON, error) {
	out := make([]displayJSON, len(ds))
	for i, d := range ds {
		out[i].Display = d
	}
	if s.statuses == nil || len(ds) == 0 {
		return out, nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	sts, err := s.statuses.DisplayStatuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if st := sts[out[i].ID]; st != nil {
			rev := st.StateRevision
			out[i].Online, out[i].LastSeen, out[i].Current, out[i].StateRevision = st.Online, st.LastSeen, st.Current, &rev
		}
	}
	return out, nil
}

// writeDisplays answers a display list with statuses.
func (s *Server) writeDisplays(c echo.Context, ds []*displays.Display, next string) error {
	out, err := s.withStatus(c.Request().Context(), ds)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[displayJSON]{Items: out, NextCursor: next})
}

// writeDisplay answers one display with its status.
func (s *Server) writeDisplay(c echo.Context, d *displays.Display) error {
	out, err := s.withStatus(c.Request().Context(), []*displays.Display{d})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out[0])
}
