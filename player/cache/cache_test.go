package cache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/player/cache"
)

const token = "tok-123"

// server serves files with http.ServeContent (which implements Range) and
// records every request. hook, when set, may answer a request itself: n is
// the 1-based number of the request for that path.
type server struct {
	*httptest.Server
	files map[string][]byte // URL path → content

	mu       sync.Mutex
	requests []request
	counts   map[string]int
	hook     func(w http.ResponseWriter, r *http.Request, n int) bool

	delay       time.Duration
	inflight    atomic.Int32
	maxInflight atomic.Int32
}

type request struct {
	path, rng, auth string
}

func newServer(t *testing.T) *server {
	s := &server{files: map[string][]byte{}, counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	in := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxInflight.Load()
		if in <= m || s.maxInflight.CompareAndSwap(m, in) {
			break
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, request{r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")})
	s.counts[r.URL.Path]++
	n, hook, content := s.counts[r.URL.Path], s.hook, s.files[r.URL.Path]
	s.mu.Unlock()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if hook != nil && hook(w, r, n) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	if content == nil {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request, n int) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

func (s *server) log() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// add serves random content of the given size and returns its asset.
func (s *server) add(name string, size int) marquee.MediaAsset {
	content := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(size), byte(len(name)), name[0], name[len(name)-1]})
	rng.Read(content)
	path := "/api/v1/media/" + name
	s.mu.Lock()
	s.files[path] = content
	s.mu.Unlock()
	sum := sha256.Sum256(content)
	return marquee.MediaAsset{SHA256: hex.EncodeToString(sum[:]), MediaID: name, Name: name, Kind: "image", Size: int64(size), URL: path}
}

func (s *server) content(a marquee.MediaAsset) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[a.URL]
}

func mustOpen(t *testing.T, cfg cache.Config) *cache.Cache {
	t.Helper()
	c, err := cache.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

func config(t *testing.T, s *server) cache.Config {
	return cache.Config{Dir: t.TempDir(), BaseURL: s.URL, Token: token, RetryDelay: 5 * time.Millisecond}
}

// mustHold checks that the cache returns a's path and that the file holds
// want.
func mustHold(t *testing.T, c *cache.Cache, a marquee.MediaAsset, want []byte) {
	t.Helper()
	path, ok := c.Path(a.SHA256)
	if !ok || !c.Has(a.SHA256) {
		t.Fatalf("%s is not cached", a.Name)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: cached file differs from the served one (%d vs %d bytes)", a.Name, len(got), len(want))
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSyncDownloadsAndVerifies(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	c := mustOpen(t, cfg)
	assets := []marquee.MediaAsset{s.add("a.png", 1000), s.add("b.mp4", 300_000), s.add("c.png", 1)}
	assets = append(assets, assets[0]) // duplicates are fetched once

	res, err := c.Sync(context.Background(), assets)
	if err != nil {
		t.Fatalf("Sync: %v (failed: %v)", err, res.Failed)
	}
	if diff := cmp.Diff([]string{assets[0].SHA256, assets[1].SHA256, assets[2].SHA256}, res.Fetched); diff != "" {
		t.Fatalf("Fetched (-want +got):\n%s", diff)
	}
	if got, want := res.Bytes, int64(301_001); got != want {
		t.Fatalf("Result.Bytes=%d, want %d", got, want)
	}
	if got, want := c.Bytes(), int64(301_001); got != want {
		t.Fatalf("Bytes()=%d, want %d", got, want)
	}
	for _, a := range assets {
		mustHold(t, c, a, s.content(a))
	}
	if got := dirNames(t, filepath.Join(cfg.Dir, "partial")); len(got) != 0 {
		t.Fatalf("partial files left behind: %v", got)
	}
	reqs := s.log()
	if got, want := len(reqs), 3; got != want {
		t.Fatalf("%d requests, want %d", got, want)
	}
	for _, r := range reqs {
		if got, want := r.auth, "Bearer "+token; got != want {
			t.Fatalf("Authorization=%q, want %q", got, want)
		}
	}

	// Everything is present: a second Sync fetches nothing.
	res, err = c.Sync(context.Background(), assets)
	if err != nil || len(res.Fetched) != 0 || len(s.log()) != 3 {
		t.Fatalf("second Sync: err=%v fetched=%v requests=%d", err, res.Fetched, len(s.log()))
	}
}

func TestSyncRespectsConcurrency(t *testing.T) {
	s := newServer(t)
	s.delay = 30 * time.Millisecond
	cfg := config(t, s)
	cfg.Concurrency = 3
	c := mustOpen(t, cfg)
	var assets []marquee.MediaAsset
	for i := range 12 {
		assets = append(assets, s.add(fmt.Sprintf("f%02d.png", i), 10_000+i))
	}
	// Two concurrent Syncs share the bound.
	var wg sync.WaitGroup
	for _, part := range [][]marquee.MediaAsset{assets[:6], assets[6:]} {
		wg.Go(func() {
			if _, err := c.Sync(context.Background(), part); err != nil {
				t.Errorf("Sync: %v", err)
			}
		})
	}
	wg.Wait()
	if got, want := s.maxInflight.Load(), int32(3); got != want {
		t.Fatalf("max in-flight requests=%d, want %d", got, want)
	}
	for _, a := range assets {
		mustHold(t, c, a, s.content(a))
	}
}

func TestSyncSameFileConcurrentlyDownloadsOnce(t *testing.T) {
	s := newServer(t)
	s.delay = 50 * time.Millisecond
	c := mustOpen(t, config(t, s))
	a := s.add("clip.mp4", 100_000)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			res, err := c.Sync(context.Background(), []marquee.MediaAsset{a})
			if err != nil || len(res.Fetched) != 1 {
				t.Errorf("Sync: err=%v fetched=%v", err, res.Fetched)
			}
		})
	}
	wg.Wait()
	if got, want := len(s.log()), 1; got != want {
		t.Fatalf("%d requests for one file, want %d", got, want)
	}
}

// cut answers a request with the first n bytes of content under a full
// Content-Length, then drops the connection.
func cut(w http.ResponseWriter, content []byte, n int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(content)))
	w.WriteHeader(http.StatusOK)
	w.Write(content[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func TestSyncResumesWithRange(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	c := mustOpen(t, cfg)
	a := s.add("clip.mp4", 1<<20)
	const n = 300_000
	s.setHook(func(w http.ResponseWriter, r *http.Request, i int) bool {
		if i == 1 {
			cut(w, s.content(a), n)
			return true
		}
		return false
	})
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{a})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	reqs := s.log()
	if got, want := len(reqs), 2; got != want {
		t.Fatalf("%d requests, want %d", got, want)
	}
	if got, want := reqs[1].rng, fmt.Sprintf("bytes=%d-", n); got != want {
		t.Fatalf("second request Range=%q, want %q", got, want)
	}
	if got, want := res.Bytes, a.Size; got != want {
		t.Fatalf("Result.Bytes=%d, want %d: the prefix was fetched again", got, want)
	}
	mustHold(t, c, a, s.content(a))
}

func TestSyncServerIgnoringRangeStartsOver(t *testing.T) {
	s := newServer(t)
	c := mustOpen(t, config(t, s))
	a := s.add("clip.mp4", 500_000)
	s.setHook(func(w http.ResponseWriter, r *http.Request, i int) bool {
		if i == 1 {
			cut(w, s.content(a), 123_456)
			return true
		}
		r.Header.Del("Range") // answers 200 with the whole file
		return false
	})
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{a})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	reqs := s.log()
	if len(reqs) != 2 || reqs[1].rng != "bytes=123456-" {
		t.Fatalf("requests=%+v, want a second one with Range bytes=123456-", reqs)
	}
	if got, want := res.Bytes, 123_456+a.Size; got != want {
		t.Fatalf("Result.Bytes=%d, want %d", got, want)
	}
	mustHold(t, c, a, s.content(a))
}

func TestSyncRejectsCorruptBody(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	cfg.MaxAttempts = 3
	c := mustOpen(t, cfg)
	a := s.add("banner.png", 50_000)
	s.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		bad := bytes.Clone(s.content(a))
		bad[len(bad)/2] ^= 0xff
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(bad))
		return true
	})
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{a})
	if err == nil || res.Failed[a.SHA256] == nil {
		t.Fatalf("Sync of a corrupt body: err=%v failed=%v, want a failure", err, res.Failed)
	}
	if !strings.Contains(res.Failed[a.SHA256].Error(), "hash") {
		t.Fatalf("error %q does not mention the hash", res.Failed[a.SHA256])
	}
	if got, want := len(s.log()), 3; got != want {
		t.Fatalf("%d requests, want %d (MaxAttempts)", got, want)
	}
	for _, r := range s.log() {
		if r.rng != "" {
			t.Fatalf("a rejected file was resumed (Range %q): it must start over", r.rng)
		}
	}
	if c.Has(a.SHA256) {
		t.Fatal("a corrupt file is cached")
	}
	if got := dirNames(t, filepath.Join(cfg.Dir, "files")); len(got) != 0 {
		t.Fatalf("files/ holds %v", got)
	}
	if got := dirNames(t, filepath.Join(cfg.Dir, "partial")); len(got) != 0 {
		t.Fatalf("partial/ holds %v after a hash mismatch", got)
	}
}

func TestSyncClientErrorsAreNotRetried(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	c := mustOpen(t, cfg)
	missing := marquee.MediaAsset{SHA256: strings.Repeat("0", 64), Size: 10, URL: "/api/v1/media/gone"}
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{missing})
	if err == nil {
		t.Fatal("Sync of a missing file succeeded")
	}
	if got, want := marquee.ErrorCode(res.Failed[missing.SHA256]), marquee.ENOTFOUND; got != want {
		t.Fatalf("code=%s, want %s (%v)", got, want, res.Failed[missing.SHA256])
	}
	if got, want := marquee.ErrorCode(err), marquee.ENOTFOUND; got != want {
		t.Fatalf("Sync error code=%s, want %s", got, want)
	}
	if got, want := len(s.log()), 1; got != want {
		t.Fatalf("%d requests for a 404, want %d", got, want)
	}

	cfg.Token = "wrong"
	c = mustOpen(t, cfg)
	a := s.add("a.png", 100)
	res, _ = c.Sync(context.Background(), []marquee.MediaAsset{a})
	if got, want := marquee.ErrorCode(res.Failed[a.SHA256]), marquee.EUNAUTHORIZED; got != want {
		t.Fatalf("code=%s, want %s", got, want)
	}
	if got, want := len(s.log()), 2; got != want {
		t.Fatalf("%d requests after a 401, want %d", got, want)
	}
}

func TestSyncRetriesServerErrors(t *testing.T) {
	s := newServer(t)
	c := mustOpen(t, config(t, s))
	a := s.add("a.png", 5000)
	s.setHook(func(w http.ResponseWriter, r *http.Request, i int) bool {
		if i == 1 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return true
		}
		return false
	})
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{a})
	if err != nil || len(res.Fetched) != 1 {
		t.Fatalf("Sync: err=%v fetched=%v", err, res.Fetched)
	}
	if got, want := len(s.log()), 2; got != want {
		t.Fatalf("%d requests, want %d", got, want)
	}
	mustHold(t, c, a, s.content(a))
}

func TestSyncRefusesSizeMismatch(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	cfg.MaxAttempts = 2
	c := mustOpen(t, cfg)
	a := s.add("a.png", 5000)
	a.Size = 4000
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a}); err == nil {
		t.Fatal("Sync accepted a file whose size differs from the manifest")
	}
	if c.Has(a.SHA256) {
		t.Fatal("file cached")
	}
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestEvictLeastRecentlyUsed(t *testing.T) {
	s := newServer(t)
	clk := &clock{t: time.Date(2025, 6, 5, 8, 0, 0, 0, time.UTC)}
	cfg := config(t, s)
	cfg.Limit = 2500
	cfg.Now = clk.now
	c := mustOpen(t, cfg)
	a, b, cc, d := s.add("a", 1000), s.add("b", 1000), s.add("c", 1000), s.add("d", 1000)
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a, b, cc, d}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []marquee.MediaAsset{b, a, d, cc} { // b least recently used, c most
		clk.advance(time.Minute)
		c.Touch(x.SHA256)
	}

	freed, err := c.Evict(map[string]bool{b.SHA256: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := freed, int64(2000); got != want {
		t.Fatalf("freed=%d, want %d", got, want)
	}
	for _, x := range []struct {
		a    marquee.MediaAsset
		want bool
	}{{a, false}, {b, true}, {cc, true}, {d, false}} {
		if got := c.Has(x.a.SHA256); got != x.want {
			t.Fatalf("Has(%s)=%v after Evict, want %v", x.a.Name, got, x.want)
		}
	}
	if got, want := c.Bytes(), int64(2000); got != want {
		t.Fatalf("Bytes=%d, want %d", got, want)
	}

	// Under the limit nothing goes; kept files never go, even over it.
	cfg.Limit = 1000
	c = mustOpen(t, cfg)
	if freed, err := c.Evict(map[string]bool{b.SHA256: true, cc.SHA256: true}); err != nil || freed != 0 {
		t.Fatalf("Evict with everything kept: freed=%d err=%v", freed, err)
	}
	if !c.Has(b.SHA256) || !c.Has(cc.SHA256) {
		t.Fatal("a kept file was evicted")
	}
}

func TestLRUOrderSurvivesRestart(t *testing.T) {
	s := newServer(t)
	clk := &clock{t: time.Date(2025, 6, 5, 8, 0, 0, 0, time.UTC)}
	cfg := config(t, s)
	cfg.Now = clk.now
	c := mustOpen(t, cfg)
	a, b := s.add("a", 1000), s.add("b", 1000)
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a, b}); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Hour)
	c.Touch(a.SHA256) // a is now the most recent, persisted as its mtime

	cfg.Limit = 1000
	c = mustOpen(t, cfg)
	if _, err := c.Evict(nil); err != nil {
		t.Fatal(err)
	}
	if !c.Has(a.SHA256) || c.Has(b.SHA256) {
		t.Fatalf("after restart and Evict: has a=%v b=%v, want a only", c.Has(a.SHA256), c.Has(b.SHA256))
	}
}

func TestClear(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	c := mustOpen(t, cfg)
	a, b, d := s.add("a", 100), s.add("b", 100), s.add("d", 100)
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a, b, d}); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cfg.Dir, "partial", strings.Repeat("1", 64))
	if err := os.WriteFile(stale, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := c.Clear(map[string]bool{b.SHA256: true})
	if err != nil || removed != 2 {
		t.Fatalf("Clear: removed=%d err=%v, want 2", removed, err)
	}
	if c.Has(a.SHA256) || !c.Has(b.SHA256) || c.Has(d.SHA256) {
		t.Fatal("Clear removed the wrong files")
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale partial download survived Clear: %v", err)
	}
	if diff := cmp.Diff([]string{b.SHA256}, dirNames(t, filepath.Join(cfg.Dir, "files"))); diff != "" {
		t.Fatalf("files/ (-want +got):\n%s", diff)
	}
}

func TestVerifyRemovesCorruptFiles(t *testing.T) {
	s := newServer(t)
	c := mustOpen(t, config(t, s))
	a, b := s.add("a", 10_000), s.add("b", 10_000)
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a, b}); err != nil {
		t.Fatal(err)
	}
	path, _ := c.Path(a.SHA256)
	if err := os.WriteFile(path, []byte("bit rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := c.Verify(context.Background())
	if err != nil || removed != 1 {
		t.Fatalf("Verify: removed=%d err=%v, want 1", removed, err)
	}
	if c.Has(a.SHA256) || !c.Has(b.SHA256) {
		t.Fatal("Verify removed the wrong file")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the corrupt file is still on disk")
	}
	// resync-media: the next Sync fetches it again.
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{a, b})
	if err != nil || len(res.Fetched) != 1 {
		t.Fatalf("Sync after Verify: err=%v fetched=%v", err, res.Fetched)
	}
	mustHold(t, c, a, s.content(a))
}

func TestOpenFindsVerifiedFilesAndCleansUp(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	c := mustOpen(t, cfg)
	a := s.add("a", 4096)
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a}); err != nil {
		t.Fatal(err)
	}
	junk := map[string]string{
		"files/not-a-sha":                    "x",
		"files/" + strings.Repeat("2", 64):   "", // empty
		"files/" + strings.Repeat("A", 64):   "upper case",
		"partial/.tmp-123":                   "temp",
		"partial/" + strings.Repeat("3", 64): "resumable",
	}
	for name, content := range junk {
		if err := os.WriteFile(filepath.Join(cfg.Dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	c = mustOpen(t, cfg)
	mustHold(t, c, a, s.content(a))
	if got, want := c.Bytes(), int64(4096); got != want {
		t.Fatalf("Bytes=%d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{a.SHA256}, dirNames(t, filepath.Join(cfg.Dir, "files"))); diff != "" {
		t.Fatalf("files/ after Open (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{strings.Repeat("3", 64)}, dirNames(t, filepath.Join(cfg.Dir, "partial"))); diff != "" {
		t.Fatalf("partial/ after Open (-want +got):\n%s", diff)
	}
}

func TestSyncCancelStopsPromptly(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	c := mustOpen(t, cfg)
	a := s.add("clip.mp4", 1<<20)
	s.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		w.Header().Set("Content-Length", fmt.Sprint(a.Size))
		w.WriteHeader(http.StatusOK)
		w.Write(s.content(a)[:64<<10])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // stall until the client gives up
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	part := filepath.Join(cfg.Dir, "partial", a.SHA256)
	go func() {
		for ctx.Err() == nil { // cancel once bytes have reached the partial file
			if fi, err := os.Stat(part); err == nil && fi.Size() > 0 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	start := time.Now()
	res, err := c.Sync(ctx, []marquee.MediaAsset{a})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync after cancel: err=%v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Sync took %v after cancel", d)
	}
	if !errors.Is(res.Failed[a.SHA256], context.Canceled) {
		t.Fatalf("Failed=%v", res.Failed)
	}
	if got := dirNames(t, filepath.Join(cfg.Dir, "files")); len(got) != 0 {
		t.Fatalf("files/ holds %v after a cancelled download", got)
	}
	fi, err := os.Stat(part)
	if err != nil || fi.Size() == 0 || fi.Size() >= a.Size {
		t.Fatalf("partial file after cancel: %v %v", fi, err)
	}

	// The next Sync resumes where the cancelled one stopped.
	s.setHook(nil)
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a}); err != nil {
		t.Fatal(err)
	}
	reqs := s.log()
	if got, want := reqs[len(reqs)-1].rng, fmt.Sprintf("bytes=%d-", fi.Size()); got != want {
		t.Fatalf("resumed with Range=%q, want %q", got, want)
	}
	mustHold(t, c, a, s.content(a))
}

func TestSyncStalledDownloadTimesOut(t *testing.T) {
	s := newServer(t)
	cfg := config(t, s)
	cfg.IdleTimeout = 100 * time.Millisecond
	c := mustOpen(t, cfg)
	a := s.add("clip.mp4", 100_000)
	s.setHook(func(w http.ResponseWriter, r *http.Request, i int) bool {
		if i > 1 {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(a.Size))
		w.WriteHeader(http.StatusOK)
		w.Write(s.content(a)[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	if _, err := c.Sync(context.Background(), []marquee.MediaAsset{a}); err != nil {
		t.Fatal(err)
	}
	reqs := s.log()
	if len(reqs) != 2 || reqs[1].rng != "bytes=1000-" {
		t.Fatalf("requests=%+v, want a resumed second one", reqs)
	}
	mustHold(t, c, a, s.content(a))
}

func TestAssetURLsAndToken(t *testing.T) {
	s := newServer(t)
	other := newServer(t)
	var otherAuth atomic.Value
	other.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		otherAuth.Store(r.Header.Get("Authorization"))
		return false
	})
	cfg := config(t, s)
	cfg.BaseURL = s.URL + "/prefix/"
	c := mustOpen(t, cfg)
	a := s.add("a", 100)
	s.mu.Lock()
	s.files["/prefix"+a.URL] = s.files[a.URL]
	s.mu.Unlock()
	ext := other.add("ext", 100)
	ext.URL = other.URL + ext.URL // absolute, another origin

	res, _ := c.Sync(context.Background(), []marquee.MediaAsset{a, ext})
	if !slices.Contains(res.Fetched, a.SHA256) {
		t.Fatalf("relative URL under a base path: %v", res.Failed[a.SHA256])
	}
	if got, want := s.log()[0].path, "/prefix/api/v1/media/a"; got != want {
		t.Fatalf("path=%q, want %q", got, want)
	}
	if got, _ := otherAuth.Load().(string); got != "" {
		t.Fatalf("token sent to another origin: %q", got)
	}
	// (other refuses without a token, which shows it was not sent.)
	if got, want := marquee.ErrorCode(res.Failed[ext.SHA256]), marquee.EUNAUTHORIZED; got != want {
		t.Fatalf("code=%s, want %s", got, want)
	}
}

func TestSyncInvalidAsset(t *testing.T) {
	s := newServer(t)
	c := mustOpen(t, config(t, s))
	bad := marquee.MediaAsset{SHA256: "../../etc/passwd", URL: "/x"}
	res, err := c.Sync(context.Background(), []marquee.MediaAsset{bad})
	if got, want := marquee.ErrorCode(res.Failed[bad.SHA256]), marquee.EINVALID; got != want || err == nil {
		t.Fatalf("code=%s err=%v, want %s", got, err, want)
	}
	if len(s.log()) != 0 {
		t.Fatal("a request was made for an invalid asset")
	}
}

func TestFreeDisk(t *testing.T) {
	c := mustOpen(t, cache.Config{Dir: t.TempDir()})
	free, err := c.FreeDisk()
	if err != nil {
		t.Skipf("FreeDisk: %v", err)
	}
	if free <= 0 {
		t.Fatalf("FreeDisk=%d", free)
	}
}
