package fleet

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// Display status.
//
// A player publishes a retained heartbeat on …/status; its Last Will, which
// the broker publishes when the connection drops without a DISCONNECT, is
// {"online": false}. The service stores the latest status of each display
// and, on every online↔offline transition (and the first status ever
// heard), appends a status event, from which reports compute uptime.
// last_seen is the server's receive time of the last heartbeat that said
// online; an offline status keeps it, keeps the last known health figures
// and clears what is on screen. A status for a display that does not exist
// is dropped and counted, as is a malformed one. An empty retained payload
// (a cleared retained message) is ignored.
//
// Writes are coalesced. The handler only parses and checks a status and
// leaves it, in memory, as its display's pending status; one writer
// goroutine saves every pending status in one transaction
// (StatusStore.SaveDisplayStatuses), at most once per Config.StatusFlush
// (1 s), so a fleet of N displays costs about one transaction a second
// however many statuses it sends. Within a flush window a newer status of a
// display replaces the pending one when both say the same online value;
// when the online value changes, both are kept, in order, so that each
// online↔offline change still becomes a status event — a Last Will followed
// by a reconnection within one window records "offline" then "online", and
// the offline save keeps the figures of the online status before it, as
// separate writes would. A status event is stamped with the receive time
// of the first status of its run, as if each status had been written
// alone. What is lost: the intermediate statuses of a run (nothing reads
// them), and, should one display flip more than maxStatusRuns times within
// one window, its oldest flips (two at a time, so the order of online
// values stays right). A failed flush is retried with the next one (at
// most every StatusFlush), its statuses merged under any newer ones: memory
// stays bounded by the displays, nothing is lost while the database is
// down, and WriteErrors counts the failed flushes. Close flushes what is
// pending; a status handled after that is saved at once.
//
// Readers (DisplayStatuses, behind GET /api/v1/displays) see the newest
// status even before it is written: pending and in-flight statuses are
// applied over the stored ones as the store would apply them.
//
// Statuses are applied in the order handlers run. The client may run two
// messages of one display concurrently; heartbeats are tens of seconds
// apart and a Last Will follows the last heartbeat by a keepalive or more,
// so only messages microseconds apart could be applied out of order.

func init() {
	register(feature{
		name: "status",
		subscriptions: func(s *Service) []subscription {
			// The default queue, shared with command results; play batches
			// have their own (ingest.go), so statuses never crowd them out.
			return []subscription{{filter: s.topics.AllDisplays(mqtt.KindStatus), qos: 1, handler: s.handleStatus}}
		},
		start: func(s *Service, _ context.Context) error {
			s.goBackground(s.runStatusWriter)
			return nil
		},
	})
}

// Status limits.
const (
	maxStatusPayload = 64 << 10
	maxStatusText    = 1024 // any string in a status
)

// Status writes.
const (
	// DefaultStatusFlush is the default of Config.StatusFlush.
	DefaultStatusFlush = time.Second
	// maxStatusRuns bounds the statuses a display keeps pending: one per
	// online↔offline change within a flush window.
	maxStatusRuns = 8
	// statusWriteTimeout bounds one flush; statusDrainTimeout the last one,
	// when the service closes.
	statusWriteTimeout = 30 * time.Second
	statusDrainTimeout = 5 * time.Second
)

// DisplayStatus is the latest status a display reported.
type DisplayStatus struct {
	DisplayID string
	Online    bool
	// LastSeen is when the server last received a heartbeat saying online;
	// nil before the first.
	LastSeen *time.Time
	// StateRevision is the desired-state revision the player applied.
	StateRevision int64
	// Current is what is on screen; nil when unknown or offline.
	Current       *marquee.NowPlaying
	Version       string
	CacheBytes    int64
	FreeDiskBytes int64
	UptimeSeconds int64
	// ClockOffsetMS is the player's clock minus the server's, as the player
	// estimated it; nil when unknown.
	ClockOffsetMS *int64
	UpdatedAt     time.Time
}

// StatusEvent is one online↔offline transition of a display.
type StatusEvent struct {
	DisplayID string
	At        time.Time
	Online    bool
}

// StatusSave is one status to save in a batch (StatusStore.SaveDisplayStatuses).
type StatusSave struct {
	Status *DisplayStatus
	// EventAt stamps the status event, should this save be a transition:
	// when the first status of the run it stands for was received. Zero
	// means Status.UpdatedAt.
	EventAt time.Time
}

// StatusSaved is what became of one StatusSave.
type StatusSaved struct {
	Transition bool // a status event was recorded
	NotFound   bool // the display does not exist: nothing was stored
}

// StatusStats count the statuses received.
type StatusStats struct {
	Received       uint64 // messages on …/status, empty ones included
	Dropped        uint64 // malformed: not JSON, oversized, another format or display, bad values
	UnknownDisplay uint64 // saves (runs of statuses) of a display that does not exist
	Transitions    uint64 // online↔offline changes recorded
	// Coalesced counts statuses replaced, before they were written, by a
	// newer one of their display with the same online value (or, beyond
	// maxStatusRuns, dropped with the oldest flips).
	Coalesced uint64
	Saved     uint64 // statuses written
	Flushes   uint64 // transactions that wrote statuses
	// WriteErrors counts failed flushes; their statuses are kept and
	// retried with the next flush.
	WriteErrors uint64
}

type statusCounters struct {
	received, dropped, unknownDisplay, transitions, coalesced, saved, flushes, writeErrors atomic.Uint64
}

func (n *statusCounters) stats() StatusStats {
	return StatusStats{Received: n.received.Load(), Dropped: n.dropped.Load(), UnknownDisplay: n.unknownDisplay.Load(),
		Transitions: n.transitions.Load(), Coalesced: n.coalesced.Load(), Saved: n.saved.Load(),
		Flushes: n.flushes.Load(), WriteErrors: n.writeErrors.Load()}
}

// statusWriter holds the statuses not yet written.
type statusWriter struct {
	n statusCounters

	mu sync.Mutex
	// pending holds, per display, the statuses waiting for the next flush:
	// one per run of equal online values, oldest first (so consecutive
	// ones alternate). inflight is what the running flush is writing.
	pending, inflight map[string][]StatusSave
	// commits counts the flushes committed, so readers know whether the
	// store moved while they read it.
	commits uint64
	// closed: the writer has stopped; handlers save directly.
	closed bool
	wake   chan struct{} // pending has something

	// writeMu serialises writes: flushes and the direct saves after close.
	writeMu sync.Mutex
}

// put makes st its display's pending status; false once the writer has
// stopped (save st directly then).
func (w *statusWriter) put(st *DisplayStatus) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	if w.pending == nil {
		w.pending = map[string][]StatusSave{}
	}
	w.pending[st.DisplayID] = w.appendRun(w.pending[st.DisplayID], StatusSave{Status: st, EventAt: st.UpdatedAt})
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// appendRun adds sv after runs: it replaces the last one, keeping its
// EventAt, when both have the same online value, and is appended
// otherwise, the oldest two runs giving way beyond maxStatusRuns. w.mu
// held (for the counters' sake only).
func (w *statusWriter) appendRun(runs []StatusSave, sv StatusSave) []StatusSave {
	if n := len(runs); n > 0 && runs[n-1].Status.Online == sv.Status.Online {
		runs[n-1].Status = sv.Status
		w.n.coalesced.Add(1)
		return runs
	}
	runs = append(runs, sv)
	if len(runs) > maxStatusRuns {
		runs = append(runs[:0], runs[2:]...)
		w.n.coalesced.Add(2)
	}
	return runs
}

// take moves the pending statuses in flight and returns them as saves,
// by display ID, each display's in order.
func (w *statusWriter) take() []StatusSave {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	ids := make([]string, 0, len(w.pending))
	n := 0
	for id, runs := range w.pending {
		ids = append(ids, id)
		n += len(runs)
	}
	slices.Sort(ids)
	saves := make([]StatusSave, 0, n)
	for _, id := range ids {
		saves = append(saves, w.pending[id]...)
	}
	w.inflight, w.pending = w.pending, map[string][]StatusSave{}
	return saves
}

// done ends the flush in flight: committed, or put back under what became
// pending meanwhile, to be retried.
func (w *statusWriter) done(committed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if committed {
		w.commits++
	} else {
		for id, runs := range w.inflight {
			merged := runs
			for _, sv := range w.pending[id] {
				merged = w.appendRun(merged, sv)
			}
			w.pending[id] = merged
		}
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	w.inflight = nil
}

// overlay returns the in-flight and pending statuses of ids, in the order
// to apply them, and the number of commits so far.
func (w *statusWriter) overlay(ids []string) (map[string][]StatusSave, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]StatusSave{}
	for _, id := range ids {
		a, b := w.inflight[id], w.pending[id]
		if len(a)+len(b) == 0 {
			continue
		}
		// A copy: the writer changes its slices in place.
		out[id] = append(append(make([]StatusSave, 0, len(a)+len(b)), a...), b...)
	}
	return out, w.commits
}

// applyStatus returns the status the store holds after saving st over
// base (nil: none stored): an online status replaces everything; an
// offline one keeps base's last_seen and figures and clears Current.
func applyStatus(base, st *DisplayStatus) *DisplayStatus {
	var out DisplayStatus
	if st.Online {
		out = *st
	} else {
		if base != nil {
			out = *base
		} else {
			out.DisplayID = st.DisplayID
		}
		out.Online, out.Current, out.UpdatedAt = false, nil, st.UpdatedAt
	}
	// Callers may keep and change what they get: share nothing.
	if out.LastSeen != nil {
		t := *out.LastSeen
		out.LastSeen = &t
	}
	if out.ClockOffsetMS != nil {
		v := *out.ClockOffsetMS
		out.ClockOffsetMS = &v
	}
	if out.Current != nil {
		c := *out.Current
		out.Current = &c
	}
	return &out
}

// handleStatus is the handler of …/+/status.
func (s *Service) handleStatus(ctx context.Context, m mqtt.Message) {
	n := &s.statusW.n
	n.received.Add(1)
	if len(m.Payload) == 0 {
		return // a retained status being cleared
	}
	st, err := s.parseStatus(m)
	if err != nil {
		n.dropped.Add(1)
		s.logger.Warn("status dropped", "topic", m.Topic, "bytes", len(m.Payload), "reason", err.Error())
		return
	}
	if !s.statusW.put(st) {
		// Closing: the writer has flushed for the last time.
		s.writeStatuses(ctx, []StatusSave{{Status: st, EventAt: st.UpdatedAt}}, statusWriteTimeout)
	}
}

// runStatusWriter flushes the pending statuses, at most once per
// s.statusFlush, until ctx ends; then it flushes once more and hands over
// to the handlers.
func (s *Service) runStatusWriter(ctx context.Context) {
	w := &s.statusW
	last := time.Now()
	for {
		select {
		case <-w.wake:
		case <-ctx.Done():
			s.drainStatuses()
			return
		}
		if wait := s.statusFlush - time.Since(last); wait > 0 && !sleepCtx(ctx, wait) {
			s.drainStatuses()
			return
		}
		last = time.Now()
		s.flushStatuses(ctx, statusWriteTimeout)
	}
}

// drainStatuses stops the writer and flushes what is pending, once, within
// statusDrainTimeout.
func (s *Service) drainStatuses() {
	w := &s.statusW
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), statusDrainTimeout)
	defer cancel()
	s.flushStatuses(ctx, statusDrainTimeout)
	if n := s.pendingStatuses(); n > 0 {
		s.logger.Error("statuses not saved on close", "displays", n)
	}
}

// pendingStatuses returns how many displays have statuses not written.
func (s *Service) pendingStatuses() int {
	w := &s.statusW
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// flushStatuses writes the pending statuses in one transaction; after a
// failure they stay pending.
func (s *Service) flushStatuses(ctx context.Context, timeout time.Duration) {
	w := &s.statusW
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	saves := w.take()
	if len(saves) == 0 {
		return
	}
	committed := s.saveStatuses(ctx, saves, timeout)
	w.done(committed)
}

// writeStatuses saves saves directly (the writer has stopped).
func (s *Service) writeStatuses(ctx context.Context, saves []StatusSave, timeout time.Duration) {
	w := &s.statusW
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	s.saveStatuses(ctx, saves, timeout)
}

// saveStatuses saves saves in one transaction and counts what became of
// them; it reports whether the transaction committed. s.statusW.writeMu
// held.
func (s *Service) saveStatuses(ctx context.Context, saves []StatusSave, timeout time.Duration) bool {
	n := &s.statusW.n
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	res, err := s.store.SaveDisplayStatuses(ctx, saves)
	if err != nil {
		n.writeErrors.Add(1)
		s.logger.Error("save display statuses", "statuses", len(saves), "err", err)
		return false
	}
	n.flushes.Add(1)
	for i, r := range res {
		st := saves[i].Status
		switch {
		case r.NotFound:
			n.unknownDisplay.Add(1)
			s.logger.Warn("status of an unknown display dropped", "display_id", st.DisplayID)
		case r.Transition:
			n.saved.Add(1)
			n.transitions.Add(1)
			s.logger.Info("display status changed", "display_id", st.DisplayID, "online", st.Online)
		default:
			n.saved.Add(1)
		}
	}
	return true
}

// parseStatus checks a status message and returns what to store, or the
// reason it is dropped.
func (s *Service) parseStatus(m mqtt.Message) (*DisplayStatus, error) {
	displayID, kind, ok := s.topics.Parse(m.Topic)
	switch {
	case !ok || kind != mqtt.KindStatus:
		return nil, marquee.Errorf(marquee.EINVALID, "not a status topic")
	case len(m.Payload) > maxStatusPayload:
		return nil, marquee.Errorf(marquee.ETOOLARGE, "payload over %d bytes", maxStatusPayload)
	}
	var in marquee.Status
	if err := json.Unmarshal(m.Payload, &in); err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "not a JSON status")
	}
	switch {
	// A Last Will is often just {"online":false}: format 0 is format 1.
	case in.Format < 0 || in.Format > marquee.WireFormat:
		return nil, marquee.Errorf(marquee.EINVALID, "format %d is not %d", in.Format, marquee.WireFormat)
	case in.DisplayID != "" && in.DisplayID != displayID:
		return nil, marquee.Errorf(marquee.EINVALID, "status of display %q on the topic of %q", in.DisplayID, displayID)
	case in.StateRevision < 0 || in.CacheBytes < 0 || in.FreeDiskBytes < 0 || in.UptimeSeconds < 0:
		return nil, marquee.Errorf(marquee.EINVALID, "negative figures")
	}
	texts := []string{in.Version}
	if c := in.Current; c != nil {
		texts = append(texts, c.MediaID, c.MediaName, c.PlaylistID, c.ScheduleID, c.Reason)
		if c.PlaylistRevision < 0 {
			return nil, marquee.Errorf(marquee.EINVALID, "negative playlist revision")
		}
	}
	for _, t := range texts {
		if len(t) > maxStatusText || !utf8.ValidString(t) || strings.ContainsRune(t, 0) {
			return nil, marquee.Errorf(marquee.EINVALID, "a text field is too long or not valid text")
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond) // what the store keeps
	st := &DisplayStatus{
		DisplayID:     displayID,
		Online:        in.Online,
		StateRevision: in.StateRevision,
		Version:       in.Version,
		CacheBytes:    in.CacheBytes,
		FreeDiskBytes: in.FreeDiskBytes,
		UptimeSeconds: in.UptimeSeconds,
		ClockOffsetMS: in.ClockOffsetMS,
		UpdatedAt:     now,
	}
	if in.Online {
		st.LastSeen = &now
		if in.Current != nil {
			c := *in.Current
			c.Since = c.Since.UTC()
			st.Current = &c
		}
	}
	return st, nil
}

// DisplayStatuses returns the latest status of each of the displays that
// has reported one, keyed by display ID; displays that never did are
// absent. Statuses received but not yet written are included.
func (s *Service) DisplayStatuses(ctx context.Context, ids []string) (map[string]*DisplayStatus, error) {
	w := &s.statusW
	for attempt := 0; ; attempt++ {
		_, before := w.overlay(nil)
		stored, err := s.store.FindDisplayStatuses(ctx, ids)
		if err != nil {
			return nil, err
		}
		over, after := w.overlay(ids)
		// A flush committed while the store was read: the statuses it
		// wrote are no longer in the overlay but maybe not in what was
		// read either. Read again (the third time, take what there is).
		if after != before && attempt < 2 {
			continue
		}
		if stored == nil {
			stored = map[string]*DisplayStatus{}
		}
		for id, runs := range over {
			st := stored[id]
			for _, sv := range runs {
				st = applyStatus(st, sv.Status)
			}
			stored[id] = st
		}
		return stored, nil
	}
}
