package loadtest

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a set of latencies. Missing counts the members that
// never got there (within the timeout); they are not in the percentiles.
type Dist struct {
	N       int     `json:"n"` // members that got there
	Missing int     `json:"missing"`
	MinMS   float64 `json:"min_ms"`
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
	MaxMS   float64 `json:"max_ms"`
}

// newDist summarises ds (nearest-rank percentiles); missing is carried.
func newDist(ds []time.Duration, missing int) Dist {
	d := Dist{N: len(ds), Missing: missing}
	if len(ds) == 0 {
		return d
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	d.MinMS = ms(s[0])
	d.P50MS = ms(s[rank(len(s), 0.50)])
	d.P99MS = ms(s[rank(len(s), 0.99)])
	d.MaxMS = ms(s[len(s)-1])
	return d
}

// rank is the 0-based index of the nearest-rank q-quantile of n values.
func rank(n int, q float64) int {
	return max(int(math.Ceil(q*float64(n)))-1, 0)
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// latencies turns arrival instants (Unix nanoseconds, 0 = never) into
// durations since t0, and counts the missing ones.
func latencies(t0 time.Time, at []int64) (ds []time.Duration, missing int) {
	for _, ns := range at {
		if ns == 0 {
			missing++
			continue
		}
		ds = append(ds, time.Unix(0, ns).Sub(t0))
	}
	return ds, missing
}

// histBucket is the resolution of a Hist.
const histBucket = 50 * time.Millisecond

// Hist is a weighted histogram of durations in 50 ms buckets, which merges
// across processes (percentiles do not). The key is the bucket's index.
type Hist map[int64]uint64

func (h Hist) add(d time.Duration, weight uint64) {
	if weight == 0 {
		return
	}
	h[int64(max(d, 0)/histBucket)] += weight
}

func (h Hist) merge(o Hist) {
	for k, v := range o {
		h[k] += v
	}
}

// dist summarises h; each value is its bucket's upper bound, so the
// figures are pessimistic by up to one bucket.
func (h Hist) dist() Dist {
	var total uint64
	keys := make([]int64, 0, len(h))
	for k, v := range h {
		keys = append(keys, k)
		total += v
	}
	if total == 0 {
		return Dist{}
	}
	slices.Sort(keys)
	at := func(q float64) float64 {
		want := uint64(rank(int(total), q)) + 1
		var cum uint64
		for _, k := range keys {
			cum += h[k]
			if cum >= want {
				return ms(time.Duration(k+1) * histBucket)
			}
		}
		return ms(time.Duration(keys[len(keys)-1]+1) * histBucket)
	}
	return Dist{N: int(min(total, math.MaxInt32)), MinMS: ms(time.Duration(keys[0]+1) * histBucket),
		P50MS: at(0.50), P99MS: at(0.99), MaxMS: ms(time.Duration(keys[len(keys)-1]+1) * histBucket)}
}
