package desired

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// Building many displays at once.
//
// When one schedule, playlist or media item changes, every display it
// reaches is rebuilt; those displays share most of what their states are
// made of: the schedules, the playlist revisions, the media, and — per
// screen size — the renditions. A Batch loads each of those once and builds
// each display from them, so that per display only its own work remains:
// which schedules reach it, its state's hash and revision, and its save.
// A Store that implements the optional interfaces below also loads and
// saves the displays of a chunk in a few statements instead of a few per
// display.

// DisplaysFinder is implemented by a Store that loads many displays at once
// (sqlstore.DB does). Without it a Batch calls FindDisplayByID per display.
type DisplaysFinder interface {
	// FindDisplaysForTargets returns the displays t reaches, with their
	// tags; unknown IDs reach nothing.
	FindDisplaysForTargets(ctx context.Context, t schedules.Targets) ([]*displays.Display, error)
}

// SchedulesFinder is implemented by a Store that finds the schedules of many
// displays at once (sqlstore.DB does). Without it a Batch calls
// FindLiveSchedulesForDisplay per display.
type SchedulesFinder interface {
	// FindLiveSchedulesReaching returns, for each of the displays, the
	// schedules whose approved version reaches it — exactly those
	// FindLiveSchedulesForDisplay returns for it — with their approved
	// versions, ordered by ID. A display that nothing reaches, or that
	// does not exist, has no entry.
	FindLiveSchedulesReaching(ctx context.Context, displayIDs []string) (map[string][]*schedules.Schedule, error)
}

// StatesFinder is implemented by a Store that reads many stored states at
// once. Without it a Batch calls FindDisplayState per display.
type StatesFinder interface {
	// FindDisplayStates returns the stored state of each of displayIDs
	// that has one, keyed by display ID (absent: none stored; Refs nil, as
	// FindDisplayState).
	FindDisplayStates(ctx context.Context, displayIDs []string) (map[string]*Stored, error)
}

// StatesSaver is implemented by a Store that saves many states in one
// transaction. Without it a Batch calls SaveDisplayState per state.
type StatesSaver interface {
	// SaveDisplayStates saves each of saves as SaveDisplayState would, all
	// in one transaction. errs[i] is the outcome of saves[i]: nil (saved),
	// ECONFLICT (the stored revision is not saves[i].PrevRevision; nothing
	// is written for it) or ENOTFOUND (no such display); one state's
	// failure does not undo the others. A non-nil err means nothing was
	// saved.
	SaveDisplayStates(ctx context.Context, saves []StateSave) (errs []error, err error)
}

// StateSave is one state for StatesSaver to save.
type StateSave struct {
	State        *Stored
	PrevRevision int64 // as for SaveDisplayState
}

// Result is the outcome of building one display's state.
type Result struct {
	DisplayID string
	// State is the display's current state (nil when Err is set). States
	// of one Batch may share pointers (item validity times): treat them
	// as read-only.
	State *marquee.DesiredState
	// Changed reports whether a new revision was stored.
	Changed bool
	// JSON is State encoded as json.Marshal does, when this build saved it
	// (nil otherwise).
	JSON []byte
	Err  error
}

// batchChunk bounds the displays a Batch locks, loads and saves together.
const batchChunk = 256

// Batch builds the states of many displays, each as State would, loading
// what they share once. Create one per round of rebuilds (NewBatch) and
// drop it after. It is safe for concurrent use.
//
// What a Batch loaded may be older than a state saved meanwhile by another
// build (a player fetching its state, another round, another server on the
// same database): before building displays of which one was saved since
// the Batch began its snapshot — through this Builder, or with an
// UpdatedAt after the snapshot's start by the Builder's clock — the Batch
// starts a new snapshot, so that it never stores older content over newer.
type Batch struct {
	b *Builder

	mu   sync.Mutex
	snap *snapshot
}

// snapshot is what a Batch loaded since b.seq was start, at the instant at.
type snapshot struct {
	start     uint64
	at        time.Time
	playlists memo[marquee.PlaylistRef, *playlists.Playlist] // Revision 0: the current one
	media     memo[string, *media.Item]
	assets    memo[assetKey, marquee.MediaAsset]
	built     memo[builtKey, *builtPlaylist]
}

type assetKey struct {
	mediaID, fit string
	w, h         int
}

type builtKey struct {
	ref  marquee.PlaylistRef // as asked for: Revision 0 is the current one
	w, h int
}

// NewBatch returns a Batch that builds with b.
func (b *Builder) NewBatch() *Batch {
	return &Batch{b: b, snap: b.newSnapshot()}
}

func (b *Builder) newSnapshot() *snapshot {
	return &snapshot{start: b.seq.Load(), at: b.now()}
}

// current returns the snapshot to build displays whose locks the caller
// holds, saved through the Builder at seq saved at the latest: the current
// one, or a new one if that began before.
func (bt *Batch) current(saved uint64) *snapshot {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if saved > bt.snap.start {
		// The save happened before the caller took the display's lock,
		// so before this: the new snapshot loads data at least as new as
		// the saved state's.
		bt.snap = bt.b.newSnapshot()
	}
	return bt.snap
}

// renew returns a new snapshot in place of old, unless another goroutine
// already replaced it.
func (bt *Batch) renew(old *snapshot) *snapshot {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.snap == old {
		bt.snap = bt.b.newSnapshot()
	}
	return bt.snap
}

// savedSince reports whether one of the stored states was saved after the
// snapshot began, by its UpdatedAt (kept to the millisecond): by another
// Builder, which the Builder's seq does not see.
func (sn *snapshot) savedSince(prevs map[string]*Stored) bool {
	at := sn.at.Truncate(time.Millisecond)
	for _, p := range prevs {
		if p.UpdatedAt.After(at) {
			return true
		}
	}
	return false
}

// States returns the current desired state of each display, as State does
// — rebuilt, and saved with a new revision when its content changed — one
// Result per ID, in the order of ids. A display's failure is in its Result
// and does not stop the others.
func (b *Builder) States(ctx context.Context, ids []string) []Result {
	return b.NewBatch().States(ctx, ids)
}

// States is Builder.States within the batch. Displays are built in chunks
// of up to 256, in ID order, each chunk under its displays' locks, with
// their stored states read and saved together.
func (bt *Batch) States(ctx context.Context, ids []string) []Result {
	order := slices.Clone(ids)
	slices.Sort(order)
	order = slices.Compact(order)
	byID := make(map[string]Result, len(order))
	for len(order) > 0 {
		n := min(len(order), batchChunk)
		for _, r := range bt.chunk(ctx, order[:n]) {
			byID[r.DisplayID] = r
		}
		order = order[n:]
	}
	out := make([]Result, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out
}

// chunk builds the displays ids, sorted and distinct.
func (bt *Batch) chunk(ctx context.Context, ids []string) []Result {
	b := bt.b
	res := make([]Result, len(ids))
	locks := make([]*displayLock, len(ids))
	var lastSave uint64
	for i, id := range ids { // in ID order: two batches cannot deadlock
		res[i].DisplayID = id
		locks[i] = b.displayLock(id)
		locks[i].Lock()
		lastSave = max(lastSave, locks[i].saved)
	}
	defer func() {
		for _, l := range locks {
			l.Unlock()
		}
	}()
	snap := bt.current(lastSave)

	failAll := func(err error) []Result {
		for i := range res {
			res[i] = Result{DisplayID: ids[i], Err: err}
		}
		return res
	}
	if err := ctx.Err(); err != nil {
		return failAll(err)
	}
	now := b.now()
	ds, err := bt.findDisplays(ctx, ids)
	if err != nil {
		return failAll(err)
	}
	var present []string
	for i, id := range ids {
		if ds[id] == nil {
			res[i].Err = marquee.Errorf(marquee.ENOTFOUND, "display %q not found", id)
		} else {
			present = append(present, id)
		}
	}
	failed := map[string]error{} // by the one-display fallbacks
	scheds, err := bt.findSchedules(ctx, present, failed)
	if err != nil {
		return failAll(err)
	}
	prevs, err := bt.findStates(ctx, present, failed)
	if err != nil {
		return failAll(err)
	}
	if snap.savedSince(prevs) {
		snap = bt.renew(snap)
	}

	// Build, and decide what to save.
	src := &batchSource{b: b, snap: snap, now: now, rules: map[string]ruleInfo{}}
	var (
		saves []StateSave
		saved []int // index in ids of each save
	)
	for i, id := range ids {
		d := ds[id]
		if d == nil {
			continue
		}
		if err := failed[id]; err != nil {
			res[i].Err = err
			continue
		}
		st, err := assemble(ctx, src, d, scheds[id])
		if err != nil {
			res[i].Err = err
			continue
		}
		hash, err := contentHash(st)
		if err != nil {
			res[i].Err = err
			continue
		}
		sv, changed := revise(st, hash, prevs[id])
		if sv == nil {
			res[i].State = st
			continue
		}
		s, err := b.stored(st, hash, src.nextPrune(st))
		if err != nil {
			res[i].Err = err
			continue
		}
		res[i] = Result{DisplayID: id, State: st, Changed: changed, JSON: s.JSON}
		saves = append(saves, StateSave{State: s, PrevRevision: sv.prevRevision})
		saved = append(saved, i)
	}

	errs := bt.saveStates(ctx, saves)
	for k, i := range saved {
		if errs[k] != nil {
			res[i] = Result{DisplayID: ids[i], Err: fmt.Errorf("save display state: %w", errs[k])}
			continue
		}
		locks[i].saved = b.seq.Add(1)
	}
	return res
}

// findDisplays returns the displays of ids that exist, by ID.
func (bt *Batch) findDisplays(ctx context.Context, ids []string) (map[string]*displays.Display, error) {
	out := make(map[string]*displays.Display, len(ids))
	if f, ok := bt.b.store.(DisplaysFinder); ok {
		ds, err := f.FindDisplaysForTargets(ctx, schedules.Targets{DisplayIDs: ids})
		if err != nil {
			return nil, fmt.Errorf("find displays: %w", err)
		}
		for _, d := range ds {
			out[d.ID] = d
		}
		return out, nil
	}
	for _, id := range ids {
		d, err := bt.b.store.FindDisplayByID(ctx, id)
		switch {
		case err == nil:
			out[id] = d
		case marquee.ErrorCode(err) != marquee.ENOTFOUND:
			return nil, err
		}
	}
	return out, nil
}

// findSchedules returns the schedules that reach each of ids, ordered by
// ID. Without a SchedulesFinder, one display's failure is recorded in
// failed.
func (bt *Batch) findSchedules(ctx context.Context, ids []string, failed map[string]error) (map[string][]*schedules.Schedule, error) {
	f, ok := bt.b.store.(SchedulesFinder)
	if !ok {
		out := make(map[string][]*schedules.Schedule, len(ids))
		for _, id := range ids {
			scs, err := bt.b.store.FindLiveSchedulesForDisplay(ctx, id)
			if err != nil {
				failed[id] = fmt.Errorf("find schedules: %w", err)
			}
			out[id] = scs
		}
		return out, nil
	}
	if len(ids) == 0 {
		return map[string][]*schedules.Schedule{}, nil
	}
	out, err := f.FindLiveSchedulesReaching(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find schedules: %w", err)
	}
	for _, scs := range out {
		if !slices.IsSortedFunc(scs, func(a, b *schedules.Schedule) int { return cmpString(a.ID, b.ID) }) {
			slices.SortFunc(scs, func(a, b *schedules.Schedule) int { return cmpString(a.ID, b.ID) })
		}
	}
	return out, nil
}

// findStates returns the stored state of each of ids that has one. Without
// a StatesFinder, one display's failure is recorded in failed.
func (bt *Batch) findStates(ctx context.Context, ids []string, failed map[string]error) (map[string]*Stored, error) {
	if f, ok := bt.b.store.(StatesFinder); ok {
		if len(ids) == 0 {
			return map[string]*Stored{}, nil
		}
		m, err := f.FindDisplayStates(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("find display states: %w", err)
		}
		return m, nil
	}
	out := make(map[string]*Stored, len(ids))
	for _, id := range ids {
		if failed[id] != nil {
			continue
		}
		s, err := bt.b.store.FindDisplayState(ctx, id)
		switch {
		case err == nil:
			out[id] = s
		case marquee.ErrorCode(err) != marquee.ENOTFOUND:
			failed[id] = fmt.Errorf("find display state: %w", err)
		}
	}
	return out, nil
}

// saveStates saves saves and returns the outcome of each.
func (bt *Batch) saveStates(ctx context.Context, saves []StateSave) []error {
	errs := make([]error, len(saves))
	if len(saves) == 0 {
		return errs
	}
	if f, ok := bt.b.store.(StatesSaver); ok {
		got, err := f.SaveDisplayStates(ctx, saves)
		switch {
		case err != nil:
			for k := range errs {
				errs[k] = err
			}
		case len(got) != len(saves):
			for k := range errs {
				errs[k] = fmt.Errorf("store answered %d outcomes for %d states", len(got), len(saves))
			}
		default:
			copy(errs, got)
		}
		return errs
	}
	for k, sv := range saves {
		errs[k] = bt.b.store.SaveDisplayState(ctx, sv.State, sv.PrevRevision)
	}
	return errs
}

// batchSource is the source of one chunk of a Batch: the rules of the
// chunk's schedules at its build instant, and the snapshot's playlists.
type batchSource struct {
	b     *Builder
	snap  *snapshot
	now   time.Time
	rules map[string]ruleInfo // schedule ID → rule; one goroutine
}

type ruleInfo struct {
	r        marquee.Rule
	live     bool
	expires  time.Time // expiresAt(r)
	expireOK bool
}

func (s *batchSource) info(sc *schedules.Schedule) ruleInfo {
	if ri, ok := s.rules[sc.ID]; ok {
		return ri
	}
	r, approved := ruleOf(sc)
	ri := ruleInfo{r: r, live: approved && !expired(r, s.now)}
	ri.expires, ri.expireOK = expiresAt(r)
	s.rules[sc.ID] = ri
	return ri
}

func (s *batchSource) rule(sc *schedules.Schedule) (marquee.Rule, bool) {
	ri := s.info(sc)
	return ri.r, ri.live
}

// nextPrune is NextPrune(st) for a state assembled from s.
func (s *batchSource) nextPrune(st *marquee.DesiredState) time.Time {
	var next time.Time
	for _, r := range st.Rules {
		ri, ok := s.rules[r.ScheduleID]
		if !ok {
			return NextPrune(st)
		}
		if ri.expireOK && (next.IsZero() || ri.expires.Before(next)) {
			next = ri.expires
		}
	}
	return next
}

func (s *batchSource) playlist(ctx context.Context, ref marquee.PlaylistRef, w, h int) (*builtPlaylist, error) {
	b, snap := s.b, s.snap
	return snap.built.get(builtKey{ref, w, h}, func() (*builtPlaylist, error) {
		p, err := snap.playlists.get(ref, func() (*playlists.Playlist, error) { return b.findPlaylist(ctx, ref) })
		if err != nil {
			return nil, err
		}
		return buildPlaylist(p, func(it playlists.Item) (marquee.MediaAsset, error) {
			return snap.assets.get(assetKey{it.MediaID, it.Fit, w, h}, func() (marquee.MediaAsset, error) {
				m, err := snap.media.get(it.MediaID, func() (*media.Item, error) { return b.findMedia(ctx, it.MediaID) })
				if err != nil {
					return marquee.MediaAsset{}, err
				}
				return b.asset(ctx, m, it.Fit, w, h)
			})
		})
	})
}

// memo remembers what load returned for each key, successes only: a
// failure (a deleted playlist, a store error) is tried again by the next
// display that needs it, as a one-by-one build would. Two goroutines may
// load one key at once; both get what they loaded.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (c *memo[K, V]) get(k K, load func() (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[K]V{}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v, nil
}
