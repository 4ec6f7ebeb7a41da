package alerts

import (
	"context"
	"encoding/json"
	"time"
)

// Events posted to webhooks.
const (
	EventOpened = "alert.opened"
	EventClosed = "alert.closed"
)

// Alert is one offline episode of a display. ClosedAt is nil while it is
// open. LastSeen is the display's last online heartbeat when the alert
// opened (nil if never). Duration is seconds from OpenedAt to ClosedAt, or
// to now while open; it is computed, not stored.
type Alert struct {
	ID          string     `json:"id"`
	DisplayID   string     `json:"display_id"`
	DisplayName string     `json:"display_name"`
	OrgID       string     `json:"organisation_id"`
	OpenedAt    time.Time  `json:"opened_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	LastSeen    *time.Time `json:"last_seen"`
	Duration    int64      `json:"duration"`
}

// setDuration sets a.Duration as of now.
func (a *Alert) setDuration(now time.Time) {
	end := now
	if a.ClosedAt != nil {
		end = *a.ClosedAt
	}
	a.Duration = max(0, int64(end.Sub(a.OpenedAt)/time.Second))
}

// Filter selects alerts; zero fields match everything. State is "open",
// "closed" or "". From (inclusive) and To (exclusive) bound OpenedAt.
type Filter struct {
	State     string
	DisplayID string
	From, To  time.Time
	Limit     int // 0: DefaultLimit
	// Cursor is the next_cursor of the previous page ("" the first).
	Cursor string
	// Within is the organisation whose subtree to keep ("" everything);
	// the Service sets it from the actor's scope.
	Within string
}

// Limits of FindAlerts.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Candidate is what the detector knows of one display that has reported a
// status at least once.
type Candidate struct {
	DisplayID   string
	DisplayName string
	OrgID       string
	Online      bool
	// LastSeen is the last heartbeat that said online (nil if never).
	LastSeen *time.Time
	// StatusAt is when the server last received any status of the
	// display, online or offline (a Last Will).
	StatusAt time.Time
	// Threshold is the display's own silence threshold; 0 uses the
	// detector's default.
	Threshold time.Duration
	// Open is the display's open alert, nil when none.
	Open *Alert
	// Gone reports that the display was deleted while its alert was open.
	Gone bool
}

// Webhook is an endpoint that receives the alerts of the displays in its
// organisation's subtree. Secret signs deliveries; it is never listed.
// Events is a subset of EventOpened and EventClosed (empty: both).
type Webhook struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"organisation_id"`
	URL       string    `json:"url"`
	Secret    string    `json:"secret,omitempty"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery is one pending post of an event to a webhook (an outbox row).
type Delivery struct {
	ID        string
	WebhookID string
	URL       string
	Secret    string
	Event     string
	Alert     json.RawMessage
	Attempts  int
	CreatedAt time.Time
}

// Store persists alerts, webhooks and the delivery outbox (sqlstore
// implements it).
type Store interface {
	// FindAlertCandidates returns every display that has a status, with
	// its open alert, and (Gone) every open alert whose display was
	// deleted.
	FindAlertCandidates(ctx context.Context) ([]Candidate, error)
	// OpenAlert inserts a (ID set by the caller) and, in the same
	// transaction, a delivery of EventOpened to each webhook of a's
	// organisation or one above it that wants that event. When the
	// display already has an open alert it stores nothing and returns
	// false.
	OpenAlert(ctx context.Context, a *Alert) (bool, error)
	// CloseAlert sets a.ClosedAt on open alert a.ID and enqueues
	// EventClosed deliveries likewise; false when it was not open.
	CloseAlert(ctx context.Context, a *Alert) (bool, error)
	// FindAlerts returns one page of the alerts matching f, newest
	// opened first (by OpenedAt, then ID), and the cursor of the next
	// page ("" on the last). A malformed f.Cursor is EINVALID.
	FindAlerts(ctx context.Context, f Filter) ([]*Alert, string, error)

	// DisplayThreshold returns display id's own silence threshold (0:
	// none) if the display is in within's subtree ("" anywhere);
	// otherwise ENOTFOUND. SetDisplayThreshold sets it (0 removes it).
	DisplayThreshold(ctx context.Context, id, within string) (time.Duration, error)
	SetDisplayThreshold(ctx context.Context, id, within string, after time.Duration) error

	// PruneDeliveries deletes the deliveries delivered before
	// deliveredBefore and the failed ones created before failedBefore,
	// returning how many.
	PruneDeliveries(ctx context.Context, deliveredBefore, failedBefore time.Time) (int64, error)

	// CreateWebhook inserts w (ID and CreatedAt set by the caller).
	CreateWebhook(ctx context.Context, w *Webhook) error
	// FindWebhooks returns the webhooks of organisation within's subtree
	// ("" all), secrets included.
	FindWebhooks(ctx context.Context, within string) ([]*Webhook, error)
	// DeleteWebhook deletes webhook id if it is in within's subtree;
	// otherwise ENOTFOUND.
	DeleteWebhook(ctx context.Context, id, within string) error

	// ClaimDeliveries returns up to limit pending deliveries due at now,
	// oldest first, and postpones each to now+lease so that another
	// sender does not post it meanwhile.
	ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Delivery, error)
	// FinishDelivery records the outcome of an attempt: state "delivered"
	// or "failed" ends it; "pending" retries at next.
	FinishDelivery(ctx context.Context, id string, r DeliveryResult) error
}

// DeliveryResult is the outcome of one attempt.
type DeliveryResult struct {
	State    string // "pending", "delivered" or "failed"
	Attempts int
	Next     time.Time // when pending
	Error    string
	At       time.Time
}

// Delivery states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed"
)
