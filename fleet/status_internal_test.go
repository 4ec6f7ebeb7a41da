package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/mqtt"
)

// statusStore is a StatusStore in memory that can fail or hold a write.
type statusStore struct {
	Store // nil: only the status methods are used

	mu      sync.Mutex
	stored  map[string]*DisplayStatus
	batches [][]StatusSave
	fail    int           // fail this many writes
	hold    chan struct{} // when set, a write waits for it to close
}

func (f *statusStore) SaveDisplayStatuses(ctx context.Context, saves []StatusSave) ([]StatusSaved, error) {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, saves)
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("database down")
	}
	out := make([]StatusSaved, len(saves))
	for i, sv := range saves {
		prev := f.stored[sv.Status.DisplayID]
		out[i].Transition = prev == nil || prev.Online != sv.Status.Online
		f.stored[sv.Status.DisplayID] = applyStatus(prev, sv.Status)
	}
	return out, nil
}

func (f *statusStore) FindDisplayStatuses(_ context.Context, ids []string) (map[string]*DisplayStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*DisplayStatus{}
	for _, id := range ids {
		if st := f.stored[id]; st != nil {
			c := *st
			out[id] = &c
		}
	}
	return out, nil
}

func (f *statusStore) written() [][]StatusSave {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]StatusSave(nil), f.batches...)
}

// statusService is a Service with what the status feature uses, its
// writer not started; its clock advances a second per status.
func statusService(store *statusStore, flush time.Duration) (*Service, *time.Time) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	s := &Service{store: store, topics: mqtt.Topics{Prefix: "t"}, logger: slog.New(slog.DiscardHandler), statusFlush: flush}
	s.now = func() time.Time { now = now.Add(time.Second); return now }
	s.statusW.wake = make(chan struct{}, 1)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, &now
}

func (s *Service) status(t *testing.T, id string, online bool, rev int) {
	t.Helper()
	s.handleStatus(context.Background(), mqtt.Message{Topic: s.topics.Status(id),
		Payload: fmt.Appendf(nil, `{"format":1,"online":%v,"state_revision":%d}`, online, rev)})
}

// runsOf describes saves as online/offline and revision, in order.
func runsOf(saves []StatusSave) string {
	s := ""
	for _, sv := range saves {
		if sv.Status.Online {
			s += fmt.Sprintf("%s:on%d ", sv.Status.DisplayID, sv.Status.StateRevision)
		} else {
			s += sv.Status.DisplayID + ":off "
		}
	}
	return s
}

// TestStatusRuns: a newer status replaces the pending one of the same
// online value (keeping when the run began); a change of online value is
// kept; beyond maxStatusRuns the oldest two go.
func TestStatusRuns(t *testing.T) {
	s, _ := statusService(&statusStore{stored: map[string]*DisplayStatus{}}, time.Hour)
	s.status(t, "b", true, 1)
	s.status(t, "a", true, 1)
	s.status(t, "a", true, 2)
	s.status(t, "a", false, 0)
	s.status(t, "a", false, 0)
	s.status(t, "a", true, 3)
	saves := s.statusW.take()
	if got, want := runsOf(saves), "a:on2 a:off a:on3 b:on1 "; got != want {
		t.Fatalf("saves %q, want %q", got, want)
	}
	start := saves[0].Status.UpdatedAt.Add(-time.Second) // a:on1 came a second before a:on2
	if !saves[0].EventAt.Equal(start) || !saves[1].EventAt.Equal(saves[1].Status.UpdatedAt.Add(-time.Second)) {
		t.Errorf("runs stamped %v, %v; want when each began", saves[0].EventAt, saves[1].EventAt)
	}
	if n := s.statusW.n.coalesced.Load(); n != 2 {
		t.Errorf("coalesced = %d, want 2", n)
	}
	s.statusW.done(true)

	for i := range 2*maxStatusRuns + 1 {
		s.status(t, "c", i%2 == 0, i)
	}
	saves = s.statusW.take()
	if len(saves) != maxStatusRuns-1 && len(saves) != maxStatusRuns {
		t.Fatalf("%d runs kept, want at most %d", len(saves), maxStatusRuns)
	}
	for i := 1; i < len(saves); i++ {
		if saves[i].Status.Online == saves[i-1].Status.Online {
			t.Fatalf("runs %q do not alternate", runsOf(saves))
		}
	}
	if last := saves[len(saves)-1].Status; !last.Online || last.StateRevision != 2*maxStatusRuns {
		t.Fatalf("last run %+v, want the newest status", last)
	}
	if saves[0].Status.Online != true {
		t.Errorf("runs %q: the first online value changed when the oldest went", runsOf(saves))
	}
}

// TestStatusWriteRetried: a failed flush keeps its statuses, under the
// newer ones; the next flush writes them; readers see the newest all along.
func TestStatusWriteRetried(t *testing.T) {
	store := &statusStore{stored: map[string]*DisplayStatus{}, fail: 1}
	s, _ := statusService(store, 10*time.Millisecond)
	s.status(t, "a", true, 1)
	s.status(t, "a", false, 0)
	s.flushStatuses(context.Background(), time.Second) // fails
	if n := s.statusW.n.writeErrors.Load(); n != 1 {
		t.Fatalf("write errors = %d, want 1", n)
	}
	s.status(t, "a", false, 0) // joins the offline run
	s.status(t, "a", true, 2)
	sts, _ := s.DisplayStatuses(context.Background(), []string{"a"})
	if st := sts["a"]; st == nil || !st.Online || st.StateRevision != 2 {
		t.Fatalf("read before the retry: %+v", st)
	}
	s.flushStatuses(context.Background(), time.Second)
	b := store.written()
	if len(b) != 2 || runsOf(b[0]) != "a:on1 a:off " || runsOf(b[1]) != "a:on1 a:off a:on2 " {
		t.Fatalf("writes %d: %q, want the failed one again with the newer status after it", len(b), runsOf(b[len(b)-1]))
	}
	if !b[1][1].EventAt.Equal(b[0][1].EventAt) {
		t.Errorf("the offline run restamped: %v, want %v", b[1][1].EventAt, b[0][1].EventAt)
	}
	if n := s.statusW.n.transitions.Load(); n != 3 {
		t.Errorf("transitions = %d, want 3", n)
	}
}

// TestStatusOverlayInFlight: while a flush is being written, readers see
// its statuses and the newer ones; Close flushes what is pending and later
// statuses are written at once.
func TestStatusOverlayInFlight(t *testing.T) {
	store := &statusStore{stored: map[string]*DisplayStatus{}, hold: make(chan struct{})}
	s, _ := statusService(store, time.Millisecond)
	s.goBackground(s.runStatusWriter)
	s.status(t, "a", true, 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.statusW.mu.Lock()
		inflight := len(s.statusW.inflight)
		s.statusW.mu.Unlock()
		if inflight > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no flush in flight")
		}
		time.Sleep(time.Millisecond)
	}
	s.status(t, "a", false, 0)
	read := func() *DisplayStatus {
		sts, err := s.DisplayStatuses(context.Background(), []string{"a", "b"})
		if err != nil || len(sts) != 1 {
			t.Fatalf("DisplayStatuses = %v, %v", sts, err)
		}
		return sts["a"]
	}
	if st := read(); st.Online || st.StateRevision != 1 || st.LastSeen == nil {
		t.Fatalf("read during the flush: %+v, want offline with the in-flight heartbeat's figures", st)
	}
	store.mu.Lock()
	close(store.hold)
	store.hold = nil
	store.mu.Unlock()

	s.cancel()
	s.wg.Wait() // the writer drained
	if st := read(); st.Online || st.StateRevision != 1 {
		t.Fatalf("read after Close: %+v", st)
	}
	if b := store.written(); len(b) == 0 || runsOf(b[len(b)-1]) != "a:off " {
		t.Fatalf("writes %v: want the offline status flushed on close", b)
	}
	s.status(t, "a", true, 2) // after the writer stopped: written at once
	if b := store.written(); runsOf(b[len(b)-1]) != "a:on2 " {
		t.Fatalf("a status after close was not written at once")
	}
}
