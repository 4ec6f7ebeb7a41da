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
	FindSchedulesForDisplay(ctx context.Context, displayID string) ([]*schedules.Schedule, error)
	FindPlaylistByID(ctx context.Context, id string) (*playlists.Playlist, error)
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
	locks  map[string]*sync.Mutex
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
		hashes: map[string]fileSum{}, locks: map[string]*sync.Mutex{}}
}

// State returns the current desired state of the display, rebuilding it and
// bumping its revision when its content changed since it was last stored.
// changed reports whether a new revision was stored.
func (b *Builder) State(ctx context.Context, displayID string) (st *marquee.DesiredState, changed bool, err error) {
	lock := b.displayLock(displayID)
	lock.Lock()
	defer lock.Unlock()

	st, err = b.Build(ctx, displayID)
	if err != nil {
		return nil, false, err
	}
	hash, err := contentHash(st)
	if err != nil {
		return nil, false, err
	}
	prev, err := b.store.FindDisplayState(ctx, displayID)
	var prevRev int64
	switch {
	case err == nil:
		prevRev = prev.Revision
		if prev.Hash == hash {
			st.Revision = prev.Revision
			if prev.IndexVersion < IndexVersion {
				// Same content, saved before its references were
				// recorded: record them, keeping the revision.
				if err := b.save(ctx, st, hash, prevRev); err != nil {
					return nil, false, err
				}
			}
			return st, false, nil
		}
	case marquee.ErrorCode(err) != marquee.ENOTFOUND:
		return nil, false, fmt.Errorf("find display state: %w", err)
	}
	st.Revision = prevRev + 1
	if err := b.save(ctx, st, hash, prevRev); err != nil {
		return nil, false, err
	}
	return st, true, nil
}

// save stores st, whose Revision is set, over the stored revision prevRev.
func (b *Builder) save(ctx context.Context, st *marquee.DesiredState, hash string, prevRev int64) error {
	doc, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	err = b.store.SaveDisplayState(ctx, &Stored{
		DisplayID:    st.DisplayID,
		Revision:     st.Revision,
		Hash:         hash,
		JSON:         doc,
		UpdatedAt:    b.now(),
		Refs:         Refs(st),
		NextPruneAt:  NextPrune(st),
		IndexVersion: IndexVersion,
	}, prevRev)
	if err != nil {
		return fmt.Errorf("save display state: %w", err)
	}
	return nil
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

func (b *Builder) displayLock(id string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.locks[id]
	if !ok {
		l = &sync.Mutex{}
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
	scheds, err := b.store.FindSchedulesForDisplay(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("find schedules: %w", err)
	}
	pb := playlistBuilder{b: b, ctx: ctx, d: d, st: st, seen: map[string]bool{}, assets: map[string]bool{}}
	for _, sc := range scheds {
		r := sc.Rule()
		if r.Timezone == "" {
			r.Timezone = DefaultTimezone
		}
		if expired(r, now) {
			continue
		}
		ref, err := pb.add(sc.PlaylistID)
		if err != nil {
			return nil, err
		}
		r.Playlist = ref
		st.Rules = append(st.Rules, r)
	}
	if d.FallbackPlaylistID != "" {
		ref, err := pb.add(d.FallbackPlaylistID)
		if err != nil {
			return nil, err
		}
		st.Fallback = &ref
	}
	slices.SortFunc(st.Rules, func(a, b marquee.Rule) int { return cmpString(a.ScheduleID, b.ScheduleID) })
	slices.SortFunc(st.Playlists, func(a, b marquee.Playlist) int { return cmpString(a.PlaylistID, b.PlaylistID) })
	slices.SortFunc(st.Media, func(a, b marquee.MediaAsset) int { return cmpString(a.SHA256, b.SHA256) })
	return st, nil
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

// playlistBuilder adds playlist revisions and their assets to a state once.
type playlistBuilder struct {
	b      *Builder
	ctx    context.Context
	d      *displays.Display
	st     *marquee.DesiredState
	seen   map[string]bool // playlist ID
	assets map[string]bool // sha256
	refs   map[string]marquee.PlaylistRef
}

func (pb *playlistBuilder) add(playlistID string) (marquee.PlaylistRef, error) {
	if pb.refs == nil {
		pb.refs = map[string]marquee.PlaylistRef{}
	}
	if ref, ok := pb.refs[playlistID]; ok {
		return ref, nil
	}
	p, err := pb.b.store.FindPlaylistByID(pb.ctx, playlistID)
	if err != nil {
		return marquee.PlaylistRef{}, fmt.Errorf("find playlist %s: %w", playlistID, err)
	}
	ref := marquee.PlaylistRef{PlaylistID: p.ID, Revision: p.Revision}
	pl := marquee.Playlist{PlaylistID: p.ID, Revision: p.Revision, Name: p.Name, Items: make([]marquee.PlaylistItem, 0, len(p.Items))}
	for _, it := range p.Items {
		asset, err := pb.asset(it)
		if err != nil {
			return marquee.PlaylistRef{}, err
		}
		pl.Items = append(pl.Items, marquee.PlaylistItem{
			MediaID:    it.MediaID,
			SHA256:     asset.SHA256,
			DurationMS: it.DurationMS,
			Fit:        it.Fit,
			ValidFrom:  utcPtr(it.ValidFrom),
			ValidUntil: utcPtr(it.ValidUntil),
		})
		if !pb.assets[asset.SHA256] {
			pb.assets[asset.SHA256] = true
			pb.st.Media = append(pb.st.Media, asset)
		}
	}
	pb.st.Playlists = append(pb.st.Playlists, pl)
	pb.refs[playlistID] = ref
	return ref, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// asset returns the file a display of this size plays for the item: the
// rendition cut to its exact pixels for images, the original for videos.
func (pb *playlistBuilder) asset(it playlists.Item) (marquee.MediaAsset, error) {
	m, err := pb.b.store.FindMediaByID(pb.ctx, it.MediaID)
	if err != nil {
		return marquee.MediaAsset{}, fmt.Errorf("find media %s: %w", it.MediaID, err)
	}
	a := marquee.MediaAsset{MediaID: m.ID, Name: m.Name, Kind: string(m.Kind), MIME: m.MIME}
	if m.Kind == media.KindVideo {
		a.SHA256, a.Size, a.Width, a.Height, a.DurationMS = m.SHA256, m.Size, m.Width, m.Height, m.DurationMS
		a.URL = pb.b.urls.ContentURL(m.ID)
		return a, nil
	}
	fit, err := media.ParseFit(it.Fit)
	if err != nil {
		return marquee.MediaAsset{}, err
	}
	w, h := pb.d.Width, pb.d.Height
	r, err := pb.b.rend.Rendition(pb.ctx, m.ID, w, h, fit)
	if err != nil {
		return marquee.MediaAsset{}, fmt.Errorf("rendition of %s at %dx%d: %w", m.ID, w, h, err)
	}
	sum, err := pb.b.fileSum(r.Path)
	if err != nil {
		return marquee.MediaAsset{}, err
	}
	a.SHA256, a.Size, a.Width, a.Height, a.MIME = sum.sha, sum.size, r.Width, r.Height, r.MIME
	a.URL = pb.b.urls.RenditionURL(m.ID, w, h, string(fit))
	return a, nil
}

// RenditionQuery is the query string of a rendition URL, shared by URL
// builders so the manifest and the route agree.
func RenditionQuery(w, h int, fit string) string {
	return url.Values{"w": {strconv.Itoa(w)}, "h": {strconv.Itoa(h)}, "fit": {fit}}.Encode()
}
