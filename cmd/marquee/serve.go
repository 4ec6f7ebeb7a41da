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

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
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

	db      *sqlstore.DB
	library *media.Library
	httpSrv *http.Server
	httpLn  net.Listener
	wg      sync.WaitGroup
	closed  bool
}

// NewMain returns a Main with the default configuration.
func NewMain(stdout, stderr io.Writer, getenv func(string) string) *Main {
	return &Main{Config: DefaultConfig(), stdout: stdout, stderr: stderr, getenv: getenv}
}

// ParseFlags reads the flags of the named subcommand and the environment.
func (m *Main) ParseFlags(cmd string, args []string) error {
	c := &m.Config
	f := newEnvFlags("marquee "+cmd, m.getenv, m.stderr)
	f.String(&c.DataDir, "data-dir", "MARQUEE_DATA_DIR", "directory for the SQLite database and media files")
	f.String(&c.DB, "db", "MARQUEE_DB", "database DSN: sqlite:///path/file.db or postgres://user@host/db (default: SQLite in the data dir)")
	if cmd == "serve" {
		f.String(&c.HTTPAddr, "http-addr", "MARQUEE_HTTP_ADDR", "HTTP listen address")
		f.Bool(&c.AutoMigrate, "auto-migrate", "MARQUEE_AUTO_MIGRATE", "apply pending migrations at start (PostgreSQL: under an advisory lock)")
		f.Bytes(&c.MaxImageBytes, "max-image-bytes", "MARQUEE_MAX_IMAGE_BYTES", "largest image upload")
		f.Bytes(&c.MaxVideoBytes, "max-video-bytes", "MARQUEE_MAX_VIDEO_BYTES", "largest video upload")
		f.Duration(&c.ShutdownTimeout, "shutdown-timeout", "MARQUEE_SHUTDOWN_TIMEOUT", "how long a graceful shutdown may take")
		f.String(&c.LogLevel, "log-level", "MARQUEE_LOG_LEVEL", "debug, info, warn or error")
		f.String(&c.LogFormat, "log-format", "MARQUEE_LOG_FORMAT", "text or json")
	}
	f.fs.Usage = func() {
		fmt.Fprintf(m.stderr, "Usage: marquee %s [flags]\n\nFlags (each also read from the environment variable shown):\n", cmd)
		f.fs.PrintDefaults()
		if cmd == "serve" {
			fmt.Fprintln(m.stderr, "\nMARQUEE_ADMIN_PASSWORD sets the password of the first admin user on an empty database;\nwithout it a strong password is generated and printed once.")
		}
	}
	if err := f.Parse(args); err != nil {
		return err
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

	srv, err := admin.NewServer(admin.Config{
		Library:        lib,
		Auth:           authSvc,
		Playlists:      playlists.NewService(m.db, m.db, playlists.Config{}),
		Displays:       displays.NewService(m.db, displays.Config{}),
		Schedules:      schedules.NewService(m.db, schedules.Config{}),
		States:         desired.NewBuilder(m.db, lib, admin.URLs{}, desired.Config{}),
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
		if err := m.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}()
	m.Logger.Info("marquee serving", "version", Version(), "http", ln.Addr().String(),
		"db", m.db.Dialect(), "data_dir", c.DataDir)
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

// Close stops the HTTP server (draining requests until ctx ends), the media
// library and the store. It is safe to call more than once.
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
