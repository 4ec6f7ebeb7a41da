package playlists

import (
	"context"
	"time"

	"github.com/marquee-signage/marquee"
)

// Limits and defaults of playlist items.
const (
	// MaxItems is the largest number of items a playlist may hold. An empty
	// playlist is allowed.
	MaxItems = 1000
	// MinItemMS and MaxItemMS bound an item's duration_ms (1 s … 24 h).
	MinItemMS int64 = 1_000
	MaxItemMS int64 = 86_400_000
	// DefaultItemMS is the duration of an image item given none, and of a
	// video item whose clip length is unknown.
	DefaultItemMS int64 = 10_000
)

// Fit modes of an item: how its media fills the screen.
const (
	FitFill    = "fill"    // scale to cover, crop the overflow (the default)
	FitFit     = "fit"     // scale to fit inside, letterbox on black
	FitStretch = "stretch" // scale each axis independently
)

// Playlist is one revision of a playlist: the latest, or an older one. ID,
// OrgID, CreatedBy and CreatedAt describe the playlist and are the same in
// all its revisions; Name, Items, DurationMS, RevisedBy and UpdatedAt are
// those of revision Revision.
type Playlist struct {
	ID         string `json:"id"`
	OrgID      string `json:"organisation_id"`
	Name       string `json:"name"`
	Revision   int64  `json:"revision"` // 1, 2, 3, … ; never reused
	Items      []Item `json:"items"`    // never nil once stored
	DurationMS int64  `json:"duration_ms"`
	CreatedBy  string `json:"created_by"` // user ID of the playlist's creator
	// RevisedBy is the user ID of this revision's author (for revision 1,
	// CreatedBy).
	RevisedBy string    `json:"revised_by"`
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when this revision was made (for revision 1, CreatedAt).
	UpdatedAt time.Time `json:"updated_at"`
}

// Item is one entry of a playlist. In a stored revision every field is
// resolved: DurationMS is positive, Fit is one of the Fit constants, and
// times are UTC with millisecond precision.
type Item struct {
	MediaID    string `json:"media_id"`
	DurationMS int64  `json:"duration_ms"`
	Fit        string `json:"fit"`
	// ValidFrom and ValidUntil bound when the item plays, [ValidFrom,
	// ValidUntil); nil leaves that side open. Outside the window the
	// item is skipped.
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
}

// Ref names this revision, as schedules and desired states do.
func (p *Playlist) Ref() marquee.PlaylistRef {
	return marquee.PlaylistRef{PlaylistID: p.ID, Revision: p.Revision}
}

// TotalDurationMS is the length of one pass over items: the sum of their
// durations, whatever their validity windows.
func TotalDurationMS(items []Item) int64 {
	var total int64
	for _, it := range items {
		total += it.DurationMS
	}
	return total
}

// Equal reports whether it and o are the same item: same fields, with
// times compared as instants.
func (it Item) Equal(o Item) bool {
	return it.MediaID == o.MediaID && it.DurationMS == o.DurationMS && it.Fit == o.Fit &&
		sameTime(it.ValidFrom, o.ValidFrom) && sameTime(it.ValidUntil, o.ValidUntil)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// SameContent reports whether a revision with name and items would repeat
// one with name2 and items2: the test that makes an unchanged update keep its
// revision.
func SameContent(name string, items []Item, name2 string, items2 []Item) bool {
	if name != name2 || len(items) != len(items2) {
		return false
	}
	for i := range items {
		if !items[i].Equal(items2[i]) {
			return false
		}
	}
	return true
}

// Input is what a person gives to create or change a playlist. Items are
// taken as sent: DurationMS 0 and Fit "" ask for the defaults.
type Input struct {
	Name  string
	Items []Item
	// OrgID owns a new playlist and must be in the actor's scope; Update
	// ignores it.
	OrgID string
	// CreatedBy is the user ID making the change: the playlist's creator
	// (Create) or the new revision's author (Update).
	CreatedBy string
}

// Filter selects playlists. Zero fields match everything. Results are
// ordered newest first; Cursor is the opaque next cursor of a previous page.
type Filter struct {
	NameContains string // case-insensitive substring of the current name
	MediaID      string // only playlists whose current revision plays this media
	Limit        int    // 1..500; 0 means 50
	Cursor       string
	// Within keeps the playlists of this organisation and those below it;
	// "" means every organisation. Service.List sets it from the actor's
	// scope.
	Within string
}

// Revision is the content of a new revision, resolved and validated.
type Revision struct {
	Name      string
	Items     []Item
	CreatedBy string    // user ID of the author
	CreatedAt time.Time // zero: now
}

// MediaInfo is what a playlist needs to know about a media item.
type MediaInfo struct {
	Kind       string // "image" or "video"
	DurationMS int64  // a clip's length; 0 for images or when unknown
}

// MediaLookup finds media items for a playlist. It is implemented by
// sqlstore.
type MediaLookup interface {
	// FindMediaInfo returns the items among ids that exist and that a
	// playlist of organisation orgID may play, by ID: those of orgID, of
	// an organisation above it or of one below it (content flows down the
	// tree; siblings share nothing). Other IDs are simply missing from the
	// map.
	FindMediaInfo(ctx context.Context, orgID string, ids []string) (map[string]MediaInfo, error)
}

// Store persists playlists and their revisions. It is implemented by
// sqlstore.
//
// Every Playlist it returns is complete: Items non-nil, DurationMS their
// total, times in UTC. Errors carry marquee error codes: ENOTFOUND for an
// unknown playlist or revision, EINVALID for a malformed cursor or a
// reference to an organisation or media item that does not exist, ECONFLICT
// for a delete refused because a schedule or display uses the playlist.
type Store interface {
	// CreatePlaylist stores p as revision 1. On success p holds what was
	// stored: a new ID if it had none, Revision 1, times truncated to
	// milliseconds (a zero CreatedAt is now), UpdatedAt = CreatedAt,
	// RevisedBy = CreatedBy and DurationMS.
	CreatePlaylist(ctx context.Context, p *Playlist) error
	// UpdatePlaylist makes r the next revision of playlist id and returns
	// it with created true; revision numbers are never reused or shared,
	// however many updates run at once. When r has the same name and
	// items as the current revision (SameContent), nothing is written and
	// the current revision is returned with created false.
	UpdatePlaylist(ctx context.Context, id string, r Revision) (p *Playlist, created bool, err error)
	// FindPlaylistByID returns the current revision of a playlist.
	FindPlaylistByID(ctx context.Context, id string) (*Playlist, error)
	// FindPlaylistRevision returns revision rev of a playlist.
	FindPlaylistRevision(ctx context.Context, id string, rev int64) (*Playlist, error)
	// FindPlaylistRevisions returns one page of a playlist's revisions,
	// newest first, and the cursor of the next page ("" at the end).
	// limit 0 means 50.
	FindPlaylistRevisions(ctx context.Context, id string, limit int, cursor string) ([]*Playlist, string, error)
	// FindPlaylists returns one page of current revisions matching f,
	// newest playlist first, and the cursor of the next page.
	FindPlaylists(ctx context.Context, f Filter) ([]*Playlist, string, error)
	// DeletePlaylist deletes a playlist and all its revisions.
	DeletePlaylist(ctx context.Context, id string) error
}
