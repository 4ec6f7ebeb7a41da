package player

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Output is the screen: the one seam between the playback engine and
// whatever draws pixels (mpv, a browser page, a framebuffer, or nothing).
//
// The engine calls Show and Blank from one goroutine, in order, and never
// concurrently; each call replaces what was on screen before. Both must
// return quickly (hand the work to the renderer and return; never block for
// the item's duration): the engine's clock, not the output, decides when
// an item ends. An error means the call did not take effect; the engine
// logs and counts it, records no play for that slot, and tries again at the
// next slot.
type Output interface {
	// Show puts it on screen, starting Offset into it (seek videos), until
	// the engine calls the next Show or Blank.
	Show(ctx context.Context, it Item) error
	// Blank clears the screen (black).
	Blank(ctx context.Context) error
	// Close releases the output. The Agent calls it once, from Close.
	Close() error
}

// Item is one thing to show: a verified file in the local cache and how to
// play it.
type Item struct {
	Path      string // absolute path of the verified cached file
	MIME      string // as the manifest says, e.g. image/png, video/mp4
	Kind      string // image | video
	MediaID   string
	MediaName string
	SHA256    string
	// Offset is how far into the item to start: 0 at the start of its slot,
	// more when the item is shown mid-slot (a resumed loop, a late
	// download, a start-up). Seek videos by it; stills ignore it.
	Offset time.Duration
	// Duration is the item's planned length in its playlist (the slot);
	// Duration − Offset is how long it will stay, unless the schedule cuts it.
	Duration time.Duration
	Fit      string // how the rendition was cut: fill | fit | stretch
	Width    int    // pixels, from the manifest
	Height   int
}

// ShowEvent is one call HeadlessOutput received: an item shown, or a blank
// screen when Item is nil.
type ShowEvent struct {
	At   time.Time
	Item *Item
}

// HeadlessOutput is an Output with no screen: it logs what would be on
// screen and when, and keeps the calls it received. It suits servers,
// demos and tests. The zero value is not usable; use NewHeadlessOutput.
type HeadlessOutput struct {
	// OnShow, when set, is called (synchronously, from the engine) for
	// every Show with the item and the instant of the call; OnBlank for
	// every Blank. Set them before the agent runs.
	OnShow  func(Item, time.Time)
	OnBlank func(time.Time)

	now    func() time.Time
	logger *slog.Logger

	mu     sync.Mutex
	events []ShowEvent
	since  time.Time
	last   *Item
}

// maxHeadlessEvents bounds the in-memory record; older events are dropped.
const maxHeadlessEvents = 10000

// NewHeadlessOutput returns a headless output that logs to logger (nil:
// discard) and stamps events with now (nil: time.Now).
func NewHeadlessOutput(logger *slog.Logger, now func() time.Time) *HeadlessOutput {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &HeadlessOutput{now: now, logger: logger}
}

// Show records and logs it.
func (h *HeadlessOutput) Show(ctx context.Context, it Item) error {
	t := h.now()
	h.mu.Lock()
	prev, since := h.last, h.since
	cp := it
	h.last, h.since = &cp, t
	h.record(ShowEvent{At: t, Item: &cp})
	h.mu.Unlock()
	attrs := []any{"media", it.MediaName, "media_id", it.MediaID, "sha256", short(it.SHA256),
		"kind", it.Kind, "offset", it.Offset, "remaining", it.Duration - it.Offset}
	if prev != nil {
		attrs = append(attrs, "previous", prev.MediaName, "previous_for", t.Sub(since).Round(time.Millisecond))
	}
	h.logger.Info("screen: show", attrs...)
	if h.OnShow != nil {
		h.OnShow(it, t)
	}
	return nil
}

// Blank records and logs a black screen.
func (h *HeadlessOutput) Blank(ctx context.Context) error {
	t := h.now()
	h.mu.Lock()
	prev, since := h.last, h.since
	h.last, h.since = nil, t
	h.record(ShowEvent{At: t})
	h.mu.Unlock()
	if prev != nil {
		h.logger.Info("screen: blank", "previous", prev.MediaName, "previous_for", t.Sub(since).Round(time.Millisecond))
	} else {
		h.logger.Info("screen: blank")
	}
	if h.OnBlank != nil {
		h.OnBlank(t)
	}
	return nil
}

func (h *HeadlessOutput) record(e ShowEvent) {
	if len(h.events) >= maxHeadlessEvents {
		h.events = append(h.events[:0], h.events[len(h.events)/2:]...)
	}
	h.events = append(h.events, e)
}

// Events returns a copy of the calls received so far, oldest first (at
// most the latest 10 000).
func (h *HeadlessOutput) Events() []ShowEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]ShowEvent(nil), h.events...)
}

// Current returns what is on screen (nil: black) and since when.
func (h *HeadlessOutput) Current() (*Item, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		return nil, h.since
	}
	cp := *h.last
	return &cp, h.since
}

// Close does nothing.
func (h *HeadlessOutput) Close() error { return nil }

var _ Output = (*HeadlessOutput)(nil)

// short abbreviates a hash for logs.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
