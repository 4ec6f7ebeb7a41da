package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/internal/loadtest"
)

// benchWorkerEnv makes this test binary a bench worker (see
// TestBenchWorkerProcess).
const benchWorkerEnv = "MARQUEE_TEST_BENCH_WORKER"

// TestBenchWorkerProcess is not a test: run with benchWorkerEnv=1 it is a
// worker process (`marquee bench agents`) for TestBenchFleet.
func TestBenchWorkerProcess(t *testing.T) {
	if os.Getenv(benchWorkerEnv) != "1" {
		t.Skip("helper process for TestBenchFleet")
	}
	err := runBench(context.Background(), []string{"agents"}, os.Stdout, os.Stderr, os.Getenv)
	if err != nil {
		os.Stderr.WriteString("bench worker: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

func testWorkerCommand() (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchWorkerProcess$")
	cmd.Env = append(os.Environ(), benchWorkerEnv+"=1")
	return cmd, nil
}

// TestBenchFleet runs `marquee bench fleet` end to end: an in-process
// server, players in two worker processes, the baseline, JSON out.
func TestBenchFleet(t *testing.T) {
	const n = 6
	var stdout, stderr syncBuffer
	b := &benchCommand{stdout: &stdout, stderr: &stderr, getenv: envMap(), workerCommand: testWorkerCommand}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := b.run(ctx, []string{"fleet", "--displays", "6", "--agent-procs", "2", "--duration", "2s", "--json"})
	if err != nil {
		t.Fatalf("bench fleet: %v\nstderr:\n%s", err, stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, stdout.String())
	}
	if rep.Start.Ready != n || rep.FanOut.Applied.N != n || rep.FanOut.Shown.N != n {
		t.Errorf("start %+v, fan-out %+v: want all %d players", rep.Start, rep.FanOut, n)
	}
	if bl := rep.Baseline; bl == nil || bl.Received.N != n || bl.PayloadBytes != rep.FanOut.StateBytes {
		t.Errorf("baseline = %+v, want %d received", bl, n)
	}
	if rep.Settings.AgentProcs != 2 || rep.Memory.Shared || len(rep.Memory.Players) != 3 || len(rep.Memory.Server) != 3 {
		t.Errorf("settings %+v, memory %+v: want server and 2 worker processes apart", rep.Settings, rep.Memory)
	}
	if rep.Memory.ServerPerDisplayRSS == 0 && rep.Memory.PerPlayerRSS == 0 {
		t.Errorf("memory = %+v, want per-player figures", rep.Memory)
	}
	if p := rep.FanOut.Published; p == nil || p.N != n || rep.FanOut.Delivered == nil || p.MaxMS > rep.FanOut.Applied.MaxMS {
		t.Errorf("fan-out split = %+v, %+v: want every display published before it applied", p, rep.FanOut.Delivered)
	}
	if rep.Server == nil || rep.Server.BrokerClients == 0 || rep.Server.Statuses == 0 {
		t.Errorf("server stats = %+v, want the in-process server's counters", rep.Server)
	}
	if !strings.Contains(stderr.String(), "bench: fan-out") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

func TestBenchArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{}, nil, "name what to measure"},
		{[]string{"disks"}, nil, `unknown benchmark "disks"`},
		{[]string{"fleet", "--displays", "0"}, nil, "--displays must be at least 1"},
		{[]string{"fleet", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"fleet", "--server", "localhost:8080"}, nil, "not an http:// or https:// URL"},
		{[]string{"fleet", "--server", "http://localhost:8080"}, nil, "--admin-password"},
	} {
		var out, errs bytes.Buffer
		b := &benchCommand{stdout: &out, stderr: &errs, getenv: envMap(tc.env...), workerCommand: testWorkerCommand}
		err := b.run(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %q: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	var out, errs bytes.Buffer
	b := &benchCommand{stdout: &out, stderr: &errs, getenv: envMap(), workerCommand: testWorkerCommand}
	if err := b.run(context.Background(), []string{"fleet", "--help"}); err == nil {
		t.Error("--help: no flag.ErrHelp")
	}
	for _, want := range []string{"-displays", "-server-pid", "-agent-procs", "baseline"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, errs.String())
		}
	}
}

func TestExternalServerDefaults(t *testing.T) {
	b := &benchCommand{getenv: envMap("MARQUEE_ADMIN_PASSWORD", "from-env")}
	srv, err := b.externalServer(benchFlags{server: "http://signage.example:8080", adminUser: "admin", serverPID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if srv.BrokerURL != "tcp://signage.example:1883" || srv.Password != "from-env" || srv.PID != 42 || srv.InProcess {
		t.Errorf("server = %+v", srv)
	}
}

func TestServerLogHook(t *testing.T) {
	var buf bytes.Buffer
	h := newServerLogHook(slog.NewTextHandler(&buf, nil))
	log := slog.New(h).With("component", "x")
	log.Info("ignored")
	log.Warn("queue full", "n", 1)
	log.Warn("queue full", "n", 2)
	log.WithGroup("g").Error("store failed")
	at := time.Now()
	log.Debug(msgPublished, "display_id", "dsp_1", "revision", 3)
	log.Debug(msgDeliveryFails, "error", "full", "client", "marquee-server-ab12")
	slog.New(h).With("client", "dsp_2").Debug(msgDeliveryFails, "error", "full")
	got := h.counts()
	if got["WARN: queue full"] != 2 || got["ERROR: store failed"] != 1 || len(got) != 2 {
		t.Errorf("counts = %v", got)
	}
	if p := h.publishTimes()["dsp_1"]; p < at.UnixNano() || p > time.Now().UnixNano() {
		t.Errorf("published dsp_1 at %d, want about %d", p, at.UnixNano())
	}
	if s, d := h.deliveryDrops(); s != 1 || d != 1 {
		t.Errorf("delivery drops = %d to the server, %d to displays; want 1 and 1", s, d)
	}
	if strings.Contains(buf.String(), "ignored") || strings.Contains(buf.String(), msgPublished) || !strings.Contains(buf.String(), "component=x") {
		t.Errorf("passed on:\n%s", buf.String())
	}
}
