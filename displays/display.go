// Package displays manages the screens that Marquee schedules: their size,
// zone, tags, location, fallback playlist and the credential each one uses
// to fetch its desired state.
//
// Every display has its own token, shown once when the display is created
// or its token rotated, and stored only as a SHA-256 hash. Authenticate
// checks a display's ID and token; rotating the token stops the old one at
// once.
package displays

import (
	"context"
	"time"

	"github.com/marquee-signage/marquee"
)

// Display is one screen (or LED wall driven as one screen).
type Display struct {
	ID     string `json:"id"`
	OrgID  string `json:"organisation_id"`
	Name   string `json:"name"`
	Width  int    `json:"width"`  // pixels
	Height int    `json:"height"` // pixels
	// Timezone is the IANA zone the display is in, e.g. Asia/Ho_Chi_Minh.
	Timezone string   `json:"timezone"`
	Tags     []string `json:"tags"` // never nil once stored
	// Location is where the screen stands; nil when nothing is known.
	Location *Location `json:"location"`
	// FallbackPlaylistID is the playlist shown when no schedule is active;
	// "" means none (the screen goes black).
	FallbackPlaylistID string `json:"fallback_playlist_id"`
	// FallbackRevision is the revision of the fallback playlist that the
	// fallback plays (0 when there is no fallback): the playlist's current
	// revision when the fallback was last set — on create, or on an update,
	// which re-pins it even when it names the same playlist. The store pins
	// it; later edits of the playlist do not reach the fallback until an
	// admin sets it again (issue 5: only approved content on screens).
	FallbackRevision int64     `json:"fallback_revision"`
	TokenHash        string    `json:"-"` // hex SHA-256 of the display's token
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Location is where a display stands. Latitude and Longitude are WGS 84
// degrees, both set or both nil.
type Location struct {
	Address   string   `json:"address"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

// Info returns what the desired state says about the screen.
func (d *Display) Info() marquee.DisplayInfo {
	return marquee.DisplayInfo{Name: d.Name, Width: d.Width, Height: d.Height, Timezone: d.Timezone}
}

// Filter selects displays. Zero fields match everything. Results are
// ordered newest first; Cursor is the opaque next cursor of a previous page.
type Filter struct {
	Tag          string
	NameContains string // case-insensitive substring
	Limit        int    // 1..500; 0 means 50
	Cursor       string
	// Within keeps the displays of this organisation and those below it;
	// "" means every organisation. Service.List sets it from the actor's
	// scope.
	Within string
}

// Store persists displays. It is implemented by sqlstore.
//
// Errors carry marquee error codes: ENOTFOUND for an unknown ID; EINVALID for
// a malformed cursor or a reference to an organisation or fallback playlist
// that does not exist (a fallback must belong to the display's organisation,
// one above it or one below it); ECONFLICT for a taken ID or token hash.
type Store interface {
	// CreateDisplay inserts d and its tags; it fills in what it stored
	// (ID when empty, times truncated to milliseconds in UTC, sorted tags).
	CreateDisplay(ctx context.Context, d *Display) error
	FindDisplayByID(ctx context.Context, id string) (*Display, error)
	// FindDisplays returns one page and the cursor of the next ("" at the end).
	FindDisplays(ctx context.Context, f Filter) ([]*Display, string, error)
	// UpdateDisplay replaces the editable fields of the display d.ID (name,
	// size, zone, tags, location, fallback) and its UpdatedAt, and returns
	// the stored display. OrgID, TokenHash and CreatedAt are left alone.
	// CreateDisplay and UpdateDisplay both pin the fallback playlist's
	// current revision as FallbackRevision (d.FallbackRevision is ignored),
	// in the same transaction that reads it.
	UpdateDisplay(ctx context.Context, d *Display) (*Display, error)
	// SetDisplayTokenHash replaces the token hash and sets UpdatedAt to now.
	SetDisplayTokenHash(ctx context.Context, id, tokenHash string, now time.Time) error
	// DeleteDisplay deletes the display; schedules stop targeting it.
	DeleteDisplay(ctx context.Context, id string) error
}
