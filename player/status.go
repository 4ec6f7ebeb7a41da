package player

import (
	"context"
	"encoding/json"
	"time"
)

// When the status is published.
//
// The protocol sends the retained status every HeartbeatInterval (30 s) and
// "on change". A change is not worth a message each: with 1-second items a
// fleet of N screens would send N statuses a second, each one a database
// write on the server, for a field (what is on screen) nobody reads more
// than every few seconds. So:
//
//   - at once: on every connection (the server and the retained message
//     must learn the display is back), when a new desired state is applied
//     (the revision the server waits to see), and at every heartbeat;
//   - on an item change (or anything else that only changes what is on
//     screen): at once if no status was published in the last
//     statusChangeGap (5 s); otherwise once, when statusChangeGap has
//     passed since the last one, carrying the status as it is then — the
//     latest change is never lost, only merged with those before it. A
//     status published meanwhile for another reason (heartbeat, state,
//     connection) carries the change and cancels that.
//
// So at most one status per statusChangeGap is due to item changes, plus
// the heartbeat, one per applied state and one per connection. While
// disconnected nothing is published: the Last Will says the display is
// offline, and the next connection publishes anew.
const statusChangeGap = 5 * time.Second

// statusGate rate-limits the statuses due to changes (see above). Times
// are the caller's, so tests need no clock.
type statusGate struct {
	gap     time.Duration
	last    time.Time // when the last status was published; zero: none yet
	pending bool      // a change waits for the end of the gap
}

// change records a change at now. It returns true when the status is to
// be published at once; otherwise, when the change is the first to wait,
// wait is how long until it is due (0 when one already waits: the status
// then published carries this change too).
func (g *statusGate) change(now time.Time) (publish bool, wait time.Duration) {
	if g.pending {
		return false, 0
	}
	if g.last.IsZero() || now.Sub(g.last) >= g.gap {
		return true, 0
	}
	g.pending = true
	return false, g.last.Add(g.gap).Sub(now)
}

// due reports whether a change waits (the caller's timer fired).
func (g *statusGate) due() bool { return g.pending }

// published records that a status, for whatever reason, went out at now:
// it carries every change so far.
func (g *statusGate) published(now time.Time) {
	g.last, g.pending = now, false
}

// dropped forgets a waiting change that could not be published (not
// connected: the next connection publishes anyway).
func (g *statusGate) dropped() { g.pending = false }

// runStatus publishes the retained status as described above.
func (a *Agent) runStatus(ctx context.Context) {
	if a.client == nil {
		return
	}
	heartbeat := time.NewTicker(a.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	g := statusGate{gap: statusChangeGap}
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
		case <-a.statusNow:
		case <-a.kickStatus:
			now, wait := g.change(time.Now())
			if wait > 0 {
				timer.Reset(wait)
			}
			if !now {
				continue
			}
		case <-timer.C:
			if !g.due() {
				continue
			}
		}
		timer.Stop() // since Go 1.23 a stopped timer delivers nothing stale
		if !a.client.Connected() {
			g.dropped()
			continue
		}
		g.published(time.Now())
		if err := a.publishStatus(ctx, true); err != nil && ctx.Err() == nil {
			a.log.Warn("publish status", "err", err)
		}
	}
}

// publishStatus publishes the retained status, online or not.
func (a *Agent) publishStatus(ctx context.Context, online bool) error {
	s := a.Status()
	s.Online = online
	if !online {
		s.Current = nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return a.publish(ctx, a.topics.Status(a.cfg.DisplayID), b, true)
}
