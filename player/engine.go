package player

import (
	"context"
	"fmt"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/scheduler"
)

const (
	// maxSleep bounds how long the engine sleeps between evaluations even
	// when nothing is due: a stepped wall clock (NTP at boot) is noticed
	// within this long.
	maxSleep = 5 * time.Second
	// missingRecheck is how often a slot whose file is not cached yet looks
	// again, so a file that arrives mid-slot goes on screen at once.
	missingRecheck = 500 * time.Millisecond
)

// slotKey identifies one slot of the loop: the same playlist revision, item
// and slot start mean the very same item (revisions are immutable), so an
// answer with the same key continues what is on screen — across Next
// boundaries that change nothing and across state changes that keep it.
type slotKey struct {
	ref      marquee.PlaylistRef
	index    int
	start    int64 // UnixNano of the slot's start
	reason   string
	schedule string
}

func keyOf(n scheduler.Now) slotKey {
	return slotKey{ref: *n.Playlist, index: n.ItemIndex, start: n.Start.UnixNano(), reason: n.Reason.Kind, schedule: n.Reason.ScheduleID}
}

// onScreen is the item the engine put on screen and the play it will
// journal when the item leaves.
type onScreen struct {
	key   slotKey
	since time.Time // clock reading at Show, with its monotonic part
	play  marquee.Play
}

// engine is the state of the playback loop; only runEngine touches it.
type engine struct {
	a       *Agent
	shown   *onScreen // nil: black (or nothing yet)
	blank   bool      // the output was told to blank and nothing was shown since
	missing slotKey   // last slot counted as missing, so each counts once
	failed  slotKey   // last slot whose Show failed: not retried within it
}

// runEngine evaluates the plan, drives the output and journals plays until
// ctx ends; the item on screen then is journaled as cut short.
func (a *Agent) runEngine(ctx context.Context) {
	e := &engine{a: a}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := e.step(ctx)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			e.finish(a.cfg.Now())
			return
		case <-a.wakeEngine:
		case <-timer.C:
		}
	}
}

// step puts on screen what the plan says for now and returns how long to
// sleep before the next evaluation.
func (e *engine) step(ctx context.Context) time.Duration {
	a := e.a
	now := a.cfg.Now()
	cur := a.current()
	if cur == nil {
		e.showBlank(ctx, now)
		return maxSleep
	}
	n, err := at(cur.plan, now)
	if err != nil {
		a.log.Error("resolver failed: screen black until the next state", "revision", cur.revision(), "err", err)
		e.showBlank(ctx, now)
		return maxSleep
	}
	wait := min(n.Next.Sub(now), maxSleep)
	if n.Item == nil {
		e.showBlank(ctx, now)
		return max(wait, 0)
	}
	key := keyOf(n)
	if e.shown != nil && e.shown.key == key {
		return max(wait, 0) // the same slot continues: same play, no new Show
	}
	if key == e.failed {
		e.showBlank(ctx, now)
		return max(wait, 0)
	}
	asset := cur.plan.Asset(n.Item.SHA256)
	path, ok := a.cache.Path(n.Item.SHA256)
	if asset == nil || !ok {
		e.showBlank(ctx, now)
		if e.missing != key {
			e.missing = key
			a.n.missingSlots.Add(1)
			a.log.Warn("slot left black: file not cached yet", "media_id", n.Item.MediaID, "sha256", short(n.Item.SHA256), "slot_end", n.End)
		}
		return max(min(wait, missingRecheck), 0)
	}
	it := Item{
		Path: path, MIME: asset.MIME, Kind: asset.Kind,
		MediaID: n.Item.MediaID, MediaName: asset.Name, SHA256: n.Item.SHA256,
		Offset: n.Offset, Duration: time.Duration(n.Item.DurationMS) * time.Millisecond,
		Fit: n.Item.Fit, Width: asset.Width, Height: asset.Height,
	}
	// Show first, journal the previous play after: the screen must not
	// wait for the disk.
	if err := a.cfg.Output.Show(ctx, it); err != nil {
		a.n.outputErrors.Add(1)
		a.log.Error("output: show", "media_id", it.MediaID, "err", err)
		e.failed = key
		e.showBlank(ctx, now)
		return max(wait, 0)
	}
	e.end(now)
	a.n.itemsShown.Add(1)
	a.cache.Touch(it.SHA256)
	started := now.UTC().Truncate(time.Millisecond)
	e.shown = &onScreen{key: key, since: now, play: marquee.Play{
		ID:               newUUID(),
		DisplayID:        a.cfg.DisplayID,
		MediaID:          n.Item.MediaID,
		MediaSHA256:      n.Item.SHA256,
		MediaName:        asset.Name,
		PlaylistID:       n.Playlist.PlaylistID,
		PlaylistRevision: n.Playlist.Revision,
		ScheduleID:       n.Reason.ScheduleID,
		Reason:           n.Reason.Kind,
		StartedAt:        started,
		PlannedMS:        n.Item.DurationMS,
	}}
	e.blank = false
	a.setPlaying(&marquee.NowPlaying{
		MediaID: it.MediaID, MediaName: it.MediaName,
		PlaylistID: n.Playlist.PlaylistID, PlaylistRevision: n.Playlist.Revision,
		ScheduleID: n.Reason.ScheduleID, Reason: n.Reason.Kind, Since: started,
	})
	return max(wait, 0)
}

// showBlank blanks the output (once) and ends the play on screen. If Blank
// fails the play still ends now (the output is in an unknown state), and
// the next evaluation tries again.
func (e *engine) showBlank(ctx context.Context, now time.Time) {
	if !e.blank {
		if err := e.a.cfg.Output.Blank(ctx); err != nil {
			e.a.n.outputErrors.Add(1)
			e.a.log.Error("output: blank", "err", err)
		} else {
			e.blank = true
			e.a.setPlaying(nil)
		}
	}
	e.end(now)
}

// end journals the play on screen, if any, as ending at now.
func (e *engine) end(now time.Time) {
	s := e.shown
	if s == nil {
		return
	}
	e.shown = nil
	p := s.play
	// played_ms is measured on the monotonic clock when there is one, so a
	// stepped wall clock does not distort it; ended_at is the wall clock.
	played := now.Sub(s.since)
	p.EndedAt = now.UTC().Truncate(time.Millisecond)
	p.PlayedMS = max(played.Milliseconds(), 0)
	p.Completed = marquee.IsCompleted(p.PlannedMS, p.PlayedMS)
	a := e.a
	if _, err := a.journal.Append(p); err != nil {
		a.n.journalErrors.Add(1)
		a.log.Error("journal play: the play is lost", "play", p.ID, "err", err)
		return
	}
	a.n.playsJournaled.Add(1)
	signal(a.kickUpload)
}

// finish journals the item on screen when the engine stops.
func (e *engine) finish(now time.Time) {
	e.end(now)
	e.a.setPlaying(nil)
}

// setPlaying records what is on screen for the status and asks for a
// status update.
func (a *Agent) setPlaying(np *marquee.NowPlaying) {
	a.mu.Lock()
	a.playing = np
	a.mu.Unlock()
	signal(a.kickStatus)
}

// at is plan.At under recover. The resolver is pure and tested not to
// panic; should a bug make it, a persisted state must not crash the player
// in a loop at every boot.
func at(plan *scheduler.Plan, t time.Time) (n scheduler.Now, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plan.At panicked: %v", r)
		}
	}()
	return plan.At(t), nil
}
