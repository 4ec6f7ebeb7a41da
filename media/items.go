package media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// Get returns the item with the given ID, or ENOTFOUND — also when it
// belongs to an organisation outside the actor's scope (auth.ScopeFrom), so
// that its existence is not revealed.
func (l *Library) Get(ctx context.Context, id string) (*Item, error) {
	it, err := l.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if !auth.ScopeFrom(ctx).Contains(it.OrgID) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "media %q not found", id)
	}
	return it, nil
}

// find returns the item with the given ID, whatever its organisation.
func (l *Library) find(ctx context.Context, id string) (*Item, error) {
	it, err := l.store.FindMediaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find media: %w", err)
	}
	return it, nil
}

// List returns one page of the items in the actor's scope that match f,
// newest first, and the cursor of the next page ("" at the end). f.Tag is
// matched after the same normalisation as stored tags; f.Within is
// replaced by the actor's scope. An unknown Kind or a Limit outside 0..500
// is EINVALID.
func (l *Library) List(ctx context.Context, f Filter) ([]*Item, string, error) {
	switch f.Kind {
	case "", KindImage, KindVideo:
	default:
		return nil, "", marquee.Errorf(marquee.EINVALID, "kind must be image or video")
	}
	if f.Limit < 0 || f.Limit > 500 {
		return nil, "", marquee.Errorf(marquee.EINVALID, "limit must be between 1 and 500")
	}
	f.Tag = strings.ToLower(norm.NFC.String(strings.TrimSpace(f.Tag)))
	f.Within = auth.ScopeFrom(ctx).Within()
	items, next, err := l.store.FindMedia(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("find media: %w", err)
	}
	return items, next, nil
}

// Update changes an item's name and/or tags, normalised as in Commit, and
// returns the updated item. ENOTFOUND for an unknown ID (or one outside the
// actor's scope); EINVALID for a bad name or tags.
func (l *Library) Update(ctx context.Context, id string, u Update) (*Item, error) {
	if u.Name != nil {
		name, err := normaliseName(*u.Name)
		if err != nil {
			return nil, err
		}
		u.Name = &name
	}
	if u.Tags != nil {
		tags, err := normaliseTags(*u.Tags)
		if err != nil {
			return nil, err
		}
		u.Tags = &tags
	}
	if _, err := l.Get(ctx, id); err != nil {
		return nil, err
	}
	it, err := l.store.UpdateMedia(ctx, id, u, l.now())
	if err != nil {
		return nil, fmt.Errorf("update media: %w", err)
	}
	return it, nil
}

// Delete removes an item. The store may refuse with ECONFLICT (a playlist
// still uses it), which is returned as is. When no other item shares its
// bytes, the blob and all its renditions are removed too; failing to remove
// files is logged, not returned, since the item is gone either way. An item
// outside the actor's scope is ENOTFOUND.
func (l *Library) Delete(ctx context.Context, id string) error {
	it, err := l.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := checkSHA(it); err != nil {
		return err
	}
	unlock := l.locks.lock(it.SHA256)
	defer unlock()
	if err := l.store.DeleteMedia(ctx, id); err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	l.dropBlobIfUnused(context.WithoutCancel(ctx), it.SHA256)
	return nil
}

// Open returns an item and its original bytes; the caller closes the file.
// ENOTFOUND for an unknown ID (or one outside the actor's scope) or, should
// the blob be missing, for its bytes.
func (l *Library) Open(ctx context.Context, id string) (*Item, *os.File, error) {
	it, err := l.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSHA(it); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(l.blobPath(it.SHA256))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, marquee.WrapError(marquee.ENOTFOUND, err, "the media file is missing")
	} else if err != nil {
		return nil, nil, fmt.Errorf("open media: %w", err)
	}
	return it, f, nil
}
