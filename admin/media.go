package admin

import (
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/media"
)

// maxListLimit is the largest page a list endpoint serves.
const maxListLimit = 500

// maxRenditionSide is the largest width or height a rendition may have.
const maxRenditionSide = 8192

// immutable is the Cache-Control of content-addressed bytes: a URL's bytes
// never change (the ETag is the hash), so caches may keep them for a year.
const immutable = "public, max-age=31536000, immutable"

// listResponse is the envelope of every list in the API.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// handleListMedia: GET /api/v1/media?tag=&kind=&q=&limit=&cursor=.
func (s *Server) handleListMedia(c echo.Context) error {
	f := media.Filter{
		Tag:          c.QueryParam("tag"),
		NameContains: c.QueryParam("q"),
		Cursor:       c.QueryParam("cursor"),
	}
	switch k := media.Kind(c.QueryParam("kind")); k {
	case "", media.KindImage, media.KindVideo:
		f.Kind = k
	default:
		return marquee.Errorf(marquee.EINVALID, "kind must be %q or %q", media.KindImage, media.KindVideo)
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	f.Limit = limit

	items, next, err := s.lib.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*media.Item{}
	}
	return c.JSON(http.StatusOK, listResponse[*media.Item]{Items: items, NextCursor: next})
}

// queryLimit parses the limit query parameter: absent means the store's
// default (0), otherwise 1..maxListLimit.
func queryLimit(c echo.Context) (int, error) {
	raw := c.QueryParam("limit")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, marquee.Errorf(marquee.EINVALID, "limit must be an integer from 1 to %d", maxListLimit)
	}
	return n, nil
}

// handleGetMedia: GET /api/v1/media/{id}.
func (s *Server) handleGetMedia(c echo.Context) error {
	it, err := s.lib.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, it)
}

// updateMediaRequest is the body of PATCH /api/v1/media/{id}; absent (or
// null) fields are left alone.
type updateMediaRequest struct {
	Name *string   `json:"name"`
	Tags *[]string `json:"tags"`
}

// handleUpdateMedia: PATCH /api/v1/media/{id} {"name"?, "tags"?}.
func (s *Server) handleUpdateMedia(c echo.Context) error {
	var req updateMediaRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	before, _ := s.lib.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	it, err := s.lib.Update(c.Request().Context(), c.Param("id"), media.Update{Name: req.Name, Tags: req.Tags})
	if err != nil {
		return err
	}
	setAuditChange(c, before, it)
	s.notify(desired.ChangeMedia, it.ID)
	return c.JSON(http.StatusOK, it)
}

// handleDeleteMedia: DELETE /api/v1/media/{id}; 409 while something uses it.
func (s *Server) handleDeleteMedia(c echo.Context) error {
	before, _ := s.lib.Get(c.Request().Context(), c.Param("id")) // for the audit log only
	if err := s.lib.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	setAuditChange(c, before, nil)
	s.notify(desired.ChangeMedia, c.Param("id"))
	return c.NoContent(http.StatusNoContent)
}

// handleMediaContent: GET /api/v1/media/{id}/content serves the original
// bytes, with Range and conditional requests.
func (s *Server) handleMediaContent(c echo.Context) error {
	it, f, err := s.lib.Open(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, it.MIME)
	h.Set("ETag", quoteETag(it.SHA256))
	h.Set("Cache-Control", immutable)
	h.Set(echo.HeaderContentDisposition, contentDisposition(it.Name))
	http.ServeContent(c.Response(), c.Request(), "", it.CreatedAt, f)
	return nil
}

// handleMediaRendition: GET /api/v1/media/{id}/rendition?w=&h=&fit= serves
// the item cut to exactly w×h pixels.
func (s *Server) handleMediaRendition(c echo.Context) error {
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
	// Library.Rendition does not apply the user's scope (desired states
	// need renditions of media from above a display's organisation).
	if _, err := s.lib.Get(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	r, err := s.lib.Rendition(c.Request().Context(), c.Param("id"), w, h, fit)
	if err != nil {
		return err
	}
	return serveRendition(c, r)
}

// handleMediaThumbnail: GET /api/v1/media/{id}/thumbnail.
func (s *Server) handleMediaThumbnail(c echo.Context) error {
	r, err := s.lib.Thumbnail(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return serveRendition(c, r)
}

// querySide parses a required rendition dimension: an integer in
// 1..maxRenditionSide.
func querySide(c echo.Context, name string) (int, error) {
	n, err := strconv.Atoi(c.QueryParam(name))
	if err != nil || n < 1 || n > maxRenditionSide {
		return 0, marquee.Errorf(marquee.EINVALID, "%s must be an integer from 1 to %d", name, maxRenditionSide)
	}
	return n, nil
}

// serveRendition serves a generated file. Renditions are derived from
// immutable bytes with fixed parameters, so they are immutable too.
func serveRendition(c echo.Context, r media.Rendition) error {
	f, err := os.Open(r.Path)
	if err != nil {
		// Pruned between generation and open, or a broken cache: the
		// path stays in the log only.
		return marquee.WrapError(marquee.EINTERNAL, err, "internal error")
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, r.MIME)
	if r.ETag != "" {
		h.Set("ETag", quoteETag(r.ETag))
	}
	h.Set("Cache-Control", immutable)
	http.ServeContent(c.Response(), c.Request(), "", r.ModTime, f)
	return nil
}

// quoteETag makes a strong entity tag of v unless it is one already.
func quoteETag(v string) string {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`) {
		return v
	}
	return `"` + v + `"`
}

// contentDisposition builds an inline Content-Disposition, with both a
// plain filename and an RFC 8187 filename* parameter, from a media name.
// The name is user data: the plain filename keeps only safe ASCII, and the
// RFC 8187 form percent-encodes every other byte.
func contentDisposition(name string) string {
	var plain, ext strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '/' && r != '%' {
			plain.WriteRune(r)
		} else {
			plain.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			ext.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(b)|0x100, 16)[1:]))
		}
	}
	if plain.Len() == 0 {
		return "inline"
	}
	return `inline; filename="` + plain.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar reports whether b may appear unencoded in an RFC 8187
// ext-value (attr-char).
func isAttrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
