// Package audit is the vocabulary of Marquee's audit log: one Entry for
// every change made through the admin API (who, when, in which
// organisation, to what, how, from which request), appended and never
// changed. The admin package records entries; sqlstore keeps them in an
// append-only table.
package audit

import (
	"encoding/json"
	"time"
)

// MaxSummaryBytes bounds an entry's Summary. Recorders shrink what they
// summarise to fit; the store refuses a larger one (EINVALID).
const MaxSummaryBytes = 16 << 10

// Actions an entry may record. Routes that are not plain create, update or
// delete record a verb of their own (e.g. "approve", "rotate_token").
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionLogin  = "login"
	// ActionLoginFailed is a login refused for its credentials (wrong
	// password, unknown or disabled account). The password is never kept.
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
)

// Entry is one row of the audit log.
type Entry struct {
	// ID is set by the store when empty.
	ID string `json:"id"`
	// At is when the change was made; the store sets it when zero.
	At time.Time `json:"at"`
	// UserID is who made the change; empty when nobody was authenticated
	// (a failed login). Username is copied in, so an entry still names its
	// author once the account is gone.
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	// OrgID is the author's organisation when the change was made: it
	// decides who may read the entry (that organisation and those above
	// it). Entries with no author (failed logins for unknown accounts)
	// belong to the root organisation.
	OrgID      string `json:"organisation_id"`
	Action     string `json:"action"`
	ObjectType string `json:"object_type"` // media, playlist, display, schedule, user, …
	ObjectID   string `json:"object_id"`   // empty when the change names no object
	// Summary is a JSON object describing the change: {"before":…,
	// "after":…} when the handler gave both states, else {"request":…}
	// (the request body), always with secrets redacted. At most
	// MaxSummaryBytes; empty is stored as {}.
	Summary   json.RawMessage `json:"summary"`
	RequestID string          `json:"request_id"`
	RemoteIP  string          `json:"remote_ip"`
}

// Filter selects entries; zero fields match everything. From is
// inclusive, To exclusive.
type Filter struct {
	// Within keeps the entries of this organisation and those below it;
	// "" keeps every organisation's (as the other stores' filters).
	Within     string
	UserID     string
	ObjectType string
	ObjectID   string
	Action     string
	From, To   time.Time
	Limit      int // 0 means the store's default
	Cursor     string
}
