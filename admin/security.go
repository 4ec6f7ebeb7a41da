package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
)

// Response headers that every answer carries. The API serves JSON and media
// bytes, never a page: nothing it sends may run script, be framed, leak the
// URL (which names IDs) to another site, or be read by another origin's
// page. Players are not browsers, so the cross-origin rules do not touch
// their fetches. A web UI served from this server will need its own
// Content-Security-Policy on its HTML routes.
var securityHeaders = [...][2]string{
	// A served file is only ever the type its magic bytes proved.
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
}

// hsts is the Strict-Transport-Security of answers sent over TLS: a year,
// this host only (other hosts of the domain are not ours to pin).
const hsts = "max-age=31536000"

// noStore is the Cache-Control of every answer whose handler sets none: API
// JSON (sessions, tokens, lists of what a user may see) must not be kept by
// browsers or proxies. Media bytes set their own (immutable), and the
// player state sets no-cache for its ETag revalidation.
const noStore = "no-store"

// withSecurityHeaders sets the security headers on every response, and
// Cache-Control: no-store on those that set no caching of their own
// (errors included: the error handler clears a success's caching).
//
// Strict-Transport-Security is sent when the request came over TLS, which
// is when the server itself speaks HTTPS (--tls-cert). Behind a proxy that
// terminates TLS the proxy must send it: browsers ignore the header over
// plain HTTP, and a server that cannot see the TLS must not claim it.
func withSecurityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		h := res.Header()
		for _, kv := range securityHeaders {
			h.Set(kv[0], kv[1])
		}
		if c.Request().TLS != nil {
			h.Set("Strict-Transport-Security", hsts)
		}
		res.Before(func() {
			if h.Get("Cache-Control") == "" {
				h.Set("Cache-Control", noStore)
			}
		})
		return next(c)
	}
}

// maxNoBodyBytes bounds the body of a request to a route that reads none
// (GET, HEAD, DELETE and OPTIONS: every player route among them). A few
// bytes are tolerated for clients that send an empty JSON object anyway.
const maxNoBodyBytes = 1 << 10

// bodyLimit is the most a request to the route (method, route path as in
// the route table) may send: the upload limit for uploads, maxNoBodyBytes
// where no body is read, the JSON limit everywhere else.
func (s *Server) bodyLimit(method, path string) int64 {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
		return maxNoBodyBytes
	case http.MethodPost:
		if path == mediaPrefix {
			return s.maxUpload
		}
	}
	return s.maxBody
}

// withBodyLimit puts a limit on the body of every request, whatever its
// route, so that no handler, middleware or library can read an unbounded
// body: a declared Content-Length over the route's limit is refused with
// 413 before anything reads it, and any other body (chunked, or under the
// limit) is cut at the limit, which the reader sees as an
// *http.MaxBytesError (413 too). The JSON binder and the upload handler
// apply their own limits as well; this is the floor under every route.
func (s *Server) withBodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		limit := s.bodyLimit(req.Method, c.Path())
		if req.ContentLength > limit {
			// The unread body is not worth draining: close the connection
			// after the answer.
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return marquee.Errorf(marquee.ETOOLARGE, "request body too large: at most %d bytes", limit)
		}
		if req.Body != nil && req.Body != http.NoBody {
			// The raw writer, not Echo's wrapper: net/http then knows the
			// request was cut short and closes the connection.
			req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, limit)
		}
		return next(c)
	}
}
