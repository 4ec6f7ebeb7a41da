package desired

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/scheduler"
	"github.com/marquee-signage/marquee/schedules"
)

// DefaultTimezone is used for a rule or display without a zone.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

// Stored is the last state persisted for a display.
type Stored struct {
	DisplayID string
	Revision  int64
	Hash      string // hex SHA-256 of the state JSON with revision 0
	JSON      []byte // the state JSON with its revision
	UpdatedAt time.Time
	// Refs are the IDs the state references: every schedule, playlist and
	// media ID in it, sorted and each once. SaveDisplayState replaces the
	// stored set with them; FindDisplayState leaves Refs nil (the store
	// answers "which displays reference X" instead).
	Refs []string
	// NextPruneAt is the instant the earliest rule in the state expires
	// (its last window closes), when it must be rebuilt to drop that rule;
	// zero when no rule ever expires.
	NextPruneAt time.Time
	// IndexVersion is the version of the scheme that computed Refs and
	// NextPruneAt (IndexVersion when saved by this build; 0 for a state
	// saved before they existed). A state with an older version is saved
	// again, with the same revision, to record them.
	IndexVersion int
}

// IndexVersion is the version of what Stored.Refs and Stored.NextPruneAt
// record. Increase it when they start to record more, so that every stored
// state is indexed again on its next build (its revision unchanged).
const IndexVersion = 1

// Kinds of change that may affect displays' states, as named to a change
// listener (admin notifies, package fleet publishes).
const (
	ChangeMedia    = "media"
	ChangePlaylist = "playlist"
	ChangeSchedule = "schedule"
	ChangeDisplay  = "display"
)

// Store is what the builder reads and where it keeps revisions. Absent rows
// are ENOTFOUND errors.
type Store interface {
	FindDisplayByID(ctx context.Context, id string) (*displays.Display, error)
	// FindLiveSchedulesForDisplay returns the schedules whose approved
	// version reaches the display, with it, ordered by ID: only approved
	// versions ever reach a state.
	FindLiveSchedulesForDisplay(ctx context.Context, displayID string) ([]*schedules.Schedule, error)
	// FindPlaylistByID returns a playlist's current revision (what a
	// PlaylistRef with Revision 0 names).
	FindPlaylistByID(ctx context.Context, id string) (*playlists.Playlist, error)
	// FindPlaylistRevision returns one revision of a playlist (a rule plays
	// the revision its schedule's approval pinned, a fallback the one its
	// display pinned).
	FindPlaylistRevision(ctx context.Context, id string, rev int64) (*playlists.Playlist, error)
	FindMediaByID(ctx context.Context, id string) (*media.Item, error)
	FindDisplayState(ctx context.Context, displayID string) (*Stored, error)
	// SaveDisplayState stores s if the display's stored revision is still
	// prevRevision (0: none stored); otherwise ECONFLICT.
	SaveDisplayState(ctx context.Context, s *Stored, prevRevision int64) error
}

// Renditions cuts media for a display (media.Library).
type Renditions interface {
	Rendition(ctx context.Context, id string, w, h int, fit media.Fit) (media.Rendition, error)
}

// URLs builds the URLs a player fetches files from (relative to the
// server's base URL). The admin package owns the route table and provides it.
type URLs interface {
	RenditionURL(mediaID string, w, h int, fit string) string
	ContentURL(mediaID string) string
}

// Config holds the Builder's settings.
type Config struct {
	Now func() time.Time // nil: time.Now
}

// Builder computes and versions desired states. It is safe for concurrent use.
type Builder struct {
	store Store
	rend  Renditions
	urls  URLs
	now   func() time.Time

	mu     sync.Mutex
	hashes map[string]fileSum // rendition path → sum (paths are immutable)
	locks  map[string]*displayLock

	// seq numbers the saves of this Builder, so that a Batch can tell a
	// display saved since it began (see displayLock.saved).
	seq atomic.Uint64
}

// displayLock serialises the builds of one display.
type displayLock struct {
	sync.Mutex
	// saved is the Builder's seq at this display's last save through this
	// Builder (0: none). Guarded by the mutex.
	saved uint64
}

type fileSum struct {
	sha  string
	size int64
}

// NewBuilder returns a Builder.
func NewBuilder(store Store, rend Renditions, urls URLs, cfg Config) *Builder {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Builder{store: store, rend: rend, urls: urls, now: cfg.Now,
		hashes: map[string]fileSum{}, locks: map[string]*displayLock{}}
}

// State returns the current desired state of the display, rebuilding it and
// bumping its revision when its content changed since it was last stored.
// changed reports whether a new revision was stored.
func (b *Builder) State(ctx context.Context, displayID string) (st *marquee.DesiredState, changed bool, err error) {
	lock := b.displayLock(displayID)
	lock.Lock()
	defer lock.Unlock()
	r := b.stateLocked(ctx, displayID, lock)
	return r.State, r.Changed, r.Err
}

// stateLocked is State for a display whose lock the caller holds.
func (b *Builder) stateLocked(ctx context.Context, displayID string, lock *displayLock) Result {
	fail := func(err error) Result { return Result{DisplayID: displayID, Err: err} }
	st, err := b.Build(ctx, displayID)
	if err != nil {
		return fail(err)
	}
	hash, err := contentHash(st)
	if err != nil {
		return fail(err)
	}
	prev, err := b.store.FindDisplayState(ctx, displayID)
	if err != nil && marquee.ErrorCode(err) != marquee.ENOTFOUND {
		return fail(fmt.Errorf("find display state: %w", err))
	}
	if err != nil {
		prev = nil
	}
	sv, changed := revise(st, hash, prev)
	if sv == nil {
		return Result{DisplayID: displayID, State: st}
	}
	s, err := b.stored(st, hash, NextPrune(st))
	if err != nil {
		return fail(err)
	}
	if err := b.store.SaveDisplayState(ctx, s, sv.prevRevision); err != nil {
		return fail(fmt.Errorf("save display state: %w", err))
	}
	lock.saved = b.seq.Add(1)
	return Result{DisplayID: displayID, State: st, Changed: changed, JSON: s.JSON}
}

// pendingSave is a decision to save a built state over prevRevision.
type pendingSave struct{ prevRevision int64 }

// revise sets st.Revision from the stored state prev (nil: none) and the
// content hash of st, and says whether st must be saved (a non-nil
// pendingSave) and whether that is a new revision: a new revision when the
// content changed, the same one saved again when only the stored index is
// out of date, no save otherwise.
func revise(st *marquee.DesiredState, hash string, prev *Stored) (save *pendingSave, changed bool) {
	var prevRev int64
	if prev != nil {
		prevRev = prev.Revision
		if prev.Hash == hash {
			st.Revision = prev.Revision
			if prev.IndexVersion < IndexVersion {
				// Same content, saved before its references were
				// recorded: record them, keeping the revision.
				return &pendingSave{prevRevision: prevRev}, false
			}
			return nil, false
		}
	}
	st.Revision = prevRev + 1
	return &pendingSave{prevRevision: prevRev}, true
}

// stored returns what the store keeps for st, whose Revision is set.
func (b *Builder) stored(st *marquee.DesiredState, hash string, nextPrune time.Time) (*Stored, error) {
	doc, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return &Stored{
		DisplayID:    st.DisplayID,
		Revision:     st.Revision,
		Hash:         hash,
		JSON:         doc,
		UpdatedAt:    b.now(),
		Refs:         Refs(st),
		NextPruneAt:  nextPrune,
		IndexVersion: IndexVersion,
	}, nil
}

// Refs returns every schedule, playlist and media ID that st references,
// sorted and each once: the rules' schedules, the playlists (rules' and
// fallback) and the media of their items. A change to any of them may
// change the state.
func Refs(st *marquee.DesiredState) []string {
	set := map[string]bool{}
	for _, r := range st.Rules {
		set[r.ScheduleID] = true
		set[r.Playlist.PlaylistID] = true
	}
	if st.Fallback != nil {
		set[st.Fallback.PlaylistID] = true
	}
	for _, p := range st.Playlists {
		set[p.PlaylistID] = true
		for _, it := range p.Items {
			set[it.MediaID] = true // an asset shared by two media names one of them only
		}
	}
	for _, a := range st.Media {
		set[a.MediaID] = true
	}
	delete(set, "")
	refs := make([]string, 0, len(set))
	for id := range set {
		refs = append(refs, id)
	}
	slices.Sort(refs)
	return refs
}

// NextPrune returns the instant the earliest rule of st expires — its last
// window closes, after which a build leaves it out — or the zero time when
// no rule ever expires. A build at or after that instant prunes the rule.
func NextPrune(st *marquee.DesiredState) time.Time {
	var next time.Time
	for _, r := range st.Rules {
		if at, ok := expiresAt(r); ok && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

func (b *Builder) displayLock(id string) *displayLock {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.locks[id]
	if !ok {
		l = &displayLock{}
		b.locks[id] = l
	}
	return l
}

// contentHash is the SHA-256 of the state's JSON with revision 0.
func contentHash(st *marquee.DesiredState) (string, error) {
	c := *st
	c.Revision = 0
	doc, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode state: %w", err)
	}
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:]), nil
}

// Build computes the display's state content; Revision is left 0. Rules,
// playlists and assets are sorted so that equal data gives equal JSON.
func (b *Builder) Build(ctx context.Context, displayID string) (*marquee.DesiredState, error) {
	d, err := b.store.FindDisplayByID(ctx, displayID)
	if err != nil {
		return nil, err
	}
	now := b.now()
	scheds, err := b.store.FindLiveSchedulesForDisplay(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("find schedules: %w", err)
	}
	return assemble(ctx, direct{b: b, now: now}, d, scheds)
}

// source provides what a state is assembled from. direct reads the store
// on every call (State, Build); a Batch remembers what displays share.
type source interface {
	// rule returns the rule of sc's approved version as a state holds it,
	// with its pinned playlist revision, and whether it is live: sc has
	// an approved version and it has not expired at the build instant.
	rule(sc *schedules.Schedule) (r marquee.Rule, live bool)
	// playlist returns the playlist revision ref names (Revision 0: the
	// current one) as a display of w×h pixels plays it.
	playlist(ctx context.Context, ref marquee.PlaylistRef, w, h int) (*builtPlaylist, error)
}

// builtPlaylist is a playlist revision as a display of one size plays it:
// its entry in the state and the asset of each item, in item order.
type builtPlaylist struct {
	pl     marquee.Playlist
	assets []marquee.MediaAsset
}

// assemble computes the state of d, reached by scheds (ordered by ID), from
// src. It is the one place a state's content is put together, whatever the
// source, so that a display's state is the same whichever way it is built.
// Rules come from the schedules' approved versions only, each playing the
// playlist revision its approval pinned; a schedule without one adds
// nothing. The fallback plays the revision pinned when an admin last set
// it (d.FallbackRevision; 0, from a display stored without one, means the
// current revision).
func assemble(ctx context.Context, src source, d *displays.Display, scheds []*schedules.Schedule) (*marquee.DesiredState, error) {
	st := &marquee.DesiredState{
		Format:    marquee.StateFormat,
		DisplayID: d.ID,
		Display:   d.Info(),
		Rules:     []marquee.Rule{},
		Playlists: []marquee.Playlist{},
		Media:     []marquee.MediaAsset{},
	}
	if st.Display.Timezone == "" {
		st.Display.Timezone = DefaultTimezone
	}
	// Each playlist revision and each asset (by SHA-256: the first item
	// to name it wins) enters the state once. resolved maps what was
	// asked for (Revision 0: the current one) to the revision found.
	resolved := map[marquee.PlaylistRef]marquee.PlaylistRef{}
	inState := map[marquee.PlaylistRef]bool{}
	assets := map[string]bool{}
	add := func(want marquee.PlaylistRef) (marquee.PlaylistRef, error) {
		if ref, ok := resolved[want]; ok {
			return ref, nil
		}
		bp, err := src.playlist(ctx, want, d.Width, d.Height)
		if err != nil {
			return marquee.PlaylistRef{}, err
		}
		ref := marquee.PlaylistRef{PlaylistID: bp.pl.PlaylistID, Revision: bp.pl.Revision}
		resolved[want] = ref
		if inState[ref] {
			return ref, nil
		}
		inState[ref] = true
		for _, a := range bp.assets {
			if !assets[a.SHA256] {
				assets[a.SHA256] = true
				st.Media = append(st.Media, a)
			}
		}
		pl := bp.pl
		pl.Items = slices.Clone(pl.Items) // a Batch shares bp between states
		st.Playlists = append(st.Playlists, pl)
		return ref, nil
	}
	for _, sc := range scheds {
		r, live := src.rule(sc)
		if !live {
			continue
		}
		ref, err := add(r.Playlist)
		if err != nil {
			return nil, err
		}
		r.Playlist = ref
		st.Rules = append(st.Rules, r)
	}
	if d.FallbackPlaylistID != "" {
		ref, err := add(marquee.PlaylistRef{PlaylistID: d.FallbackPlaylistID, Revision: d.FallbackRevision})
		if err != nil {
			return nil, err
		}
		st.Fallback = &ref
	}
	slices.SortFunc(st.Rules, func(a, b marquee.Rule) int { return cmpString(a.ScheduleID, b.ScheduleID) })
	slices.SortFunc(st.Playlists, func(a, b marquee.Playlist) int {
		if c := cmpString(a.PlaylistID, b.PlaylistID); c != 0 {
			return c
		}
		switch {
		case a.Revision < b.Revision:
			return -1
		case a.Revision > b.Revision:
			return 1
		}
		return 0
	})
	slices.SortFunc(st.Media, func(a, b marquee.MediaAsset) int { return cmpString(a.SHA256, b.SHA256) })
	return st, nil
}

// ruleOf returns the rule of sc's approved version as a state holds it,
// with its pinned playlist revision: in DefaultTimezone when it has no
// zone. ok is false when sc has no approved version.
func ruleOf(sc *schedules.Schedule) (r marquee.Rule, ok bool) {
	r, ok = sc.LiveRule()
	if r.Timezone == "" {
		r.Timezone = DefaultTimezone
	}
	return r, ok
}

// direct is the source that reads everything from the store as it goes.
type direct struct {
	b   *Builder
	now time.Time
}

func (s direct) rule(sc *schedules.Schedule) (marquee.Rule, bool) {
	r, ok := ruleOf(sc)
	return r, ok && !expired(r, s.now)
}

func (s direct) playlist(ctx context.Context, ref marquee.PlaylistRef, w, h int) (*builtPlaylist, error) {
	p, err := s.b.findPlaylist(ctx, ref)
	if err != nil {
		return nil, err
	}
	return buildPlaylist(p, func(it playlists.Item) (marquee.MediaAsset, error) {
		m, err := s.b.findMedia(ctx, it.MediaID)
		if err != nil {
			return marquee.MediaAsset{}, err
		}
		return s.b.asset(ctx, m, it.Fit, w, h)
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// expired reports whether every window of r ended before now, so r can never
// be active again: r has an end date, now is past its start, and no window of
// r reaches now. (Before the last day nothing is computed.)
func expired(r marquee.Rule, now time.Time) bool {
	day, horizon, ok := lastDay(r)
	if !ok || now.Before(day) {
		return false
	}
	if !now.Before(horizon) {
		return true
	}
	ws, err := scheduler.Windows(r, now, horizon)
	return err == nil && len(ws) == 0
}

// expiresAt returns the instant from which expired(r, now) holds: the later
// of the start of r's last day and the end of its last window (the horizon
// when the windows cannot be computed). ok is false when r never expires
// (no end date, or a zone or date that does not parse).
func expiresAt(r marquee.Rule) (at time.Time, ok bool) {
	day, horizon, ok := lastDay(r)
	if !ok {
		return time.Time{}, false
	}
	ws, err := scheduler.Windows(r, day, horizon)
	if err != nil {
		return horizon.UTC(), true
	}
	at = day
	for _, w := range ws {
		if w.End.After(at) {
			at = w.End
		}
	}
	return at.UTC(), true
}

// lastDay returns the start of r's last day (EndsOn, in its zone) and a
// horizon by which every window of r has ended; ok is false when r has no
// end date or its zone or date does not parse (the rule is kept; the
// resolver reports the error).
func lastDay(r marquee.Rule) (day, horizon time.Time, ok bool) {
	if r.EndsOn == "" {
		return day, horizon, false
	}
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil {
		return day, horizon, false
	}
	day, err = time.ParseInLocation(time.DateOnly, r.EndsOn, loc)
	if err != nil {
		return day, horizon, false
	}
	horizon = day.AddDate(0, 0, 2).Add(time.Duration(r.DurationMS) * time.Millisecond)
	return day, horizon, true
}

// findPlaylist returns the playlist revision ref names; Revision 0 is the
// current one.
func (b *Builder) findPlaylist(ctx context.Context, ref marquee.PlaylistRef) (*playlists.Playlist, error) {
	var (
		p   *playlists.Playlist
		err error
	)
	if ref.Revision == 0 {
		p, err = b.store.FindPlaylistByID(ctx, ref.PlaylistID)
	} else {
		p, err = b.store.FindPlaylistRevision(ctx, ref.PlaylistID, ref.Revision)
	}
	if err != nil {
		return nil, fmt.Errorf("find playlist %s: %w", ref, err)
	}
	return p, nil
}

func (b *Builder) findMedia(ctx context.Context, id string) (*media.Item, error) {
	m, err := b.store.FindMediaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find media %s: %w", id, err)
	}
	return m, nil
}

// buildPlaylist returns p as a display plays it, asset giving the file
// each item plays.
func buildPlaylist(p *playlists.Playlist, asset func(it playlists.Item) (marquee.MediaAsset, error)) (*builtPlaylist, error) {
	bp := &builtPlaylist{
		pl:     marquee.Playlist{PlaylistID: p.ID, Revision: p.Revision, Name: p.Name, Items: make([]marquee.PlaylistItem, 0, len(p.Items))},
		assets: make([]marquee.MediaAsset, 0, len(p.Items)),
	}
	for _, it := range p.Items {
		a, err := asset(it)
		if err != nil {
			return nil, err
		}
		bp.pl.Items = append(bp.pl.Items, marquee.PlaylistItem{
			MediaID:    it.MediaID,
			SHA256:     a.SHA256,
			DurationMS: it.DurationMS,
			Fit:        it.Fit,
			ValidFrom:  utcPtr(it.ValidFrom),
			ValidUntil: utcPtr(it.ValidUntil),
		})
		bp.assets = append(bp.assets, a)
	}
	return bp, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// asset returns the file a display of w×h pixels plays for an item of m
// with fit: the rendition cut to its exact pixels for images, the original
// for videos.
func (b *Builder) asset(ctx context.Context, m *media.Item, itemFit string, w, h int) (marquee.MediaAsset, error) {
	a := marquee.MediaAsset{MediaID: m.ID, Name: m.Name, Kind: string(m.Kind), MIME: m.MIME}
	if m.Kind == media.KindVideo {
		a.SHA256, a.Size, a.Width, a.Height, a.DurationMS = m.SHA256, m.Size, m.Width, m.Height, m.DurationMS
		a.URL = b.urls.ContentURL(m.ID)
		return a, nil
	}
	fit, err := media.ParseFit(itemFit)
	if err != nil {
		return marquee.MediaAsset{}, err
	}
	r, err := b.rend.Rendition(ctx, m.ID, w, h, fit)
	if err != nil {
		return marquee.MediaAsset{}, fmt.Errorf("rendition of %s at %dx%d: %w", m.ID, w, h, err)
	}
	sum, err := b.fileSum(r.Path)
	if err != nil {
		return marquee.MediaAsset{}, err
	}
	a.SHA256, a.Size, a.Width, a.Height, a.MIME = sum.sha, sum.size, r.Width, r.Height, r.MIME
	a.URL = b.urls.RenditionURL(m.ID, w, h, string(fit))
	return a, nil
}

// RenditionQuery is the query string of a rendition URL, shared by URL
// builders so the manifest and the route agree.
func RenditionQuery(w, h int, fit string) string {
	return url.Values{"w": {strconv.Itoa(w)}, "h": {strconv.Itoa(h)}, "fit": {fit}}.Encode()
}
