// Package admin is the Marquee admin HTTP API, served with Echo.
//
// NewServer builds an http.Handler from the domain services (media.Library,
// auth.Service, playlists.Service, displays.Service, schedules.Service); the
// caller owns the listener and the http.Server.
//
// The shape of the API, documented for clients in docs/api.md:
//
//   - routes.go is the one route table; nothing else defines a route or
//     builds an API path.
//   - errors.go is the one mapping from marquee error codes to HTTP
//     statuses. Every error, including the router's 404 and 405 and JSON
//     decoding failures, is answered as {"error":{"code","message"}}. An
//     internal error is logged with its request ID and answered only as
//     "internal error", so no SQL, path or stack reaches a client.
//   - Every request gets an X-Request-ID (the client's, when plain) that is
//     echoed and logged; one slog line is written per request; a panic in a
//     handler becomes a logged JSON 500.
//   - /healthz and /readyz and POST /api/v1/auth/login are public; every
//     other route wants "Authorization: Bearer <token>" (a session's or an
//     API token's) or a cookie session's cookie, with X-CSRF-Token on every
//     method but GET, HEAD and OPTIONS (auth.go).
//   - JSON bodies are limited (Config.MaxBodyBytes) and must not carry
//     unknown fields. Uploads are read as a multipart stream: the file part
//     flows into media.Library.Stage without the whole request being held
//     in memory or on disk first, under Config.MaxUploadBytes.
//   - Lists answer {"items":[…],"next_cursor":"…"}, with limit 1..500.
//   - Every successful change, and every login, is appended to the audit
//     log before its response goes out (audit.go), secrets redacted.
//   - Media bytes, renditions and thumbnails are served with
//     http.ServeContent (Range, If-None-Match) and immutable caching: their
//     URLs never change meaning, because the bytes are content-addressed.
package admin
