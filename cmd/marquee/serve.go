package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // display and schedule zones must load on hosts without zoneinfo

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/alerts"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

// Main wires the concrete components of `marquee serve`. Use NewMain,
// ParseFlags, Run, then Close.
type Main struct {
	Config Config
	Logger *slog.Logger

	stdout, stderr io.Writer
	getenv         func(string) string
	demo           bool // ParseFlags("demo"): a sandbox, exempt from the admin password policy

	db      *sqlstore.DB
	library *media.Library
	broker  *broker.Broker // nil unless the embedded broker runs
	fleet   *fleet.Service
	alerts  *alerts.Service

	// The domain services, kept for `marquee demo`, which seeds through them.
	playlists *playlists.Service
	displays  *displays.Service
	schedules *schedules.Service
	httpSrv   *http.Server
	httpLn    net.Listener
	wg        sync.WaitGroup
	closed    bool
}

// NewMain returns a Main with the default configuration.
func NewMain(stdout, stderr io.Writer, getenv func(string) string) *Main {
	return &Main{Config: DefaultConfig(), stdout: stdout, stderr: stderr, getenv: getenv}
}

// ParseFlags reads the flags of the named subcommand and the environment.
func (m *Main) ParseFlags(cmd string, args []string) error {
	c := &m.Config
	m.demo = cmd == "demo"
	f := newEnvFlags("marquee "+cmd, m.getenv, m.stderr)
	f.String(&c.DataDir, "data-dir", "MARQUEE_DATA_DIR", "directory for the SQLite database and media files")
	f.String(&c.DB, "db", "MARQUEE_DB", "database DSN: sqlite:///path/file.db or postgres://user@host/db (default: SQLite in the data dir)")
	if cmd == "serve" || cmd == "demo" {
		f.String(&c.HTTPAddr, "http-addr", "MARQUEE_HTTP_ADDR", "HTTP listen address")
		f.Bool(&c.AutoMigrate, "auto-migrate", "MARQUEE_AUTO_MIGRATE", "apply pending migrations at start (PostgreSQL: under an advisory lock)")
		f.Bytes(&c.MaxImageBytes, "max-image-bytes", "MARQUEE_MAX_IMAGE_BYTES", "largest image upload")
		f.Bytes(&c.MaxVideoBytes, "max-video-bytes", "MARQUEE_MAX_VIDEO_BYTES", "largest video upload")
		f.Duration(&c.ShutdownTimeout, "shutdown-timeout", "MARQUEE_SHUTDOWN_TIMEOUT", "how long a graceful shutdown may take")
		f.Duration(&c.OfflineAlertAfter, "offline-alert-after", "MARQUEE_OFFLINE_ALERT_AFTER", "how long a display may be silent before an offline alert opens (a display's offline_alert_after overrides it)")
		f.Retention(&c.PlaysRetention, "plays-retention", "MARQUEE_PLAYS_RETENTION", "how long raw plays are kept (airtime rollups are kept for ever)")
		f.String(&c.LogLevel, "log-level", "MARQUEE_LOG_LEVEL", "debug, info, warn or error")
		f.String(&c.LogFormat, "log-format", "MARQUEE_LOG_FORMAT", "text or json")
		f.String(&c.MQTTAddr, "mqtt-addr", "MARQUEE_MQTT_ADDR", `embedded MQTT broker's TCP listen address; "" or off turns the embedded broker off`)
		f.String(&c.MQTTWSAddr, "mqtt-ws-addr", "MARQUEE_MQTT_WS_ADDR", "embedded broker's MQTT-over-WebSocket listen address, e.g. :8083 (default: none)")
		f.String(&c.MQTTTLSAddr, "mqtt-tls-addr", "MARQUEE_MQTT_TLS_ADDR", "embedded broker's MQTT-over-TLS listen address, e.g. :8883 (needs --tls-cert and --tls-key)")
		f.String(&c.TLSCert, "tls-cert", "MARQUEE_TLS_CERT", "PEM certificate (chain) file: with --tls-key, HTTPS on --http-addr and TLS for --mqtt-tls-addr")
		f.String(&c.TLSKey, "tls-key", "MARQUEE_TLS_KEY", "PEM private key file for --tls-cert")
		f.String(&c.Broker, "broker", "MARQUEE_BROKER", "external MQTT broker URL, e.g. tcp://mosquitto:1883, used instead of the embedded one")
		f.String(&c.BrokerUsername, "broker-username", "MARQUEE_BROKER_USERNAME", "the server's username on the external broker")
		f.String(&c.BrokerPassword, "broker-password", "MARQUEE_BROKER_PASSWORD", "the server's password on the external broker (prefer the variable: flags show in ps)")
		f.String(&c.MQTTPrefix, "mqtt-prefix", "MARQUEE_MQTT_PREFIX", "MQTT topic prefix")
	}
	f.fs.Usage = func() {
		fmt.Fprintf(m.stderr, "Usage: marquee %s [flags]\n\nFlags (each also read from the environment variable shown):\n", cmd)
		f.fs.PrintDefaults()
		if cmd == "serve" || cmd == "demo" {
			fmt.Fprintln(m.stderr, "\nMARQUEE_ADMIN_PASSWORD sets the password of the first admin user on an empty database;\nwithout it a strong password is generated and printed once.")
			fmt.Fprintln(m.stderr, "\nMQTT: by default an embedded broker listens on --mqtt-addr (displays log in with their ID\nand token). --broker uses an external broker (Mosquitto, NATS) instead; --mqtt-addr off\n(or \"\") with no --broker runs without MQTT (players then poll the state over HTTP).")
		}
	}
	if err := f.Parse(args); err != nil {
		return err
	}
	c.MQTTAddr, c.MQTTWSAddr, c.MQTTTLSAddr = listenerOff(c.MQTTAddr), listenerOff(c.MQTTWSAddr), listenerOff(c.MQTTTLSAddr)
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together: set both or neither")
	}
	if c.MQTTTLSAddr != "" && c.TLSCert == "" {
		return fmt.Errorf("--mqtt-tls-addr %s needs --tls-cert and --tls-key", c.MQTTTLSAddr)
	}
	logger, err := newLogger(m.stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	m.Logger = logger
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

// openStore opens the database and brings its schema to the version this
// binary knows, or refuses with a message that says what to do.
func (m *Main) openStore(ctx context.Context, migrate bool) error {
	dsn, err := m.Config.DSN()
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	m.db = db
	cur, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if migrate && cur < latest {
		applied, err := db.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		m.Logger.Info("database migrated", "dialect", db.Dialect(), "applied", applied)
	}
	return db.CheckSchema(ctx)
}

// Migrate applies pending migrations (`marquee migrate`).
func (m *Main) Migrate(ctx context.Context) error {
	dsn, err := m.Config.DSN()
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	cur, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(m.stdout, "database (%s) is up to date at schema version %d\n", db.Dialect(), cur)
		return nil
	}
	fmt.Fprintf(m.stdout, "applied migrations %v; database (%s) is at schema version %d\n", applied, db.Dialect(), cur)
	return nil
}

// Run opens the store, bootstraps the first admin, and starts serving HTTP.
// It returns once the listener is bound; Close stops everything.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	if err := m.checkAdminPassword(); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := m.openStore(ctx, c.AutoMigrate); err != nil {
		return err
	}

	authSvc := auth.NewService(m.db, auth.Config{})
	generated, created, err := authSvc.Bootstrap(ctx, m.getenv("MARQUEE_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("create first admin user: %w", err)
	}
	if created && generated != "" {
		fmt.Fprintf(m.stdout, "\nCreated the first user.\n  username: admin\n  password: %s\nThis password is shown only once; store it now.\n\n", generated)
	} else if created {
		m.Logger.Info("created the first user from MARQUEE_ADMIN_PASSWORD", "username", "admin")
	}

	lib, err := media.NewLibrary(m.db, media.Config{
		Dir:           c.DataDir,
		MaxImageBytes: c.MaxImageBytes,
		MaxVideoBytes: c.MaxVideoBytes,
		Logger:        m.Logger,
	})
	if err != nil {
		return fmt.Errorf("media library: %w", err)
	}
	m.library = lib

	displaySvc := displays.NewService(m.db, displays.Config{})
	m.displays = displaySvc
	m.playlists = playlists.NewService(m.db, m.db, playlists.Config{})
	m.schedules = schedules.NewService(m.db, schedules.Config{})
	states := desired.NewBuilder(m.db, lib, admin.URLs{}, desired.Config{})
	mc, err := m.startBroker(displaySvc)
	if err != nil {
		return err
	}
	fl, err := fleet.New(fleet.Config{
		Store:  m.db,
		States: states,
		Auth:   authSvc,
		MQTT:   mc,
		Topics: mqtt.Topics{Prefix: c.MQTTPrefix},
		Logger: m.Logger,

		PlaysRetention: c.PlaysRetention,
	})
	if err != nil {
		return err
	}
	m.fleet = fl
	if err := fl.Start(ctx); err != nil {
		return err
	}

	m.alerts = alerts.New(alerts.Config{Store: m.db, Threshold: c.OfflineAlertAfter, Logger: m.Logger})
	m.alerts.Start(ctx)

	srv, err := admin.NewServer(admin.Config{
		Library:        lib,
		Auth:           authSvc,
		Orgs:           orgs.NewService(m.db, orgs.Config{}),
		Playlists:      m.playlists,
		Displays:       displaySvc,
		Schedules:      m.schedules,
		States:         states,
		Changes:        changeRouter{m},
		Commands:       fleetAPI{fl},
		Plays:          fleetAPI{fl},
		Statuses:       fleetAPI{fl},
		Players:        m.db,
		Airtime:        m.db,
		Availability:   m.db,
		Monthly:        m.db,
		Audit:          m.db,
		Alerts:         m.alerts,
		Stats:          m.stats,
		Ready:          m.db.Ping,
		Logger:         m.Logger,
		MaxUploadBytes: max(c.MaxImageBytes, c.MaxVideoBytes) + 1<<20,
		Version:        Version(),
	})
	if err != nil {
		return fmt.Errorf("admin server: %w", err)
	}

	ln, err := listen(c.HTTPAddr, "--http-addr", "MARQUEE_HTTP_ADDR")
	if err != nil {
		return err
	}
	m.httpLn = ln
	m.httpSrv = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		var err error
		if c.TLSCert != "" {
			err = m.httpSrv.ServeTLS(ln, c.TLSCert, c.TLSKey)
		} else {
			err = m.httpSrv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}()
	m.Logger.Info("marquee serving", "version", Version(), "http", ln.Addr().String(),
		"mqtt", m.MQTTAddr(), "db", m.db.Dialect(), "data_dir", c.DataDir)
	return nil
}

// checkAdminPassword refuses a weak MARQUEE_ADMIN_PASSWORD (auth's
// password policy), whether or not the database has users yet: a weak
// password must not wait in the environment for an empty database. Unset
// is fine (Bootstrap generates a strong one); demo is exempt, since its
// password is printed on the screen anyway.
func (m *Main) checkAdminPassword() error {
	pw := m.getenv("MARQUEE_ADMIN_PASSWORD")
	if pw == "" || m.demo {
		return nil
	}
	if err := auth.CheckPasswordStrength(pw); err != nil {
		return fmt.Errorf("MARQUEE_ADMIN_PASSWORD is refused: %s; choose a stronger one, or unset it to have a strong password generated and printed once",
			marquee.ErrorMessage(err))
	}
	return nil
}

// HTTPAddr returns the bound HTTP address (useful with ":0"), or "".
func (m *Main) HTTPAddr() string {
	if m.httpLn == nil {
		return ""
	}
	return m.httpLn.Addr().String()
}

// listen binds addr; when the port is taken the error names the port and
// the flag and variable that change it.
func listen(addr, flagName, env string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("address %s is already in use by another program; choose another with %s or $%s (e.g. %s=:%s)",
			addr, flagName, env, flagName, suggestPort(addr))
	}
	return nil, fmt.Errorf("listen on %s (%s): %w", addr, flagName, err)
}

// suggestPort proposes the next port up as an example for the message.
func suggestPort(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n <= 0 || n >= 65535 {
		return "0"
	}
	return strconv.Itoa(n + 1)
}

// Close stops, in order, the HTTP server (draining requests until ctx
// ends), the fleet service (its jobs and MQTT client), the embedded broker,
// the media library and the store. It is safe to call more than once.
func (m *Main) Close(ctx context.Context) error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	if m.httpSrv != nil {
		if err := m.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	m.wg.Wait()
	if m.alerts != nil {
		if err := m.alerts.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.fleet != nil {
		if err := m.fleet.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("fleet: %w", err))
		}
	}
	if m.broker != nil {
		if err := m.broker.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("mqtt broker: %w", err))
		}
	}
	if m.library != nil {
		if err := m.library.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("media library: %w", err))
		}
	}
	if m.db != nil {
		if err := m.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("database: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ServerStats is what GET /api/v1/stats reports: the fleet service's
// counters, its MQTT client's, and the embedded broker's (nil with an
// external broker).
type ServerStats struct {
	Fleet      fleet.Stats
	MQTTClient mqtt.Stats
	Broker     *broker.Stats
}

// stats returns a snapshot of the server's counters.
func (m *Main) stats() any {
	st := ServerStats{Fleet: m.fleet.Stats(), MQTTClient: m.fleet.Client().Stats()}
	if m.broker != nil {
		bs := m.broker.Stats()
		st.Broker = &bs
	}
	return st
}

// fleetAPI adapts the fleet service to the admin server's interfaces:
// admin does not import fleet, so it declares types with the same fields,
// and these conversions are checked by the compiler.
type fleetAPI struct{ f *fleet.Service }

var (
	_ admin.Commands = fleetAPI{}
	_ admin.Plays    = fleetAPI{}
	_ admin.Statuses = fleetAPI{}
)

func (a fleetAPI) SendCommand(ctx context.Context, displayID, typ string, args map[string]string, userID string) (*admin.Command, error) {
	c, err := a.f.SendCommand(ctx, displayID, typ, args, userID)
	return (*admin.Command)(c), err
}

func (a fleetAPI) ListCommands(ctx context.Context, displayID string, limit int, cursor string) ([]*admin.Command, string, error) {
	cs, next, err := a.f.ListCommands(ctx, displayID, limit, cursor)
	out := make([]*admin.Command, len(cs))
	for i, c := range cs {
		out[i] = (*admin.Command)(c)
	}
	return out, next, err
}

func (a fleetAPI) FindPlays(ctx context.Context, f admin.PlayFilter) ([]marquee.Play, string, error) {
	return a.f.FindPlays(ctx, fleet.PlayFilter(f))
}

func (a fleetAPI) DisplayStatuses(ctx context.Context, ids []string) (map[string]*admin.DisplayStatus, error) {
	sts, err := a.f.DisplayStatuses(ctx, ids)
	out := make(map[string]*admin.DisplayStatus, len(sts))
	for id, st := range sts {
		out[id] = (*admin.DisplayStatus)(st)
	}
	return out, err
}
