package schedules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/label"
	"github.com/marquee-signage/marquee/scheduler"
)

// Defaults and limits.
const (
	// DefaultTimezone is the zone of a schedule created without one.
	DefaultTimezone = scheduler.DefaultTimezone
	// DefaultPriority is the layer of a schedule created without one.
	DefaultPriority = marquee.LayerNormal
	// MaxTargetDisplays bounds the display IDs one schedule may name;
	// larger groups are what tags are for.
	MaxTargetDisplays = 1000
	// DefaultHorizon is how far ahead the conflict report looks.
	DefaultHorizon = 90 * 24 * time.Hour
	// DefaultMaxReportDisplays bounds the displays one conflict report
	// examines.
	DefaultMaxReportDisplays = 1000
	// DefaultMaxConflicts bounds the conflicts one report lists.
	DefaultMaxConflicts = 1000
)

// Input holds the fields of a schedule that people set: the body of a
// create (POST), a full replace (PUT) or a dry run (check).
type Input struct {
	// OrgID is the owning organisation, which must be in the actor's
	// scope; used by Create, and by Check for a new schedule.
	OrgID      string
	Name       string
	PlaylistID string
	Targets    Targets
	Cron       string        // "" means all day
	Duration   time.Duration // required with Cron, zero without
	StartsOn   string        // YYYY-MM-DD or ""
	EndsOn     string        // YYYY-MM-DD or ""
	Priority   marquee.Layer // "" means DefaultPriority
	Timezone   string        // "" means DefaultTimezone
}

// Config holds the settings of a Service. The zero value is usable.
type Config struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Horizon is how far ahead the conflict report looks; 0 means
	// DefaultHorizon.
	Horizon time.Duration
	// MaxReportDisplays bounds the displays a conflict report examines;
	// 0 means DefaultMaxReportDisplays.
	MaxReportDisplays int
	// MaxConflicts bounds the conflicts a report lists; 0 means
	// DefaultMaxConflicts.
	MaxConflicts int
}

// Service manages schedules. It is safe for concurrent use.
type Service struct {
	store        Store
	now          func() time.Time
	ahead        time.Duration
	maxDisplays  int
	maxConflicts int
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	s := &Service{
		store:        store,
		now:          cfg.Now,
		ahead:        cfg.Horizon,
		maxDisplays:  cfg.MaxReportDisplays,
		maxConflicts: cfg.MaxConflicts,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ahead <= 0 {
		s.ahead = DefaultHorizon
	}
	if s.maxDisplays <= 0 {
		s.maxDisplays = DefaultMaxReportDisplays
	}
	if s.maxConflicts <= 0 {
		s.maxConflicts = DefaultMaxConflicts
	}
	return s
}

// Create validates in, stores a new schedule and returns it with its
// conflict report (computed before the schedule is stored, against the
// other schedules). Invalid input is EINVALID with a message that says what
// is wrong; so is an organisation outside the actor's scope
// (auth.Scope.CheckOwner), a playlist that does not exist in the schedule's
// organisation, one above it or one below it, and a display that does not
// exist in its organisation or one below it.
//
// A new schedule is a draft, to be submitted and approved before it plays,
// unless it is published at once: when the actor holds
// auth.PermScheduleApprove and the schedule is on the emergency layer, and
// when there is no actor. A context without an actor is the server itself
// (demo seeding, tests of the services): what it creates is approved by
// SystemActor on creation. An approver may create only emergency-layer
// schedules (EFORBIDDEN).
func (s *Service) Create(ctx context.Context, in Input) (*Schedule, *Report, error) {
	sc, err := validate(in)
	if err != nil {
		return nil, nil, err
	}
	u := actor(ctx)
	if err := checkLayer(u, sc.Priority); err != nil {
		return nil, nil, err
	}
	if err := auth.ScopeFrom(ctx).CheckOwner(in.OrgID); err != nil {
		return nil, nil, err
	}
	sc.ID = marquee.NewID("sch_")
	sc.OrgID = in.OrgID
	sc.CreatedAt = s.now().UTC()
	sc.UpdatedAt = sc.CreatedAt
	sc.Approval = Approval{Status: StatusDraft}
	if publishesAtOnce(u, sc.Priority) {
		sc.Approval = approvedBy(Approval{}, u, sc.CreatedAt)
	}
	rep, err := s.report(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	if err := s.store.CreateSchedule(ctx, sc); err != nil {
		return nil, nil, fmt.Errorf("create schedule: %w", err)
	}
	return sc, rep, nil
}

// Get returns the schedule, or ENOTFOUND — also when it belongs to an
// organisation outside the actor's scope (auth.ScopeFrom), so that its
// existence is not revealed.
func (s *Service) Get(ctx context.Context, id string) (*Schedule, error) {
	sc, err := s.store.FindScheduleByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find schedule: %w", err)
	}
	if !auth.ScopeFrom(ctx).Contains(sc.OrgID) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "schedule %q not found", id)
	}
	return sc, nil
}

// List returns one page of the schedules in the actor's scope that match
// f, newest first, and the cursor of the next page ("" at the end). f.Tag
// is normalised as stored tags are; f.Within is replaced by the actor's
// scope. An unknown priority, a Limit outside 0..500 or a malformed cursor
// is EINVALID.
func (s *Service) List(ctx context.Context, f Filter) ([]*Schedule, string, error) {
	if f.Limit < 0 || f.Limit > 500 {
		return nil, "", marquee.Errorf(marquee.EINVALID, "limit must be between 1 and 500")
	}
	if f.Priority != "" {
		if _, err := marquee.ParseLayer(string(f.Priority)); err != nil {
			return nil, "", err
		}
	}
	if err := parseStatus(f.Approval); err != nil {
		return nil, "", err
	}
	f.Tag = strings.ToLower(norm.NFC.String(strings.TrimSpace(f.Tag)))
	f.Within = auth.ScopeFrom(ctx).Within()
	scs, next, err := s.store.FindSchedules(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("find schedules: %w", err)
	}
	return scs, next, nil
}

// Update replaces every field of the schedule's working copy with in (a
// PUT) and returns the stored schedule and its conflict report. in.OrgID is
// ignored: schedules do not move between organisations. ENOTFOUND for an
// unknown ID (or one outside the actor's scope); EINVALID as for Create;
// EFORBIDDEN for an approver unless the schedule is, and stays, on the
// emergency layer.
//
// A change sets the working copy back to draft, whatever its status; the
// approved version, if any, keeps playing until the new one is approved.
// As for Create, it is approved at once when the actor holds
// auth.PermScheduleApprove and the schedule is on the emergency layer, or
// when there is no actor (the server itself). A PUT that changes nothing
// leaves the approval as it is.
func (s *Service) Update(ctx context.Context, id string, in Input) (*Schedule, *Report, error) {
	sc, err := validate(in)
	if err != nil {
		return nil, nil, err
	}
	// Not found first, before the report's work (the store checks again,
	// inside its transaction).
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	u := actor(ctx)
	if err := checkLayer(u, cur.Priority, sc.Priority); err != nil {
		return nil, nil, err
	}
	sc.ID, sc.OrgID = id, cur.OrgID
	sc.UpdatedAt = s.now().UTC()
	switch prev := cur.Approval; {
	case publishesAtOnce(u, sc.Priority):
		sc.Approval = approvedBy(prev, u, sc.UpdatedAt)
	case sc.sameFields(cur):
		// Status "": the store leaves the approval alone.
	default:
		sc.Approval = Approval{Status: StatusDraft, SubmittedBy: prev.SubmittedBy, SubmittedAt: prev.SubmittedAt,
			SubmittedRevision: prev.SubmittedRevision, DecidedBy: prev.DecidedBy, DecidedAt: prev.DecidedAt}
	}
	rep, err := s.report(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	sc, err = s.store.UpdateSchedule(ctx, sc)
	if err != nil {
		return nil, nil, fmt.Errorf("update schedule: %w", err)
	}
	return sc, rep, nil
}

// Check validates in exactly as Create does and returns its conflict report
// without storing anything: a dry run. When id names an existing schedule
// the check is of an edit of it, so that schedule is left out of the
// comparison; "" checks a new schedule of in.OrgID. As for Create and
// Update, the organisation must be in the actor's scope and the schedule's
// organisation may use the playlist and displays named (EINVALID
// otherwise); a schedule id outside the scope is ENOTFOUND.
func (s *Service) Check(ctx context.Context, id string, in Input) (*Report, error) {
	sc, err := validate(in)
	if err != nil {
		return nil, err
	}
	sc.ID, sc.OrgID = id, in.OrgID
	if id != "" {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		sc.OrgID = cur.OrgID
	} else if err := auth.ScopeFrom(ctx).CheckOwner(in.OrgID); err != nil {
		return nil, err
	}
	if err := s.store.CheckScheduleReferences(ctx, sc); err != nil {
		return nil, fmt.Errorf("check references: %w", err)
	}
	return s.report(ctx, sc)
}

// Delete removes the schedule, its approved version with it: what it
// played stops at once (taking content off screens needs no approval).
// ENOTFOUND for an unknown ID (or one outside the actor's scope);
// EFORBIDDEN for an approver and a schedule not on the emergency layer.
func (s *Service) Delete(ctx context.Context, id string) error {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := checkLayer(actor(ctx), cur.Priority); err != nil {
		return err
	}
	if err := s.store.DeleteSchedule(ctx, id); err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	}
	return nil
}

// validate checks and normalises in and returns a schedule holding its
// fields. Errors are EINVALID; the timing's come from scheduler.CheckRule.
func validate(in Input) (*Schedule, error) {
	name, err := label.Name(in.Name)
	if err != nil {
		return nil, err
	}
	sc := &Schedule{
		Name:       name,
		PlaylistID: strings.TrimSpace(in.PlaylistID),
		Cron:       strings.TrimSpace(in.Cron),
		Duration:   Duration(in.Duration),
		StartsOn:   strings.TrimSpace(in.StartsOn),
		EndsOn:     strings.TrimSpace(in.EndsOn),
		Priority:   in.Priority,
		Timezone:   strings.TrimSpace(in.Timezone),
	}
	if sc.PlaylistID == "" {
		return nil, marquee.Errorf(marquee.EINVALID, "playlist_id is required")
	}
	if sc.Targets, err = checkTargets(in.Targets); err != nil {
		return nil, err
	}
	if sc.Priority == "" {
		sc.Priority = DefaultPriority
	} else if _, err := marquee.ParseLayer(string(sc.Priority)); err != nil {
		return nil, err
	}
	if sc.Timezone == "" {
		sc.Timezone = DefaultTimezone
	}
	if err := checkTiming(sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// checkTargets normalises targets: display IDs trimmed, sorted and
// de-duplicated, tags by label.Tags; at least one of either.
func checkTargets(t Targets) (Targets, error) {
	ids := make([]string, 0, len(t.DisplayIDs))
	for _, id := range t.DisplayIDs {
		id = strings.TrimSpace(id)
		if id == "" {
			return Targets{}, marquee.Errorf(marquee.EINVALID, "targets.display_ids must not hold an empty ID")
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > MaxTargetDisplays {
		return Targets{}, marquee.Errorf(marquee.EINVALID, "targets name %d displays; at most %d (target larger groups by tag)", len(ids), MaxTargetDisplays)
	}
	tags, err := label.Tags(t.Tags)
	if err != nil {
		return Targets{}, err
	}
	if len(ids) == 0 && len(tags) == 0 {
		return Targets{}, marquee.Errorf(marquee.EINVALID, "targets must name at least one display or tag")
	}
	return Targets{DisplayIDs: ids, Tags: tags}, nil
}

// checkTiming checks the cron spec, duration, dates and zone of sc, in
// the API's terms first (duration), then with scheduler.CheckRule.
func checkTiming(sc *Schedule) error {
	d := time.Duration(sc.Duration)
	switch {
	case d < 0:
		return marquee.Errorf(marquee.EINVALID, "duration must be positive")
	case sc.Cron != "" && d == 0:
		return marquee.Errorf(marquee.EINVALID, "a schedule with a cron needs a duration, such as \"10h\" or \"90m\": how long each showing lasts")
	case sc.Cron == "" && d != 0:
		return marquee.Errorf(marquee.EINVALID, "duration needs a cron; leave both empty for a schedule that runs all day")
	case d > scheduler.MaxWindow:
		return marquee.Errorf(marquee.EINVALID, "duration %s is longer than %d days", d, scheduler.MaxWindow/(24*time.Hour))
	case d%time.Millisecond != 0:
		return marquee.Errorf(marquee.EINVALID, "duration must be a whole number of milliseconds")
	}
	if err := scheduler.CheckRule(sc.Rule()); err != nil {
		if marquee.ErrorCode(err) == marquee.EINVALID {
			return err
		}
		return fmt.Errorf("check rule: %w", err)
	}
	return nil
}
