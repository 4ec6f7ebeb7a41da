package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/internal/demo"
	"github.com/marquee-signage/marquee/player"
)

// demoPassword is the admin password of a demo installation. A demo is a
// local sandbox: a fixed, printed password is what its user needs.
const demoPassword = "marquee-demo-2026"

// runDemo starts the server with embedded defaults, seeds sample content,
// runs three in-process players with headless output and prints where
// everything is. When a default port is taken it picks a free one.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	d, err := startDemo(ctx, args, stdout, stderr, getenv)
	if err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the demo…")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return d.Close(sctx)
}

// demoRun is a running demo: the server Main and its players.
type demoRun struct {
	Main     *Main
	Displays []demo.Display
	Agents   []*player.Agent
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (*demoRun, error) {
	env := func(k string) string {
		if k == "MARQUEE_ADMIN_PASSWORD" && getenv(k) == "" {
			return demoPassword
		}
		return getenv(k)
	}
	m := NewMain(stdout, stderr, env)
	m.Config.DataDir = "./marquee-demo"
	m.Config.LogLevel = "warn" // the players' lines are the show
	if err := m.ParseFlags("demo", args); err != nil {
		return nil, err
	}
	m.Config.HTTPAddr = freeIfTaken(m.Config.HTTPAddr)
	if m.Config.MQTTAddr != "" && m.Config.MQTTAddr != "off" && m.Config.Broker == "" {
		m.Config.MQTTAddr = freeIfTaken(m.Config.MQTTAddr)
	}
	if err := m.Run(ctx); err != nil {
		m.Close(context.Background())
		return nil, err
	}
	d := &demoRun{Main: m}
	fail := func(err error) (*demoRun, error) {
		d.Close(context.Background())
		return nil, err
	}
	u, err := m.db.FindUserByUsername(ctx, auth.BootstrapUsername)
	if err != nil {
		return fail(fmt.Errorf("find admin user: %w", err))
	}
	ds, err := demo.Seed(ctx, demo.Services{Library: m.library, Playlists: m.playlists, Displays: m.displays,
		Schedules: m.schedules, OrgID: u.OrgID, UserID: u.ID})
	if err != nil {
		return fail(fmt.Errorf("seed demo content: %w", err))
	}
	d.Displays = ds
	for _, x := range ds {
		m.fleet.Notify(desired.ChangeDisplay, x.ID) // seeded behind the API's back
	}

	pctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	server := "http://" + loopback(m.HTTPAddr())
	broker := ""
	if a := m.MQTTAddr(); a != "" {
		broker = "tcp://" + loopback(a)
	}
	for _, x := range ds {
		logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo})).With("screen", x.Name)
		a, err := player.NewAgent(player.Config{
			ServerURL: server, BrokerURL: broker, DisplayID: x.ID, Token: x.Token,
			CacheDir: filepath.Join(m.Config.DataDir, "players", x.ID),
			Output:   player.NewHeadlessOutput(logger, nil),
			Version:  Version(),
			Logger:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("screen", x.Name),
		})
		if err != nil {
			return fail(fmt.Errorf("player for %s: %w", x.Name, err))
		}
		d.Agents = append(d.Agents, a)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			if err := a.Run(pctx); err != nil && !errors.Is(err, context.Canceled) {
				m.Logger.Error("demo player stopped", "display", x.Name, "err", err)
			}
		}()
	}
	printDemo(stdout, d, server)
	return d, nil
}

func printDemo(w io.Writer, d *demoRun, server string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nMarquee demo is running.\n\n")
	fmt.Fprintf(&b, "  Admin API   %s/api/v1   (see docs/api.md)\n", server)
	fmt.Fprintf(&b, "  Username    admin\n")
	fmt.Fprintf(&b, "  Password    %s\n", passwordHint(d.Main))
	if a := d.Main.MQTTAddr(); a != "" {
		fmt.Fprintf(&b, "  MQTT        tcp://%s\n", loopback(a))
	}
	fmt.Fprintf(&b, "  Data        %s\n\n  Screens (each played by an in-process player with headless output):\n", d.Main.Config.DataDir)
	for _, x := range d.Displays {
		fmt.Fprintf(&b, "    %-36s %4d×%-4d %s\n", x.Name, x.Width, x.Height, x.ID)
	}
	fmt.Fprintf(&b, "\n  Try:\n")
	fmt.Fprintf(&b, "    TOKEN=$(curl -s %s/api/v1/auth/login -H 'Content-Type: application/json' \\\n", server)
	fmt.Fprintf(&b, "      -d '{\"username\":\"admin\",\"password\":\"%s\"}' | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')\n", passwordHint(d.Main))
	if len(d.Displays) > 0 {
		fmt.Fprintf(&b, "    curl -s %s/api/v1/displays/%s/timeline -H \"Authorization: Bearer $TOKEN\"\n", server, d.Displays[0].ID)
	}
	fmt.Fprintf(&b, "    curl -s \"%s/api/v1/plays?limit=5\" -H \"Authorization: Bearer $TOKEN\"\n", server)
	fmt.Fprintf(&b, "\n  Press Ctrl-C to stop.\n\n")
	io.WriteString(w, b.String())
}

func passwordHint(m *Main) string {
	if p := m.getenv("MARQUEE_ADMIN_PASSWORD"); p != "" {
		return p
	}
	return demoPassword
}

// Close stops the players, then the server.
func (d *demoRun) Close(ctx context.Context) error {
	if d.cancel != nil {
		d.cancel()
	}
	var errs []error
	for _, a := range d.Agents {
		if err := a.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	d.wg.Wait()
	if err := d.Main.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// freeIfTaken returns addr, or the same host on port 0 (the system picks a
// free port) when addr's port is in use.
func freeIfTaken(addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return addr // let Run report it
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, "0")
}
