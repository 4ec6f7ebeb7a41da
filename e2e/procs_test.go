package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// adminPassword is the password of the first admin user of every server
// the tests start (MARQUEE_ADMIN_PASSWORD).
const adminPassword = "e2e-admin-password-1234"

// Timeouts of process life cycles. Race-enabled binaries start slowly on a
// busy machine; these bound failures, they are not expected durations.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	// hangTimeout is how long a program may take to exit once signalled:
	// less than the --shutdown-timeout the tests give it (15 s), so a
	// shutdown that hangs is caught while it hangs.
	hangTimeout = 12 * time.Second
)

// The signals that stop a program: gracefully, or as a crash.
const (
	sigterm = syscall.SIGTERM
	sigkill = syscall.SIGKILL
)

// binaries are the programs under test, built once per test run.
var binaries struct {
	once           sync.Once
	dir            string
	server, player string
	err            error
}

// minParallel is how many tests run at once unless -parallel says
// otherwise. The default, GOMAXPROCS, would queue the chaos tests behind
// each other on a small machine, though they mostly wait: for outages,
// back-offs and timers, not for the CPU.
const minParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if p := flag.Lookup("test.parallel"); p != nil && !explicit {
		if n, err := strconv.Atoi(p.Value.String()); err == nil && n < minParallel {
			_ = p.Value.Set(strconv.Itoa(minParallel))
		}
	}
	code := m.Run()
	if binaries.dir != "" {
		_ = os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// buildBinaries builds cmd/marquee and cmd/marquee-player (with -race when
// this test binary has it) and returns their paths.
func buildBinaries(t testing.TB) (server, player string) {
	t.Helper()
	b := &binaries
	b.once.Do(func() {
		goBin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first on PATH
		if err != nil {
			b.err = fmt.Errorf("the go command is needed to build the programs under test: %w", err)
			return
		}
		if b.dir, err = os.MkdirTemp("", "marquee-e2e-bin-"); err != nil {
			b.err = err
			return
		}
		b.server, b.player = filepath.Join(b.dir, "marquee"), filepath.Join(b.dir, "marquee-player")
		for out, pkg := range map[string]string{b.server: "../cmd/marquee", b.player: "../cmd/marquee-player"} {
			args := []string{"build", "-o", out}
			if raceEnabled {
				args = append(args, "-race")
			}
			cmd := exec.Command(goBin, append(args, pkg)...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, msg)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.server, b.player
}

// baseEnv is this process's environment without MARQUEE_* and GORACE
// variables, so a developer's settings never leak into a program under
// test, plus kv.
func baseEnv(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "MARQUEE_") && !strings.HasPrefix(e, "GORACE=") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// logLine is one line a program wrote: its JSON log record, when it is
// one.
type logLine struct {
	raw string
	rec map[string]any // nil for a line that is not JSON
}

func (l logLine) msg() string {
	s, _ := l.rec["msg"].(string)
	return s
}

func (l logLine) str(key string) string {
	s, _ := l.rec[key].(string)
	return s
}

func (l logLine) time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, l.str("time"))
	return t
}

// procLog collects a program's output line by line.
type procLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []logLine
	raw     bytes.Buffer
	changed chan struct{} // closed and replaced on every new line
}

func newProcLog() *procLog { return &procLog{changed: make(chan struct{})} }

func (p *procLog) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.raw.Write(b)
	p.partial = append(p.partial, b...)
	grew := false
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		line := string(p.partial[:i])
		p.partial = p.partial[i+1:]
		l := logLine{raw: line}
		if json.Unmarshal([]byte(line), &l.rec) != nil {
			l.rec = nil
		}
		p.lines = append(p.lines, l)
		grew = true
	}
	if grew {
		close(p.changed)
		p.changed = make(chan struct{})
	}
	return len(b), nil
}

// Lines returns the complete lines so far.
func (p *procLog) Lines() []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]logLine(nil), p.lines...)
}

// Count returns how many log records have message msg.
func (p *procLog) Count(msg string) int {
	n := 0
	for _, l := range p.Lines() {
		if l.msg() == msg {
			n++
		}
	}
	return n
}

// Wait returns the first line that satisfies ok, waiting up to d; ok is
// false if none came, or if stop closed first.
func (p *procLog) Wait(d time.Duration, stop <-chan struct{}, match func(logLine) bool) (logLine, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		lines, changed := p.lines[seen:], p.changed
		p.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l, true
			}
		}
		seen += len(lines)
		select {
		case <-changed:
		case <-stop:
			return logLine{}, false
		case <-deadline.C:
			return logLine{}, false
		}
	}
}

// Raw returns everything written.
func (p *procLog) Raw() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// Tail returns the last n lines, for failure messages, leaving out the
// access log (the tests poll the API).
func (p *procLog) Tail(n int) string {
	var lines []logLine
	for _, l := range p.Lines() {
		if l.msg() != "http request" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// dataRace reports whether a race-enabled program reported a data race.
func dataRace(out string) bool { return strings.Contains(out, "WARNING: DATA RACE") }

// proc is a program under test running as a subprocess.
type proc struct {
	name    string
	cmd     *exec.Cmd
	log     *procLog
	started time.Time
	done    chan struct{} // closed when the process has exited
	state   *os.ProcessState
	stopped bool // stop was called
}

func startProc(t testing.TB, name, bin string, args, env []string) *proc {
	t.Helper()
	p := &proc{name: name, log: newProcLog(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process with sig and waits for it. With SIGTERM (a
// graceful shutdown) it must exit with status 0. Either way it must not
// have reported a data race.
func (p *proc) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if p.stopped {
		return
	}
	p.stopped = true
	defer func() {
		if dataRace(p.log.Raw()) {
			t.Errorf("%s reported a data race:\n%s", p.name, raceReport(p.log.Raw()))
		}
	}()
	if p.exited() {
		t.Errorf("%s had exited by itself (%v) before it was stopped; its last lines:\n%s", p.name, p.state, p.log.Tail(40))
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(hangTimeout):
		// Stuck: have the Go runtime dump every goroutine (SIGQUIT), then
		// keep the whole output for whoever debugs it.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		t.Errorf("%s did not exit within %v of %v; its goroutines, dumped on SIGQUIT, are in %s. Its last lines:\n%s",
			p.name, hangTimeout, sig, p.keepOutput(), p.log.Tail(20))
		return
	}
	if sig == syscall.SIGTERM && !p.state.Success() {
		t.Errorf("%s exited with %v after SIGTERM; its last lines:\n%s", p.name, p.state, p.log.Tail(40))
	}
}

// keepOutput writes everything the process wrote to a file that outlives
// the test and returns its path.
func (p *proc) keepOutput() string {
	f, err := os.CreateTemp("", "marquee-e2e-"+strings.ReplaceAll(p.name, " ", "-")+"-*.log")
	if err != nil {
		return "(not kept: " + err.Error() + ")"
	}
	defer f.Close()
	_, _ = f.WriteString(p.log.Raw())
	return f.Name()
}

// raceReport cuts the race detector's reports out of a program's output.
func raceReport(out string) string {
	i := strings.Index(out, "WARNING: DATA RACE")
	if i < 0 {
		return ""
	}
	if i > 200 {
		i -= 200
	}
	out = out[i:]
	if len(out) > 20000 {
		out = out[:20000] + "\n…"
	}
	return out
}

// serverOptions configure a `marquee serve` subprocess.
type serverOptions struct {
	dataDir  string // "" → a new temporary directory
	httpAddr string // "" → 127.0.0.1:0
	mqttAddr string // embedded broker; "" → 127.0.0.1:0; "off" → none
	// broker is an external broker's URL (the embedded one is then off);
	// the server logs in as marquee-server with brokerPassword.
	broker         string
	brokerPassword string
}

// server is a running `marquee serve`.
type server struct {
	opts serverOptions
	*proc
	httpAddr string // bound, e.g. 127.0.0.1:41559
	mqttAddr string // the embedded broker's bound address, or ""
}

// URL is the server's base URL.
func (s *server) URL() string { return "http://" + s.httpAddr }

// BrokerURL is the embedded broker's URL ("" when it does not run).
func (s *server) BrokerURL() string {
	if s.mqttAddr == "" {
		return ""
	}
	return "tcp://" + s.mqttAddr
}

// startServer runs `marquee serve` until it logs that it serves, and stops
// it (SIGTERM) when the test ends if it still runs.
func startServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	bin, _ := buildBinaries(t)
	if opts.dataDir == "" {
		opts.dataDir = t.TempDir()
	}
	if opts.httpAddr == "" {
		opts.httpAddr = "127.0.0.1:0"
	}
	mqttAddr := opts.mqttAddr
	switch {
	case opts.broker != "":
		mqttAddr = "off"
	case mqttAddr == "":
		mqttAddr = "127.0.0.1:0"
	}
	args := []string{"serve", "--data-dir", opts.dataDir, "--http-addr", opts.httpAddr,
		"--mqtt-addr", mqttAddr, "--log-format", "json", "--shutdown-timeout", "15s"}
	env := baseEnv("MARQUEE_ADMIN_PASSWORD=" + adminPassword)
	if opts.broker != "" {
		args = append(args, "--broker", opts.broker)
		env = append(env, "MARQUEE_BROKER_PASSWORD="+opts.brokerPassword)
	}
	s := &server{opts: opts, proc: startProc(t, "marquee serve", bin, args, env)}
	t.Cleanup(func() {
		s.stop(t, syscall.SIGTERM)
		if t.Failed() {
			t.Logf("marquee serve (data dir %s), last lines:\n%s", opts.dataDir, s.log.Tail(60))
		}
	})
	l, ok := s.log.Wait(startTimeout, s.done, func(l logLine) bool { return l.msg() == "marquee serving" })
	if !ok {
		t.Fatalf("marquee serve did not start (exited: %v):\n%s", s.exited(), s.log.Tail(60))
	}
	s.httpAddr, s.mqttAddr = l.str("http"), l.str("mqtt")
	return s
}

// restart starts a new server on the same data dir and the same ports.
func (s *server) restart(t testing.TB) *server {
	t.Helper()
	opts := s.opts
	opts.httpAddr = s.httpAddr
	if s.mqttAddr != "" {
		opts.mqttAddr = s.mqttAddr
	}
	return startServer(t, opts)
}

// playerProc is a marquee-player subprocess.
type playerProc struct{ *proc }

// startPlayerProc runs marquee-player with headless output and JSON logs.
func startPlayerProc(t testing.TB, serverURL, brokerURL, displayID, token, cacheDir string) *playerProc {
	t.Helper()
	_, bin := buildBinaries(t)
	args := []string{"--server", serverURL, "--broker", brokerURL, "--display", displayID,
		"--cache-dir", cacheDir, "--output", "headless", "--log-format", "json", "--shutdown-timeout", "15s"}
	p := &playerProc{startProc(t, "marquee-player", bin, args, baseEnv("MARQUEE_DISPLAY_TOKEN="+token))}
	t.Cleanup(func() {
		p.stop(t, syscall.SIGTERM)
		if t.Failed() {
			t.Logf("marquee-player (pid %d), last lines:\n%s", p.cmd.Process.Pid, p.log.Tail(40))
		}
	})
	return p
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
