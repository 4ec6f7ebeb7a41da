package auth

import (
	"context"

	"github.com/marquee-signage/marquee"
)

// Scope is the part of the organisation tree a user acts in: their
// organisation and every organisation below it. Users see and change only
// objects owned by an organisation in their scope.
//
// The zero Scope contains nothing. Build one with NewScope or Everything
// (package orgs builds a user's from the store).
type Scope struct {
	org  string          // the organisation at the top
	all  bool            // the whole tree: org is RootOrgID
	orgs map[string]bool // org and every organisation below it, unless all
}

// NoOrg is what Within returns for the zero Scope: an ID that no
// organisation has, so that a filter made from it matches nothing.
const NoOrg = "-"

// Everything is the scope of the root organisation: the whole tree. A
// context without an actor has it (see ScopeFrom).
func Everything() Scope {
	return Scope{org: RootOrgID, all: true}
}

// NewScope returns the scope topped by organisation orgID, whose subtree
// (orgID itself and every organisation below it) is subtree. The root
// organisation's scope is Everything, whatever subtree says.
func NewScope(orgID string, subtree []string) Scope {
	if orgID == RootOrgID {
		return Everything()
	}
	s := Scope{org: orgID, orgs: make(map[string]bool, len(subtree)+1)}
	s.orgs[orgID] = true
	for _, id := range subtree {
		s.orgs[id] = true
	}
	return s
}

// OrgID is the organisation at the top of the scope ("" for the zero Scope).
func (s Scope) OrgID() string { return s.org }

// All reports whether the scope is the whole tree.
func (s Scope) All() bool { return s.all }

// Contains reports whether organisation orgID is in the scope.
func (s Scope) Contains(orgID string) bool {
	return s.all || s.orgs[orgID]
}

// CheckOwner returns nil when a new object may belong to organisation
// orgID: it is in the scope. Otherwise it returns EINVALID, the same whether
// orgID exists or not, so that the answer reveals nothing outside the scope.
func (s Scope) CheckOwner(orgID string) error {
	if orgID == "" {
		return marquee.Errorf(marquee.EINVALID, "organisation is required")
	}
	if !s.Contains(orgID) {
		return marquee.Errorf(marquee.EINVALID,
			"organisation %q is not yours: choose your organisation or one below it", orgID)
	}
	return nil
}

// Within is the value of the Within field of the stores' filters: "" for
// the whole tree (no filter), otherwise the organisation whose subtree to
// keep; NoOrg for the zero Scope.
func (s Scope) Within() string {
	switch {
	case s.all:
		return ""
	case s.org == "":
		return NoOrg
	}
	return s.org
}

// Actor is who a request acts for: the user and their scope.
type Actor struct {
	User  *User
	Scope Scope
}

type actorKey struct{}

// NewContext returns ctx carrying a. The admin server puts the actor of
// every authenticated request in its context; services read it back with
// ActorFrom and ScopeFrom.
func NewContext(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor that ctx carries, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// ScopeFrom returns the scope of ctx's actor. A context without an actor is
// the server acting for itself (publishing desired states, cron jobs,
// players fetching media with their display token, tests of a service): it
// has Everything. Every request that a user makes carries its actor, so
// this never widens what a user may reach.
func ScopeFrom(ctx context.Context) Scope {
	if a, ok := ActorFrom(ctx); ok {
		return a.Scope
	}
	return Everything()
}
