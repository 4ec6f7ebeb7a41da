package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
)

// statusByCode is the one mapping from marquee error codes to HTTP statuses.
// A code missing here is answered as 500.
var statusByCode = map[string]int{
	marquee.ENOTFOUND:     http.StatusNotFound,
	marquee.EINVALID:      http.StatusBadRequest,
	marquee.ECONFLICT:     http.StatusConflict,
	marquee.EUNAUTHORIZED: http.StatusUnauthorized,
	marquee.EFORBIDDEN:    http.StatusForbidden,
	marquee.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	marquee.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	marquee.EUNAVAILABLE:  http.StatusServiceUnavailable,
	marquee.EINTERNAL:     http.StatusInternalServerError,

	// Login throttling; Retry-After is set by the handler.
	marquee.ETOOMANYREQUESTS: http.StatusTooManyRequests,
}

// codeMethodNotAllowed is the envelope code of a 405. It has no marquee
// code: only the router produces it.
const codeMethodNotAllowed = "method_not_allowed"

// errorBody is the envelope of every error response:
// {"error":{"code":"…","message":"…"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify turns any error a handler, middleware or the router returns into
// a status, a code and a message that is safe to show.
func classify(err error) (status int, code, message string) {
	var (
		me  *marquee.Error
		mbe *http.MaxBytesError
		he  *echo.HTTPError
	)
	hasMarquee := errors.As(err, &me)
	switch {
	case hasMarquee && me.Code != marquee.EINTERNAL && statusByCode[me.Code] != 0:
		return statusByCode[me.Code], me.Code, me.Message
	case errors.As(err, &mbe):
		// Hit the request size limit wherever the body was read.
		return http.StatusRequestEntityTooLarge, marquee.ETOOLARGE, "request body too large"
	case hasMarquee:
		return http.StatusInternalServerError, marquee.EINTERNAL, "internal error"
	case errors.As(err, &he):
		return classifyHTTPError(he)
	}
	return http.StatusInternalServerError, marquee.EINTERNAL, "internal error"
}

// classifyHTTPError maps Echo's own errors (404 and 405 from the router,
// mostly) onto the envelope. Their Internal cause is never shown.
func classifyHTTPError(he *echo.HTTPError) (status int, code, message string) {
	status = he.Code
	switch {
	case status == http.StatusNotFound:
		return status, marquee.ENOTFOUND, "not found"
	case status == http.StatusMethodNotAllowed:
		return status, codeMethodNotAllowed, "method not allowed"
	case status >= 500 || status < 400:
		return http.StatusInternalServerError, marquee.EINTERNAL, "internal error"
	}
	for c, s := range statusByCode {
		if s == status {
			code = c
			break
		}
	}
	if code == "" {
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
	return status, code, strings.ToLower(http.StatusText(status))
}

// handleError is the Echo HTTPErrorHandler: it writes the error envelope
// and logs what the client is not told.
func (s *Server) handleError(err error, c echo.Context) {
	status, code, message := classify(err)
	req := c.Request()
	log := s.logger.With("request_id", requestID(c), "method", req.Method, "path", req.URL.Path)
	switch {
	case errors.Is(err, context.Canceled) && req.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		log.Debug("request canceled", "err", err)
	case status >= 500:
		log.Error("request failed", "status", status, "err", err)
	}
	if c.Response().Committed {
		// Part of a body is out (e.g. a file); the status cannot change now.
		log.Warn("error after response started", "err", err)
		return
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="marquee"`)
	}
	// Headers set for a success (ETag, caching, disposition) must not
	// describe the error.
	for _, h := range []string{"ETag", "Cache-Control", "Content-Disposition", "Last-Modified", "Content-Encoding", "Content-Length", "Content-Range"} {
		c.Response().Header().Del(h)
	}
	if req.Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.JSON(status, errorBody{errorDetail{Code: code, Message: message}})
	}
	if err != nil {
		log.Debug("write error response", "err", err)
	}
}
