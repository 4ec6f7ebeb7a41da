package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Headers of a delivery.
const (
	HeaderSignature = "X-Marquee-Signature" // "sha256=" + hex HMAC-SHA256 of the body
	HeaderTimestamp = "X-Marquee-Timestamp" // unix seconds when sent
	HeaderDelivery  = "X-Marquee-Delivery"  // the delivery ID: the idempotency key
	HeaderEvent     = "X-Marquee-Event"
)

// Defaults of the Sender's settings.
const (
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 10 * time.Minute
	DefaultMaxAttempts = 12
	DefaultMaxAge      = time.Hour
	DefaultTimeout     = 10 * time.Second
	// claimLease is how long a claimed delivery is hidden from other
	// senders: longer than one attempt can take.
	claimLease = 2 * time.Minute
	claimBatch = 50
)

// Payload is the JSON body of a delivery.
type Payload struct {
	ID     string          `json:"id"` // the delivery ID, as in HeaderDelivery
	Event  string          `json:"event"`
	Alert  json.RawMessage `json:"alert"`
	SentAt time.Time       `json:"sent_at"`
}

// Sign returns the value of HeaderSignature for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig (a HeaderSignature value) signs body under
// secret, in constant time. Receivers written in Go may use it.
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Sender posts the deliveries of the outbox. Set Store; the other fields
// have defaults. An attempt succeeds on a 2xx answer; anything else
// (including a redirect, which is not followed) is retried after
// BaseDelay·2^(attempts−1), at most MaxDelay, until MaxAttempts attempts
// or MaxAge since the event, when the delivery is given up (state failed).
type Sender struct {
	Store       Store
	Client      *http.Client // nil: one with DefaultTimeout, no redirects
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxAttempts int
	MaxAge      time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// Backoff returns the delay before the attempt after the n-th (n ≥ 1).
func (s *Sender) Backoff(n int) time.Duration {
	base, maxd := orDefault(s.BaseDelay, DefaultBaseDelay), orDefault(s.MaxDelay, DefaultMaxDelay)
	d := base
	for i := 1; i < n && d < maxd; i++ {
		d *= 2
	}
	return min(d, maxd)
}

// Flush posts every delivery due now, one after another, and returns how
// many were delivered. Failed attempts are rescheduled, not returned as
// errors; an error is the store's.
func (s *Sender) Flush(ctx context.Context) (int, error) {
	delivered := 0
	for {
		ds, err := s.Store.ClaimDeliveries(ctx, s.now(), claimBatch, claimLease)
		if err != nil {
			return delivered, fmt.Errorf("claim deliveries: %w", err)
		}
		for _, d := range ds {
			r := s.attempt(ctx, d)
			if err := s.Store.FinishDelivery(ctx, d.ID, r); err != nil {
				return delivered, fmt.Errorf("finish delivery %s: %w", d.ID, err)
			}
			if r.State == StateDelivered {
				delivered++
			}
		}
		if len(ds) < claimBatch || ctx.Err() != nil {
			return delivered, ctx.Err()
		}
	}
}

// attempt posts d once and decides what happens next.
func (s *Sender) attempt(ctx context.Context, d Delivery) DeliveryResult {
	err := s.post(ctx, d)
	now := s.now()
	r := DeliveryResult{Attempts: d.Attempts + 1, At: now}
	if err == nil {
		r.State = StateDelivered
		return r
	}
	r.Error = err.Error()
	if len(r.Error) > 500 {
		r.Error = r.Error[:500]
	}
	next := now.Add(s.Backoff(r.Attempts))
	if r.Attempts >= orDefault(s.MaxAttempts, DefaultMaxAttempts) || next.Sub(d.CreatedAt) > orDefault(s.MaxAge, DefaultMaxAge) {
		r.State = StateFailed
		s.logger().Error("webhook delivery given up", "delivery", d.ID, "webhook", d.WebhookID, "attempts", r.Attempts, "err", err)
		return r
	}
	r.State, r.Next = StatePending, next
	s.logger().Warn("webhook delivery failed; will retry", "delivery", d.ID, "webhook", d.WebhookID, "attempts", r.Attempts, "retry_at", next, "err", err)
	return r
}

// post sends d and returns nil on a 2xx answer.
func (s *Sender) post(ctx context.Context, d Delivery) error {
	now := s.now()
	body, err := json.Marshal(Payload{ID: d.ID, Event: d.Event, Alert: d.Alert, SentAt: now.UTC()})
	if err != nil {
		return fmt.Errorf("encode payload: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "marquee-webhooks/1")
	req.Header.Set(HeaderSignature, Sign(d.Secret, body))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderEvent, d.Event)
	resp, err := s.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

var defaultClient = &http.Client{
	Timeout: DefaultTimeout,
	// Redirects are not followed: a delivery goes only where an admin
	// pointed it (docs/security.md).
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (s *Sender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return defaultClient
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
