package orgs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/label"
)

// Config holds the settings of a Service. The zero value is usable.
type Config struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service manages the organisation tree within the scope of the actor in
// each call's context (auth.ScopeFrom): an organisation outside it is
// answered as if it did not exist. It is safe for concurrent use.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	s := &Service{store: store, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Input is what a person gives to create an organisation.
type Input struct {
	Name string
	// ParentID is the organisation to create it under; "" means the
	// actor's own organisation.
	ParentID string
}

// Create adds an organisation under in.ParentID, which must be in the
// actor's scope (the actor is an admin of the parent or of an organisation
// above it). A parent outside the scope is EINVALID as if it did not exist;
// so is a bad name or a tree deeper than MaxDepth.
func (s *Service) Create(ctx context.Context, in Input) (*Organisation, error) {
	scope := auth.ScopeFrom(ctx)
	name, err := label.Name(in.Name)
	if err != nil {
		return nil, err
	}
	parentID := strings.TrimSpace(in.ParentID)
	if parentID == "" {
		parentID = scope.OrgID()
	}
	if !scope.Contains(parentID) {
		return nil, errNoParent(parentID)
	}
	parent, err := s.store.FindOrganisationByID(ctx, parentID)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, errNoParent(parentID)
	} else if err != nil {
		return nil, fmt.Errorf("find parent organisation: %w", err)
	}
	if parent.Depth() >= MaxDepth {
		return nil, marquee.Errorf(marquee.EINVALID, "organisations nest at most %d levels below the root", MaxDepth)
	}
	o := &Organisation{ParentID: parent.ID, Name: name, CreatedAt: s.now()}
	if err := s.store.CreateOrganisation(ctx, o); err != nil {
		return nil, fmt.Errorf("create organisation: %w", err)
	}
	return o, nil
}

// Get returns organisation id, or ENOTFOUND when it does not exist or is
// outside the actor's scope.
func (s *Service) Get(ctx context.Context, id string) (*Organisation, error) {
	if !auth.ScopeFrom(ctx).Contains(id) {
		return nil, errNotFound(id)
	}
	o, err := s.store.FindOrganisationByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find organisation: %w", err)
	}
	return o, nil
}

// List returns the actor's scope: their organisation and every one below
// it, parents before children.
func (s *Service) List(ctx context.Context) ([]*Organisation, error) {
	scope := auth.ScopeFrom(ctx)
	if scope.OrgID() == "" {
		return []*Organisation{}, nil
	}
	list, err := s.store.FindOrganisations(ctx, scope.OrgID())
	if err != nil {
		return nil, fmt.Errorf("find organisations: %w", err)
	}
	return list, nil
}

// Rename gives organisation id a new name. ENOTFOUND outside the actor's
// scope; EINVALID for a bad name.
func (s *Service) Rename(ctx context.Context, id, name string) (*Organisation, error) {
	name, err := label.Name(name)
	if err != nil {
		return nil, err
	}
	if !auth.ScopeFrom(ctx).Contains(id) {
		return nil, errNotFound(id)
	}
	o, err := s.store.RenameOrganisation(ctx, id, name)
	if err != nil {
		return nil, fmt.Errorf("rename organisation: %w", err)
	}
	return o, nil
}

// Delete removes organisation id. It must be below the actor's own
// organisation (deleting one's own is EFORBIDDEN; outside the scope,
// ENOTFOUND) and empty: no organisations below it, no users, no media,
// playlists, displays or schedules (ECONFLICT otherwise).
func (s *Service) Delete(ctx context.Context, id string) error {
	scope := auth.ScopeFrom(ctx)
	if !scope.Contains(id) {
		return errNotFound(id)
	}
	if id == scope.OrgID() {
		return marquee.Errorf(marquee.EFORBIDDEN, "you cannot delete your own organisation; an admin above it can")
	}
	if err := s.store.DeleteOrganisation(ctx, id); err != nil {
		return fmt.Errorf("delete organisation: %w", err)
	}
	return nil
}

// Scope returns the scope of a user of organisation orgID: it and every
// organisation below it (auth.Everything for the root). An unknown
// organisation is ENOTFOUND.
func (s *Service) Scope(ctx context.Context, orgID string) (auth.Scope, error) {
	if orgID == auth.RootOrgID {
		return auth.Everything(), nil
	}
	list, err := s.store.FindOrganisations(ctx, orgID)
	if err != nil {
		return auth.Scope{}, fmt.Errorf("find organisations: %w", err)
	}
	ids := make([]string, len(list))
	for i, o := range list {
		ids[i] = o.ID
	}
	return auth.NewScope(orgID, ids), nil
}

func errNotFound(id string) error {
	return marquee.Errorf(marquee.ENOTFOUND, "organisation %q not found", id)
}

func errNoParent(id string) error {
	return marquee.Errorf(marquee.EINVALID, "parent organisation %q does not exist", id)
}
