package marquee

import (
	"testing"
	"time"
)

func TestNewIDSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := newIDAt("m_", t0)
	if got, want := len(prev), 28; got != want {
		t.Fatalf("len=%d, want %d", got, want)
	}
	for i := 1; i < 2000; i++ {
		// Half the IDs share a millisecond, some go back in time: order must hold.
		at := t0.Add(time.Duration(i/2) * time.Millisecond)
		if i%7 == 0 {
			at = at.Add(-time.Second)
		}
		id := newIDAt("m_", at)
		if id <= prev {
			t.Fatalf("id %d: %q <= previous %q", i, id, prev)
		}
		prev = id
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 10000; i++ {
		id := NewID("")
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}
