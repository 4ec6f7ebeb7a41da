package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/marquee-signage/marquee/player"
)

// Main wires the player. Use NewMain, ParseFlags, Run, then Close.
type Main struct {
	Config Config
	Logger *slog.Logger

	stdout, stderr io.Writer
	getenv         func(string) string

	agent  *player.Agent
	runErr chan error
	once   sync.Once
}

// NewMain returns a Main with the default configuration.
func NewMain(stdout, stderr io.Writer, getenv func(string) string) *Main {
	return &Main{Config: DefaultConfig(), stdout: stdout, stderr: stderr, getenv: getenv}
}

const usage = `marquee-player — plays a Marquee display's schedule on one screen

Usage:
  marquee-player [flags]   run until SIGTERM or SIGINT
  marquee-player version   print the version and exit

Flags (each also read from the environment variable shown):
`

// ParseFlags reads the flags and the environment and checks them.
func (m *Main) ParseFlags(args []string) error {
	c := &m.Config
	f := newEnvFlags("marquee-player", m.getenv, m.stderr)
	f.String(&c.Server, "server", "MARQUEE_SERVER", "base URL of the Marquee server, e.g. https://signage.example.com")
	f.String(&c.Broker, "broker", "MARQUEE_BROKER", "MQTT broker URL, e.g. tcp://host:1883 or ssl://host:8883 (empty: poll the state over HTTP only)")
	f.String(&c.DisplayID, "display", "MARQUEE_DISPLAY_ID", "this display's ID")
	f.String(&c.Token, "token", "MARQUEE_DISPLAY_TOKEN", "this display's token (prefer the environment or --token-file: flags show in ps)")
	f.String(&c.TokenFile, "token-file", "MARQUEE_DISPLAY_TOKEN_FILE", "file holding this display's token")
	f.String(&c.CacheDir, "cache-dir", "MARQUEE_CACHE_DIR", "directory for the state, the media cache and the play journal")
	f.Bytes(&c.CacheLimit, "cache-limit", "MARQUEE_CACHE_LIMIT", "media cache size")
	f.String(&c.Output, "output", "MARQUEE_OUTPUT", "where to play: headless (mpv, browser and framebuffer are planned)")
	f.Duration(&c.PollInterval, "poll-interval", "MARQUEE_POLL_INTERVAL", "how often to fetch the state over HTTP (0: 60s), jittered ±20%")
	f.Duration(&c.HeartbeatInterval, "heartbeat-interval", "MARQUEE_HEARTBEAT_INTERVAL", "how often to publish the status (0: 30s)")
	f.Duration(&c.ShutdownTimeout, "shutdown-timeout", "MARQUEE_SHUTDOWN_TIMEOUT", "how long a graceful shutdown may take")
	f.String(&c.LogLevel, "log-level", "MARQUEE_LOG_LEVEL", "debug, info, warn or error")
	f.String(&c.LogFormat, "log-format", "MARQUEE_LOG_FORMAT", "text or json")
	f.fs.Usage = func() {
		fmt.Fprint(m.stderr, usage)
		f.fs.PrintDefaults()
	}
	if err := f.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(m.stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	m.Logger = logger
	return m.resolveToken()
}

// resolveToken reads TokenFile into Token; setting both is an error.
func (m *Main) resolveToken() error {
	c := &m.Config
	if c.TokenFile == "" {
		return nil
	}
	if c.Token != "" {
		return errors.New("set the token with --token / $MARQUEE_DISPLAY_TOKEN or --token-file, not both")
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	c.Token = strings.TrimSpace(string(b))
	if c.Token == "" {
		return fmt.Errorf("--token-file: %s is empty", c.TokenFile)
	}
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

// newOutput returns the named output.
func newOutput(name string, logger *slog.Logger) (player.Output, error) {
	switch name {
	case "headless":
		return player.NewHeadlessOutput(logger, nil), nil
	case "mpv", "browser", "framebuffer":
		return nil, fmt.Errorf("--output %s is planned but not in this build; use --output headless", name)
	}
	return nil, fmt.Errorf("--output: %q is not an output (this build has: headless)", name)
}

// Run builds the agent and starts it in the background: it starts playing
// the persisted state at once and reaches for the server and broker. It
// returns once started; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	out, err := newOutput(c.Output, m.Logger)
	if err != nil {
		return err
	}
	agent, err := player.NewAgent(player.Config{
		ServerURL:         c.Server,
		BrokerURL:         c.Broker,
		DisplayID:         c.DisplayID,
		Token:             c.Token,
		CacheDir:          c.CacheDir,
		CacheLimit:        c.CacheLimit,
		Output:            out,
		PollInterval:      c.PollInterval,
		HeartbeatInterval: c.HeartbeatInterval,
		Version:           Version(),
		Logger:            m.Logger,
	})
	if err != nil {
		out.Close()
		return err
	}
	m.agent = agent
	m.runErr = make(chan error, 1)
	m.Logger.Info("marquee-player starting", "version", Version(), "display", c.DisplayID,
		"server", c.Server, "broker", c.Broker, "cache_dir", c.CacheDir, "output", c.Output)
	go func() { m.runErr <- agent.Run(context.WithoutCancel(ctx)) }()
	return nil
}

// Agent returns the running agent, or nil before Run.
func (m *Main) Agent() *player.Agent { return m.agent }

// Close stops the agent gracefully: the play on screen is journaled, the
// offline status published, the journal closed. It waits at most until ctx
// ends and is safe to call more than once.
func (m *Main) Close(ctx context.Context) error {
	var err error
	m.once.Do(func() {
		if m.agent == nil {
			return
		}
		err = m.agent.Close(ctx)
		select {
		case rerr := <-m.runErr:
			err = errors.Join(err, rerr)
		case <-ctx.Done():
		}
	})
	return err
}
