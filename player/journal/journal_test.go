package journal_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/player/journal"
)

func testPlay(i int) marquee.Play {
	start := time.Date(2025, 6, 5, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 10 * time.Second)
	return marquee.Play{
		ID:               fmt.Sprintf("play-%06d", i),
		DisplayID:        "dsp_lobby",
		MediaID:          "med_banner",
		MediaSHA256:      strings.Repeat("ab", 32),
		MediaName:        "Khuyến mãi mùa hè.png",
		PlaylistID:       "pls_summer",
		PlaylistRevision: 3,
		ScheduleID:       "sch_morning",
		Reason:           marquee.ReasonSchedule,
		StartedAt:        start,
		EndedAt:          start.Add(10 * time.Second),
		PlannedMS:        10000,
		PlayedMS:         10000,
		Completed:        true,
	}
}

func mustOpen(t testing.TB, dir string, opts journal.Options) *journal.Journal {
	t.Helper()
	j, err := journal.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func mustAppend(t testing.TB, j *journal.Journal, i int) uint64 {
	t.Helper()
	seq, err := j.Append(testPlay(i))
	if err != nil {
		t.Fatalf("Append(%d): %v", i, err)
	}
	return seq
}

func mustPending(t testing.TB, j *journal.Journal, after uint64, limit int) []marquee.JournaledPlay {
	t.Helper()
	got, err := j.Pending(after, limit)
	if err != nil {
		t.Fatalf("Pending(%d, %d): %v", after, limit, err)
	}
	return got
}

func seqs(ps []marquee.JournaledPlay) []uint64 {
	var out []uint64
	for _, p := range ps {
		out = append(out, p.Seq)
	}
	return out
}

func seqRange(lo, hi uint64) []uint64 {
	var out []uint64
	for s := lo; s <= hi; s++ {
		out = append(out, s)
	}
	return out
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	j := mustOpen(t, t.TempDir(), journal.Options{})
	for i := 1; i <= 10; i++ {
		if got, want := mustAppend(t, j, i), uint64(i); got != want {
			t.Fatalf("Append seq=%d, want %d", got, want)
		}
	}
	all := mustPending(t, j, 0, 100)
	if diff := cmp.Diff(seqRange(1, 10), seqs(all)); diff != "" {
		t.Fatalf("Pending seqs (-want +got):\n%s", diff)
	}
	for i, p := range all {
		if diff := cmp.Diff(testPlay(i+1), p.Play); diff != "" {
			t.Fatalf("play %d differs after the round trip (-want +got):\n%s", i+1, diff)
		}
	}
	if diff := cmp.Diff([]uint64{6, 7, 8}, seqs(mustPending(t, j, 5, 3))); diff != "" {
		t.Fatalf("Pending(5, 3) (-want +got):\n%s", diff)
	}
	if got := mustPending(t, j, 0, 0); got != nil {
		t.Fatalf("Pending with limit 0 = %v, want nil", got)
	}

	if err := j.Ack(4); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seqRange(5, 10), seqs(mustPending(t, j, 0, 100))); diff != "" {
		t.Fatalf("Pending after Ack(4) (-want +got):\n%s", diff)
	}
	if got, want := j.PendingCount(), 6; got != want {
		t.Fatalf("PendingCount=%d, want %d", got, want)
	}
	if err := j.Ack(2); err != nil { // below the mark: nothing happens
		t.Fatal(err)
	}
	if got, want := j.Acked(), uint64(4); got != want {
		t.Fatalf("Acked=%d after a lower ack, want %d", got, want)
	}
	if err := j.Ack(1000); err != nil { // beyond LastSeq: clamped
		t.Fatal(err)
	}
	if got, want := j.Acked(), uint64(10); got != want {
		t.Fatalf("Acked=%d after Ack(1000), want %d (clamped)", got, want)
	}
	if got := mustPending(t, j, 0, 100); len(got) != 0 {
		t.Fatalf("Pending after acking everything = %v, want none", seqs(got))
	}
	st := j.Stats()
	if st.Appended != 10 || st.Acked != 10 || st.Pending != 0 || st.LastSeq != 10 || st.AckedSeq != 10 {
		t.Fatalf("Stats=%+v", st)
	}
}

func TestAppendRefusesPlayWithoutID(t *testing.T) {
	j := mustOpen(t, t.TempDir(), journal.Options{})
	p := testPlay(1)
	p.ID = ""
	if _, err := j.Append(p); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("Append without ID: err=%v, want code %s", err, marquee.EINVALID)
	}
	if got := j.LastSeq(); got != 0 {
		t.Fatalf("LastSeq=%d after a refused append, want 0", got)
	}
}

func TestRestartKeepsUnackedAndSeqContinues(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{SegmentBytes: 2048, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		mustAppend(t, j, i)
	}
	if err := j.Ack(7); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, dir, journal.Options{SegmentBytes: 2048, MaxBytes: 1 << 20})
	if got, want := j.Acked(), uint64(7); got != want {
		t.Fatalf("Acked=%d after restart, want %d", got, want)
	}
	if got, want := j.LastSeq(), uint64(20); got != want {
		t.Fatalf("LastSeq=%d after restart, want %d", got, want)
	}
	if diff := cmp.Diff(seqRange(8, 20), seqs(mustPending(t, j, 0, 100))); diff != "" {
		t.Fatalf("Pending after restart (-want +got):\n%s", diff)
	}
	if got, want := j.PendingCount(), 13; got != want {
		t.Fatalf("PendingCount=%d, want %d", got, want)
	}
	if got, want := mustAppend(t, j, 21), uint64(21); got != want {
		t.Fatalf("Append after restart: seq=%d, want %d", got, want)
	}
}

func TestAckEverythingThenRestartContinuesSeq(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		mustAppend(t, j, i)
	}
	if err := j.Ack(5); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); len(got) != 0 {
		t.Fatalf("segments after acking everything: %v, want none", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, dir, journal.Options{})
	if got, want := j.LastSeq(), uint64(5); got != want {
		t.Fatalf("LastSeq=%d after restart with no segments, want %d", got, want)
	}
	if got, want := mustAppend(t, j, 6), uint64(6); got != want {
		t.Fatalf("seq=%d, want %d: seqs must never repeat", got, want)
	}
	if diff := cmp.Diff([]string{"seg-00000000000000000006.log"}, segmentFiles(t, dir)); diff != "" {
		t.Fatalf("segments (-want +got):\n%s", diff)
	}
}

// damage writes five records, closes the journal and lets f damage the one
// segment file.
func damage(t *testing.T, f func(b []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		mustAppend(t, j, i)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "seg-00000000000000000001.log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lineStart returns the offset of line n (0-based) in b.
func lineStart(b []byte, n int) int {
	off := 0
	for range n {
		off += strings.IndexByte(string(b[off:]), '\n') + 1
	}
	return off
}

func TestTornTail(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		pending []uint64
		next    uint64
	}{
		{"truncated mid-record", func(b []byte) []byte {
			return b[:lineStart(b, 4)+40]
		}, seqRange(1, 4), 5},
		{"byte flipped in the last record", func(b []byte) []byte {
			b[lineStart(b, 4)+60] ^= 0x20
			return b
		}, seqRange(1, 4), 5},
		{"newline lost in the last record", func(b []byte) []byte {
			return b[:len(b)-1]
		}, seqRange(1, 4), 5},
		{"zeros after the last record", func(b []byte) []byte {
			return append(b, make([]byte, 4096)...)
		}, seqRange(1, 5), 6},
		{"byte flipped in a middle record", func(b []byte) []byte {
			b[lineStart(b, 1)+3] ^= 0x01 // in the checksum itself
			return b
		}, []uint64{1, 3, 4, 5}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := damage(t, tt.damage)
			j := mustOpen(t, dir, journal.Options{})
			if got, want := j.Stats().Torn, uint64(1); got != want {
				t.Fatalf("Stats.Torn=%d, want %d", got, want)
			}
			if diff := cmp.Diff(tt.pending, seqs(mustPending(t, j, 0, 100))); diff != "" {
				t.Fatalf("Pending (-want +got):\n%s", diff)
			}
			if got, want := j.PendingCount(), len(tt.pending); got != want {
				t.Fatalf("PendingCount=%d, want %d", got, want)
			}
			if got := mustAppend(t, j, 99); got != tt.next {
				t.Fatalf("Append after recovery: seq=%d, want %d", got, tt.next)
			}
			want := append(tt.pending, tt.next)
			if diff := cmp.Diff(want, seqs(mustPending(t, j, 0, 100))); diff != "" {
				t.Fatalf("Pending after appending (-want +got):\n%s", diff)
			}
			// The repaired file reopens cleanly.
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			j = mustOpen(t, dir, journal.Options{})
			if got := j.Stats().Torn; got != 0 && tt.name != "byte flipped in a middle record" {
				t.Fatalf("Stats.Torn=%d on the second open, want 0 (tail truncated)", got)
			}
			if diff := cmp.Diff(want, seqs(mustPending(t, j, 0, 100))); diff != "" {
				t.Fatalf("Pending after reopening (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSegmentRotationAndDeletion(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, journal.Options{SegmentBytes: 1024, MaxBytes: 1 << 20})
	for i := 1; i <= 30; i++ {
		mustAppend(t, j, i)
	}
	files := segmentFiles(t, dir)
	if len(files) < 5 {
		t.Fatalf("segments=%v: want several of ≤ 1 KiB for 30 records", files)
	}
	if got, want := j.Stats().Segments, len(files); got != want {
		t.Fatalf("Stats.Segments=%d, want %d", got, want)
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1024 {
			t.Fatalf("%s is %d bytes, over SegmentBytes", f, fi.Size())
		}
	}

	if err := j.Ack(15); err != nil {
		t.Fatal(err)
	}
	after := segmentFiles(t, dir)
	if len(after) >= len(files) {
		t.Fatalf("segments after Ack(15): %v, want fewer than %v", after, files)
	}
	var first uint64
	fmt.Sscanf(after[0], "seg-%d.log", &first)
	if first > 16 {
		t.Fatalf("first remaining segment %s starts after 16: an unacked entry was deleted", after[0])
	}
	if diff := cmp.Diff(seqRange(16, 30), seqs(mustPending(t, j, 0, 100))); diff != "" {
		t.Fatalf("Pending (-want +got):\n%s", diff)
	}

	if err := j.Ack(30); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); len(got) != 0 {
		t.Fatalf("segments after acking everything: %v", got)
	}
	if got, want := mustAppend(t, j, 31), uint64(31); got != want {
		t.Fatalf("seq=%d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{"seg-00000000000000000031.log"}, segmentFiles(t, dir)); diff != "" {
		t.Fatalf("segments (-want +got):\n%s", diff)
	}
}

func TestMaxBytesDropsOldest(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{SegmentBytes: 1024, MaxBytes: 4096}
	j := mustOpen(t, dir, opts)
	const n = 100
	for i := 1; i <= n; i++ {
		mustAppend(t, j, i)
	}
	st := j.Stats()
	if st.Bytes > opts.MaxBytes {
		t.Fatalf("Stats.Bytes=%d, over MaxBytes %d", st.Bytes, opts.MaxBytes)
	}
	if st.Dropped == 0 {
		t.Fatal("Stats.Dropped=0, want the oldest entries dropped")
	}
	if got, want := st.Dropped+uint64(st.Pending), uint64(n); got != want {
		t.Fatalf("dropped %d + pending %d = %d, want %d", st.Dropped, st.Pending, got, want)
	}
	// What is left is the newest run, ending at the last append.
	lo := uint64(n) - uint64(st.Pending) + 1
	if diff := cmp.Diff(seqRange(lo, n), seqs(mustPending(t, j, 0, 1000))); diff != "" {
		t.Fatalf("Pending (-want +got):\n%s", diff)
	}
	var size int64
	for _, f := range segmentFiles(t, dir) {
		fi, _ := os.Stat(filepath.Join(dir, f))
		size += fi.Size()
	}
	if size > opts.MaxBytes {
		t.Fatalf("segments hold %d bytes on disk, over MaxBytes %d", size, opts.MaxBytes)
	}
	// Acking across the dropped range works, and the next seq is unaffected.
	if err := j.Ack(lo + 2); err != nil {
		t.Fatal(err)
	}
	if got, want := j.PendingCount(), st.Pending-3; got != want {
		t.Fatalf("PendingCount=%d, want %d", got, want)
	}
	if got, want := mustAppend(t, j, n+1), uint64(n+1); got != want {
		t.Fatalf("seq=%d, want %d", got, want)
	}
}

func TestOptionsValidated(t *testing.T) {
	_, err := journal.Open(t.TempDir(), journal.Options{SegmentBytes: 4096, MaxBytes: 4096})
	if marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("Open with MaxBytes < 2×SegmentBytes: err=%v, want code %s", err, marquee.EINVALID)
	}
}

func TestOpenTwiceConflicts(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, journal.Options{})
	if _, err := journal.Open(dir, journal.Options{}); marquee.ErrorCode(err) != marquee.ECONFLICT {
		t.Fatalf("second Open: err=%v, want code %s", err, marquee.ECONFLICT)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, 1)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := j.Append(testPlay(2)); !errors.Is(err, journal.ErrClosed) {
		t.Fatalf("Append after Close: err=%v, want ErrClosed", err)
	}
	if _, err := j.Pending(0, 10); !errors.Is(err, journal.ErrClosed) {
		t.Fatalf("Pending after Close: err=%v, want ErrClosed", err)
	}
	if err := j.Ack(1); !errors.Is(err, journal.ErrClosed) {
		t.Fatalf("Ack after Close: err=%v, want ErrClosed", err)
	}
	// Close released the directory.
	j2 := mustOpen(t, dir, journal.Options{})
	if got, want := j2.PendingCount(), 1; got != want {
		t.Fatalf("PendingCount=%d, want %d", got, want)
	}
}

// TestConcurrent runs appenders, an uploader (Pending + Ack) and the
// background fsync together; run it with -race.
func TestConcurrent(t *testing.T) {
	j := mustOpen(t, t.TempDir(), journal.Options{SyncInterval: time.Millisecond, SegmentBytes: 8 << 10, MaxBytes: 1 << 30})
	const writers, each = 4, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := j.Append(testPlay(w*each + i)); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var uploaded []uint64
	var upWG sync.WaitGroup
	upWG.Go(func() {
		for {
			ps, err := j.Pending(j.Acked(), 50)
			if err != nil {
				t.Errorf("Pending: %v", err)
				return
			}
			for _, p := range ps {
				if n := len(uploaded); n > 0 && p.Seq <= uploaded[n-1] {
					t.Errorf("Pending returned seq %d after %d", p.Seq, uploaded[n-1])
					return
				}
				uploaded = append(uploaded, p.Seq)
			}
			if len(ps) > 0 {
				if err := j.Ack(ps[len(ps)-1].Seq); err != nil {
					t.Errorf("Ack: %v", err)
					return
				}
			}
			_ = j.Stats()
			select {
			case <-done:
				if j.PendingCount() == 0 {
					return
				}
			default:
			}
		}
	})
	wg.Wait()
	close(done)
	upWG.Wait()
	if diff := cmp.Diff(seqRange(1, writers*each), uploaded); diff != "" {
		t.Fatalf("uploaded seqs (-want +got):\n%s", diff)
	}
	st := j.Stats()
	if st.Appended != writers*each || st.Acked != writers*each || st.Pending != 0 || st.Segments != 0 {
		t.Fatalf("Stats=%+v", st)
	}
}

// TestPendingFromAnyPoint reads from around the sparse index's points (one
// per 64 records), before and after a restart rebuilds the index.
func TestPendingFromAnyPoint(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := 1; i <= n; i++ {
		mustAppend(t, j, i)
	}
	check := func(j *journal.Journal) {
		t.Helper()
		for _, after := range []uint64{0, 1, 62, 63, 64, 65, 127, 128, 129, 200, 298, 299, 300, 1000} {
			want := seqRange(after+1, min(after+5, n))
			if diff := cmp.Diff(want, seqs(mustPending(t, j, after, 5))); diff != "" {
				t.Fatalf("Pending(%d, 5) (-want +got):\n%s", after, diff)
			}
		}
	}
	check(j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, dir, journal.Options{})
	check(j)
}

func TestLowerMaxBytesAppliesAtOpen(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{SegmentBytes: 1024, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		mustAppend(t, j, i)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, dir, journal.Options{SegmentBytes: 1024, MaxBytes: 4096})
	st := j.Stats()
	if st.Bytes > 4096 || st.Dropped == 0 || st.Dropped+uint64(st.Pending) != 100 {
		t.Fatalf("Stats=%+v, want at most 4096 bytes with the oldest dropped", st)
	}
	if got, want := mustAppend(t, j, 101), uint64(101); got != want {
		t.Fatalf("seq=%d, want %d", got, want)
	}
}
