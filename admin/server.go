package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// Defaults of Config's size limits.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxUploadBytes = 512<<20 + 1<<20
)

// Config holds what a Server needs. Library, Auth, Orgs, Playlists,
// Displays and Schedules are required.
type Config struct {
	Library   *media.Library
	Auth      *auth.Service
	Orgs      *orgs.Service // the organisation tree and each user's scope
	Playlists *playlists.Service
	Displays  *displays.Service
	Schedules *schedules.Service
	States    *desired.Builder
	// Changes, when set, is told of every successful change to media,
	// playlists, displays and schedules.
	Changes Changes
	// Commands, Plays and Statuses (package fleet, adapted in cmd/marquee)
	// serve display commands, the playback log and the status shown with
	// each display; Players (the store) authenticates displays on the
	// player routes. Each may be nil: its routes then answer 503 (displays
	// show no status).
	Commands Commands
	Plays    Plays
	Statuses Statuses
	// Airtime (the store) serves GET /api/v1/reports/airtime; nil
	// answers 503.
	Airtime AirtimeReports
	// Availability (the store) serves the uptime and compliance reports;
	// nil answers 503.
	Availability Availability
	// Monthly (the store) serves GET /api/v1/reports/monthly from the
	// rollups; nil answers 503.
	Monthly MonthlyReports
	Players Players
	// Audit, when set, receives an entry for every change made through
	// the API and serves GET /api/v1/audit (audit.go); nil records
	// nothing and answers that route 503. cmd/marquee always sets it.
	Audit AuditLog
	// Alerts, when set, serves offline alerts and webhooks (alerts.go);
	// nil answers those routes 503.
	Alerts Alerts
	// Stats, when set, returns the server's counters for GET
	// /api/v1/stats (a struct of structs of numbers; see handleStats).
	Stats func() any
	// Now is the clock (nil: time.Now); tests inject one.
	Now func() time.Time
	// Ready reports whether the server can do its work (typically a store
	// ping); /readyz answers 503 while it fails. Nil means always ready.
	Ready func(ctx context.Context) error
	// Logger receives the access log and errors; nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes limits JSON request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxUploadBytes limits a whole multipart upload request (the file and
	// its fields); 0 means DefaultMaxUploadBytes. The library's per-kind
	// limits apply to the file on top of this.
	MaxUploadBytes int64
	// Version is reported by /healthz.
	Version string
}

// Server is the admin HTTP API. It is an http.Handler factory: the caller
// owns the http.Server and its listener.
type Server struct {
	lib          *media.Library
	auth         *auth.Service
	orgs         *orgs.Service
	playlists    *playlists.Service
	displays     *displays.Service
	schedules    *schedules.Service
	states       *desired.Builder
	changes      Changes
	commands     Commands
	plays        Plays
	airtime      AirtimeReports
	availability Availability
	monthly      MonthlyReports
	statuses     Statuses
	players      Players
	audit        auditRecorder
	alerts       Alerts
	now          func() time.Time
	stats        func() any
	ready        func(ctx context.Context) error
	logger       *slog.Logger
	maxBody      int64
	maxUpload    int64
	version      string

	echo *echo.Echo

	// testHook, when set, is installed as the handler of GET /_test/hook;
	// only tests set it, to prove that panics are answered as JSON 500s.
	testHook echo.HandlerFunc
}

// NewServer returns a Server for cfg. It fails when a required setting is
// missing.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Library == nil {
		return nil, errors.New("admin: Config.Library is required")
	}
	if cfg.Auth == nil {
		return nil, errors.New("admin: Config.Auth is required")
	}
	if cfg.Orgs == nil {
		return nil, errors.New("admin: Config.Orgs is required")
	}
	if cfg.Playlists == nil {
		return nil, errors.New("admin: Config.Playlists is required")
	}
	if cfg.Displays == nil {
		return nil, errors.New("admin: Config.Displays is required")
	}
	if cfg.Schedules == nil {
		return nil, errors.New("admin: Config.Schedules is required")
	}
	if cfg.States == nil {
		return nil, errors.New("admin: Config.States is required")
	}
	s := &Server{
		lib:          cfg.Library,
		auth:         cfg.Auth,
		orgs:         cfg.Orgs,
		playlists:    cfg.Playlists,
		displays:     cfg.Displays,
		schedules:    cfg.Schedules,
		states:       cfg.States,
		changes:      cfg.Changes,
		commands:     cfg.Commands,
		plays:        cfg.Plays,
		airtime:      cfg.Airtime,
		availability: cfg.Availability,
		monthly:      cfg.Monthly,
		statuses:     cfg.Statuses,
		players:      cfg.Players,
		audit:        auditRecorder{log: cfg.Audit},
		alerts:       cfg.Alerts,
		now:          cfg.Now,
		stats:        cfg.Stats,
		ready:        cfg.Ready,
		logger:       cfg.Logger,
		maxBody:      cfg.MaxBodyBytes,
		maxUpload:    cfg.MaxUploadBytes,
		version:      cfg.Version,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxUploadBytes
	}
	s.echo = s.newEcho()
	return s, nil
}

// Handler returns the HTTP handler serving the whole API.
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard) // we log through slog only
	// Client addresses come from the connection. Trusting X-Forwarded-For
	// needs a configured proxy list, which we do not have yet.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.handleError
	e.Binder = jsonBinder{maxBytes: s.maxBody}
	e.Use(s.withRequestID, s.withAccessLog, withSecurityHeaders, s.withBodyLimit, s.withRecover) // security.go: headers, body limits
	s.register(e)
	return e
}

// ctxKey names values kept in an echo.Context.
const (
	ctxRequestID = "marquee.request_id"
	ctxUser      = "marquee.user"
	ctxSession   = "marquee.session"
)

// withRequestID gives every request an ID: the client's X-Request-ID when it
// is short and plain, a new one otherwise. It is echoed in the response and
// logged with the request.
func (s *Server) withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !plainID(id) {
			id = marquee.NewID("")
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// plainID reports whether a client-chosen request ID is safe to log and
// echo: 1 to 64 letters, digits, '-', '_' or '.'.
func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// withAccessLog logs one line per request. It hands errors to the error
// handler itself, so that the status it logs is the one sent.
func (s *Server) withAccessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		attrs := []any{
			"request_id", requestID(c),
			"method", req.Method,
			"path", req.URL.Path,
			"status", res.Status,
			"bytes", res.Size,
			"duration", time.Since(start),
			"remote", c.RealIP(),
		}
		if u, ok := c.Get(ctxUser).(*auth.User); ok {
			attrs = append(attrs, "user_id", u.ID)
		}
		if d := currentDisplay(c); d != nil {
			attrs = append(attrs, "display_id", d.ID)
		}
		s.logger.Info("http request", attrs...)
		return nil
	}
}

// withRecover turns a panic in a handler into an internal error, logged
// with its stack; the client sees a JSON 500.
func (s *Server) withRecover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			stack := make([]byte, 8<<10)
			stack = stack[:runtime.Stack(stack, false)]
			s.logger.Error("panic in handler", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(stack))
			err = marquee.Errorf(marquee.EINTERNAL, "internal error")
		}()
		return next(c)
	}
}

// jsonBinder is the Echo Binder: it accepts only JSON bodies of at most
// maxBytes, holding one value with no unknown fields.
type jsonBinder struct{ maxBytes int64 }

func (b jsonBinder) Bind(v any, c echo.Context) error {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); mt != echo.MIMEApplicationJSON {
		return marquee.Errorf(marquee.EUNSUPPORTED, "request body must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response().Writer, req.Body, b.maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return marquee.Errorf(marquee.EINVALID, "request body must hold a single JSON value")
	}
	return nil
}

// jsonError describes a decoding failure without echoing much of the input.
func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return marquee.Errorf(marquee.EINVALID, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return marquee.Errorf(marquee.EINVALID, "request body is truncated JSON")
	case errors.As(err, &se):
		return marquee.Errorf(marquee.EINVALID, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return marquee.Errorf(marquee.EINVALID, "field %q must be %s", te.Field, jsonType(te.Type.Kind().String()))
		}
		return marquee.Errorf(marquee.EINVALID, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return marquee.Errorf(marquee.EINVALID, "unknown field %s", truncate(field, 66))
	}
	return marquee.Errorf(marquee.EINVALID, "malformed JSON")
}

// jsonType names a Go kind the way a JSON client thinks of it.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "of another type"
}
