package admin

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/media"
)

// maxFieldBytes bounds the text fields of an upload (name, tags).
const maxFieldBytes = 16 << 10

// upload collects the parts of one multipart upload, in whatever order
// they arrive.
type upload struct {
	staged   *media.Staged
	filename string // of the file part, as the client sent it (base name)
	name     *string
	tags     *string
	org      *string // organisation_id: "" or absent means the user's
}

// handleUploadMedia: POST /api/v1/media, multipart/form-data with a "file"
// part and optional "name", "tags" (comma-separated) and "organisation_id"
// (the user's organisation or one below it; absent means the user's)
// fields, before or after the file.
//
// The body is read as a stream: the file part goes straight into
// Library.Stage (which spools it to a temp file and validates it) and the
// item is committed once the remaining fields are read. Nothing is kept if
// any step fails.
func (s *Server) handleUploadMedia(c echo.Context) (err error) {
	req := c.Request()
	// The raw writer, not Echo's wrapper: net/http then knows the request
	// was cut short and closes the connection instead of draining it.
	req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, s.maxUpload)
	mr, err := req.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return marquee.Errorf(marquee.EUNSUPPORTED, "request body must be multipart/form-data")
	} else if err != nil {
		return marquee.WrapError(marquee.EINVALID, err, "malformed multipart request")
	}

	var up upload
	defer func() {
		if err != nil && up.staged != nil {
			if derr := up.staged.Discard(); derr != nil {
				s.logger.Error("discard staged upload", "request_id", requestID(c), "err", derr)
			}
		}
	}()
	ctx := req.Context()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return multipartError(err)
		}
		// On failure the part is left unread: closing it would drain the
		// rest of a possibly huge file for nothing. NextPart closes a
		// part that was read.
		if err := s.readPart(ctx, p, &up); err != nil {
			return err
		}
	}
	if up.staged == nil {
		return marquee.Errorf(marquee.EINVALID, `missing "file" part`)
	}

	u := currentUser(c)
	it, err := s.lib.Commit(ctx, up.staged, media.Meta{
		Name:      up.itemName(),
		Tags:      splitTags(up.tags),
		OrgID:     ownerOrg(c, deref(up.org)),
		CreatedBy: u.ID,
	})
	if err != nil {
		return err
	}
	s.notify(desired.ChangeMedia, it.ID)
	setAuditChange(c, nil, it) // the body is a file: the audit log keeps the item
	c.Response().Header().Set(echo.HeaderLocation, mediaPath(it.ID))
	return c.JSON(http.StatusCreated, it)
}

// readPart consumes one part of an upload into up.
func (s *Server) readPart(ctx context.Context, p *multipart.Part, up *upload) error {
	switch field := p.FormName(); field {
	case "file":
		if up.staged != nil {
			return marquee.Errorf(marquee.EINVALID, `more than one "file" part`)
		}
		up.filename = p.FileName()
		rec := &errRecorder{r: p}
		staged, err := s.lib.Stage(ctx, rec)
		if err != nil {
			// A body cut short by the request limit or a broken stream is
			// the request's fault, whatever Stage made of it.
			if rec.err != nil {
				return multipartError(rec.err)
			}
			return err
		}
		up.staged = staged
	case "name", "tags", "organisation_id":
		v, err := readField(p)
		if err != nil {
			return err
		}
		dst := &up.name
		switch field {
		case "tags":
			dst = &up.tags
		case "organisation_id":
			dst = &up.org
		}
		if *dst != nil {
			return marquee.Errorf(marquee.EINVALID, "field %q given twice", field)
		}
		*dst = &v
	default:
		return marquee.Errorf(marquee.EINVALID, `unknown form field %q: expected "file", "name", "tags" or "organisation_id"`, truncate(field, 64))
	}
	return nil
}

// itemName is the name to give the item: the "name" field, else the
// file's name, else "untitled".
func (up *upload) itemName() string {
	if up.name != nil && strings.TrimSpace(*up.name) != "" {
		return *up.name
	}
	if strings.TrimSpace(up.filename) != "" {
		return up.filename
	}
	return "untitled"
}

// splitTags splits a comma-separated tags field. The library normalises
// and validates each tag.
func splitTags(field *string) []string {
	tags := []string{}
	if field == nil {
		return tags
	}
	for _, t := range strings.Split(*field, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// readField reads a text field of at most maxFieldBytes.
func readField(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
	if err != nil {
		return "", multipartError(err)
	}
	if len(b) > maxFieldBytes {
		return "", marquee.Errorf(marquee.EINVALID, "field %q is longer than %d bytes", p.FormName(), maxFieldBytes)
	}
	return string(b), nil
}

// multipartError classifies a failure to read the request: over the size
// limit (413) or malformed (400).
func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return marquee.WrapError(marquee.ETOOLARGE, err, "request body too large: at most %d bytes", mbe.Limit)
	}
	return marquee.WrapError(marquee.EINVALID, err, "malformed multipart body")
}

// errRecorder remembers the first read error other than io.EOF, so that
// the cause of a failed Stage can be told apart from a bad file.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// truncate shortens s to at most n runes for echoing in messages.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
