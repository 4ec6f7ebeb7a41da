package player_test

import (
	"encoding/json"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/player"
)

// TestStatusRateLimited: with items of 250 ms and no heartbeat to speak
// of, item changes publish one status per 5 s, each carrying what is on
// screen then; an applied state publishes at once.
func TestStatusRateLimited(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	c := newCatalog(srv)
	srv.setState(t, c.loopState(1, 250, "rl1", "rl2"))
	b := startBroker(t, "127.0.0.1:0")
	server := serverClient(t, brokerURL(b.Addr()), "server-rate")
	status := subscribe(t, server, topics.Status(displayID))
	r := startAgent(t, t.TempDir(), srv.URL(), brokerURL(b.Addr()), func(c *player.Config) {
		c.HeartbeatInterval = time.Hour
	})
	decode := func(m mqtt.Message) marquee.Status {
		var s marquee.Status
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			t.Fatalf("status %s: %v", m.Payload, err)
		}
		return s
	}
	status.Wait(t, 10*time.Second, "an online status at revision 1 with an item", func(m mqtt.Message) bool {
		s := decode(m)
		return s.Online && s.StateRevision == 1 && s.Current != nil
	})

	// Watch 11 s of item changes (44 items).
	start := len(status.Messages())
	shown := r.Stats().ItemsShown
	time.Sleep(11 * time.Second)
	ms := status.Messages()[start:]
	if items := r.Stats().ItemsShown - shown; items < 30 {
		t.Fatalf("only %d items shown in 11 s", items)
	}
	if len(ms) < 2 || len(ms) > 3 {
		t.Errorf("%d statuses in 11 s of 250 ms items, want 2 or 3 (one per 5 s)", len(ms))
	}
	var prev time.Time
	media := map[string]bool{}
	for _, m := range ms {
		s := decode(m)
		if s.Current == nil {
			t.Fatalf("status without an item: %s", m.Payload)
		}
		media[s.Current.MediaID] = true
		if !prev.IsZero() && s.SentAt.Sub(prev) < 4900*time.Millisecond {
			t.Errorf("statuses %v apart, want 5 s or more", s.SentAt.Sub(prev))
		}
		prev = s.SentAt
	}

	// A new state: its status goes out at once, not at the end of the gap.
	n := len(status.Messages())
	eventually(t, 6*time.Second, "the next status", func() bool { return len(status.Messages()) > n })
	publish(t, server, topics.State(displayID), mustJSON(t, c.loopState(2, 250, "rl1", "rl2")), true)
	published := time.Now()
	status.Wait(t, 5*time.Second, "a status at revision 2", func(m mqtt.Message) bool { return decode(m).StateRevision == 2 })
	if d := time.Since(published); d > 2*time.Second {
		t.Errorf("the status of the new state came %v after it, want at once", d)
	}
}
