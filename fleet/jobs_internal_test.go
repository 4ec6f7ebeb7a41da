package fleet

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestJobPanicDoesNotStopScheduler: on the real scheduler, a job that
// panics is logged and runs again next time; a failing job is logged; other
// jobs go on.
func TestJobPanicDoesNotStopScheduler(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	js := newJobScheduler(slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var panics, fails, others atomic.Int32
	add := func(j job) {
		if err := js.add(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	add(job{name: "boom", spec: "@every 1s", run: func(context.Context) error {
		panics.Add(1)
		panic("boom")
	}})
	add(job{name: "fails", spec: "@every 1s", run: func(context.Context) error {
		fails.Add(1)
		return errors.New("database down")
	}})
	add(job{name: "other", spec: "@every 1s", run: func(context.Context) error {
		others.Add(1)
		return nil
	}})
	js.start()
	deadline := time.Now().Add(5 * time.Second)
	for panics.Load() < 2 || fails.Load() < 2 || others.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: panicking job ran %d times, failing %d, other %d; want each at least twice\n%s",
				panics.Load(), fails.Load(), others.Load(), logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := js.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"periodic job panicked", "job=boom", "periodic job failed", "database down"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// TestWrappedJob: as the scheduler wraps it, a job never overlaps itself
// (a run due while one is going is skipped), and one that panicked runs
// again (the skip token is not lost).
func TestWrappedJob(t *testing.T) {
	t.Parallel()
	js := newJobScheduler(slog.New(slog.DiscardHandler))
	ctx := context.Background()
	var runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	slow := js.wrapped(ctx, job{name: "slow", run: func(context.Context) error {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		return nil
	}})
	done := make(chan struct{})
	go func() { slow.Run(); close(done) }()
	<-started
	slow.Run() // due while the first run goes on: skipped
	close(release)
	<-done
	if n := runs.Load(); n != 1 {
		t.Fatalf("runs while one was going: %d, want 1 (skipped)", n)
	}
	slow.Run()
	if n := runs.Load(); n != 2 {
		t.Fatalf("runs after the first ended: %d, want 2", n)
	}

	var panics atomic.Int32
	boom := js.wrapped(ctx, job{name: "boom", run: func(context.Context) error {
		panics.Add(1)
		panic("boom")
	}})
	for range 3 {
		boom.Run() // must not panic, and must not be skipped next time
	}
	if n := panics.Load(); n != 3 {
		t.Fatalf("a panicking job ran %d times out of 3", n)
	}
}

// TestStopGivesUp: stop returns when its context ends even if a job does
// not.
func TestStopGivesUp(t *testing.T) {
	t.Parallel()
	js := newJobScheduler(slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	if err := js.add(context.Background(), job{name: "stuck", spec: "@every 1s", run: func(context.Context) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	js.start()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := js.stop(ctx); err == nil {
		t.Fatal("stop returned nil while a job was stuck")
	}
	close(release)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
