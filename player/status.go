package player

import (
	"context"
	"encoding/json"
	"time"
)

// minStatusGap coalesces status updates: items a few hundred milliseconds
// long must not turn into a message each.
const minStatusGap = time.Second

// runStatus publishes the retained status every HeartbeatInterval and soon
// after a change (an item change, a state applied, a connection), at most
// once per minStatusGap. While disconnected it publishes nothing: the Last
// Will says the display is offline, and the next connection publishes anew.
func (a *Agent) runStatus(ctx context.Context) {
	if a.client == nil {
		return
	}
	heartbeat := time.NewTicker(a.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	defer gap.Stop()
	var last time.Time
	pending := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
		case <-a.kickStatus:
			if wait := minStatusGap - time.Since(last); wait > 0 {
				if !pending {
					pending = true
					gap.Reset(wait)
				}
				continue
			}
		case <-gap.C:
		}
		pending = false
		gap.Stop()
		if !a.client.Connected() {
			continue
		}
		last = time.Now()
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
