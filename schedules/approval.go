package schedules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// Approval.
//
// A schedule is two things: its working copy (the fields of Schedule),
// which staff edit, and its approved version (Approval.Approved), which is
// what plays. Only approved versions reach displays: the desired-state
// builder reads nothing else. The working copy moves through
//
//	draft → pending (Submit) → approved (Approve) or rejected (Reject)
//
// and approving it copies it, with the playlist revision it names at that
// moment, into the approved version. Editing the working copy sets it back
// to draft while the approved version keeps playing; editing the playlist
// makes a new revision that plays only once a schedule naming it has been
// submitted and approved again.
//
// Who may do what (auth.Permission, checked per route by the admin server,
// and here again):
//   - approve and reject: users holding PermScheduleApprove whose scope holds
//     the schedule's organisation (its own or one above it);
//   - approvers (auth.ScheduleWriteEmergencyOnly) create, edit, delete and
//     submit only emergency-layer schedules;
//   - a user holding PermScheduleApprove who creates or edits an
//     emergency-layer schedule publishes it at once: it is approved by them
//     in the same step;
//   - the server itself (a context without an actor: demo seeding, tests of
//     the services) is trusted: what it creates or edits is approved at
//     once, by SystemActor.

// Approval statuses of a schedule's working copy.
const (
	StatusDraft    = "draft"    // edited since it was last submitted, or never submitted
	StatusPending  = "pending"  // submitted, awaiting an approver
	StatusApproved = "approved" // approved: the working copy is the approved version
	StatusRejected = "rejected" // refused by an approver, with a reason
)

// SystemActor is recorded as the approver of what the server approves by
// itself: schedules created or edited without an actor in the context.
const SystemActor = "system"

// MaxReasonLength bounds a rejection's reason, in characters.
const MaxReasonLength = 1000

// Approval is where a schedule stands in the approval workflow, and what of
// it plays.
type Approval struct {
	Status string `json:"status"` // StatusDraft, StatusPending, StatusApproved or StatusRejected
	// Reason is why the working copy was rejected; "" unless Status is
	// StatusRejected.
	Reason string `json:"reason"`
	// SubmittedBy, SubmittedAt and SubmittedRevision describe the last
	// submission: who (a user ID), when, and the playlist revision it
	// named, which is what an approval pins. Empty, nil and 0 before the
	// first.
	SubmittedBy       string     `json:"submitted_by"`
	SubmittedAt       *time.Time `json:"submitted_at"`
	SubmittedRevision int64      `json:"submitted_playlist_revision"`
	// DecidedBy and DecidedAt describe the last approval or rejection:
	// a user ID, or SystemActor.
	DecidedBy string     `json:"decided_by"`
	DecidedAt *time.Time `json:"decided_at"`

	// Live reports whether an approved version exists: it plays (within
	// its dates and hours) on the displays it reaches.
	Live bool `json:"live"`
	// ApprovedRevision is the playlist revision the approved version
	// plays; 0 when none is live.
	ApprovedRevision int64 `json:"approved_playlist_revision"`
	// ChangesPending reports whether what an approval would pin now —
	// the working copy with its playlist's current revision — differs
	// from the approved version that plays. Always false when nothing is
	// live.
	ChangesPending bool `json:"changes_pending"`
	// Approved is the approved version: what plays. nil when none.
	Approved *Version `json:"approved"`
}

// Version is an approved version of a schedule: the working copy's fields
// as they were approved, with the playlist revision they named then.
type Version struct {
	Name             string        `json:"name"`
	PlaylistID       string        `json:"playlist_id"`
	PlaylistRevision int64         `json:"playlist_revision"`
	Targets          Targets       `json:"targets"`
	Cron             string        `json:"cron"`
	Duration         Duration      `json:"duration"`
	StartsOn         string        `json:"starts_on"`
	EndsOn           string        `json:"ends_on"`
	Priority         marquee.Layer `json:"priority"`
	Timezone         string        `json:"timezone"`
	ApprovedBy       string        `json:"approved_by"` // a user ID, or SystemActor
	ApprovedAt       time.Time     `json:"approved_at"`
}

// LiveRule returns the approved version of s as the scheduler sees it,
// with the pinned playlist revision; ok is false when s has none.
func (s *Schedule) LiveRule() (r marquee.Rule, ok bool) {
	v := s.Approval.Approved
	if v == nil {
		return marquee.Rule{}, false
	}
	return marquee.Rule{
		ScheduleID: s.ID,
		Name:       v.Name,
		Playlist:   marquee.PlaylistRef{PlaylistID: v.PlaylistID, Revision: v.PlaylistRevision},
		Layer:      v.Priority,
		Cron:       v.Cron,
		DurationMS: time.Duration(v.Duration).Milliseconds(),
		StartsOn:   v.StartsOn,
		EndsOn:     v.EndsOn,
		Timezone:   v.Timezone,
	}, true
}

// Derive fills in the fields of s.Approval that follow from the rest (Live,
// ApprovedRevision, ChangesPending). Stores call it on every schedule they
// return, after setting PlaylistRevision.
func (s *Schedule) Derive() {
	a := &s.Approval
	a.Live = a.Approved != nil
	a.ApprovedRevision, a.ChangesPending = 0, false
	if a.Live {
		a.ApprovedRevision = a.Approved.PlaylistRevision
		a.ChangesPending = !s.sameFields(a.Approved.fields()) || s.PlaylistRevision != a.Approved.PlaylistRevision
	}
}

// fields returns the schedule fields of v, as a working copy.
func (v *Version) fields() *Schedule {
	return &Schedule{Name: v.Name, PlaylistID: v.PlaylistID, Targets: v.Targets, Cron: v.Cron, Duration: v.Duration,
		StartsOn: v.StartsOn, EndsOn: v.EndsOn, Priority: v.Priority, Timezone: v.Timezone}
}

// sameFields reports whether s and o have the same working copy: every
// field people set.
func (s *Schedule) sameFields(o *Schedule) bool {
	return s.Name == o.Name && s.PlaylistID == o.PlaylistID && s.Cron == o.Cron && s.Duration == o.Duration &&
		s.StartsOn == o.StartsOn && s.EndsOn == o.EndsOn && s.Priority == o.Priority && s.Timezone == o.Timezone &&
		slices.Equal(s.Targets.DisplayIDs, o.Targets.DisplayIDs) && slices.Equal(s.Targets.Tags, o.Targets.Tags)
}

// actor returns the user a request acts for, or nil for the server itself.
func actor(ctx context.Context) *auth.User {
	if a, ok := auth.ActorFrom(ctx); ok && a.User != nil {
		return a.User
	}
	return nil
}

// actorID is the ID recorded for u: its user ID, or SystemActor for nil.
func actorID(u *auth.User) string {
	if u == nil {
		return SystemActor
	}
	return u.ID
}

// checkLayer returns EFORBIDDEN when u may write schedules of only the
// emergency layer and one of layers is another.
func checkLayer(u *auth.User, layers ...marquee.Layer) error {
	if u == nil || !auth.ScheduleWriteEmergencyOnly(u.Role) {
		return nil
	}
	for _, l := range layers {
		if l != marquee.LayerEmergency {
			return marquee.Errorf(marquee.EFORBIDDEN, "approvers create, edit, delete and submit only emergency-layer schedules")
		}
	}
	return nil
}

// publishesAtOnce reports whether a schedule on layer that u creates or
// edits is approved in the same step: u is the server itself, or holds
// PermScheduleApprove and the schedule is on the emergency layer.
func publishesAtOnce(u *auth.User, layer marquee.Layer) bool {
	return u == nil || (layer == marquee.LayerEmergency && u.Can(auth.PermScheduleApprove))
}

// approvedBy returns the approval of a working copy that u approves at
// now, keeping the last submission of prev.
func approvedBy(prev Approval, u *auth.User, now time.Time) Approval {
	return Approval{Status: StatusApproved, SubmittedBy: prev.SubmittedBy, SubmittedAt: prev.SubmittedAt,
		SubmittedRevision: prev.SubmittedRevision, DecidedBy: actorID(u), DecidedAt: &now}
}

// Submit asks for the schedule's working copy, with its playlist's current
// revision, to be approved: draft, rejected, or approved with changes
// pending → pending. ENOTFOUND for an unknown ID or one outside the actor's
// scope; EFORBIDDEN for an approver and a schedule not on the emergency
// layer; ECONFLICT when the schedule is already pending, or approved with
// nothing changed since.
func (s *Service) Submit(ctx context.Context, id string) (*Schedule, error) {
	u := actor(ctx)
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkLayer(u, cur.Priority); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sc, err := s.store.ChangeScheduleApproval(ctx, id, func(sc *Schedule) (Approval, bool, error) {
		a := sc.Approval
		switch {
		case a.Status == StatusPending:
			return a, false, marquee.Errorf(marquee.ECONFLICT, "schedule %q is already pending approval", id)
		case a.Status == StatusApproved && !a.ChangesPending:
			return a, false, marquee.Errorf(marquee.ECONFLICT,
				"schedule %q is approved and nothing changed since (its playlist is still at revision %d): nothing to submit", id, a.ApprovedRevision)
		}
		return Approval{Status: StatusPending, SubmittedBy: actorID(u), SubmittedAt: &now, SubmittedRevision: sc.PlaylistRevision,
			DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt}, false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("submit schedule: %w", err)
	}
	return sc, nil
}

// Approve approves the schedule's pending working copy: it becomes the
// approved version, with the playlist revision it was submitted with, and
// plays from now on in place of the previous one. The actor must hold
// auth.PermScheduleApprove (EFORBIDDEN) and the schedule must be of the
// actor's organisation or one below it (ENOTFOUND otherwise, as for an
// unknown ID). ECONFLICT unless the schedule is pending, and when its
// playlist has a newer revision than the one submitted: what would play is
// then not what was submitted, so it must be submitted again.
func (s *Service) Approve(ctx context.Context, id string) (*Schedule, error) {
	u := actor(ctx)
	if err := checkApprover(u); err != nil {
		return nil, err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sc, err := s.store.ChangeScheduleApproval(ctx, id, func(sc *Schedule) (Approval, bool, error) {
		a := sc.Approval
		if err := wantPending(id, a.Status, "approved"); err != nil {
			return a, false, err
		}
		if sc.PlaylistRevision != a.SubmittedRevision {
			return a, false, marquee.Errorf(marquee.ECONFLICT,
				"playlist %q has changed since the schedule was submitted (revision %d then, %d now): the schedule must be submitted again",
				sc.PlaylistID, a.SubmittedRevision, sc.PlaylistRevision)
		}
		return approvedBy(a, u, now), true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("approve schedule: %w", err)
	}
	return sc, nil
}

// Reject refuses the schedule's pending working copy, giving reason
// (required, at most MaxReasonLength characters; EINVALID otherwise). The
// approved version, if any, keeps playing. Permissions and errors are
// Approve's.
func (s *Service) Reject(ctx context.Context, id, reason string) (*Schedule, error) {
	u := actor(ctx)
	if err := checkApprover(u); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, marquee.Errorf(marquee.EINVALID, "reason is required: say why the schedule is rejected")
	case !utf8.ValidString(reason):
		return nil, marquee.Errorf(marquee.EINVALID, "reason must be UTF-8 text")
	case utf8.RuneCountInString(reason) > MaxReasonLength:
		return nil, marquee.Errorf(marquee.EINVALID, "reason is longer than %d characters", MaxReasonLength)
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sc, err := s.store.ChangeScheduleApproval(ctx, id, func(sc *Schedule) (Approval, bool, error) {
		a := sc.Approval
		if err := wantPending(id, a.Status, "rejected"); err != nil {
			return a, false, err
		}
		return Approval{Status: StatusRejected, Reason: reason, SubmittedBy: a.SubmittedBy, SubmittedAt: a.SubmittedAt,
			SubmittedRevision: a.SubmittedRevision, DecidedBy: actorID(u), DecidedAt: &now}, false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reject schedule: %w", err)
	}
	return sc, nil
}

// checkApprover returns EFORBIDDEN unless u may approve (nil, the server
// itself, may).
func checkApprover(u *auth.User) error {
	if u != nil && !u.Can(auth.PermScheduleApprove) {
		return marquee.Errorf(marquee.EFORBIDDEN, "only approvers and admins approve or reject schedules")
	}
	return nil
}

// wantPending returns ECONFLICT unless status is StatusPending: only a
// submitted schedule can be approved or rejected (verb).
func wantPending(id, status, verb string) error {
	switch status {
	case StatusPending:
		return nil
	case StatusApproved:
		return marquee.Errorf(marquee.ECONFLICT, "schedule %q is already approved: only a pending schedule can be %s", id, verb)
	default:
		return marquee.Errorf(marquee.ECONFLICT, "schedule %q is %s, not pending: it must be submitted before it can be %s", id, status, verb)
	}
}

// parseStatus checks an approval status filter.
func parseStatus(s string) error {
	switch s {
	case "", StatusDraft, StatusPending, StatusApproved, StatusRejected:
		return nil
	}
	return marquee.Errorf(marquee.EINVALID, "approval %q is not one of draft, pending, approved, rejected", truncate(s, 40))
}
