package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/schedules"
)

// Publishing desired states.
//
// Notify records a change and returns at once. One loop resolves recorded
// changes to the displays they affect (Affected) and keeps, per display, the
// time of the first and the last change that reached it; a display is due
// once Debounce has passed since its last change, or MaxDelay since its
// first. Due displays are rebuilt and published in rounds (publishDisplays):
// a round builds its displays in chunks through one desired.Batch, so what
// they share (schedules, playlists, media, renditions) is loaded once, and
// publishes each state retained at QoS 1 as soon as its chunk is built,
// with up to maxInFlight publishes awaiting the broker's acknowledgement
// at once, while the next chunk builds. Each display is under its own lock
// from before its build until its publish is acknowledged, so that two
// publishes of one display can never swap order.
//
// A state is published when its revision differs from the one this process
// last published for that display on the current broker connection: so a
// change publishes once, a rebuild that changed nothing publishes nothing,
// and after every (re)connection — the embedded broker forgets retained
// messages when the process restarts, an external one may have restarted —
// every display is published again. A revision is recorded as published
// only once the broker acknowledged it; a failed publish forgets what was
// published for the display, so that the next rebuild (the next change,
// the periodic sweep, the next connection) publishes it again. A deleted
// display's retained state is cleared (an empty retained message).

// Pipelining of a round (publishDisplays).
const (
	// maxInFlight bounds the publishes of a round awaiting the broker's
	// acknowledgement at once.
	maxInFlight = 256
	// firstChunk and maxChunk size the chunks a round builds: small first,
	// so that the first publishes leave early, then doubling up to
	// maxChunk displays.
	firstChunk = 32
	maxChunk   = 256
)

func init() {
	register(feature{
		name: "publish",
		start: func(s *Service, _ context.Context) error {
			s.goBackground(s.runPublisher)
			s.goBackground(s.runRepublisher)
			return nil
		},
	})
}

// publisher is the publishing state of a Service.
type publisher struct {
	mu        sync.Mutex
	changes   map[change]span           // notified, not yet resolved
	pending   map[string]span           // display ID → changes that reached it
	published map[string]publishedState // display ID → last publish
	epoch     uint64                    // broker connections so far
	wake      chan struct{}             // a change was recorded
	connected chan struct{}             // a (re)connection: publish everything

	locksMu sync.Mutex
	locks   map[string]*sync.Mutex // display ID → publish lock
}

// change is a notified change.
type change struct{ kind, id string }

// span is the first and last time something happened.
type span struct{ first, last time.Time }

func (sp span) add(t time.Time) span {
	if sp.first.IsZero() || t.Before(sp.first) {
		sp.first = t
	}
	if t.After(sp.last) {
		sp.last = t
	}
	return sp
}

// publishedState is what was last published for a display, and on which
// broker connection.
type publishedState struct {
	revision int64
	epoch    uint64
}

func (p *publisher) init() {
	p.changes = map[change]span{}
	p.pending = map[string]span{}
	p.published = map[string]publishedState{}
	p.wake = make(chan struct{}, 1)
	p.connected = make(chan struct{}, 1)
	p.locks = map[string]*sync.Mutex{}
}

// signal wakes whoever waits on ch without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Notify tells the service that the media item, playlist, schedule or
// display id (kind desired.ChangeMedia, ChangePlaylist, ChangeSchedule or
// ChangeDisplay) was created, changed or deleted. It returns at once; the
// states of the displays the change affects are rebuilt and, when they
// changed, published within a second. Safe for concurrent use, and on a
// nil Service (then it does nothing).
func (s *Service) Notify(kind, id string) {
	if s == nil {
		return
	}
	now := time.Now()
	s.pub.mu.Lock()
	k := change{kind, id}
	s.pub.changes[k] = s.pub.changes[k].add(now)
	s.pub.mu.Unlock()
	signal(s.pub.wake)
}

// Affected returns the IDs of the displays whose state a change to the
// object id of the given kind may change, sorted: the displays whose stored
// state references it; for a schedule also every display its targets reach,
// those of its working copy and those of its approved version (which an
// approval has just made of the working copy); for a display the display
// itself. An unknown kind is EINVALID.
func (s *Service) Affected(ctx context.Context, kind, id string) ([]string, error) {
	set := map[string]bool{}
	switch kind {
	case desired.ChangeDisplay:
		return []string{id}, nil
	case desired.ChangeMedia, desired.ChangePlaylist:
	case desired.ChangeSchedule:
		sc, err := s.store.FindScheduleByID(ctx, id)
		switch {
		case err == nil:
			targets := []schedules.Targets{sc.Targets}
			if v := sc.Approval.Approved; v != nil {
				targets = append(targets, v.Targets)
			}
			for _, t := range targets {
				ds, err := s.store.FindDisplaysForTargets(ctx, t)
				if err != nil {
					return nil, fmt.Errorf("find displays for targets: %w", err)
				}
				for _, d := range ds {
					set[d.ID] = true
				}
			}
		case marquee.ErrorCode(err) == marquee.ENOTFOUND:
			// Deleted: it reaches only the displays whose state names it.
		default:
			return nil, fmt.Errorf("find schedule: %w", err)
		}
	default:
		return nil, marquee.Errorf(marquee.EINVALID, "unknown kind of change %q", kind)
	}
	refs, err := s.store.FindDisplaysReferencing(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find displays referencing %s: %w", id, err)
	}
	for _, d := range refs {
		set[d] = true
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}

// runPublisher is the debounce loop: it resolves changes and publishes the
// displays that are due, until ctx ends.
func (s *Service) runPublisher(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.resolveChanges(ctx)
		due, next := s.takeDue(time.Now())
		if len(due) > 0 {
			s.publishDisplays(ctx, due)
			continue
		}
		var tick <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.pub.wake:
		case <-tick:
		}
		timer.Stop()
	}
}

// resolveChanges turns the recorded changes into pending displays. A change
// that cannot be resolved (the store failed) is logged and dropped: the
// periodic sweep is the safety net.
func (s *Service) resolveChanges(ctx context.Context) {
	s.pub.mu.Lock()
	changes := s.pub.changes
	if len(changes) == 0 {
		s.pub.mu.Unlock()
		return
	}
	s.pub.changes = map[change]span{}
	s.pub.mu.Unlock()

	for c, when := range changes {
		ids, err := s.Affected(ctx, c.kind, c.id)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("resolve change", "kind", c.kind, "id", c.id, "err", err)
			}
			continue
		}
		s.pub.mu.Lock()
		for _, id := range ids {
			p := s.pub.pending[id].add(when.first)
			s.pub.pending[id] = p.add(when.last)
		}
		s.pub.mu.Unlock()
	}
}

// takeDue removes and returns the pending displays that are due at now,
// and the earliest instant another one will be (zero: none pending).
func (s *Service) takeDue(now time.Time) (due []string, next time.Time) {
	s.pub.mu.Lock()
	defer s.pub.mu.Unlock()
	for id, sp := range s.pub.pending {
		at := sp.last.Add(s.debounce)
		if limit := sp.first.Add(s.maxDelay); limit.Before(at) {
			at = limit
		}
		if !now.Before(at) {
			due = append(due, id)
			delete(s.pub.pending, id)
		} else if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	slices.Sort(due)
	return due, next
}

// publishDisplays rebuilds the displays and publishes those whose state
// the current connection has not had, and returns, once every publish is
// acknowledged or has failed, how many it published. Failures are logged.
//
// The displays are built in ID order, in chunks, by up to Workers
// goroutines sharing one desired.Batch; a display's lock is taken before
// its chunk is built and released when its publish is acknowledged (or at
// once when nothing is published), so taking the locks in ID order keeps
// concurrent rounds from deadlocking.
func (s *Service) publishDisplays(ctx context.Context, ids []string) (published int) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)

	var chunks [][]string
	for size := firstChunk; len(ids) > 0; size = min(2*size, maxChunk) {
		n := min(len(ids), size)
		chunks = append(chunks, ids[:n])
		ids = ids[n:]
	}
	r := &round{s: s, batch: s.states.NewBatch(), inFlight: make(chan struct{}, maxInFlight)}
	next := make(chan []string)
	var builders sync.WaitGroup
	for range min(s.workers, len(chunks)) {
		builders.Add(1)
		go func() {
			defer builders.Done()
			for chunk := range next {
				r.chunk(ctx, chunk)
			}
		}()
	}
	for _, chunk := range chunks {
		if ctx.Err() != nil {
			break
		}
		next <- chunk
	}
	close(next)
	builders.Wait()
	r.publishes.Wait()
	return int(r.published.Load())
}

// round is one publishDisplays call.
type round struct {
	s         *Service
	batch     *desired.Batch
	inFlight  chan struct{} // a token per publish awaiting its acknowledgement
	publishes sync.WaitGroup
	published atomic.Int64
}

// chunk builds the displays ids (sorted) and starts the publish of each
// that needs one.
func (r *round) chunk(ctx context.Context, ids []string) {
	s := r.s
	unlocks := make([]func(), len(ids))
	for i, id := range ids {
		unlocks[i] = s.lockDisplay(id)
	}
	s.pub.mu.Lock()
	epoch := s.pub.epoch
	last := make([]publishedState, len(ids))
	seen := make([]bool, len(ids))
	for i, id := range ids {
		last[i], seen[i] = s.pub.published[id]
	}
	s.pub.mu.Unlock()

	for i, res := range r.batch.States(ctx, ids) {
		id, unlock := res.DisplayID, unlocks[i]
		var send func(ctx context.Context) (bool, error)
		switch {
		case marquee.ErrorCode(res.Err) == marquee.ENOTFOUND:
			send = func(ctx context.Context) (bool, error) {
				if !s.displayGone(ctx, id) {
					return false, fmt.Errorf("build state: %w", res.Err)
				}
				return true, s.clearState(ctx, id)
			}
		case res.Err != nil:
			r.fail(ctx, id, fmt.Errorf("build state: %w", res.Err))
			unlock()
			continue
		case seen[i] && last[i].epoch == epoch && last[i].revision == res.State.Revision:
			unlock()
			continue
		default:
			payload := res.JSON
			if payload == nil {
				var err error
				if payload, err = json.Marshal(res.State); err != nil {
					r.fail(ctx, id, fmt.Errorf("encode state: %w", err))
					unlock()
					continue
				}
			}
			rev := res.State.Revision
			send = func(ctx context.Context) (bool, error) {
				return true, s.publishState(ctx, id, rev, epoch, payload)
			}
		}
		select {
		case r.inFlight <- struct{}{}:
		case <-ctx.Done():
			unlock()
			continue
		}
		r.publishes.Add(1)
		go func() {
			defer func() { <-r.inFlight; unlock(); r.publishes.Done() }()
			ok, err := send(ctx)
			if err != nil {
				r.fail(ctx, id, err)
				return
			}
			if ok {
				r.published.Add(1)
			}
		}()
	}
}

// fail logs a display's failure, unless the round is being stopped.
func (r *round) fail(ctx context.Context, id string, err error) {
	if ctx.Err() == nil {
		r.s.logger.Error("publish display state", "display_id", id, "err", err)
	}
}

// publishState publishes the state of display id at revision rev, encoded
// as payload, retained, and records it once the broker acknowledged it as
// published on connection epoch. A failure forgets what was last published
// for the display, so that its next rebuild publishes again. The caller
// holds the display's lock.
func (s *Service) publishState(ctx context.Context, id string, rev int64, epoch uint64, payload []byte) error {
	if err := s.publish(ctx, s.topics.State(id), payload); err != nil {
		s.pub.mu.Lock()
		delete(s.pub.published, id)
		s.pub.mu.Unlock()
		return err
	}
	s.pub.mu.Lock()
	s.pub.published[id] = publishedState{revision: rev, epoch: epoch}
	s.pub.mu.Unlock()
	s.logger.Debug("published display state", "display_id", id, "revision", rev, "bytes", len(payload))
	return nil
}

// displayGone reports whether the display is known to be deleted (and not
// merely missing something it references).
func (s *Service) displayGone(ctx context.Context, id string) bool {
	_, err := s.store.FindDisplayByID(ctx, id)
	return marquee.ErrorCode(err) == marquee.ENOTFOUND
}

// clearState removes the retained state of a deleted display.
func (s *Service) clearState(ctx context.Context, id string) error {
	if err := s.publish(ctx, s.topics.State(id), nil); err != nil {
		return fmt.Errorf("clear retained state: %w", err)
	}
	s.pub.mu.Lock()
	delete(s.pub.published, id)
	s.pub.mu.Unlock()
	s.pub.locksMu.Lock()
	delete(s.pub.locks, id) // we hold it: the next lockDisplay makes a new one
	s.pub.locksMu.Unlock()
	s.logger.Info("cleared the retained state of a deleted display", "display_id", id)
	return nil
}

// publish sends one retained QoS 1 message and waits for the broker's
// acknowledgement. Without MQTT it does nothing.
func (s *Service) publish(ctx context.Context, topic string, payload []byte) error {
	if s.client == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return s.client.Publish(ctx, mqtt.Message{Topic: topic, Payload: payload, QoS: 1, Retained: true})
}

// lockDisplay takes the display's publish lock and returns its release.
func (s *Service) lockDisplay(id string) (unlock func()) {
	s.pub.locksMu.Lock()
	l, ok := s.pub.locks[id]
	if !ok {
		l = &sync.Mutex{}
		s.pub.locks[id] = l
	}
	s.pub.locksMu.Unlock()
	l.Lock()
	return l.Unlock
}

// onConnect runs on every connection to the broker: what was published
// before may be gone, so everything is published again.
func (s *Service) onConnect() {
	s.pub.mu.Lock()
	s.pub.epoch++
	s.pub.mu.Unlock()
	signal(s.pub.connected)
}

// runRepublisher publishes every display after each (re)connection.
func (s *Service) runRepublisher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.pub.connected:
		}
		start := time.Now()
		n, err := s.publishAll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("publish every display state", "err", err)
			}
			continue
		}
		s.logger.Info("published every display state", "published", n, "duration", time.Since(start).Round(time.Millisecond))
	}
}

// publishAll rebuilds every display and publishes those not yet published
// at their current revision; it returns how many it published.
func (s *Service) publishAll(ctx context.Context) (int, error) {
	ids, err := s.allDisplayIDs(ctx)
	if err != nil {
		return 0, err
	}
	return s.publishDisplays(ctx, ids), nil
}

// allDisplayIDs lists every display, a page at a time.
func (s *Service) allDisplayIDs(ctx context.Context) ([]string, error) {
	var ids []string
	f := displays.Filter{Limit: 500}
	for {
		ds, next, err := s.store.FindDisplays(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list displays: %w", err)
		}
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		if next == "" {
			return ids, nil
		}
		f.Cursor = next
	}
}

// pruneDue rebuilds, and publishes when changed, the displays whose state
// holds a rule that has expired.
func (s *Service) pruneDue(ctx context.Context) error {
	ids, err := s.store.FindDisplaysDueForPruning(ctx, s.now())
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	n := s.publishDisplays(ctx, ids)
	s.logger.Info("pruned expired rules", "displays", len(ids), "published", n)
	return nil
}

// sweep rebuilds every display and publishes those that changed: the
// safety net for changes that did not go through Notify.
func (s *Service) sweep(ctx context.Context) error {
	n, err := s.publishAll(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger.Info("consistency sweep published states", "published", n)
	}
	return nil
}
