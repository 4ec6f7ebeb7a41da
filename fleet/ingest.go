package fleet

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/mqtt"
)

// Proof of play.
//
// A player uploads journaled plays in batches on …/plays. The handler checks
// the batch and each play — the display ID comes from the topic (the
// broker's ACL lets a display publish under its own ID only), completed is
// recomputed here — and queues what is valid as one unit, with the highest
// journal sequence of the batch, valid or not. A malformed payload is
// dropped and counted; so is a malformed play, whose sequence is still
// acknowledged: a poison play must not hold the player's journal for ever.
//
// One writer goroutine takes units off the bounded queue and stores them in
// batched transactions (up to playBatchRows rows, or whatever arrived within
// playBatchWait of the first), across displays, with INSERT … ON CONFLICT
// (id) DO NOTHING, so a re-sent play is stored once. Only after the commit
// does it acknowledge, per display, the highest sequence stored: PlayAck on
// …/plays/ack. A failed transaction is retried with back-off until the
// database answers or the service closes; nothing is acknowledged meanwhile.
//
// Acks are cumulative ("everything up to Seq is stored"), and the client
// runs handlers concurrently, so a display's later batch can be committed
// while an earlier one still waits in the queue. acks therefore never
// acknowledge a sequence at or above the first sequence of a unit of that
// display still queued, or of one that was shed (queue full: the player
// re-sends it after its ack timeout): that acknowledgement waits until the
// earlier plays are committed too.

func init() {
	register(feature{
		name: "plays",
		subscriptions: func(s *Service) []subscription {
			return []subscription{{filter: s.topics.AllDisplays(mqtt.KindPlays), qos: 1, handler: s.handlePlays,
				queue: mqtt.Queue{Name: PlaysQueue, Workers: mqtt.DefaultHandlerWorkers, Size: mqtt.DefaultHandlerQueue}}}
		},
		start: func(s *Service, _ context.Context) error {
			s.plays.init()
			s.goBackground(s.runPlayWriter)
			s.goBackground(s.runPlayAcker)
			return nil
		},
	})
}

// PlaysQueue names the MQTT client's handler queue of play batches (see
// Stats.Queues): its own, so that statuses and command results, on the
// default queue, can neither fill it nor hold its workers.
const PlaysQueue = "plays"

// Ingest limits.
const (
	playBatchRows  = 500                    // rows per transaction, at most (a larger unit goes alone)
	playBatchWait  = 200 * time.Millisecond // longest a unit waits for others to share its transaction
	playQueueUnits = 1024                   // units (one per accepted batch) waiting for the writer
	// playEnqueueWait is how long a handler waits for room in a full queue
	// before it sheds the batch (not acknowledged, so the player re-sends).
	playEnqueueWait = 2 * time.Second
	// maxPlaysPayload bounds a batch's JSON: players send at most 128 KiB,
	// the embedded broker carries at most 256 KiB.
	maxPlaysPayload = 256 << 10
	// playWriteTimeout bounds one transaction; playRetryMax the pause
	// between attempts after a failure.
	playWriteTimeout = 30 * time.Second
	playRetryMin     = 100 * time.Millisecond
	playRetryMax     = 5 * time.Second
	// playDrainTimeout bounds the final flush when the service closes.
	playDrainTimeout = 5 * time.Second
	// ackWorkers publishes this many acks at once.
	ackWorkers = 8
)

// Validity of a play: what a sane player can report.
const (
	maxPlayIDLen     = 128  // media, playlist and schedule IDs
	maxPlayNameLen   = 1024 // media name
	maxPlayLength    = 24 * time.Hour
	maxPlayClockSkew = 24 * time.Hour // how far in the future (server clock) a play may start
)

// oldestPlay is the earliest start a play may have: anything before is a
// player whose clock was never set.
var oldestPlay = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// uuidRE matches a UUID in its canonical text form, either case.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// PlayFilter selects plays from the playback log. Zero fields match
// everything. From is inclusive and To exclusive, on the start time.
// Results are ordered newest first (started_at, then ID, descending);
// Cursor is the opaque next cursor of a previous page.
type PlayFilter struct {
	DisplayID  string
	MediaID    string
	ScheduleID string
	From, To   time.Time
	Limit      int // 1..500; 0 means 50
	Cursor     string
	// Within keeps the plays of the displays of this organisation and
	// those below it (plays of a deleted display are then left out); ""
	// means every display. FindPlays sets it from the actor's scope.
	Within string
}

// PlayStats count what became of uploaded plays.
type PlayStats struct {
	Batches        uint64 // payloads received on …/plays
	BatchesDropped uint64 // payloads dropped whole: oversized, not JSON, another format or display
	Received       uint64 // plays in the batches that were not dropped whole
	Invalid        uint64 // plays dropped by validation (another display's ID included); still acknowledged
	UnknownDisplay uint64 // plays of a display that does not exist; not acknowledged
	Shed           uint64 // plays dropped because the queue stayed full; not acknowledged (re-sent)
	Stored         uint64 // plays inserted
	Duplicates     uint64 // plays already stored (re-sent after a lost ack)
	WriteErrors    uint64 // failed transactions (retried)
	Acks           uint64 // acknowledgements published
	AckErrors      uint64 // acknowledgements that could not be published (the player re-sends)
}

// Stats count what the service received from displays and what became of
// it, since New.
type Stats struct {
	Plays    PlayStats
	Status   StatusStats
	Commands CommandStats
	// Queues are the MQTT client's handler queues, by name:
	// mqtt.DefaultQueue (statuses and command results) and PlaysQueue,
	// each with the messages it dropped because it was full. Nil without
	// MQTT.
	Queues map[string]mqtt.QueueStats
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	st := Stats{Plays: s.plays.stats(), Status: s.statusW.n.stats(), Commands: s.commands.stats()}
	if s.client != nil {
		st.Queues = s.client.Stats().Queues
	}
	return st
}

// playUnit is one accepted batch: its valid plays, the range of journal
// sequences it covered (valid or not), and where it came from.
type playUnit struct {
	displayID      string
	plays          []marquee.Play
	minSeq, maxSeq uint64 // 0, 0 when the batch carried no sequence
}

// playCounters are PlayStats as atomics.
type playCounters struct {
	batches, batchesDropped, received, invalid, unknownDisplay, shed,
	stored, duplicates, writeErrors, acks, ackErrors atomic.Uint64
}

// playIngest is the ingest state of a Service.
type playIngest struct {
	n     playCounters
	queue chan *playUnit
	// writerDone is closed when the writer has flushed for the last time,
	// so the acker publishes what remains and stops.
	writerDone chan struct{}

	mu      sync.Mutex
	ackable map[string]*ackState // display ID → ack bookkeeping
	toAck   map[string]uint64    // display ID → sequence to publish
	wake    chan struct{}        // toAck has something
}

// ackState is the ack bookkeeping of one display.
type ackState struct {
	queued  map[uint64]int // first sequence of a queued unit → how many
	holeLo  uint64         // sequences [holeLo, holeHi] were shed; 0: none
	holeHi  uint64
	carried uint64 // highest committed sequence not yet acknowledged
}

func (in *playIngest) init() {
	in.queue = make(chan *playUnit, playQueueUnits)
	in.writerDone = make(chan struct{})
	in.ackable = map[string]*ackState{}
	in.toAck = map[string]uint64{}
	in.wake = make(chan struct{}, 1)
}

func (in *playIngest) stats() PlayStats {
	n := &in.n
	return PlayStats{
		Batches: n.batches.Load(), BatchesDropped: n.batchesDropped.Load(), Received: n.received.Load(),
		Invalid: n.invalid.Load(), UnknownDisplay: n.unknownDisplay.Load(), Shed: n.shed.Load(),
		Stored: n.stored.Load(), Duplicates: n.duplicates.Load(), WriteErrors: n.writeErrors.Load(),
		Acks: n.acks.Load(), AckErrors: n.ackErrors.Load(),
	}
}

// handlePlays is the handler of …/+/plays.
func (s *Service) handlePlays(ctx context.Context, m mqtt.Message) {
	n := &s.plays.n
	n.batches.Add(1)
	u, err := s.parsePlays(m)
	if err != nil {
		n.batchesDropped.Add(1)
		s.logger.Warn("plays batch dropped", "topic", m.Topic, "bytes", len(m.Payload), "reason", err.Error())
		return
	}
	if u == nil {
		return // an empty batch
	}
	s.enqueuePlays(ctx, u)
}

// parsePlays checks a batch and returns its unit (nil for an empty batch),
// or the reason it is dropped whole.
func (s *Service) parsePlays(m mqtt.Message) (*playUnit, error) {
	displayID, kind, ok := s.topics.Parse(m.Topic)
	switch {
	case !ok || kind != mqtt.KindPlays:
		return nil, marquee.Errorf(marquee.EINVALID, "not a plays topic")
	case len(m.Payload) > maxPlaysPayload:
		return nil, marquee.Errorf(marquee.ETOOLARGE, "payload over %d bytes", maxPlaysPayload)
	}
	var b marquee.PlayBatch
	if err := json.Unmarshal(m.Payload, &b); err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "not a JSON play batch")
	}
	switch {
	case b.Format != marquee.WireFormat:
		return nil, marquee.Errorf(marquee.EINVALID, "format %d is not %d", b.Format, marquee.WireFormat)
	case b.DisplayID != displayID:
		return nil, marquee.Errorf(marquee.EINVALID, "batch of display %q on the topic of %q", b.DisplayID, displayID)
	case len(b.Plays) == 0:
		return nil, nil
	}
	n := &s.plays.n
	n.received.Add(uint64(len(b.Plays)))
	now := s.now().UTC()
	u := &playUnit{displayID: displayID, plays: make([]marquee.Play, 0, len(b.Plays))}
	var invalid int
	var firstErr error
	for _, jp := range b.Plays {
		if jp.Seq > 0 {
			if u.minSeq == 0 || jp.Seq < u.minSeq {
				u.minSeq = jp.Seq
			}
			u.maxSeq = max(u.maxSeq, jp.Seq)
		}
		p := jp.Play
		if err := checkPlay(&p, displayID, now); err != nil {
			invalid++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		u.plays = append(u.plays, p)
	}
	if invalid > 0 {
		n.invalid.Add(uint64(invalid))
		s.logger.Warn("invalid plays dropped", "display_id", displayID, "dropped", invalid,
			"of", len(b.Plays), "first_reason", firstErr.Error(), "max_seq", u.maxSeq)
	}
	if len(u.plays) == 0 && u.maxSeq == 0 {
		return nil, nil
	}
	return u, nil
}

// checkPlay validates p, sent by display displayID and received at now,
// and normalises it: IDs of hex digits in lower case, times in UTC
// truncated to milliseconds, Completed recomputed. Errors say why.
func checkPlay(p *marquee.Play, displayID string, now time.Time) error {
	if p.DisplayID != displayID {
		return marquee.Errorf(marquee.EINVALID, "play %s claims display %q", p.ID, p.DisplayID)
	}
	if !uuidRE.MatchString(p.ID) {
		return marquee.Errorf(marquee.EINVALID, "play ID %q is not a UUID", truncate(p.ID))
	}
	p.ID = strings.ToLower(p.ID)
	p.MediaSHA256 = strings.ToLower(p.MediaSHA256)
	for _, f := range []struct {
		name, v  string
		required bool
		max      int
	}{
		{"media_id", p.MediaID, true, maxPlayIDLen},
		{"media_sha256", p.MediaSHA256, true, maxPlayIDLen},
		{"media_name", p.MediaName, false, maxPlayNameLen},
		{"playlist_id", p.PlaylistID, false, maxPlayIDLen},
		{"schedule_id", p.ScheduleID, false, maxPlayIDLen},
	} {
		// PostgreSQL refuses NUL bytes and invalid UTF-8 in text: such a
		// play would fail its whole transaction, for ever.
		switch {
		case f.required && f.v == "":
			return marquee.Errorf(marquee.EINVALID, "play %s has no %s", p.ID, f.name)
		case len(f.v) > f.max:
			return marquee.Errorf(marquee.EINVALID, "play %s: %s is longer than %d bytes", p.ID, f.name, f.max)
		case !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0):
			return marquee.Errorf(marquee.EINVALID, "play %s: %s is not valid text", p.ID, f.name)
		}
	}
	switch p.Reason {
	case marquee.ReasonSchedule, marquee.ReasonFallback, marquee.ReasonIdle:
	default:
		return marquee.Errorf(marquee.EINVALID, "play %s: unknown reason %q", p.ID, truncate(p.Reason))
	}
	p.StartedAt = p.StartedAt.UTC().Truncate(time.Millisecond)
	p.EndedAt = p.EndedAt.UTC().Truncate(time.Millisecond)
	switch {
	case p.StartedAt.Before(oldestPlay) || p.StartedAt.After(now.Add(maxPlayClockSkew)):
		return marquee.Errorf(marquee.EINVALID, "play %s: started_at %s is out of range", p.ID, p.StartedAt.Format(time.RFC3339))
	case p.EndedAt.Before(p.StartedAt):
		return marquee.Errorf(marquee.EINVALID, "play %s ends before it starts", p.ID)
	case p.EndedAt.Sub(p.StartedAt) > maxPlayLength:
		return marquee.Errorf(marquee.EINVALID, "play %s lasts more than %v", p.ID, maxPlayLength)
	case p.PlannedMS < 0 || p.PlayedMS < 0 || p.PlaylistRevision < 0:
		return marquee.Errorf(marquee.EINVALID, "play %s has a negative length or revision", p.ID)
	case p.PlannedMS > maxPlayLength.Milliseconds() || p.PlayedMS > maxPlayLength.Milliseconds():
		return marquee.Errorf(marquee.EINVALID, "play %s: planned or played length over %v", p.ID, maxPlayLength)
	}
	// Never the client's word: the rule is the server's.
	p.Completed = marquee.IsCompleted(p.PlannedMS, p.PlayedMS)
	return nil
}

// truncate shortens client text quoted in a log line.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// enqueuePlays hands u to the writer, waiting up to playEnqueueWait for
// room; a unit that does not fit is shed (counted, not acknowledged).
func (s *Service) enqueuePlays(ctx context.Context, u *playUnit) {
	in := &s.plays
	in.track(u)
	t := time.NewTimer(playEnqueueWait)
	defer t.Stop()
	select {
	case in.queue <- u:
		return
	case <-t.C:
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	in.shed(u)
	in.n.shed.Add(uint64(len(u.plays)))
	s.logger.Warn("plays batch shed: the write queue is full", "display_id", u.displayID,
		"plays", len(u.plays), "from_seq", u.minSeq, "to_seq", u.maxSeq)
}

// track records that u is queued, so that no ack of its display reaches
// its sequences before it is stored.
func (in *playIngest) track(u *playUnit) {
	if u.minSeq == 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	a := in.ackState(u.displayID)
	if a.queued == nil {
		a.queued = map[uint64]int{}
	}
	a.queued[u.minSeq]++
}

// shed turns u's entry in the queue into a hole: no ack of its display
// reaches u.minSeq until plays re-sent from there are stored.
func (in *playIngest) shed(u *playUnit) {
	if u.minSeq == 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	a := in.ackState(u.displayID)
	a.unqueue(u.minSeq)
	if a.holeLo == 0 || u.minSeq < a.holeLo {
		a.holeLo = u.minSeq
	}
	a.holeHi = max(a.holeHi, u.maxSeq)
}

// ackState returns the bookkeeping of a display, creating it; in.mu held.
func (in *playIngest) ackState(displayID string) *ackState {
	a := in.ackable[displayID]
	if a == nil {
		a = &ackState{}
		in.ackable[displayID] = a
	}
	return a
}

func (a *ackState) unqueue(minSeq uint64) {
	if a.queued[minSeq] <= 1 {
		delete(a.queued, minSeq)
	} else {
		a.queued[minSeq]--
	}
}

// committed records that units were stored (stored false: dropped for
// good, e.g. their display is unknown) and schedules the acks that became
// safe.
func (in *playIngest) committed(units []*playUnit, stored func(*playUnit) bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	touched := map[string]bool{}
	for _, u := range units {
		if u.minSeq == 0 {
			continue
		}
		a := in.ackState(u.displayID)
		a.unqueue(u.minSeq)
		touched[u.displayID] = true
		if !stored(u) {
			continue
		}
		a.carried = max(a.carried, u.maxSeq)
		// Plays re-sent from the start of a hole fill it.
		if a.holeLo != 0 && u.minSeq <= a.holeLo && u.maxSeq >= a.holeLo {
			a.holeLo = u.maxSeq + 1
			if a.holeLo > a.holeHi {
				a.holeLo, a.holeHi = 0, 0
			}
		}
	}
	for id := range touched {
		a := in.ackable[id]
		if a.carried > 0 && a.carried < a.limit() {
			in.toAck[id] = max(in.toAck[id], a.carried)
			a.carried = 0
		}
		if a.carried == 0 && len(a.queued) == 0 && a.holeLo == 0 {
			delete(in.ackable, id)
		}
	}
	if len(in.toAck) > 0 {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
}

// limit is the lowest sequence an ack of the display must stay below: the
// first of a queued unit or of a hole (the maximum when there is none).
func (a *ackState) limit() uint64 {
	l := uint64(1<<64 - 1)
	for seq := range a.queued {
		l = min(l, seq)
	}
	if a.holeLo != 0 {
		l = min(l, a.holeLo)
	}
	return l
}

// runPlayWriter stores queued units in batched transactions until ctx
// ends, then flushes what is still queued.
func (s *Service) runPlayWriter(ctx context.Context) {
	in := &s.plays
	defer close(in.writerDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var batch []*playUnit
		select {
		case u := <-in.queue:
			batch = append(batch, u)
		case <-ctx.Done():
			s.drainPlays()
			return
		}
		rows := len(batch[0].plays)
		timer.Reset(playBatchWait)
	collect:
		for rows < playBatchRows {
			select {
			case u := <-in.queue:
				batch = append(batch, u)
				rows += len(u.plays)
			case <-timer.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		timer.Stop() // since Go 1.23 a stopped timer delivers nothing stale
		s.writePlays(ctx, batch, true)
	}
}

// drainPlays stores what is still queued when the service closes, one
// attempt per transaction, within playDrainTimeout.
func (s *Service) drainPlays() {
	ctx, cancel := context.WithTimeout(context.Background(), playDrainTimeout)
	defer cancel()
	for ctx.Err() == nil {
		var batch []*playUnit
		rows := 0
	take:
		for rows < playBatchRows {
			select {
			case u := <-s.plays.queue:
				batch = append(batch, u)
				rows += len(u.plays)
			default:
				break take
			}
		}
		if len(batch) == 0 {
			return
		}
		s.writePlays(ctx, batch, false)
	}
}

// writePlays stores the plays of batch in one transaction and schedules
// the acks. With retry it tries again after a failure, backing off, until
// it succeeds or ctx ends; otherwise it gives up after one attempt. Units
// given up are never acknowledged: the player re-sends them.
func (s *Service) writePlays(ctx context.Context, batch []*playUnit, retry bool) {
	in := &s.plays
	ids := make([]string, 0, len(batch))
	for _, u := range batch {
		ids = append(ids, u.displayID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	var known map[string]bool
	var inserted int
	var rows []marquee.Play
	attempt := func(ctx context.Context) error {
		var err error
		if known == nil {
			if known, err = s.store.FindKnownDisplays(ctx, ids); err != nil {
				known = nil
				return err
			}
			for _, u := range batch {
				if known[u.displayID] {
					rows = append(rows, u.plays...)
				} else if len(u.plays) > 0 {
					in.n.unknownDisplay.Add(uint64(len(u.plays)))
					s.logger.Warn("plays of an unknown display dropped", "display_id", u.displayID, "plays", len(u.plays))
				}
			}
		}
		if len(rows) == 0 {
			return nil
		}
		inserted, err = s.store.InsertPlays(ctx, rows, s.now())
		return err
	}
	wait := playRetryMin
	for {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), playWriteTimeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			break
		}
		in.n.writeErrors.Add(1)
		s.logger.Error("store plays", "plays", len(rows), "displays", len(ids), "err", err, "retry_in", wait)
		if !retry || !sleepCtx(ctx, wait) {
			return // not acknowledged: the players re-send
		}
		wait = min(2*wait, playRetryMax)
	}
	in.n.stored.Add(uint64(inserted))
	in.n.duplicates.Add(uint64(len(rows) - inserted))
	in.committed(batch, func(u *playUnit) bool { return known[u.displayID] })
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runPlayAcker publishes the acks the writer schedules, the latest per
// display, until the writer is done; then it publishes what remains.
func (s *Service) runPlayAcker(_ context.Context) {
	in := &s.plays
	for {
		select {
		case <-in.wake:
			s.publishAcks()
		case <-in.writerDone:
			s.publishAcks()
			return
		}
	}
}

// publishAcks publishes every scheduled ack, ackWorkers at a time.
func (s *Service) publishAcks() {
	in := &s.plays
	in.mu.Lock()
	acks := in.toAck
	in.toAck = map[string]uint64{}
	in.mu.Unlock()
	if len(acks) == 0 {
		return
	}
	var g errgroup.Group
	g.SetLimit(ackWorkers)
	for id, seq := range acks {
		g.Go(func() error {
			payload, _ := json.Marshal(marquee.PlayAck{Format: marquee.WireFormat, Seq: seq})
			ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
			defer cancel()
			err := s.client.Publish(ctx, mqtt.Message{Topic: s.topics.PlaysAck(id), Payload: payload, QoS: 1})
			if err != nil {
				in.n.ackErrors.Add(1)
				s.logger.Warn("publish plays ack", "display_id", id, "seq", seq, "err", err)
				return nil
			}
			in.n.acks.Add(1)
			return nil
		})
	}
	_ = g.Wait()
}

// FindPlays returns one page of the playback log of the displays in the
// actor's scope (auth.ScopeFrom) matching f, newest first, and the cursor of
// the next page ("" on the last); f.Within is replaced by the scope. A
// malformed cursor, a negative limit or To not after From is EINVALID.
func (s *Service) FindPlays(ctx context.Context, f PlayFilter) ([]marquee.Play, string, error) {
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return nil, "", marquee.Errorf(marquee.EINVALID, "to must be after from")
	}
	f.Within = auth.ScopeFrom(ctx).Within()
	plays, next, err := s.store.FindPlays(ctx, f)
	if err != nil {
		return nil, "", err
	}
	return plays, next, nil
}
