package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/marquee-signage/marquee"
)

// markFile holds the ack mark and the high-water mark, replaced atomically.
const markFile = "ack.json"

type mark struct {
	Acked uint64 `json:"acked"` // every entry with seq ≤ Acked is acknowledged
	High  uint64 `json:"high"`  // highest seq ever assigned when the mark was written
}

func readMark(dir string) (mark, error) {
	var m mark
	b, err := os.ReadFile(filepath.Join(dir, markFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	} else if err != nil {
		return m, fmt.Errorf("read ack mark: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return mark{}, fmt.Errorf("decode ack mark: %w", err)
	}
	return m, nil
}

// writeMark replaces the mark atomically and durably: temp file, fsync,
// rename, fsync of the directory.
func writeMark(dir string, m mark) error {
	b, _ := json.Marshal(m)
	b = append(b, '\n')
	tmp := filepath.Join(dir, markFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write ack mark: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write ack mark: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync ack mark: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write ack mark: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, markFile)); err != nil {
		return fmt.Errorf("replace ack mark: %w", err)
	}
	return syncDir(dir)
}

// Ack records that every entry with seq ≤ seq is stored by the server. The
// mark is persisted before Ack returns; segments whose entries are all
// acknowledged are then deleted. An ack at or below the current mark does
// nothing; one beyond LastSeq is clamped to it. On error the mark is
// unchanged.
func (j *Journal) Ack(seq uint64) error {
	j.ioMu.Lock()
	defer j.ioMu.Unlock()
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	seq = min(seq, j.lastSeq)
	if seq <= j.acked {
		j.mu.Unlock()
		return nil
	}
	// High is what makes seqs never repeat once every segment is gone.
	m := mark{Acked: seq, High: j.lastSeq}
	j.mu.Unlock()

	if err := writeMark(j.dir, m); err != nil {
		return fmt.Errorf("ack %d: %w", seq, err)
	}

	j.mu.Lock()
	before := j.pendingLocked()
	j.acked = seq
	j.stats.Acked += uint64(before - j.pendingLocked())
	var done []*segment
	keep := j.segs[:0]
	for _, s := range j.segs {
		if s.lastSeq <= seq {
			done = append(done, s)
			j.bytes -= s.size
			if s == j.active {
				j.active = nil // the next Append starts a new segment
			}
		} else {
			keep = append(keep, s)
		}
	}
	clear(j.segs[len(keep):])
	j.segs = keep
	j.mu.Unlock()

	// We hold ioMu, so no fsync is using the active file while it closes.
	var errs []error
	for _, s := range done {
		if s.f != nil {
			s.f.Close()
			s.f = nil
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err) // Open removes it next time
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove acknowledged segments: %w", errors.Join(errs...))
	}
	return nil
}

// Pending returns up to limit unacknowledged entries with seq > after, in
// ascending order (nil when there are none, or when limit ≤ 0). It returns
// only durable entries — it fsyncs first if the range holds records not yet
// synced — so a seq the server has seen can never be reassigned to another
// play after a power loss. Damaged records are skipped.
func (j *Journal) Pending(after uint64, limit int) ([]marquee.JournaledPlay, error) {
	if limit <= 0 {
		return nil, nil
	}
	j.mu.Lock()
	needSync := j.durable < j.lastSeq && after < j.lastSeq && j.acked < j.lastSeq
	j.mu.Unlock()
	if needSync {
		if err := j.Sync(); err != nil {
			return nil, fmt.Errorf("pending: %w", err)
		}
	}

	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil, ErrClosed
	}
	lower, upper := max(after, j.acked), j.durable
	var views []segmentView
	for _, s := range j.segs {
		if s.count > 0 && s.lastSeq > lower && s.firstSeq <= upper {
			views = append(views, segmentView{path: s.path, size: s.size, index: s.index})
		}
	}
	j.mu.Unlock()

	var out []marquee.JournaledPlay
	for _, v := range views {
		var err error
		out, err = v.read(out, lower, upper, limit)
		if err != nil {
			return nil, fmt.Errorf("pending: %w", err)
		}
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// segmentView is what Pending needs of a segment, copied under the lock so
// the file is read without it. The index slice only grows by append, so its
// first len(index) points stay valid.
type segmentView struct {
	path  string
	size  int64
	index []indexPoint
}

// read appends to out the intact records with lower < seq ≤ upper, until
// out holds limit entries.
func (v segmentView) read(out []marquee.JournaledPlay, lower, upper uint64, limit int) ([]marquee.JournaledPlay, error) {
	f, err := os.Open(v.path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil // acknowledged (or dropped) and deleted meanwhile
	} else if err != nil {
		return out, err
	}
	defer f.Close()
	// Start at the last index point at or before the first wanted seq.
	i := sort.Search(len(v.index), func(i int) bool { return v.index[i].seq > lower+1 })
	start := int64(0)
	if i > 0 {
		start = v.index[i-1].off
	}
	lr := newLineReader(io.NewSectionReader(f, start, v.size-start), start)
	for len(out) < limit {
		line, _, bad, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return out, err
		}
		seq, body, ok := checkRecord(line)
		if bad || !ok || seq <= lower {
			continue
		}
		if seq > upper {
			break
		}
		var p marquee.JournaledPlay
		if err := json.Unmarshal(body, &p); err != nil {
			continue // checksummed yet undecodable: written by a future format
		}
		out = append(out, p)
	}
	return out, nil
}
