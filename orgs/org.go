// Package orgs manages the organisation tree: the province at the root,
// departments and districts below it, communes below those. Every user,
// media item, playlist, display and schedule belongs to one organisation,
// and a user sees and changes only what belongs to their organisation or one
// below it (their auth.Scope).
//
// Organisations are created under a parent, renamed and deleted; they are
// never moved, so the tree cannot form a cycle and an organisation's path
// from the root never changes.
package orgs

import (
	"context"
	"strings"
	"time"
)

// MaxDepth is the deepest an organisation may be; the root is at depth 0.
const MaxDepth = 8

// Organisation is one node of the tree.
type Organisation struct {
	ID string `json:"id"`
	// ParentID is the organisation above; "" for the root.
	ParentID string `json:"parent_id"`
	Name     string `json:"name"`
	// Path lists the IDs from the root down to this organisation, each
	// followed by '/': "/org_root/org_x/". The store sets it.
	Path      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Depth is how far below the root the organisation is: 0 for the root.
func (o *Organisation) Depth() int {
	return max(strings.Count(o.Path, "/")-2, 0)
}

// Store persists organisations. It is implemented by sqlstore.
//
// Errors carry marquee error codes: ENOTFOUND for an unknown ID; EINVALID
// for a parent that does not exist; ECONFLICT for a delete refused because
// something still belongs to the organisation.
type Store interface {
	// CreateOrganisation inserts o under o.ParentID, which must exist; it
	// fills in what it stored (ID when empty, Path, CreatedAt truncated to
	// milliseconds in UTC).
	CreateOrganisation(ctx context.Context, o *Organisation) error
	FindOrganisationByID(ctx context.Context, id string) (*Organisation, error)
	// FindOrganisations returns organisation id and every organisation
	// below it, parents before children (ordered by path); ENOTFOUND for
	// an unknown id.
	FindOrganisations(ctx context.Context, id string) ([]*Organisation, error)
	// RenameOrganisation sets the name and returns the stored organisation.
	RenameOrganisation(ctx context.Context, id, name string) (*Organisation, error)
	// DeleteOrganisation deletes an organisation that has no children, no
	// users and owns no media, playlists, displays or schedules;
	// ECONFLICT otherwise, naming what is left.
	DeleteOrganisation(ctx context.Context, id string) error
}
