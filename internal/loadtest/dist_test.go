package loadtest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewDist(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := newDist(ds, 3)
	want := Dist{N: 100, Missing: 3, MinMS: 1, P50MS: 50, P99MS: 99, MaxMS: 100}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newDist (-want +got):\n%s", diff)
	}
	if got := newDist(nil, 2); got != (Dist{Missing: 2}) {
		t.Errorf("newDist(nil, 2) = %+v", got)
	}
	if got := newDist([]time.Duration{1500 * time.Microsecond}, 0); got.P50MS != 1.5 || got.P99MS != 1.5 {
		t.Errorf("one value: %+v, want 1.5 ms everywhere", got)
	}
}

func TestLatencies(t *testing.T) {
	t0 := time.Unix(100, 0)
	ds, missing := latencies(t0, []int64{0, t0.Add(20 * time.Millisecond).UnixNano(), 0, t0.Add(time.Second).UnixNano()})
	if missing != 2 || len(ds) != 2 || ds[0] != 20*time.Millisecond || ds[1] != time.Second {
		t.Fatalf("latencies = %v, %d", ds, missing)
	}
}

func TestHist(t *testing.T) {
	a, b := Hist{}, Hist{}
	a.add(10*time.Millisecond, 98) // bucket 0: ≤ 50 ms
	b.add(120*time.Millisecond, 1) // bucket 2: ≤ 150 ms
	b.add(4*time.Second, 1)        // bucket 80: ≤ 4050 ms
	b.add(time.Second, 0)          // no weight, no bucket
	a.merge(b)
	got := a.dist()
	want := Dist{N: 100, MinMS: 50, P50MS: 50, P99MS: 150, MaxMS: 4050}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dist (-want +got):\n%s", diff)
	}
	if got := (Hist{}).dist(); got != (Dist{}) {
		t.Errorf("empty: %+v", got)
	}
}

func TestProcField(t *testing.T) {
	b := []byte("Name:\tx\nVmRSS:\t  1234 kB\nThreads:\t7\n")
	if v, ok := procField(b, "VmRSS:"); !ok || v != 1234<<10 {
		t.Errorf("VmRSS = %d, %v", v, ok)
	}
	if v, ok := procField(b, "Threads:"); !ok || v != 7 {
		t.Errorf("Threads = %d, %v", v, ok)
	}
	if _, ok := procField(b, "VmHWM:"); ok {
		t.Error("VmHWM found")
	}
}

func TestBytesIEC(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 1536: "1.50 KiB", 362 << 10: "362 KiB", 1010 << 20: "0.99 GiB", 3 << 30: "3.00 GiB", -2048: "-2.00 KiB", 99 << 20: "99.0 MiB"} {
		if got := bytesIEC(n); got != want {
			t.Errorf("bytesIEC(%d) = %q, want %q", n, got, want)
		}
	}
}
