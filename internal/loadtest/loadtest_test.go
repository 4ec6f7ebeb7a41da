package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/internal/loadtest"
)

// checkReport asserts that a report is complete and sane for n displays.
func checkReport(t *testing.T, rep *loadtest.Report, n int, baseline bool) {
	t.Helper()
	if got := rep.Start; got.Started != n || got.Connected != n || got.Ready != n {
		t.Errorf("start = %+v, want %d started, connected and ready", got, n)
	}
	for name, d := range map[string]loadtest.Dist{"applied": rep.FanOut.Applied, "shown": rep.FanOut.Shown} {
		if d.N != n || d.Missing != 0 {
			t.Errorf("fan-out %s: n=%d missing=%d, want %d and 0", name, d.N, d.Missing, n)
		}
		if !(0 < d.MinMS && d.MinMS <= d.P50MS && d.P50MS <= d.P99MS && d.P99MS <= d.MaxMS) {
			t.Errorf("fan-out %s = %+v, want 0 < min ≤ p50 ≤ p99 ≤ max", name, d)
		}
		// The server debounces changes for 250 ms; a whole minute means a
		// player took the HTTP poll, not MQTT.
		if d.MinMS < 200 || d.MaxMS > 30000 {
			t.Errorf("fan-out %s = %+v, want between the debounce and 30 s", name, d)
		}
	}
	if rep.FanOut.AppliedByPoll != 0 {
		t.Errorf("%d players applied without the log record the bench hooks: has player.Agent's \"state applied\" message changed?", rep.FanOut.AppliedByPoll)
	}
	if rep.FanOut.StateBytes < 100 {
		t.Errorf("state payload = %d bytes, want a real desired state", rep.FanOut.StateBytes)
	}
	in := rep.Ingest
	if in.OfferedPerS <= 0 || in.AckedPerS <= 0 || in.StoredPerS <= 0 {
		t.Errorf("ingest = %+v, want plays offered, stored and acknowledged", in)
	}
	if in.AckLag.N == 0 || in.AckLag.P50MS > in.AckLag.MaxMS {
		t.Errorf("ack lag = %+v, want samples", in.AckLag)
	}
	if baseline {
		bl := rep.Baseline
		if bl == nil {
			t.Fatal("no baseline")
		}
		if bl.Subscribers != n || bl.Received.N != n || bl.Received.Missing != 0 || bl.PayloadBytes != rep.FanOut.StateBytes {
			t.Errorf("baseline = %+v, want %d subscribers, all received the %d-byte state", bl, n, rep.FanOut.StateBytes)
		}
		if d := bl.Received; !(d.MinMS <= d.P50MS && d.P50MS <= d.P99MS && d.P99MS <= d.MaxMS) {
			t.Errorf("baseline = %+v, want min ≤ p50 ≤ p99 ≤ max", d)
		}
	}
	if got := len(rep.Memory.Server); got != 3 {
		t.Errorf("server memory stages = %d, want 3", got)
	}
	for _, st := range append(rep.Memory.Server, rep.Memory.Players...) {
		if st.RSS <= 0 || st.HeapInuse <= 0 {
			t.Errorf("memory at %q = %+v, want RSS and heap", st.Stage, st.Memory)
		}
	}
	if rep.Server == nil || rep.Server.PlaysStored == 0 {
		t.Errorf("server stats = %+v, want plays stored", rep.Server)
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state applied (ours)", "new item on screen (ours)", "plays over", "per player:"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestRunSmallFleet(t *testing.T) {
	t.Parallel()
	const n = 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, loadtest.Config{
		Displays:      n,
		Duration:      3 * time.Second,
		BatchInterval: time.Second,
		Baseline:      true,
		Server:        startServer(t),
		WorkDir:       t.TempDir(),
		Progress:      t.Logf,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.Memory.Shared || len(rep.Memory.Players) != 0 {
		t.Errorf("memory = %+v, want one shared process", rep.Memory)
	}
	checkReport(t, rep, n, true)
}

// pipeWorker runs a worker in this process, over pipes: the protocol
// without a process.
func pipeWorker(context.Context) (*loadtest.Worker, error) {
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := loadtest.ServeWorker(context.Background(), reqR, respW)
		respW.Close()
		reqR.Close()
		done <- err
	}()
	return &loadtest.Worker{W: reqW, R: respR, Stop: func() error { return <-done }}, nil
}

func TestRunWithWorkers(t *testing.T) {
	t.Parallel()
	const n = 9 // split 4 + 5
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, loadtest.Config{
		Displays:      n,
		Duration:      3 * time.Second,
		BatchInterval: time.Second,
		Baseline:      true,
		AgentProcs:    2,
		StartWorker:   pipeWorker,
		Server:        startServer(t),
		WorkDir:       t.TempDir(),
		Progress:      t.Logf,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Memory.Shared || len(rep.Memory.Players) != 3 {
		t.Errorf("memory = %+v, want server and players apart", rep.Memory)
	}
	checkReport(t, rep, n, true)
}

func TestConfigErrors(t *testing.T) {
	srv := loadtest.Server{URL: "http://127.0.0.1:1", BrokerURL: "tcp://127.0.0.1:1", Username: "admin", Password: "x"}
	for name, tc := range map[string]struct {
		cfg  loadtest.Config
		want string
	}{
		"no displays":       {loadtest.Config{Server: srv}, "--displays"},
		"short item":        {loadtest.Config{Displays: 1, Item: 500 * time.Millisecond, Server: srv}, "--item"},
		"no server":         {loadtest.Config{Displays: 1}, "server's URL"},
		"workers, no start": {loadtest.Config{Displays: 1, AgentProcs: 2, Server: srv}, "StartWorker"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadtest.Run(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestRaiseFileLimitSaysWhatToDo(t *testing.T) {
	_, err := loadtest.RaiseFileLimit(1 << 40)
	if err == nil || !strings.Contains(err.Error(), "ulimit -Hn") || !strings.Contains(err.Error(), "--agent-procs") {
		t.Fatalf("RaiseFileLimit(huge) = %v, want advice", err)
	}
	n, err := loadtest.RaiseFileLimit(64)
	if err != nil || n < 64 {
		t.Fatalf("RaiseFileLimit(64) = %d, %v", n, err)
	}
}
