package player

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// StatePath is the server endpoint from which a display fetches its desired
// state, relative to Config.ServerURL. It takes the display's token as a
// Bearer credential, answers with an ETag and honours If-None-Match.
const StatePath = "/api/v1/player/state"

// pollRetryMin is the first retry delay after a failed fetch; it doubles up
// to PollInterval, so a display that boots before its network is up gets
// its state soon after the network comes.
const pollRetryMin = 5 * time.Second

// runPoller fetches the state over HTTP at start, every PollInterval
// (jittered ±20%, so a fleet rebooted by one power cut does not poll in
// lock-step), and sooner after failures. The reload-state command fetches
// on its own.
func (a *Agent) runPoller(ctx context.Context) {
	retry := pollRetryMin
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := a.cfg.PollInterval
		if err := a.fetchState(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("fetch state", "err", err, "retry_in", retry)
			next = min(retry, next)
			retry = min(retry*2, a.cfg.PollInterval)
		} else {
			retry = pollRetryMin
		}
		timer.Reset(jitter(next))
	}
}

// jitter returns d ± 20%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// fetchState fetches the state once (If-None-Match the last ETag) and
// offers it. It returns an error for a transport failure or an unexpected
// status, and the drop reason when the fetched state was refused; a 304 or
// a state that is not newer is success.
func (a *Agent) fetchState(ctx context.Context) error {
	a.fetchMu.Lock()
	defer a.fetchMu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.ServerURL+StatePath, nil)
	if err != nil {
		return fmt.Errorf("state request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("Accept", "application/json")
	a.mu.Lock()
	if a.etag != "" {
		req.Header.Set("If-None-Match", a.etag)
	}
	a.mu.Unlock()

	sentWall, sentMono := a.cfg.Now(), time.Now()
	resp, err := a.httpc.Do(req)
	if err != nil {
		a.n.pollFails.Add(1)
		return fmt.Errorf("get state: %w", err)
	}
	defer resp.Body.Close()
	a.noteServerDate(resp.Header.Get("Date"), sentWall, time.Since(sentMono))

	switch resp.StatusCode {
	case http.StatusNotModified:
		a.n.polls.Add(1)
		return nil
	case http.StatusOK:
	default:
		a.n.pollFails.Add(1)
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("get state: server answered %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxStateBytes+1))
	if err != nil {
		a.n.pollFails.Add(1)
		return fmt.Errorf("read state: %w", err)
	}
	a.n.polls.Add(1)
	err = a.offerState(raw, "http")
	// The same ETag would bring the same body: remember it whatever the
	// outcome, so a refused state is not downloaded again every poll.
	a.mu.Lock()
	a.etag = resp.Header.Get("ETag")
	a.mu.Unlock()
	if errors.Is(err, errStateStale) {
		return nil
	}
	return err
}

// noteServerDate records the clock offset (player − server) from a
// response's Date header. Date has one-second resolution and is truncated,
// so the server's clock at the response was, on average, Date + 500 ms; the
// player's clock then is taken as the midpoint of the request. The result is
// good to about ±1 s: enough to spot a display whose NTP is broken, not to
// measure sync between screens.
func (a *Agent) noteServerDate(h string, sent time.Time, rtt time.Duration) {
	if h == "" {
		return
	}
	server, err := http.ParseTime(h)
	if err != nil {
		return
	}
	mid := sent.Add(rtt / 2)
	off := mid.Sub(server.Add(500 * time.Millisecond)).Milliseconds()
	a.mu.Lock()
	a.clockOffset = &off
	a.mu.Unlock()
}
