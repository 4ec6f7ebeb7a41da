package playlists

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/label"
)

// maxListLimit is the largest page List and ListRevisions serve.
const maxListLimit = 500

// kindVideo is the Kind MediaLookup reports for a clip.
const kindVideo = "video"

// Config holds the settings of a Service. The zero value is usable.
type Config struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service creates, changes, reads and deletes playlists. It is safe for
// concurrent use.
type Service struct {
	store Store
	media MediaLookup
	now   func() time.Time
}

// NewService returns a Service over store, looking media up in media.
func NewService(store Store, media MediaLookup, cfg Config) *Service {
	s := &Service{store: store, media: media, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Create validates in, resolves its defaults and stores it as revision 1
// of a new playlist owned by in.OrgID, which must be in the actor's scope
// (auth.Scope.CheckOwner). Invalid input is EINVALID with a message naming
// the item (numbered from 0), e.g. `item 3: media "med_x" does not exist`;
// so is media of an organisation that is neither in.OrgID, above it nor
// below it (see MediaLookup).
func (s *Service) Create(ctx context.Context, in Input) (*Playlist, error) {
	if err := auth.ScopeFrom(ctx).CheckOwner(in.OrgID); err != nil {
		return nil, err
	}
	name, items, err := s.resolve(ctx, in.OrgID, in)
	if err != nil {
		return nil, err
	}
	p := &Playlist{
		OrgID:     in.OrgID,
		Name:      name,
		Items:     items,
		CreatedBy: in.CreatedBy,
		CreatedAt: s.now(),
	}
	if err := s.store.CreatePlaylist(ctx, p); err != nil {
		return nil, fmt.Errorf("create playlist: %w", err)
	}
	return p, nil
}

// Update replaces the name and items of playlist id, as Create validates
// them, with a new revision authored by in.CreatedBy, and returns it. An
// update that changes nothing once defaults are resolved makes no revision
// and returns the current one. in.OrgID is ignored: playlists do not move
// between organisations. ENOTFOUND for an unknown playlist or one outside
// the actor's scope.
func (s *Service) Update(ctx context.Context, id string, in Input) (*Playlist, error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	name, items, err := s.resolve(ctx, cur.OrgID, in)
	if err != nil {
		return nil, err
	}
	p, _, err := s.store.UpdatePlaylist(ctx, id, Revision{
		Name:      name,
		Items:     items,
		CreatedBy: in.CreatedBy,
		CreatedAt: s.now(),
	})
	if err != nil {
		return nil, fmt.Errorf("update playlist: %w", err)
	}
	return p, nil
}

// Get returns the current revision of playlist id, or ENOTFOUND — also
// when it belongs to an organisation outside the actor's scope
// (auth.ScopeFrom), so that its existence is not revealed.
func (s *Service) Get(ctx context.Context, id string) (*Playlist, error) {
	p, err := s.store.FindPlaylistByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find playlist: %w", err)
	}
	if !auth.ScopeFrom(ctx).Contains(p.OrgID) {
		return nil, errNotFound(id)
	}
	return p, nil
}

// GetRevision returns revision rev of playlist id, or ENOTFOUND (as Get).
func (s *Service) GetRevision(ctx context.Context, id string, rev int64) (*Playlist, error) {
	if rev < 1 {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "playlist %q has no revision %d", id, rev)
	}
	p, err := s.store.FindPlaylistRevision(ctx, id, rev)
	if err != nil {
		return nil, fmt.Errorf("find playlist revision: %w", err)
	}
	if !auth.ScopeFrom(ctx).Contains(p.OrgID) {
		return nil, errNotFound(id)
	}
	return p, nil
}

func errNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "playlist %q not found", id)
}

// ListRevisions returns one page of the revisions of playlist id, newest
// first, and the cursor of the next page ("" at the end). limit 0 means 50;
// outside 0..500 it is EINVALID. ENOTFOUND for an unknown playlist or one
// outside the actor's scope.
func (s *Service) ListRevisions(ctx context.Context, id string, limit int, cursor string) ([]*Playlist, string, error) {
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, "", err
	}
	ps, next, err := s.store.FindPlaylistRevisions(ctx, id, limit, cursor)
	if err != nil {
		return nil, "", fmt.Errorf("find playlist revisions: %w", err)
	}
	return ps, next, nil
}

// List returns one page of the playlists (their current revisions) in the
// actor's scope that match f, newest first, and the cursor of the next page
// ("" at the end); f.Within is replaced by the actor's scope. A Limit
// outside 0..500 is EINVALID.
func (s *Service) List(ctx context.Context, f Filter) ([]*Playlist, string, error) {
	if err := checkLimit(f.Limit); err != nil {
		return nil, "", err
	}
	f.Within = auth.ScopeFrom(ctx).Within()
	ps, next, err := s.store.FindPlaylists(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("find playlists: %w", err)
	}
	return ps, next, nil
}

// Delete removes playlist id and all its revisions. ENOTFOUND for an
// unknown playlist or one outside the actor's scope; ECONFLICT while a
// schedule or a display's fallback uses it.
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.store.DeletePlaylist(ctx, id); err != nil {
		return fmt.Errorf("delete playlist: %w", err)
	}
	return nil
}

func checkLimit(n int) error {
	if n < 0 || n > maxListLimit {
		return marquee.Errorf(marquee.EINVALID, "limit must be between 1 and %d", maxListLimit)
	}
	return nil
}

// resolve validates in, for a playlist of organisation orgID, and returns
// its normalised name and its items with every default filled in: the
// content of a revision.
func (s *Service) resolve(ctx context.Context, orgID string, in Input) (string, []Item, error) {
	name, err := label.Name(in.Name)
	if err != nil {
		return "", nil, err
	}
	if n := len(in.Items); n > MaxItems {
		return "", nil, marquee.Errorf(marquee.EINVALID, "a playlist holds at most %d items; got %d", MaxItems, n)
	}
	items := make([]Item, len(in.Items))
	ids := make([]string, 0, len(in.Items))
	for i, it := range in.Items {
		if items[i], err = checkItem(i, it); err != nil {
			return "", nil, err
		}
		ids = append(ids, it.MediaID)
	}
	if len(ids) == 0 {
		return name, items, nil
	}
	found, err := s.media.FindMediaInfo(ctx, orgID, ids)
	if err != nil {
		return "", nil, fmt.Errorf("find media: %w", err)
	}
	for i := range items {
		m, ok := found[items[i].MediaID]
		if !ok {
			// The same answer for media that exists in another branch
			// of the tree: it reveals nothing outside the actor's.
			return "", nil, marquee.Errorf(marquee.EINVALID, "item %d: media %q does not exist", i, items[i].MediaID)
		}
		if items[i].DurationMS == 0 {
			items[i].DurationMS = defaultDuration(m)
		}
	}
	return name, items, nil
}

// checkItem validates the fields of item i that need no lookup and returns
// it with its fit resolved and its times in UTC milliseconds. A zero
// DurationMS is left for resolve to fill.
func checkItem(i int, it Item) (Item, error) {
	if it.MediaID == "" {
		return Item{}, marquee.Errorf(marquee.EINVALID, "item %d: media_id is required", i)
	}
	if d := it.DurationMS; d != 0 && (d < MinItemMS || d > MaxItemMS) {
		return Item{}, marquee.Errorf(marquee.EINVALID,
			"item %d: duration_ms must be from %d to %d, or 0 for the default; got %d", i, MinItemMS, MaxItemMS, d)
	}
	switch f := strings.ToLower(strings.TrimSpace(it.Fit)); f {
	case "":
		it.Fit = FitFill
	case FitFill, FitFit, FitStretch:
		it.Fit = f
	default:
		return Item{}, marquee.Errorf(marquee.EINVALID, "item %d: fit must be fill, fit or stretch; got %q", i, it.Fit)
	}
	it.ValidFrom, it.ValidUntil = utcMS(it.ValidFrom), utcMS(it.ValidUntil)
	if it.ValidFrom != nil && it.ValidUntil != nil && !it.ValidFrom.Before(*it.ValidUntil) {
		return Item{}, marquee.Errorf(marquee.EINVALID, "item %d: valid_from must be before valid_until", i)
	}
	return it, nil
}

// defaultDuration is how long an item of media m plays when its duration is
// not given: an image 10 s; a clip its own length, or 10 s when unknown.
// A clip's length is kept within MinItemMS..MaxItemMS, so that a revision
// read back and sent again is always valid input.
func defaultDuration(m MediaInfo) int64 {
	if m.Kind == kindVideo && m.DurationMS > 0 {
		return min(max(m.DurationMS, MinItemMS), MaxItemMS)
	}
	return DefaultItemMS
}

// utcMS returns a copy of *t in UTC truncated to the millisecond, as the
// store keeps it; nil stays nil.
func utcMS(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := time.UnixMilli(t.UnixMilli()).UTC()
	return &u
}
