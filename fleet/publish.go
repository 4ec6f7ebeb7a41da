package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/mqtt"
)

// Publishing desired states.
//
// Notify records a change and returns at once. One loop resolves recorded
// changes to the displays they affect (Affected) and keeps, per display, the
// time of the first and the last change that reached it; a display is due
// once Debounce has passed since its last change, or MaxDelay since its
// first. Due displays are rebuilt (desired.Builder.State) and published
// retained at QoS 1 by up to Workers goroutines, each display under its own
// lock so that two publishes of one display can never swap order.
//
// A state is published when its revision differs from the one this process
// last published for that display on the current broker connection: so a
// change publishes once, a rebuild that changed nothing publishes nothing,
// and after every (re)connection — the embedded broker forgets retained
// messages when the process restarts, an external one may have restarted —
// every display is published again. A deleted display's retained state is
// cleared (an empty retained message).

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
// state references it; for a schedule also every display its (new) targets
// reach; for a display the display itself. An unknown kind is EINVALID.
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
			ds, err := s.store.FindDisplaysForTargets(ctx, sc.Targets)
			if err != nil {
				return nil, fmt.Errorf("find displays for targets: %w", err)
			}
			for _, d := range ds {
				set[d.ID] = true
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

// publishDisplays rebuilds and publishes the displays, Workers at a time,
// and returns when all are done. Failures are logged.
func (s *Service) publishDisplays(ctx context.Context, ids []string) (published int) {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, s.workers)
	)
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := s.publishDisplay(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					s.logger.Error("publish display state", "display_id", id, "err", err)
				}
				return
			}
			if ok {
				mu.Lock()
				published++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return published
}

// publishDisplay rebuilds the display's state and publishes it unless this
// revision was already published on the current connection. A display
// that no longer exists has its retained state cleared. published reports
// whether a message was sent.
func (s *Service) publishDisplay(ctx context.Context, id string) (published bool, err error) {
	unlock := s.lockDisplay(id)
	defer unlock()

	s.pub.mu.Lock()
	epoch := s.pub.epoch
	last, seen := s.pub.published[id]
	s.pub.mu.Unlock()

	st, _, err := s.states.State(ctx, id)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND && s.displayGone(ctx, id) {
		return true, s.clearState(ctx, id)
	}
	if err != nil {
		return false, fmt.Errorf("build state: %w", err)
	}
	if seen && last.epoch == epoch && last.revision == st.Revision {
		return false, nil
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return false, fmt.Errorf("encode state: %w", err)
	}
	if err := s.publish(ctx, s.topics.State(id), payload); err != nil {
		s.pub.mu.Lock()
		delete(s.pub.published, id)
		s.pub.mu.Unlock()
		return false, err
	}
	s.pub.mu.Lock()
	s.pub.published[id] = publishedState{revision: st.Revision, epoch: epoch}
	s.pub.mu.Unlock()
	s.logger.Debug("published display state", "display_id", id, "revision", st.Revision, "bytes", len(payload))
	return true, nil
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
