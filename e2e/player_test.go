package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/player"
)

// logRecorder is a slog handler that keeps every record as text and
// counts records by message.
type logRecorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	counts map[string]int
}

func newLogRecorder() *logRecorder { return &logRecorder{counts: map[string]int{}} }

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

// Logger returns a logger that records at level debug and above.
func (r *logRecorder) Logger() *slog.Logger {
	return slog.New(recHandler{r, slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug})})
}

// Count returns how many records had message msg.
func (r *logRecorder) Count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[msg]
}

// Tail returns the last n lines.
func (r *logRecorder) Tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := strings.Split(strings.TrimRight(r.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type recHandler struct {
	r *logRecorder
	h slog.Handler
}

func (h recHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h recHandler) Handle(ctx context.Context, rec slog.Record) error {
	h.r.mu.Lock()
	h.r.counts[rec.Message]++
	h.r.mu.Unlock()
	return h.h.Handle(ctx, rec)
}

func (h recHandler) WithAttrs(as []slog.Attr) slog.Handler { return recHandler{h.r, h.h.WithAttrs(as)} }
func (h recHandler) WithGroup(n string) slog.Handler       { return recHandler{h.r, h.h.WithGroup(n)} }

// agentPlayer is the real player agent running in the test process with
// a headless output: what cmd/marquee-player runs, with the settings it
// gives the agent (defaults for everything its flags do not set).
type agentPlayer struct {
	agent    *player.Agent
	out      *player.HeadlessOutput
	logs     *logRecorder
	cacheDir string
	journal  *journalTail
	runErr   chan error
	closed   bool
}

// startAgent starts a player for the display. pollInterval 0 means the
// binary's default.
func startAgent(t testing.TB, serverURL, brokerURL, displayID, token string, pollInterval time.Duration) *agentPlayer {
	t.Helper()
	p := &agentPlayer{logs: newLogRecorder(), cacheDir: t.TempDir(), runErr: make(chan error, 1)}
	logger := p.logs.Logger()
	p.out = player.NewHeadlessOutput(logger, nil)
	var err error
	p.agent, err = player.NewAgent(player.Config{
		ServerURL:    serverURL,
		BrokerURL:    brokerURL,
		DisplayID:    displayID,
		Token:        token,
		CacheDir:     p.cacheDir,
		Output:       p.out,
		PollInterval: pollInterval,
		Version:      "e2e",
		Logger:       logger,
	})
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	p.journal = startJournalTail(filepath.Join(p.cacheDir, "journal"))
	go func() { p.runErr <- p.agent.Run(context.Background()) }()
	t.Cleanup(func() {
		p.close(t)
		p.journal.stop()
		if t.Failed() {
			t.Logf("player %s: stats %+v; last log lines:\n%s", displayID, p.agent.Stats(), p.logs.Tail(60))
		}
	})
	return p
}

// close stops the agent gracefully; Run must return nil.
func (p *agentPlayer) close(t testing.TB) {
	t.Helper()
	if p.closed {
		return
	}
	p.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := p.agent.Close(ctx); err != nil {
		t.Errorf("player Close: %v", err)
	}
	select {
	case err := <-p.runErr:
		if err != nil {
			t.Errorf("player Run: %v", err)
		}
	case <-ctx.Done():
		t.Error("player Run did not return after Close")
	}
}

// shows returns the items the output showed, oldest first.
func (p *agentPlayer) shows() []show {
	var out []show
	for _, e := range p.out.Events() {
		if e.Item != nil {
			out = append(out, show{at: e.At, mediaID: e.Item.MediaID, sha: e.Item.SHA256, offset: e.Item.Offset})
		}
	}
	return out
}

// cached reports whether every file of the state is in the cache.
func (p *agentPlayer) cached(st marquee.DesiredState) bool {
	for _, m := range st.Media {
		if _, err := os.Stat(filepath.Join(p.cacheDir, "files", m.SHA256)); err != nil {
			return false
		}
	}
	return len(st.Media) > 0
}

// show is one item put on screen.
type show struct {
	at      time.Time
	mediaID string
	sha     string // may be abbreviated (from logs)
	offset  time.Duration
}

// showsFromLog reads the "screen: show" lines of a marquee-player's
// JSON log.
func showsFromLog(lines []logLine) []show {
	var out []show
	for _, l := range lines {
		if l.msg() == "screen: show" {
			out = append(out, show{at: l.time(), mediaID: l.str("media_id"), sha: l.str("sha256")})
		}
	}
	return out
}

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The journal's files, read directly (package journal's format: see its
// doc): segments seg-<20 digits>.log of "<crc32c hex> <JSON>\n" records,
// and ack.json.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readJournal returns the intact records of every segment in dir by
// sequence number. A partial or damaged line is skipped; a segment
// deleted while it is read is skipped.
func readJournal(dir string) (map[uint64]marquee.JournaledPlay, error) {
	out := map[uint64]marquee.JournaledPlay{}
	names, err := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 2<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) < 10 || line[8] != ' ' {
				continue
			}
			sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
			if err != nil || crc32.Checksum(line[9:], castagnoli) != uint32(sum) {
				continue
			}
			var jp marquee.JournaledPlay
			if json.Unmarshal(line[9:], &jp) == nil && jp.Seq > 0 {
				out[jp.Seq] = jp
			}
		}
	}
	return out, nil
}

// journalMark is ack.json.
type journalMark struct {
	Acked uint64 `json:"acked"`
	High  uint64 `json:"high"`
}

func readMark(dir string) (journalMark, error) {
	var m journalMark
	b, err := os.ReadFile(filepath.Join(dir, "ack.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	} else if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// journalTail reads a journal directory every 20 ms while a player runs
// and keeps every record it ever saw, so that plays the player drops once
// acknowledged are still known. It may miss a record acknowledged within
// one period of its append (possible, not usual: the player batches for
// seconds); it never invents one.
type journalTail struct {
	dir       string
	mu        sync.Mutex
	seen      map[uint64]marquee.JournaledPlay
	conflicts []string // a sequence number seen with two plays
	quit      chan struct{}
	done      chan struct{}
}

func startJournalTail(dir string) *journalTail {
	j := &journalTail{dir: dir, seen: map[uint64]marquee.JournaledPlay{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			j.scan()
			select {
			case <-j.quit:
				j.scan()
				return
			case <-tick.C:
			}
		}
	}()
	return j
}

func (j *journalTail) scan() {
	recs, err := readJournal(j.dir)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for seq, jp := range recs {
		if old, ok := j.seen[seq]; ok && old.ID != jp.ID {
			j.conflicts = append(j.conflicts, fmt.Sprintf("entry %d was play %s, then play %s", seq, old.ID, jp.ID))
			continue
		}
		j.seen[seq] = jp
	}
}

func (j *journalTail) stop() {
	select {
	case <-j.quit:
	default:
		close(j.quit)
	}
	<-j.done
}

// plays returns every record seen, by sequence number. A sequence number
// seen with two different plays (never reused, says the journal) fails t.
func (j *journalTail) plays(t testing.TB) map[uint64]marquee.JournaledPlay {
	t.Helper()
	j.scan()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range j.conflicts {
		t.Errorf("journal sequence numbers reused: %s", c)
	}
	out := make(map[uint64]marquee.JournaledPlay, len(j.seen))
	for k, v := range j.seen {
		out[k] = v
	}
	return out
}

// matchShows pairs plays with the shows that made them: same media,
// started within tol of the show, closest pairs first. The engine stamps a
// play's start just before it calls Show, which stamps its own event, so a
// busy machine can put a little time between the two; items last a
// second, so pairs are not ambiguous. It returns the shows and plays left
// unpaired.
func matchShows(shows []show, plays []marquee.Play, tol time.Duration) (lonelyShows []show, lonelyPlays []marquee.Play) {
	type pair struct {
		s, p int
		d    time.Duration
	}
	var pairs []pair
	for pi, p := range plays {
		for si, s := range shows {
			if d := absDur(s.at.Sub(p.StartedAt)); s.mediaID == p.MediaID && d <= tol {
				pairs = append(pairs, pair{si, pi, d})
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].d < pairs[j].d })
	usedShow, usedPlay := make([]bool, len(shows)), make([]bool, len(plays))
	for _, pr := range pairs {
		if !usedShow[pr.s] && !usedPlay[pr.p] {
			usedShow[pr.s], usedPlay[pr.p] = true, true
		}
	}
	for i, p := range plays {
		if !usedPlay[i] {
			lonelyPlays = append(lonelyPlays, p)
		}
	}
	for i, s := range shows {
		if !usedShow[i] {
			lonelyShows = append(lonelyShows, s)
		}
	}
	return lonelyShows, lonelyPlays
}

// matchTolerance bounds the time between a play's start and its show.
const matchTolerance = 450 * time.Millisecond

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// checkPlays checks what the server stored for a display: each play once,
// newest first, of the display, with the media, playlist, reason and
// completed flag the content implies.
func checkPlays(t testing.TB, c *content, plays []marquee.Play) {
	t.Helper()
	ids := map[string]bool{}
	for i, p := range plays {
		if ids[p.ID] {
			t.Errorf("play %s is stored twice", p.ID)
		}
		ids[p.ID] = true
		if i > 0 {
			prev := plays[i-1]
			if p.StartedAt.After(prev.StartedAt) || (p.StartedAt.Equal(prev.StartedAt) && p.ID > prev.ID) {
				t.Errorf("plays are not newest first: %s (%v) after %s (%v)", p.ID, p.StartedAt, prev.ID, prev.StartedAt)
			}
		}
		m, ok := c.mediaByID[p.MediaID]
		switch {
		case p.DisplayID != c.displayID:
			t.Errorf("play %s: display %q, want %q", p.ID, p.DisplayID, c.displayID)
		case !ok:
			t.Errorf("play %s: unknown media %q", p.ID, p.MediaID)
		case p.MediaName != m.Name:
			t.Errorf("play %s: media name %q, want %q", p.ID, p.MediaName, m.Name)
		case len(p.MediaSHA256) != 64:
			t.Errorf("play %s: media sha256 %q", p.ID, p.MediaSHA256)
		case p.Reason != marquee.ReasonSchedule || c.playlistOfSchedule[p.ScheduleID] != p.PlaylistID:
			t.Errorf("play %s: reason %q, schedule %q, playlist %q; want a schedule's play of its playlist %v",
				p.ID, p.Reason, p.ScheduleID, p.PlaylistID, c.playlistOfSchedule)
		case p.PlannedMS != c.itemMS:
			t.Errorf("play %s: planned %d ms, want %d", p.ID, p.PlannedMS, c.itemMS)
		case p.Completed != marquee.IsCompleted(p.PlannedMS, p.PlayedMS):
			t.Errorf("play %s: completed %v with %d of %d ms played", p.ID, p.Completed, p.PlayedMS, p.PlannedMS)
		case p.EndedAt.Before(p.StartedAt) || absDur(p.EndedAt.Sub(p.StartedAt)-time.Duration(p.PlayedMS)*time.Millisecond) > 50*time.Millisecond:
			t.Errorf("play %s: %v → %v does not last its %d ms", p.ID, p.StartedAt, p.EndedAt, p.PlayedMS)
		case p.PlayedMS > p.PlannedMS+300:
			t.Errorf("play %s: played %d ms, planned %d: an item overran its slot", p.ID, p.PlayedMS, p.PlannedMS)
		}
	}
}

// checkAgainstPlayer checks the server's plays against the player: one
// play per item the output showed (the show and the play start together),
// as many as the journal appended, and every play the journal was seen
// holding stored under its ID.
func checkAgainstPlayer(t testing.TB, p *agentPlayer, plays []marquee.Play) {
	t.Helper()
	st := p.agent.Stats()
	if got, want := uint64(len(plays)), st.PlaysJournaled; got != want {
		t.Errorf("server has %d plays, the player journaled %d", got, want)
	}
	if st.JournalErrors != 0 {
		t.Errorf("the player lost %d plays to journal errors", st.JournalErrors)
	}
	lonelyShows, lonelyPlays := matchShows(p.shows(), plays, matchTolerance)
	for _, pl := range lonelyPlays {
		t.Errorf("play %s (%s at %v) matches nothing the player showed", pl.ID, pl.MediaName, pl.StartedAt)
	}
	// The item on screen now has no play yet; nothing else may lack one.
	if cur, _ := p.out.Current(); len(lonelyShows) > 1 || (len(lonelyShows) == 1 && cur == nil) {
		t.Errorf("shown but not stored (on screen now: %v): %+v", cur != nil, lonelyShows)
	}
	journaled := p.journal.plays(t)
	checkJournalSubset(t, journaled, plays)
	t.Logf("%d of the %d journal entries were seen on disk before their acknowledgement removed them; each is stored", len(journaled), st.PlaysJournaled)
}

// checkJournalSubset checks that every play the journal held is stored,
// under its ID, with the journal's content.
func checkJournalSubset(t testing.TB, journaled map[uint64]marquee.JournaledPlay, plays []marquee.Play) {
	t.Helper()
	byID := map[string]marquee.Play{}
	for _, p := range plays {
		byID[p.ID] = p
	}
	seqs := make([]uint64, 0, len(journaled))
	for s := range journaled {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, s := range seqs {
		jp := journaled[s]
		got, ok := byID[jp.ID]
		switch {
		case !ok:
			t.Errorf("journal entry %d, play %s (%s at %v), is not on the server", s, jp.ID, jp.MediaName, jp.StartedAt)
		case got.MediaID != jp.MediaID || !got.StartedAt.Equal(jp.StartedAt) || got.PlayedMS != jp.PlayedMS:
			t.Errorf("play %s: server has %+v, journal %+v", jp.ID, got, jp.Play)
		}
	}
}
