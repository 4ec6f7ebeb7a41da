package scheduler

import (
	"cmp"
	"math"
	"slices"
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// The kinds of Reason.
const (
	ReasonSchedule = "schedule" // a rule's playlist
	ReasonFallback = "fallback" // the display's fallback playlist
	ReasonIdle     = "idle"     // nothing: the screen is black
)

// Reason says why something is on screen.
type Reason struct {
	Kind       string `json:"kind"`                  // ReasonSchedule, ReasonFallback or ReasonIdle
	ScheduleID string `json:"schedule_id,omitempty"` // the rule's schedule when Kind is ReasonSchedule
}

// Now is what a display shows at one instant.
type Now struct {
	// Playlist is the playlist revision on screen; nil when the screen is
	// black. Playlist and Item point into the Plan and must not be modified.
	Playlist  *marquee.PlaylistRef
	ItemIndex int                   // index into that revision's Items; -1 when black
	Item      *marquee.PlaylistItem // nil when black
	// Start and End bound the item's slot in the loop: Start <= t < End.
	// Start may precede the instant the item became visible (the loop runs
	// on the clock even while pre-empted); End may follow the instant it
	// stops being visible (Next). When black, Start is t and End is Next.
	Start, End time.Time
	Offset     time.Duration // t - Start: how far into the item to seek
	Layer      marquee.Layer // the rule's layer; LayerFallback for the fallback; "" when black
	Reason     Reason
	// Next is the earliest instant after t at which the answer may differ:
	// t < Next <= End. When black and nothing can ever start, it is
	// 2262-04-11T23:47:16.854775807Z.
	Next time.Time
}

// maxItem caps an item's duration; longer ones play as if this long.
const maxItem = int64(366 * 24 * time.Hour)

// Plan is a compiled desired state: everything At and Timeline need, parsed
// and indexed once. It is immutable and safe for concurrent use.
type Plan struct {
	rules    []rule                  // by layer, highest first; then by ScheduleID and the other fields
	layers   [5]struct{ lo, hi int } // rules[lo:hi] are on the layer of that rank
	fallback *playlist
	assets   map[string]*marquee.MediaAsset
}

// playlist is a playlist revision with its items' validity resolved into
// segments of time in which the set of playable items does not change.
type playlist struct {
	ref    marquee.PlaylistRef
	items  []marquee.PlaylistItem
	bounds []int64   // sorted distinct ValidFrom/ValidUntil instants
	segs   []segment // segs[s] covers [bounds[s-1], bounds[s])
}

// segment lists the playable items of a span of time.
type segment struct {
	idx []int32 // indexes into items, in playlist order
	cum []int64 // cum[k]: total duration of idx[:k]; len(idx)+1 entries
}

func (s *segment) dur(k int) int64 { return s.cum[k+1] - s.cum[k] }

// at returns the segment that contains t and the next validity boundary
// after t (never when none).
func (pl *playlist) at(t int64) (*segment, int64) {
	lo, hi := 0, len(pl.bounds)
	for lo < hi {
		if mid := int(uint(lo+hi) >> 1); pl.bounds[mid] <= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(pl.bounds) {
		return &pl.segs[lo], pl.bounds[lo]
	}
	return &pl.segs[lo], never
}

// Compile checks and compiles a desired state. Errors have code EINVALID and
// name the offending rule or playlist: a rule that fails CheckRule's checks
// on its own fields (a rule that never fires is accepted and never active),
// a rule whose playlist is missing, a playlist revision listed twice with
// different content, or anything DesiredState.Validate rejects.
func Compile(st *marquee.DesiredState) (*Plan, error) {
	if st == nil {
		return nil, marquee.Errorf(marquee.EINVALID, "no desired state")
	}
	pls := make(map[marquee.PlaylistRef]*playlist, len(st.Playlists))
	for i := range st.Playlists {
		src := &st.Playlists[i]
		ref := marquee.PlaylistRef{PlaylistID: src.PlaylistID, Revision: src.Revision}
		if prev, ok := pls[ref]; ok {
			if !sameItems(prev.items, src.Items) {
				return nil, marquee.Errorf(marquee.EINVALID, "playlist %s is listed twice with different items", ref)
			}
			continue
		}
		pls[ref] = compilePlaylist(ref, src.Items)
	}
	zones := map[string]*time.Location{}
	p := &Plan{rules: make([]rule, 0, len(st.Rules))}
	for i, r := range st.Rules {
		c, err := compileRule(r, zones)
		if err != nil {
			return nil, marquee.Errorf(marquee.EINVALID, "%s: %s", describe(r, i), err)
		}
		if c.pl = pls[r.Playlist]; c.pl == nil {
			return nil, marquee.Errorf(marquee.EINVALID, "%s: playlist %s is not in the state", describe(r, i), r.Playlist)
		}
		p.rules = append(p.rules, *c)
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	slices.SortFunc(p.rules, compareRules)
	p.rules = slices.CompactFunc(p.rules, func(a, b rule) bool { return a.src == b.src })
	k := 0
	for rank := len(p.layers) - 1; rank >= 0; rank-- {
		p.layers[rank].lo = k
		for k < len(p.rules) && p.rules[k].rank == rank {
			k++
		}
		p.layers[rank].hi = k
	}
	if st.Fallback != nil {
		p.fallback = pls[*st.Fallback]
	}
	p.assets = make(map[string]*marquee.MediaAsset, len(st.Media))
	for i := range st.Media {
		a := st.Media[i]
		p.assets[a.SHA256] = &a
	}
	return p, nil
}

// compareRules orders rules by layer, highest first, then by every field, so
// that the order of rules in the state never matters.
func compareRules(a, b rule) int {
	x, y := &a.src, &b.src
	return cmp.Or(
		cmp.Compare(b.rank, a.rank),
		cmp.Compare(x.ScheduleID, y.ScheduleID),
		cmp.Compare(x.Name, y.Name),
		cmp.Compare(x.Playlist.PlaylistID, y.Playlist.PlaylistID),
		cmp.Compare(x.Playlist.Revision, y.Playlist.Revision),
		cmp.Compare(x.Cron, y.Cron),
		cmp.Compare(x.DurationMS, y.DurationMS),
		cmp.Compare(x.StartsOn, y.StartsOn),
		cmp.Compare(x.EndsOn, y.EndsOn),
		cmp.Compare(x.Timezone, y.Timezone),
	)
}

func sameItems(a, b []marquee.PlaylistItem) bool {
	sameTime := func(x, y *time.Time) bool {
		return x == nil && y == nil || x != nil && y != nil && x.Equal(*y)
	}
	return slices.EqualFunc(a, b, func(x, y marquee.PlaylistItem) bool {
		return x.MediaID == y.MediaID && x.SHA256 == y.SHA256 && x.DurationMS == y.DurationMS &&
			x.Fit == y.Fit && sameTime(x.ValidFrom, y.ValidFrom) && sameTime(x.ValidUntil, y.ValidUntil)
	})
}

// compilePlaylist copies items (the Plan must not change when the state
// does) and splits time into segments by the items' validity.
func compilePlaylist(ref marquee.PlaylistRef, src []marquee.PlaylistItem) *playlist {
	pl := &playlist{ref: ref, items: make([]marquee.PlaylistItem, len(src))}
	var vf, vu []int64 // instants per item; openStart / never when unset
	for i, it := range src {
		f, u := openStart, never
		if it.ValidFrom != nil {
			v := *it.ValidFrom
			it.ValidFrom, f = &v, instant(v)
			pl.bounds = append(pl.bounds, f)
		}
		if it.ValidUntil != nil {
			v := *it.ValidUntil
			it.ValidUntil, u = &v, instant(v)
			pl.bounds = append(pl.bounds, u)
		}
		pl.items[i] = it
		vf, vu = append(vf, f), append(vu, u)
	}
	slices.Sort(pl.bounds)
	pl.bounds = slices.Compact(pl.bounds)
	pl.segs = make([]segment, len(pl.bounds)+1)
	for s := range pl.segs {
		x := openStart
		if s > 0 {
			x = pl.bounds[s-1]
		}
		seg := segment{cum: []int64{0}}
		for i, it := range pl.items {
			if vf[i] <= x && x < vu[i] {
				d := min(max(it.DurationMS, 1), maxItem/int64(time.Millisecond)) * int64(time.Millisecond)
				seg.idx = append(seg.idx, int32(i))
				seg.cum = append(seg.cum, satAdd(seg.cum[len(seg.cum)-1], d))
			}
		}
		pl.segs[s] = seg
	}
	return pl
}

// Asset returns the media asset with the given SHA-256 from the state's
// manifest, or nil.
func (p *Plan) Asset(sha256 string) *marquee.MediaAsset { return p.assets[sha256] }

// At returns what the display shows at instant t. It parses nothing and does
// not allocate; its cost is a few cron look-ups per rule on the winning
// layer and above.
func (p *Plan) At(t time.Time) Now {
	var buf [64]member
	ti := instant(t)
	o, _ := p.eval(ti, nil, buf[:0])
	if o.kind == kindIdle {
		return Now{ItemIndex: -1, Start: timeOf(ti), End: timeOf(o.boundary), Next: timeOf(o.boundary), Reason: Reason{Kind: ReasonIdle}}
	}
	n := Now{
		Playlist:  &o.m.pl.ref,
		ItemIndex: o.item,
		Item:      &o.m.pl.items[o.item],
		Start:     timeOf(o.start),
		End:       timeOf(o.end),
		Offset:    time.Duration(ti - o.start),
		Next:      timeOf(min(o.boundary, o.end)),
	}
	n.Layer, n.Reason = o.m.describe()
	return n
}

// The kinds of outcome.
const (
	kindIdle uint8 = iota
	kindFallback
	kindSchedule
)

// outcome is what eval decides at one instant.
type outcome struct {
	kind       uint8
	m          member // on screen
	item       int    // index into m.pl.items
	i, j       int    // position in the loop: round i, member j
	start, end int64  // the slot
	// boundary is the earliest instant after t at which a rule's window or an
	// item's validity may change the answer (not counting the slot's end).
	// When eval defers rules (At), it is exact only up to min(boundary, end).
	boundary int64
}

// member is one rule taking part in a loop, or the fallback (r nil).
type member struct {
	r   *rule
	pl  *playlist
	seg *segment // its playable items
}

func (m member) describe() (marquee.Layer, Reason) {
	if m.r == nil {
		return marquee.LayerFallback, Reason{Kind: ReasonFallback}
	}
	return m.r.src.Layer, Reason{Kind: ReasonSchedule, ScheduleID: m.r.src.ScheduleID}
}

// eval decides what plays at t. With sw nil it searches each rule's cron
// (At); otherwise it reads the windows sw precomputed (Timeline). Both give
// the same windows, so both give the same outcome. The loop's members are
// appended to buf[:0] (the caller's storage: At does not allocate).
func (p *Plan) eval(t int64, sw *sweep, buf []member) (o outcome, lp loop) {
	o.boundary = never
	lp.m = buf[:0]
	lp.anchor = math.MinInt64
	// Rules that cannot start before their StartsOn: their next start is
	// looked up only if it could come before the answer's Next (At only).
	var deferred [32]int32
	nd := 0
	for rank := len(p.layers) - 1; rank >= 0 && len(lp.m) == 0; rank-- {
		for k := p.layers[rank].lo; k < p.layers[rank].hi; k++ {
			r := &p.rules[k]
			if sw == nil && r.cron != nil && t < r.start && nd < len(deferred) {
				deferred[nd] = int32(k)
				nd++
				continue
			}
			var ws, next int64
			var active bool
			if sw != nil && r.cron != nil {
				ws, active, next = sw.window(k, r, t)
			} else {
				ws, active, next = r.window(t)
			}
			if !active {
				o.boundary = min(o.boundary, next)
				continue
			}
			we := r.end
			if r.cron != nil {
				we = ws + r.dur
			}
			seg, vnext := r.pl.at(t)
			if len(seg.idx) == 0 {
				// Matters again when an item becomes valid within this
				// window, or when a later fire extends it.
				o.boundary = min(o.boundary, next)
				if vnext < we {
					o.boundary = min(o.boundary, vnext)
				}
				continue
			}
			lp.m = append(lp.m, member{r: r, pl: r.pl, seg: seg})
			lp.anchor = max(lp.anchor, ws)
			o.boundary = min(o.boundary, we, next, vnext)
		}
	}
	if len(lp.m) > 0 {
		o.kind = kindSchedule
	} else if p.fallback != nil {
		seg, vnext := p.fallback.at(t)
		o.boundary = min(o.boundary, vnext)
		if len(seg.idx) > 0 {
			lp.m = append(lp.m, member{pl: p.fallback, seg: seg})
			lp.anchor = 0 // the fallback loops from the Unix epoch
			o.kind = kindFallback
		}
	}
	limit := o.boundary
	if o.kind != kindIdle {
		lp.setup()
		o.i, o.j, o.start, o.end = lp.locate(t)
		o.m = lp.m[o.j]
		o.item = int(o.m.seg.idx[o.i%len(o.m.seg.idx)])
		limit = min(limit, o.end)
	}
	for _, k := range deferred[:nd] {
		if r := &p.rules[k]; r.start < limit {
			_, _, next := r.window(t)
			o.boundary = min(o.boundary, next)
			limit = min(limit, next)
		}
	}
	return o, lp
}

// loop is the share-of-voice loop of the members on the winning layer:
// round i plays, for each member j in order, its playable item i mod n_j,
// for rounds = max n_j; it repeats from anchor.
type loop struct {
	m      []member
	anchor int64
	rounds int
	length int64 // total duration of one loop; saturates at MaxInt64
}

func (lp *loop) setup() {
	lp.rounds = 0
	for _, m := range lp.m {
		lp.rounds = max(lp.rounds, len(m.seg.idx))
	}
	lp.length = 0
	for _, m := range lp.m {
		n := len(m.seg.idx)
		q, r := int64(lp.rounds/n), lp.rounds%n
		lp.length = satAdd(lp.length, satAdd(satMul(q, m.seg.cum[n]), m.seg.cum[r]))
	}
}

// locate returns the slot of the loop that contains t.
func (lp *loop) locate(t int64) (i, j int, start, end int64) {
	// (t - anchor) mod length, in unsigned arithmetic: the difference of
	// two instants may not fit an int64.
	L := uint64(lp.length)
	var pos int64
	if t >= lp.anchor {
		pos = int64((uint64(t) - uint64(lp.anchor)) % L)
	} else if r := (uint64(lp.anchor) - uint64(t)) % L; r != 0 {
		pos = int64(L - r)
	}
	if len(lp.m) == 1 { // one member: its items in order
		cum := lp.m[0].seg.cum
		k, _ := slices.BinarySearch(cum, pos+1) // first cum > pos
		return k - 1, 0, t - (pos - cum[k-1]), t - (pos - cum[k-1]) + (cum[k] - cum[k-1])
	}
	var acc int64
	for i := 0; i < lp.rounds; i++ {
		for j, m := range lp.m {
			d := m.seg.dur(i % len(m.seg.idx))
			if pos-acc < d {
				start = t - (pos - acc)
				return i, j, start, start + d
			}
			acc += d
		}
	}
	// Unreachable: pos < length. A player must not crash, so answer the
	// loop's first slot rather than panic.
	return 0, 0, t, t + lp.m[0].seg.dur(0)
}

// advance returns the loop position after (i, j).
func (lp *loop) advance(i, j int) (int, int) {
	if j++; j == len(lp.m) {
		j = 0
		if i++; i == lp.rounds {
			i = 0
		}
	}
	return i, j
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}
