package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/marquee-signage/marquee/internal/loadtest"
)

const benchUsage = `Usage: marquee bench fleet [flags]

Runs N simulated players (the real player agent with a headless output)
against a server, changes a schedule and reports how long the players take
to apply it (p50, p99, max), plays ingested per second, and the memory of
the server and of each player — next to a raw paho fan-out of the same
payload to N bare subscribers, measured in the same run (the baseline).

By default the server runs in this process, with embedded defaults (SQLite,
embedded broker) on free loopback ports in a temporary directory, and the
players in worker processes (this binary, 'marquee bench agents'). Server and
players then share this machine's CPUs. --server measures an external server
instead; give --server-pid to read its memory.

Flags:
`

// runBench runs `marquee bench <what>`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	b := &benchCommand{stdout: stdout, stderr: stderr, getenv: getenv, workerCommand: selfWorkerCommand}
	return b.run(ctx, args)
}

// benchCommand is `marquee bench`. workerCommand makes the command of a
// worker process hosting players (tests replace it).
type benchCommand struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	workerCommand  func() (*exec.Cmd, error)
}

// selfWorkerCommand is this executable's `bench agents`.
func selfWorkerCommand() (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this executable to start workers: %w", err)
	}
	return exec.Command(exe, "bench", "agents"), nil
}

func (b *benchCommand) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(b.stderr, benchUsage)
		b.fleetFlags(new(benchFlags)).PrintDefaults()
		if len(args) == 0 {
			return errors.New("bench: name what to measure: fleet")
		}
		return nil
	}
	switch args[0] {
	case "fleet":
		return b.fleet(ctx, args[1:])
	case "agents":
		// A worker process: the protocol runs on stdin and stdout.
		return loadtest.ServeWorker(ctx, os.Stdin, b.stdout)
	}
	return fmt.Errorf("bench: unknown benchmark %q (known: fleet)", args[0])
}

// benchFlags are the flags of `marquee bench fleet`.
type benchFlags struct {
	displays      int
	server        string
	adminUser     string
	adminPassword string
	broker        string
	serverPID     int
	duration      time.Duration
	item          time.Duration
	baseline      bool
	ramp          float64
	agentProcs    int
	timeout       time.Duration
	json          bool
	keep          bool
	serverLog     string
	workDir       string
	cpuProfile    string
}

// perWorker is how many players a worker process hosts when --agent-procs
// is automatic: about 6 open files each stays well under a 20,000 limit.
const perWorker = 2500

func (b *benchCommand) fleetFlags(f *benchFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("marquee bench fleet", flag.ContinueOnError)
	fs.SetOutput(b.stderr)
	fs.IntVar(&f.displays, "displays", 1000, "number of displays, each with its own simulated player")
	fs.StringVar(&f.server, "server", "", "base URL of an external server to measure, e.g. http://host:8080 (default: start one in this process)")
	fs.StringVar(&f.adminUser, "admin-user", "admin", "admin username on --server")
	fs.StringVar(&f.adminPassword, "admin-password", "", "admin password on --server (default $MARQUEE_ADMIN_PASSWORD)")
	fs.StringVar(&f.broker, "broker", "", "MQTT broker the players use with --server (default tcp://<server host>:1883)")
	fs.IntVar(&f.serverPID, "server-pid", 0, "process ID of the --server process, to read its memory from /proc")
	fs.DurationVar(&f.duration, "duration", loadtest.DefaultDuration, "how long to count ingested plays")
	fs.DurationVar(&f.item, "item", loadtest.DefaultItem, "length of the measured playlist's item (short, so that plays flow; at least 1s)")
	fs.BoolVar(&f.baseline, "baseline", true, "also measure the raw paho fan-out baseline")
	fs.Float64Var(&f.ramp, "ramp", loadtest.DefaultRamp, "players (and baseline subscribers) started per second")
	fs.IntVar(&f.agentProcs, "agent-procs", -1, fmt.Sprintf("worker processes hosting the players; 0 hosts them in this process (default: one per %d players)", perWorker))
	fs.DurationVar(&f.timeout, "timeout", loadtest.DefaultFanOutTimeout, "how long a fan-out may take before the stragglers count as missing")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.BoolVar(&f.keep, "keep", false, "with --server: keep the displays, playlists, schedule and banner the run created")
	fs.StringVar(&f.serverLog, "server-log", "", "write the in-process server's warnings and errors to this file (default: only counted)")
	fs.StringVar(&f.workDir, "work-dir", "", "directory for the players' caches and journals (default: a temporary one, removed)")
	fs.StringVar(&f.cpuProfile, "cpu-profile", "", "write a CPU profile of this process (the in-process server) during the fan-out to this file")
	return fs
}

func (b *benchCommand) fleet(ctx context.Context, args []string) error {
	var f benchFlags
	fs := b.fleetFlags(&f)
	fs.Usage = func() {
		fmt.Fprint(b.stderr, benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench fleet: unexpected argument %q", fs.Arg(0))
	}
	if f.displays < 1 {
		return errors.New("bench fleet: --displays must be at least 1")
	}
	if f.agentProcs < 0 {
		f.agentProcs = (f.displays + perWorker - 1) / perWorker
	}
	cfg := loadtest.Config{
		Displays:      f.displays,
		Item:          f.item,
		Duration:      f.duration,
		Baseline:      f.baseline,
		Ramp:          f.ramp,
		FanOutTimeout: f.timeout,
		AgentProcs:    f.agentProcs,
		StartWorker:   b.startWorker,
		WorkDir:       f.workDir,
		Progress: func(format string, args ...any) {
			fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
		},
	}
	if f.cpuProfile != "" {
		cfg.FanOutHook = b.profileFanOut(f.cpuProfile)
	}
	if f.server == "" {
		srv, stop, err := b.startServer(ctx, f.serverLog)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Server = srv
	} else {
		srv, err := b.externalServer(f)
		if err != nil {
			return err
		}
		cfg.Server, cfg.Cleanup = srv, !f.keep
	}
	rep, err := loadtest.Run(ctx, cfg)
	if rep != nil && (err == nil || rep.Start.Started > 0) {
		if perr := b.print(rep, f.json); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("bench fleet: %w", err)
	}
	return nil
}

// profileFanOut returns a FanOutHook that profiles this process's CPU
// during the fan-out into path; failures are reported on stderr.
func (b *benchCommand) profileFanOut(path string) func() func() {
	return func() func() {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(b.stderr, "bench: --cpu-profile:", err)
			return func() {}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(b.stderr, "bench: --cpu-profile:", err)
			f.Close()
			return func() {}
		}
		return func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintln(b.stderr, "bench: --cpu-profile:", err)
			}
		}
	}
}

func (b *benchCommand) print(rep *loadtest.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(b.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(b.stdout)
}

func (b *benchCommand) startWorker(context.Context) (*loadtest.Worker, error) {
	cmd, err := b.workerCommand()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = b.stderr
	return loadtest.CommandWorker(cmd)
}

// externalServer describes the --server to measure.
func (b *benchCommand) externalServer(f benchFlags) (loadtest.Server, error) {
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return loadtest.Server{}, fmt.Errorf("bench fleet: --server %q is not an http:// or https:// URL", f.server)
	}
	password := f.adminPassword
	if password == "" {
		password = b.getenv("MARQUEE_ADMIN_PASSWORD")
	}
	if password == "" {
		return loadtest.Server{}, errors.New("bench fleet: --server needs --admin-password or $MARQUEE_ADMIN_PASSWORD")
	}
	brokerURL := f.broker
	if brokerURL == "" {
		brokerURL = "tcp://" + u.Hostname() + ":1883"
	}
	return loadtest.Server{URL: f.server, BrokerURL: brokerURL, Username: f.adminUser, Password: password, PID: f.serverPID}, nil
}

// startServer runs `marquee serve` in this process with the embedded
// defaults — SQLite and the embedded broker in a temporary directory, on
// free loopback ports — and nothing from the environment (a MARQUEE_DB
// pointing at a real database must not receive bench displays). Its
// warnings and errors are counted, and written to logPath if given; see
// serverLogHook for what else its log tells.
func (b *benchCommand) startServer(ctx context.Context, logPath string) (loadtest.Server, func(), error) {
	dir, err := os.MkdirTemp("", "marquee-bench-server-")
	if err != nil {
		return loadtest.Server{}, nil, fmt.Errorf("bench: server directory: %w", err)
	}
	password := randomSecret()
	getenv := func(k string) string {
		if k == "MARQUEE_ADMIN_PASSWORD" {
			return password
		}
		return ""
	}
	var out io.Writer = io.Discard
	var logFile *os.File
	if logPath != "" {
		if logFile, err = os.Create(logPath); err != nil {
			os.RemoveAll(dir)
			return loadtest.Server{}, nil, fmt.Errorf("bench: --server-log: %w", err)
		}
		out = logFile
	}
	hook := newServerLogHook(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m := NewMain(io.Discard, io.Discard, getenv)
	if err := m.ParseFlags("serve", []string{"--data-dir", filepath.Join(dir, "data"),
		"--http-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
		os.RemoveAll(dir)
		return loadtest.Server{}, nil, err
	}
	m.Logger = slog.New(hook)
	stop := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := m.Close(cctx); err != nil {
			fmt.Fprintln(b.stderr, "bench: closing the server:", err)
		}
		if logFile != nil {
			logFile.Close()
		}
		os.RemoveAll(dir)
	}
	if err := m.Run(ctx); err != nil {
		stop()
		return loadtest.Server{}, nil, fmt.Errorf("bench: start the server: %w", err)
	}
	fmt.Fprintf(b.stderr, "bench: server in this process: http://%s, mqtt %s, data in %s\n", m.HTTPAddr(), m.MQTTAddr(), dir)
	return loadtest.Server{
		URL:       "http://" + m.HTTPAddr(),
		BrokerURL: "tcp://" + loopback(m.MQTTAddr()),
		Username:  "admin",
		Password:  password,
		InProcess: true,
		Stats:     func() loadtest.ServerStats { return benchServerStats(m, hook) },
		Published: hook.publishTimes,
	}, stop, nil
}

// benchServerStats reads the in-process server's counters.
func benchServerStats(m *Main, hook *serverLogHook) loadtest.ServerStats {
	fs := m.fleet.Stats()
	s := loadtest.ServerStats{
		PlayBatches:     fs.Plays.Batches,
		PlaysStored:     fs.Plays.Stored,
		PlaysDuplicates: fs.Plays.Duplicates,
		PlaysShed:       fs.Plays.Shed,
		PlaysInvalid:    fs.Plays.Invalid,
		PlayWriteErrors: fs.Plays.WriteErrors,
		PlayAcks:        fs.Plays.Acks,
		PlayAckErrors:   fs.Plays.AckErrors,
		Statuses:        fs.Status.Received,
		Warnings:        hook.counts(),
	}
	s.DeliveryDropsToServer, s.DeliveryDropsToDisplays = hook.deliveryDrops()
	if c := m.fleet.Client(); c != nil {
		cs := c.Stats()
		s.ClientReceived, s.ClientDropped = cs.Received, cs.Dropped
	}
	if m.broker != nil {
		bs := m.broker.Stats()
		s.BrokerClients, s.BrokerDropped, s.BrokerInflightDropped, s.Retained = bs.ClientsConnected, bs.MessagesDropped, bs.InflightDropped, bs.Retained
	}
	return s
}

// serverLogHook is the in-process server's slog.Handler. It counts
// warning and error records by message and passes them to next, and reads
// two debug records that nothing else exposes: when the fleet service
// published each display's state ("published display state"), and which
// client the broker failed to deliver to ("failed publishing packet": its
// write queue or inflight window was full). Other debug and info records
// are dropped unformatted.
type serverLogHook struct {
	next  slog.Handler
	attrs []slog.Attr // from WithAttrs, searched for the client ID too
	st    *serverLogState
}

type serverLogState struct {
	mu                         sync.Mutex
	warnings                   map[string]uint64
	published                  map[string]int64 // display ID → Unix ns
	dropsToServer, dropsToDisp uint64
}

// Debug messages the hook reads: fleet/publish.go and mochi's server.go.
const (
	msgPublished     = "published display state"
	msgDeliveryFails = "failed publishing packet"
)

func newServerLogHook(next slog.Handler) *serverLogHook {
	return &serverLogHook{next: next, st: &serverLogState{warnings: map[string]uint64{}, published: map[string]int64{}}}
}

func (h *serverLogHook) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || l == slog.LevelDebug
}

func (h *serverLogHook) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.st.mu.Lock()
		h.st.warnings[r.Level.String()+": "+r.Message]++
		h.st.mu.Unlock()
		return h.next.Handle(ctx, r)
	}
	switch r.Message {
	case msgPublished:
		if id, ok := h.attr(r, "display_id"); ok {
			h.st.mu.Lock()
			h.st.published[id] = r.Time.UnixNano()
			h.st.mu.Unlock()
		}
	case msgDeliveryFails:
		id, _ := h.attr(r, "client")
		h.st.mu.Lock()
		if strings.HasPrefix(id, "marquee-server-") {
			h.st.dropsToServer++
		} else {
			h.st.dropsToDisp++
		}
		h.st.mu.Unlock()
	}
	return nil
}

// attr finds a string attribute of r or of the logger.
func (h *serverLogHook) attr(r slog.Record, key string) (string, bool) {
	var v string
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v, found = a.Value.String(), true
			return false
		}
		return true
	})
	for _, a := range h.attrs {
		if !found && a.Key == key {
			v, found = a.Value.String(), true
		}
	}
	return v, found
}

func (h *serverLogHook) WithAttrs(as []slog.Attr) slog.Handler {
	return &serverLogHook{next: h.next.WithAttrs(as), attrs: append(append([]slog.Attr(nil), h.attrs...), as...), st: h.st}
}

func (h *serverLogHook) WithGroup(name string) slog.Handler {
	return &serverLogHook{next: h.next.WithGroup(name), attrs: h.attrs, st: h.st}
}

func (h *serverLogHook) counts() map[string]uint64 {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return maps.Clone(h.st.warnings)
}

func (h *serverLogHook) publishTimes() map[string]int64 {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return maps.Clone(h.st.published)
}

func (h *serverLogHook) deliveryDrops() (toServer, toDisplays uint64) {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return h.st.dropsToServer, h.st.dropsToDisp
}
