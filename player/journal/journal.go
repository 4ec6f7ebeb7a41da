package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
)

// Defaults for the zero Options.
const (
	DefaultSyncInterval = time.Second
	DefaultSegmentBytes = 4 << 20
	DefaultMaxBytes     = 1 << 30
)

// indexEvery is how many records lie between two points of a segment's
// sparse index: Pending reads at most this many records it does not need,
// and the index costs 16 bytes per indexEvery records.
const indexEvery = 64

// ErrClosed is returned by every method of a closed Journal except Close.
var ErrClosed = marquee.Errorf(marquee.EUNAVAILABLE, "journal is closed")

// Options tune a Journal. The zero value is ready to use.
type Options struct {
	// SyncInterval bounds how long an appended record may stay only in the
	// kernel's page cache before a background fsync makes it durable
	// against power loss. 0 means DefaultSyncInterval.
	SyncInterval time.Duration
	// SegmentBytes is the size at which the journal starts a new segment
	// file. 0 means DefaultSegmentBytes.
	SegmentBytes int64
	// MaxBytes caps the journal's size on disk. Beyond it the oldest
	// segments are deleted even though the server has not acknowledged
	// them, and their entries are counted in Stats.Dropped: weeks offline
	// must not fill the disk. 0 means DefaultMaxBytes; it must be at least
	// twice SegmentBytes.
	MaxBytes int64
	// Logger receives warnings (damaged records, dropped entries, failed
	// background fsyncs). nil discards them.
	Logger *slog.Logger
}

// Stats describe a journal. Counters run from Open.
type Stats struct {
	Appended   uint64 // entries appended
	Acked      uint64 // entries acknowledged
	Dropped    uint64 // unacknowledged entries deleted because of MaxBytes
	Torn       uint64 // damaged records or torn tails discarded by Open
	SyncErrors uint64 // failed fsyncs
	Pending    int    // entries not yet acknowledged
	Segments   int    // segment files
	Bytes      int64  // size of the segment files
	LastSeq    uint64 // highest sequence number assigned
	AckedSeq   uint64 // the ack mark
}

// Journal is the crash-safe, append-only proof-of-play journal. Its methods
// are safe for concurrent use.
type Journal struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File // flock on dir/LOCK

	// ioMu serialises the operations that fsync or delete files (Sync, Ack,
	// Close), so a file is never closed under a running fsync. Lock order:
	// ioMu, then mu.
	ioMu sync.Mutex

	mu       sync.Mutex
	closed   bool
	segs     []*segment // ascending; the last one may be active
	active   *segment   // the segment being appended to, or nil
	sealed   []*os.File // rotated segments awaiting their final fsync and close
	dirDirty bool       // a segment was created since the last fsync of dir
	lastSeq  uint64     // highest seq assigned (or recorded as the high-water mark)
	durable  uint64     // every record with seq ≤ durable is fsynced
	acked    uint64     // the ack mark
	bytes    int64      // total size of segs
	buf      []byte     // record encoding buffer, reused under mu
	stats    Stats      // counters only

	kick     chan struct{} // wakes the syncer after an append
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// segment is one file seg-<first seq>.log. Only its bookkeeping lives in
// memory: a sparse index of offsets, not the records.
type segment struct {
	path     string
	name     uint64 // the seq in the file name
	firstSeq uint64 // of the first intact record (0: none yet)
	lastSeq  uint64
	count    int   // intact records
	size     int64 // end of the last intact record
	index    []indexPoint
	holes    []seqRange // seqs within [firstSeq, lastSeq] whose records were damaged
	f        *os.File   // open for appending; active segment only
}

type indexPoint struct {
	seq uint64
	off int64
}

type seqRange struct{ lo, hi uint64 } // inclusive

// countAbove returns how many intact records of s have a seq > after.
func (s *segment) countAbove(after uint64) int {
	if s.count == 0 || after < s.firstSeq {
		return s.count
	}
	if after >= s.lastSeq {
		return 0
	}
	n := int(s.lastSeq - after)
	for _, h := range s.holes {
		lo := max(h.lo, after+1)
		if lo <= h.hi {
			n -= int(h.hi - lo + 1)
		}
	}
	return n
}

func (s *segment) add(seq uint64, off, n int64) {
	if s.count == 0 {
		s.firstSeq = seq
	} else if seq > s.lastSeq+1 {
		s.holes = append(s.holes, seqRange{s.lastSeq + 1, seq - 1})
	}
	if s.count%indexEvery == 0 {
		s.index = append(s.index, indexPoint{seq, off})
	}
	s.count++
	s.lastSeq = seq
	s.size = off + n
}

func segmentName(first uint64) string { return fmt.Sprintf("seg-%020d.log", first) }

func parseSegmentName(name string) (uint64, bool) {
	num, ok := strings.CutPrefix(name, "seg-")
	if !ok {
		return 0, false
	}
	num, ok = strings.CutSuffix(num, ".log")
	if !ok || len(num) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

// Open opens the journal in dir, creating dir if needed. It replays the
// segments: damaged records are skipped and counted (Stats.Torn), and a torn
// tail — a partial last line or records that fail their checksum after the
// last intact one — is truncated away, so appending continues after the last
// intact record. Segments whose entries are all acknowledged are deleted.
// Everything found is fsynced, so what Open reports is durable.
//
// A journal is used by one process at a time; a second Open of the same
// directory fails with code ECONFLICT while the first is open.
func Open(dir string, opts Options) (*Journal, error) {
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxBytes < 2*opts.SegmentBytes {
		return nil, marquee.Errorf(marquee.EINVALID, "journal max bytes (%d) must be at least twice the segment size (%d)", opts.MaxBytes, opts.SegmentBytes)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{dir: dir, opts: opts, log: log.With("journal", dir), lock: lock,
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if err := j.load(); err != nil {
		j.closeFiles()
		return nil, fmt.Errorf("open journal %s: %w", dir, err)
	}
	j.wg.Add(1)
	go j.syncer()
	return j, nil
}

// load reads the ack mark and replays the segments.
func (j *Journal) load() error {
	m, err := readMark(j.dir)
	if err != nil {
		// The mark is written by rename, so this is disk damage. Replaying
		// from zero re-sends acknowledged plays, which the server ignores
		// (plays are idempotent by ID): safer than losing any.
		j.log.Error("ack mark unreadable; treating every entry as unacknowledged", "err", err)
		m = mark{}
	}
	j.acked, j.lastSeq = m.Acked, max(m.High, m.Acked)
	_ = os.Remove(filepath.Join(j.dir, markFile+".tmp"))

	names, err := j.segmentFiles()
	if err != nil {
		return err
	}
	prev := uint64(0) // seqs ascend across the whole journal
	for _, name := range names {
		s, err := j.replaySegment(name, &prev)
		if err != nil {
			return err
		}
		if s.count == 0 || s.lastSeq <= j.acked {
			if s.count == 0 {
				j.log.Warn("removing a segment with no intact record", "segment", s.path)
			}
			if err := os.Remove(s.path); err != nil {
				return fmt.Errorf("remove segment: %w", err)
			}
			continue
		}
		j.segs = append(j.segs, s)
		j.bytes += s.size
		j.lastSeq = max(j.lastSeq, s.lastSeq)
	}
	j.durable = j.lastSeq
	if err := syncDir(j.dir); err != nil {
		return err
	}
	// Keep appending to the last segment if it has room.
	if n := len(j.segs); n > 0 && j.segs[n-1].size < j.opts.SegmentBytes {
		s := j.segs[n-1]
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("open segment: %w", err)
		}
		s.f, j.active = f, s
	}
	j.enforceMaxBytes() // the limit may have been lowered since the last run
	return nil
}

// segmentFiles lists the segment file names in ascending order, removing
// nothing; other files are ignored.
func (j *Journal) segmentFiles() ([]string, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var names []string
	for _, e := range ents {
		if _, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // 20-digit names sort numerically
	return names, nil
}

// replaySegment scans one segment, builds its index, truncates anything
// after its last intact record and fsyncs it. prev is the highest seq seen
// so far; a record that does not ascend is treated as damage.
func (j *Journal) replaySegment(name string, prev *uint64) (*segment, error) {
	first, _ := parseSegmentName(name)
	s := &segment{path: filepath.Join(j.dir, name), name: first}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	lr := newLineReader(f, 0)
	torn := 0
	for {
		line, off, bad, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		seq, _, ok := checkRecord(line)
		if bad || !ok || seq <= *prev {
			torn++
			j.log.Warn("skipping a damaged journal record", "segment", name, "offset", off, "bytes", len(line))
			continue
		}
		*prev = seq
		s.add(seq, off, int64(len(line)))
	}
	j.stats.Torn += uint64(torn)
	if lr.off > s.size {
		j.log.Warn("truncating a torn journal tail", "segment", name, "from", lr.off, "to", s.size)
		if err := f.Truncate(s.size); err != nil {
			return nil, fmt.Errorf("truncate torn tail: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("sync segment: %w", err)
	}
	return s, nil
}

// Append adds p to the journal and returns its sequence number, one more
// than the highest ever assigned in this directory. When Append returns, the
// record has been written to the file with write(2): a crash of the process
// (even SIGKILL) loses nothing, and a background fsync makes it durable
// against power loss within Options.SyncInterval. On error nothing was
// appended and no seq was used. A play without an ID is refused (EINVALID):
// the server de-duplicates by ID.
func (j *Journal) Append(p marquee.Play) (uint64, error) {
	if p.ID == "" {
		return 0, marquee.Errorf(marquee.EINVALID, "play has no id")
	}
	body, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode play: %w", err)
	}
	if len(body)+headerLen+32 > maxLineLen {
		return 0, errRecordTooLarge
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return 0, ErrClosed
	}
	seq := j.lastSeq + 1
	j.buf = appendRecord(j.buf[:0], seq, body)
	if j.active != nil && j.active.size > 0 && j.active.size+int64(len(j.buf)) > j.opts.SegmentBytes {
		j.seal()
	}
	if j.active == nil {
		if err := j.startSegment(seq); err != nil {
			return 0, err
		}
	}
	s := j.active
	if n, err := s.f.Write(j.buf); err != nil {
		if n > 0 {
			// Leave no partial record behind; if even that fails, the
			// segment is abandoned and Open will cut the torn tail.
			if terr := s.f.Truncate(s.size); terr != nil {
				j.seal()
			}
		}
		return 0, fmt.Errorf("append play: %w", err)
	}
	s.add(seq, s.size, int64(len(j.buf)))
	j.bytes += int64(len(j.buf))
	j.lastSeq = seq
	j.stats.Appended++
	select { // wake the syncer; a kick already queued covers this record too
	case j.kick <- struct{}{}:
	default:
	}
	j.enforceMaxBytes()
	return seq, nil
}

// startSegment creates the segment whose first record will be seq.
func (j *Journal) startSegment(seq uint64) error {
	path := filepath.Join(j.dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	s := &segment{path: path, name: seq, f: f}
	j.segs = append(j.segs, s)
	j.active = s
	j.dirDirty = true
	return nil
}

// seal ends the active segment; its file is fsynced and closed by the next
// Sync. Called with mu held.
func (j *Journal) seal() {
	if j.active == nil {
		return
	}
	j.sealed = append(j.sealed, j.active.f)
	j.active.f = nil
	j.active = nil
}

// enforceMaxBytes deletes the oldest sealed segments while the journal is
// larger than MaxBytes. Called with mu held.
func (j *Journal) enforceMaxBytes() {
	for j.bytes > j.opts.MaxBytes && len(j.segs) > 1 && j.segs[0] != j.active {
		s := j.segs[0]
		lost := s.countAbove(j.acked)
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Error("journal over its size limit and a segment cannot be removed", "segment", s.path, "err", err)
			return
		}
		j.segs = slices.Delete(j.segs, 0, 1)
		j.bytes -= s.size
		j.stats.Dropped += uint64(lost)
		j.log.Warn("journal over its size limit: dropped the oldest unacknowledged plays",
			"first_seq", max(s.firstSeq, j.acked+1), "last_seq", s.lastSeq, "plays", lost, "max_bytes", j.opts.MaxBytes)
	}
}

// Sync makes every record appended so far durable (fsync of the segments
// and, after a new segment was created, of the directory).
func (j *Journal) Sync() error {
	j.ioMu.Lock()
	defer j.ioMu.Unlock()
	return j.syncLocked()
}

func (j *Journal) syncLocked() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	target, sealed, dirDirty := j.lastSeq, j.sealed, j.dirDirty
	var active *os.File
	if j.active != nil {
		active = j.active.f
	}
	j.sealed, j.dirDirty = nil, false
	j.mu.Unlock()
	if target == j.durable && len(sealed) == 0 && !dirDirty {
		return nil // durable is only written under ioMu, which we hold
	}

	var errs []error
	var retry []*os.File
	for _, f := range sealed {
		if err := f.Sync(); err != nil {
			errs = append(errs, err)
			retry = append(retry, f)
			continue
		}
		f.Close()
	}
	if active != nil {
		if err := active.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	if dirDirty {
		if err := syncDir(j.dir); err != nil {
			errs = append(errs, err)
		}
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	if len(errs) > 0 {
		j.sealed = append(retry, j.sealed...)
		j.dirDirty = j.dirDirty || dirDirty
		j.stats.SyncErrors++
		return fmt.Errorf("sync journal: %w", errors.Join(errs...))
	}
	j.durable = max(j.durable, target)
	return nil
}

// syncer is the group commit: after an append it waits one SyncInterval, so
// everything appended meanwhile shares one fsync. An idle journal costs no
// wake-ups.
func (j *Journal) syncer() {
	defer j.wg.Done()
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-j.stop:
			return
		case <-j.kick:
		}
		t.Reset(j.opts.SyncInterval)
		select {
		case <-j.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if err := j.Sync(); err != nil && !errors.Is(err, ErrClosed) {
			j.log.Error("journal fsync failed", "err", err)
			select { // try again next interval
			case j.kick <- struct{}{}:
			default:
			}
		}
	}
}

// Close makes everything durable, stops the background fsync and releases
// the directory. It is idempotent; other methods return ErrClosed after it.
func (j *Journal) Close() error {
	j.stopOnce.Do(func() { close(j.stop) })
	j.wg.Wait() // before taking ioMu: the syncer may be waiting for it
	j.ioMu.Lock()
	defer j.ioMu.Unlock()
	j.mu.Lock()
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return nil
	}
	err := j.syncLocked()
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.closeFiles()
	return err
}

// closeFiles closes every open file. Called once no other method can run.
func (j *Journal) closeFiles() {
	for _, f := range j.sealed {
		f.Close()
	}
	j.sealed = nil
	if j.active != nil {
		j.active.f.Close()
		j.active.f = nil
		j.active = nil
	}
	unlockDir(j.lock)
}

// LastSeq returns the highest sequence number assigned (0 for a new journal).
func (j *Journal) LastSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastSeq
}

// Acked returns the ack mark: every entry with a seq up to it is acknowledged.
func (j *Journal) Acked() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.acked
}

// PendingCount returns how many entries await acknowledgement.
func (j *Journal) PendingCount() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pendingLocked()
}

func (j *Journal) pendingLocked() int {
	n := 0
	for _, s := range j.segs {
		n += s.countAbove(j.acked)
	}
	return n
}

// Stats returns counters and sizes.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.stats
	st.Pending = j.pendingLocked()
	st.Segments = len(j.segs)
	st.Bytes = j.bytes
	st.LastSeq = j.lastSeq
	st.AckedSeq = j.acked
	return st
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}
