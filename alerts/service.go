package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// Default periods of the Service's loops.
const (
	DefaultCheckEvery = 30 * time.Second
	DefaultSendEvery  = 2 * time.Second
	// PruneEvery is how often the outbox is pruned.
	PruneEvery = time.Hour
)

// How long finished deliveries stay in the outbox for inspection.
const (
	KeepDelivered = 7 * 24 * time.Hour
	KeepFailed    = 30 * 24 * time.Hour
)

// Config holds what a Service needs. Store is required.
type Config struct {
	Store Store
	// Threshold is the default silence threshold (0: DefaultThreshold);
	// a display's own offline_alert_after overrides it.
	Threshold time.Duration
	// CheckEvery and SendEvery are the periods of the detector and the
	// sender (0: the defaults).
	CheckEvery, SendEvery time.Duration
	// Client posts deliveries (nil: a default with a 10 s timeout that
	// does not follow redirects).
	Client *http.Client
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs the detector and the sender, and serves the API's reads and
// webhook management within the actor's scope (auth.ScopeFrom).
type Service struct {
	store    Store
	detector *Detector
	sender   *Sender
	check    time.Duration
	send     time.Duration
	now      func() time.Time
	logger   *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Service for cfg; Start runs its loops.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store:    cfg.Store,
		detector: &Detector{Store: cfg.Store, Threshold: cfg.Threshold, Now: now, Logger: logger},
		sender:   &Sender{Store: cfg.Store, Client: cfg.Client, Now: now, Logger: logger},
		check:    orDefault(cfg.CheckEvery, DefaultCheckEvery),
		send:     orDefault(cfg.SendEvery, DefaultSendEvery),
		now:      now,
		logger:   logger,
	}
}

// Start runs the detector every CheckEvery and the sender every SendEvery
// (and right after a check) until Close. It must be called once. Silence
// before Start does not open alerts (see Detector.Started).
func (s *Service) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.detector.Started = s.now()
	kick := make(chan struct{}, 1)
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.loop(ctx, PruneEvery, func(ctx context.Context) error {
			_, err := s.Prune(ctx)
			return err
		}, nil)
	}()
	go func() {
		defer s.wg.Done()
		s.loop(ctx, s.check, func(ctx context.Context) error {
			res, err := s.detector.Check(ctx)
			if res.Opened+res.Closed > 0 {
				select {
				case kick <- struct{}{}:
				default:
				}
			}
			return err
		}, nil)
	}()
	go func() {
		defer s.wg.Done()
		s.loop(ctx, s.send, func(ctx context.Context) error {
			_, err := s.sender.Flush(ctx)
			return err
		}, kick)
	}()
}

// loop runs fn every period (and whenever kick fires) until ctx ends,
// logging errors and recovering panics so one bad run stops nothing.
func (s *Service) loop(ctx context.Context, period time.Duration, fn func(context.Context) error, kick <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					s.logger.Error("alerts loop panicked", "panic", fmt.Sprint(r))
				}
			}()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("alerts loop failed", "err", err)
			}
		}()
	}
}

// Close stops the loops and waits for them until ctx ends. Deliveries in
// flight stay in the outbox and are posted again after a restart.
func (s *Service) Close(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alerts still running: %w", ctx.Err())
	}
}

// Check runs the detector once (tests and tools).
func (s *Service) Check(ctx context.Context) (CheckResult, error) { return s.detector.Check(ctx) }

// Prune deletes the outbox's deliveries delivered more than KeepDelivered
// ago and those given up on created more than KeepFailed ago; pending ones
// are never pruned. It returns how many it deleted.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	now := s.now()
	n, err := s.store.PruneDeliveries(ctx, now.Add(-KeepDelivered), now.Add(-KeepFailed))
	if n > 0 {
		s.logger.Info("pruned webhook deliveries", "deliveries", n)
	}
	return n, err
}

// Flush runs the sender once (tests and tools).
func (s *Service) Flush(ctx context.Context) (int, error) { return s.sender.Flush(ctx) }

// FindAlerts returns one page of the alerts matching f in the actor's
// scope, newest opened first, and the cursor of the next page ("" on the
// last). A bad state, limit or cursor is EINVALID.
func (s *Service) FindAlerts(ctx context.Context, f Filter) ([]*Alert, string, error) {
	switch f.State {
	case "", "open", "closed":
	default:
		return nil, "", marquee.Errorf(marquee.EINVALID, "state must be open or closed")
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return nil, "", marquee.Errorf(marquee.EINVALID, "limit must be between 1 and %d", MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	f.Within = auth.ScopeFrom(ctx).Within()
	as, next, err := s.store.FindAlerts(ctx, f)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	for _, a := range as {
		a.setDuration(now)
	}
	return as, next, nil
}

// Bounds of a display's own threshold.
const (
	MinThreshold = time.Minute
	MaxThreshold = 7 * 24 * time.Hour
)

// Threshold is a display's silence threshold as the API shows it: its own
// (AfterSeconds, nil when it uses the default) and the server's default.
type Threshold struct {
	DisplayID      string `json:"display_id"`
	AfterSeconds   *int64 `json:"offline_alert_after"`
	DefaultSeconds int64  `json:"default_offline_alert_after"`
}

// DisplayThreshold returns display id's threshold; a display outside the
// actor's scope is ENOTFOUND.
func (s *Service) DisplayThreshold(ctx context.Context, id string) (*Threshold, error) {
	after, err := s.store.DisplayThreshold(ctx, id, auth.ScopeFrom(ctx).Within())
	if err != nil {
		return nil, err
	}
	return s.threshold(id, after), nil
}

// SetDisplayThreshold sets display id's own threshold, in seconds (nil:
// back to the server's default). It must be between MinThreshold and
// MaxThreshold, or it is EINVALID.
func (s *Service) SetDisplayThreshold(ctx context.Context, id string, seconds *int64) (*Threshold, error) {
	var after time.Duration
	if seconds != nil {
		if *seconds < int64(MinThreshold/time.Second) || *seconds > int64(MaxThreshold/time.Second) {
			return nil, marquee.Errorf(marquee.EINVALID, "offline_alert_after must be between %d and %d seconds, or null for the default",
				int64(MinThreshold/time.Second), int64(MaxThreshold/time.Second))
		}
		after = time.Duration(*seconds) * time.Second
	}
	if err := s.store.SetDisplayThreshold(ctx, id, auth.ScopeFrom(ctx).Within(), after); err != nil {
		return nil, err
	}
	return s.threshold(id, after), nil
}

func (s *Service) threshold(id string, after time.Duration) *Threshold {
	t := &Threshold{DisplayID: id, DefaultSeconds: int64(orDefault(s.detector.Threshold, DefaultThreshold) / time.Second)}
	if after > 0 {
		sec := int64(after / time.Second)
		t.AfterSeconds = &sec
	}
	return t
}

// CreateWebhook validates w and stores it, owned by w.OrgID (empty: the
// actor's organisation), which must be in the actor's scope. An empty
// Secret is replaced by a generated one, returned in w once; an empty
// Events means both events. The URL must be absolute http or https.
func (s *Service) CreateWebhook(ctx context.Context, w *Webhook) error {
	scope := auth.ScopeFrom(ctx)
	if w.OrgID == "" {
		w.OrgID = scope.OrgID()
	}
	if err := scope.CheckOwner(w.OrgID); err != nil {
		return err
	}
	if err := CheckURL(w.URL); err != nil {
		return err
	}
	if len(w.Secret) > 256 {
		return marquee.Errorf(marquee.EINVALID, "secret is longer than 256 characters")
	}
	if w.Secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		w.Secret = hex.EncodeToString(b)
	}
	if len(w.Events) == 0 {
		w.Events = []string{EventOpened, EventClosed}
	}
	for _, e := range w.Events {
		if e != EventOpened && e != EventClosed {
			return marquee.Errorf(marquee.EINVALID, "event %q is not one of %s, %s", e, EventOpened, EventClosed)
		}
	}
	slices.Sort(w.Events)
	w.Events = slices.Compact(w.Events)
	w.ID = marquee.NewID("whk_")
	w.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	return s.store.CreateWebhook(ctx, w)
}

// CheckURL returns EINVALID unless u is an absolute http or https URL with
// a host and no user information.
func CheckURL(u string) error {
	if len(u) > 2048 {
		return marquee.Errorf(marquee.EINVALID, "url is longer than 2048 characters")
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return marquee.Errorf(marquee.EINVALID, "url must be an absolute http or https URL")
	}
	if p.User != nil {
		return marquee.Errorf(marquee.EINVALID, "url must not hold a user name or password: use the secret")
	}
	return nil
}

// FindWebhooks returns the webhooks in the actor's scope, without secrets.
func (s *Service) FindWebhooks(ctx context.Context) ([]*Webhook, error) {
	ws, err := s.store.FindWebhooks(ctx, auth.ScopeFrom(ctx).Within())
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		w.Secret = ""
	}
	return ws, nil
}

// DeleteWebhook deletes webhook id, with its pending deliveries; one
// outside the actor's scope is ENOTFOUND.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	return s.store.DeleteWebhook(ctx, id, auth.ScopeFrom(ctx).Within())
}
