package media

import (
	"context"
	"time"
)

// Kind is what a media item is: a still image or a video clip.
type Kind string

// The kinds of media.
const (
	KindImage Kind = "image"
	KindVideo Kind = "video"
)

// Item is one entry of the media library. Its bytes live in the blob store
// under SHA256; several items may share one blob.
type Item struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"organisation_id"`
	Name       string    `json:"name"`
	Kind       Kind      `json:"kind"`
	MIME       string    `json:"mime"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	DurationMS int64     `json:"duration_ms"` // 0 for images
	Tags       []string  `json:"tags"`        // never nil once stored
	CreatedBy  string    `json:"created_by"`  // user ID
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Filter selects media. Zero fields match everything. Results are ordered
// newest first; Cursor is the opaque NextCursor of a previous page.
type Filter struct {
	Tag          string
	Kind         Kind
	NameContains string // case-insensitive substring
	Limit        int    // 1..500; 0 means 50
	Cursor       string
	// Within keeps the items of this organisation and those below it; ""
	// means every organisation. Library.List sets it from the actor's
	// scope.
	Within string
}

// Update changes an item's editable fields; nil fields are left alone.
type Update struct {
	Name *string
	Tags *[]string
}

// Store persists media items. It is implemented by sqlstore.
//
// Errors carry marquee error codes: ENOTFOUND for an unknown ID, EINVALID for
// a malformed cursor, ECONFLICT when a delete is refused because something
// (a playlist) still uses the item.
type Store interface {
	CreateMedia(ctx context.Context, it *Item) error
	FindMediaByID(ctx context.Context, id string) (*Item, error)
	// FindMedia returns one page and the cursor of the next ("" at the end).
	FindMedia(ctx context.Context, f Filter) ([]*Item, string, error)
	UpdateMedia(ctx context.Context, id string, u Update, now time.Time) (*Item, error)
	DeleteMedia(ctx context.Context, id string) error
	// CountMediaBySHA256 counts items whose bytes are the blob sha256.
	CountMediaBySHA256(ctx context.Context, sha256 string) (int, error)
}
