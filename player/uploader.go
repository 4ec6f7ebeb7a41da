package player

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// publishRetry is the pause after a failed publish.
const publishRetry = time.Second

// ackWatermark is the highest valid ack seen, handed from the MQTT handler
// to the uploader, which alone touches the journal's ack.
type ackWatermark struct {
	mu  sync.Mutex
	seq uint64
}

func (w *ackWatermark) raise(seq uint64) {
	w.mu.Lock()
	w.seq = max(w.seq, seq)
	w.mu.Unlock()
}

func (w *ackWatermark) get() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// handleAck is the MQTT handler of the plays/ack topic. A malformed ack, one
// of another format or for another display, or one beyond the journal's
// last sequence is ignored and counted.
func (a *Agent) handleAck(_ context.Context, msg mqtt.Message) {
	var ack marquee.PlayAck
	if id, kind, ok := a.topics.Parse(msg.Topic); !ok || id != a.cfg.DisplayID || kind != mqtt.KindPlaysAck {
		a.n.acksIgnored.Add(1)
		a.log.Warn("ack ignored: wrong topic", "topic", msg.Topic)
		return
	}
	if err := json.Unmarshal(msg.Payload, &ack); err != nil || ack.Format != marquee.WireFormat || ack.Seq == 0 {
		a.n.acksIgnored.Add(1)
		a.log.Warn("ack ignored: malformed", "err", err, "format", ack.Format, "seq", ack.Seq)
		return
	}
	if last := a.journal.LastSeq(); ack.Seq > last {
		a.n.acksIgnored.Add(1)
		a.log.Warn("ack ignored: beyond the journal", "seq", ack.Seq, "last", last)
		return
	}
	a.ackHigh.raise(ack.Seq)
	signal(a.kickUpload)
}

// uploader is the state of the play upload loop; only runUploader touches
// it. sent is the highest sequence published in the current round; plays
// in (Acked, sent] await an ack.
//
// One batch at a time is in flight. Acks are cumulative ("everything up to
// Seq is stored") and the server acknowledges the highest sequence it
// committed, so if a later batch could be in flight, its ack would also
// cover an earlier batch lost on the way (published while the server's
// subscription was down, say) and the journal would drop plays the server
// never saw. With one batch in flight, an ack can only cover plays that
// reached the server. It costs little: a batch holds up to BatchMax plays,
// a display makes a few a minute, and a backlog of weeks drains in minutes.
type uploader struct {
	a           *Agent
	sent        uint64
	lastSend    time.Time // last publish or ack progress: the ack timeout runs from it
	firstUnsent time.Time // when unsent plays were first seen: the batch interval runs from it
	backoff     time.Time // no publish before this, after a failure
}

// runUploader publishes journaled plays in batches (BatchMax plays, or
// whatever is there after BatchInterval), applies acks, and goes back to
// the lowest unacknowledged play after AckTimeout without an ack or after a
// reconnection. Nothing leaves the journal before the server acks it; the
// server stores plays idempotently by ID, so resends are harmless.
func (a *Agent) runUploader(ctx context.Context) {
	if a.client == nil {
		return
	}
	u := &uploader{a: a, sent: a.journal.Acked()}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := u.step(ctx)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-a.kickUpload:
		case <-a.reconnects:
			u.sent = a.journal.Acked()
			u.backoff = time.Time{}
		case <-timer.C:
		}
	}
}

// step applies acks, resends after a timeout, publishes what is due and
// returns how long to wait before the next step at the latest.
func (u *uploader) step(ctx context.Context) time.Duration {
	a := u.a
	now := time.Now()
	if seq := a.ackHigh.get(); seq > a.journal.Acked() {
		if err := a.journal.Ack(seq); err != nil {
			a.log.Error("journal ack", "seq", seq, "err", err)
		} else {
			a.n.acksApplied.Add(1)
			u.lastSend = now
		}
	}
	acked := a.journal.Acked()
	u.sent = max(u.sent, acked)
	if u.sent > acked && now.Sub(u.lastSend) >= a.cfg.AckTimeout {
		a.n.resends.Add(1)
		a.log.Warn("no ack in time: resending", "from", acked+1, "to", u.sent)
		u.sent = acked
	}
	last := a.journal.LastSeq()
	if last <= u.sent {
		u.firstUnsent = time.Time{}
		return u.ackWait(now, acked)
	}
	if u.firstUnsent.IsZero() {
		u.firstUnsent = now
	}
	due := last-u.sent >= uint64(a.cfg.BatchMax) || now.Sub(u.firstUnsent) >= a.cfg.BatchInterval
	switch {
	case u.sent > acked: // a batch is in flight: wait for its ack
		return u.ackWait(now, acked)
	case !due:
		return u.firstUnsent.Add(a.cfg.BatchInterval).Sub(now)
	case now.Before(u.backoff):
		return u.backoff.Sub(now)
	case !a.client.Connected():
		return publishRetry // a reconnection also wakes the loop
	}
	if !u.publishBatch(ctx, acked) {
		u.backoff = time.Now().Add(publishRetry)
		return publishRetry
	}
	if u.sent >= last {
		u.firstUnsent = time.Time{}
	}
	return u.ackWait(time.Now(), a.journal.Acked())
}

// ackWait is how long until the ack timeout fires, or an hour when nothing
// awaits an ack.
func (u *uploader) ackWait(now time.Time, acked uint64) time.Duration {
	if u.sent <= acked {
		return time.Hour
	}
	return max(u.lastSend.Add(u.a.cfg.AckTimeout).Sub(now), time.Millisecond)
}

// publishBatch publishes the next batch after u.sent (= acked: nothing is
// in flight) and reports whether it went out (PUBACK received).
func (u *uploader) publishBatch(ctx context.Context, acked uint64) bool {
	a := u.a
	last := a.journal.LastSeq()
	plays, err := a.journal.Pending(u.sent, a.cfg.BatchMax)
	if err != nil {
		a.log.Error("read journal", "err", err)
		return false
	}
	if len(plays) == 0 {
		// No entry exists in (acked, last]: the journal lost them (a torn
		// tail after a crash, damage, its size cap). Nothing can be sent;
		// acknowledge the empty range so it is not asked for again.
		a.log.Warn("journal holds no plays up to its last sequence; skipping", "from", acked+1, "to", last)
		if err := a.journal.Ack(last); err != nil {
			a.log.Error("journal ack", "seq", last, "err", err)
			return false
		}
		u.sent = max(u.sent, last)
		return true
	}
	payload, plays := encodeBatch(a.cfg.DisplayID, plays)
	if err := a.publish(ctx, a.topics.Plays(a.cfg.DisplayID), payload, false); err != nil {
		a.log.Warn("publish plays", "from", plays[0].Seq, "n", len(plays), "err", err)
		return false
	}
	u.sent = plays[len(plays)-1].Seq
	u.lastSend = time.Now()
	a.n.batchesSent.Add(1)
	a.n.playsSent.Add(uint64(len(plays)))
	a.log.Debug("plays sent", "from", plays[0].Seq, "to", u.sent)
	return true
}

// maxBatchBytes caps a batch's JSON so that it stays well under brokers'
// packet limits (often 256 KiB) even with long media names.
const maxBatchBytes = 128 << 10

// encodeBatch encodes plays as a PlayBatch, halving the batch until it fits
// maxBatchBytes (a single play always goes); it returns the payload and the
// plays it holds.
func encodeBatch(displayID string, plays []marquee.JournaledPlay) ([]byte, []marquee.JournaledPlay) {
	for {
		b, _ := json.Marshal(marquee.PlayBatch{Format: marquee.WireFormat, DisplayID: displayID, Plays: plays})
		if len(b) <= maxBatchBytes || len(plays) == 1 {
			return b, plays
		}
		plays = plays[:len(plays)/2]
	}
}
