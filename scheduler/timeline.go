package scheduler

import (
	"time"

	marquee "github.com/marquee-signage/marquee"
)

// Entry is one stretch of a timeline during which the display shows one item
// (or nothing) for one reason.
type Entry struct {
	Start     time.Time            `json:"start"`
	End       time.Time            `json:"end"`
	Playlist  *marquee.PlaylistRef `json:"playlist,omitempty"` // nil when black; points into the Plan
	ItemIndex int                  `json:"item_index"`         // -1 when black
	MediaID   string               `json:"media_id,omitempty"`
	SHA256    string               `json:"sha256,omitempty"`
	Layer     marquee.Layer        `json:"priority,omitempty"`
	Reason    Reason               `json:"reason"`
}

// Timeline returns what the display shows over [from, to), in order: the
// entries tile [from, to) without gaps or overlaps, clipped to it. It is
// exactly what stepping At from from to each answer's Next gives, with
// consecutive answers for the same slot (or consecutive black answers)
// merged into one entry; it is computed faster, by enumerating each rule's
// fire times once and walking the loop between changes. At most limit
// entries are returned (limit <= 0: no limit); truncated reports that more
// would follow before to. Times are in UTC.
func (p *Plan) Timeline(from, to time.Time, limit int) (entries []Entry, truncated bool) {
	f, e := instant(from), instant(to)
	if f >= e {
		return nil, false
	}
	// Count first, then fill a slice of the right size: the walk is cheap,
	// growing a slice of tens of thousands of entries is not.
	sw := p.newSweep(f, e)
	n, _ := p.timeline(f, e, limit, sw, nil)
	entries = make([]Entry, 0, n)
	sw.rewind()
	_, truncated = p.timeline(f, e, limit, sw, &entries)
	return entries, truncated
}

// timeline walks [f, e) and appends entries to *out, or only counts them
// when out is nil.
func (p *Plan) timeline(f, e int64, limit int, sw *sweep, out *[]Entry) (n int, truncated bool) {
	type slotKey struct { // what makes two answers the same: what an Entry shows
		kind       uint8
		layer      marquee.Layer
		reason     Reason
		pl         *playlist
		item       int
		start, end int64
	}
	var last slotKey
	var lp loop
	for t := f; t < e; {
		var o outcome
		o, lp = p.eval(t, sw, lp.m)
		if o.kind == kindIdle {
			end := min(o.boundary, e)
			switch {
			case n > 0 && last.kind == kindIdle:
				if out != nil {
					(*out)[n-1].End = timeOf(end)
				}
			case limit > 0 && n >= limit:
				return n, true
			default:
				if out != nil {
					*out = append(*out, Entry{Start: timeOf(t), End: timeOf(end), ItemIndex: -1, Reason: Reason{Kind: ReasonIdle}})
				}
				n++
				last = slotKey{kind: kindIdle}
			}
			t = end
			continue
		}
		// Until the next change of rules or validity, the answer at each
		// slot's end is the loop's next slot: walk it.
		for {
			end := min(o.end, o.boundary, e)
			// Two rules of one schedule can hand over the same slot
			// (one's window ends inside it while the other's goes on):
			// that is one entry, as stepping At gives it.
			layer, reason := o.m.describe()
			key := slotKey{o.kind, layer, reason, o.m.pl, o.item, o.start, o.end}
			switch {
			case n > 0 && key == last:
				if out != nil {
					(*out)[n-1].End = timeOf(end)
				}
			case limit > 0 && n >= limit:
				return n, true
			default:
				if out != nil {
					it := &o.m.pl.items[o.item]
					*out = append(*out, Entry{
						Start: timeOf(t), End: timeOf(end),
						Playlist: &o.m.pl.ref, ItemIndex: o.item, MediaID: it.MediaID, SHA256: it.SHA256,
						Layer: layer, Reason: reason,
					})
				}
				n++
				last = key
			}
			if t = end; t >= o.boundary || t >= e {
				break
			}
			o.i, o.j = lp.advance(o.i, o.j)
			o.m = lp.m[o.j]
			k := o.i % len(o.m.seg.idx)
			o.item = int(o.m.seg.idx[k])
			o.start, o.end = o.end, o.end+o.m.seg.dur(k)
		}
	}
	return n, false
}

// sweep holds every rule's in-range fire times that matter for [from, to):
// those after from minus the rule's duration, up to and including the first
// at or after to. Queries must come in non-decreasing order of t.
type sweep struct {
	fires [][]int64 // by rule index; nil for all-day rules
	pos   []int     // by rule index: fires before pos are <= the last t
}

func (p *Plan) newSweep(from, to int64) *sweep {
	sw := &sweep{fires: make([][]int64, len(p.rules)), pos: make([]int, len(p.rules))}
	for k := range p.rules {
		r := &p.rules[k]
		if r.cron == nil {
			continue
		}
		x := from - r.dur
		if r.start != openStart && x < r.start-1 {
			x = r.start - 1
		}
		var fs []int64
		for f := r.cron.next(x); f < r.end; f = r.cron.next(f) {
			fs = append(fs, f)
			if f >= to {
				break
			}
		}
		sw.fires[k] = fs
	}
	return sw
}

// rewind lets the sweep answer from the start again.
func (sw *sweep) rewind() { clear(sw.pos) }

// window answers as rule.window does, from the precomputed fire times.
func (sw *sweep) window(k int, r *rule, t int64) (ws int64, active bool, next int64) {
	fs := sw.fires[k]
	i := sw.pos[k]
	for i < len(fs) && fs[i] <= t {
		i++
	}
	sw.pos[k] = i
	next = never
	if i < len(fs) {
		next = fs[i]
	}
	if i > 0 && t < fs[i-1]+r.dur {
		return fs[i-1], true, next
	}
	return 0, false, next
}
