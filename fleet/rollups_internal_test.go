package fleet

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// fakeRollupStore records what the rollup jobs ask of the store.
type fakeRollupStore struct {
	Store
	closed  []time.Time
	before  []time.Time
	history []time.Time
}

func (f *fakeRollupStore) DeleteStateHistoryBefore(_ context.Context, before time.Time) (int64, error) {
	f.history = append(f.history, before)
	return 1, nil
}

func (f *fakeRollupStore) CloseRollupHour(_ context.Context, hour time.Time) error {
	f.closed = append(f.closed, hour)
	return nil
}

func (f *fakeRollupStore) DeletePlaysBefore(_ context.Context, before time.Time, _ int) (int64, error) {
	f.before = append(f.before, before)
	return 3, nil
}

func TestRollupJobs(t *testing.T) {
	now := time.Date(2026, 6, 2, 0, 5, 0, 0, time.UTC)
	st := &fakeRollupStore{}
	s := &Service{store: st, now: func() time.Time { return now }, logger: slog.New(slog.DiscardHandler),
		rollups: newRollupJobs(Config{PlaysRetention: 400 * 24 * time.Hour})}
	var names []string
	for _, f := range features {
		if f.name == "rollups" {
			for _, j := range f.jobs(s) {
				names = append(names, j.name+" "+j.spec)
				if err := j.run(context.Background()); err != nil {
					t.Fatalf("job %s: %v", j.name, err)
				}
			}
		}
	}
	if got, want := len(names), 2; got != want {
		t.Fatalf("rollup jobs = %v, want %d", names, want)
	}
	if got, want := st.closed, []time.Time{now.Add(-5 * time.Minute).Add(-time.Hour)}; len(got) != 1 || !got[0].Equal(want[0]) {
		t.Fatalf("closed hours = %v, want %v", got, want)
	}
	if got, want := st.before, now.Add(-400*24*time.Hour); len(got) != 1 || !got[0].Equal(want) {
		t.Fatalf("retention cut = %v, want %v", got, want)
	}
	if got, want := st.history, now.Add(-400*24*time.Hour); len(got) != 1 || !got[0].Equal(want) {
		t.Fatalf("state history cut = %v, want %v", got, want)
	}
	// Without a retention there is no retention job.
	s.rollups = newRollupJobs(Config{})
	for _, f := range features {
		if f.name == "rollups" && len(f.jobs(s)) != 1 {
			t.Fatalf("jobs without retention = %d, want 1", len(f.jobs(s)))
		}
	}
}
