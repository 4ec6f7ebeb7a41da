package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
)

// diskReserve is left free on the disk: a download that would eat into it
// fails at once instead of filling the disk the journal shares.
const diskReserve = 64 << 20

// copyBufSize is the read size of a download.
const copyBufSize = 256 << 10

var errIdle = errors.New("download stalled")

// Result reports what one Sync call did.
type Result struct {
	Fetched []string         // sha256 of the files that became present during the call, in manifest order
	Failed  map[string]error // sha256 → the last error, for each asset still missing (never nil)
	Bytes   int64            // bytes received over the network, failed attempts included
}

// flight is a download in progress, shared by concurrent Sync calls that
// need the same file.
type flight struct {
	done chan struct{}
	err  error // set before done is closed
}

// permanentError marks a failure that retrying within this Sync call will
// not fix (401, 403, 404, other 4xx, no disk space).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Sync makes every asset present and verified. Missing files are
// downloaded — at most Concurrency at a time across all Sync calls, and
// each file at most once when several calls need it — resuming a partial
// download with a Range request. A file is accepted only when its size
// (when the manifest gives one) and SHA-256 match; it is then fsynced and
// renamed into Dir/files, and the directory fsynced. A mismatch deletes
// the download and retries. Failed attempts are retried with back-off up to
// MaxAttempts, except for 401, 403, 404 and other client errors.
//
// Sync returns when every asset is present or has failed, or when ctx ends
// (after its downloads have stopped; partial files are kept for resuming).
// The error is ctx's error if it ended, else non-nil when any asset failed
// (wrapping the first failure, so marquee.ErrorCode classifies it); Result
// details every asset either way. Sync never evicts: call Evict.
func (c *Cache) Sync(ctx context.Context, assets []marquee.MediaAsset) (Result, error) {
	res := Result{Failed: map[string]error{}}
	var todo []marquee.MediaAsset
	seen := map[string]bool{}
	for _, a := range assets {
		if seen[a.SHA256] {
			continue
		}
		seen[a.SHA256] = true
		if !validSHA256(a.SHA256) {
			res.Failed[a.SHA256] = marquee.Errorf(marquee.EINVALID, "asset %q: sha256 is not 64 lower-case hex digits", a.SHA256)
			continue
		}
		if !c.present(a) {
			todo = append(todo, a)
		}
	}

	var (
		mu      sync.Mutex
		next    int
		fetched = map[string]bool{}
		wg      sync.WaitGroup
	)
	for range min(c.cfg.Concurrency, len(todo)) {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(todo) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				a := todo[next]
				next++
				mu.Unlock()

				n, err := c.ensure(ctx, a)
				mu.Lock()
				res.Bytes += n
				if err != nil {
					res.Failed[a.SHA256] = err
				} else {
					fetched[a.SHA256] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	var first error
	for _, a := range todo {
		switch {
		case fetched[a.SHA256]:
			res.Fetched = append(res.Fetched, a.SHA256)
		case res.Failed[a.SHA256] == nil: // never started: ctx ended
			res.Failed[a.SHA256] = ctx.Err()
		}
		if err := res.Failed[a.SHA256]; err != nil && first == nil {
			first = fmt.Errorf("%s: %w", a.SHA256, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if len(res.Failed) > 0 {
		if first == nil { // only invalid entries
			for _, err := range res.Failed {
				first = err
				break
			}
		}
		return res, fmt.Errorf("sync media: %d of %d files missing: %w", len(res.Failed), len(seen), first)
	}
	return res, nil
}

// present reports whether a is cached. A cached file whose size differs
// from the manifest's is removed so it is fetched again.
func (c *Cache) present(a marquee.MediaAsset) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.files[a.SHA256]
	if e == nil {
		return false
	}
	if a.Size > 0 && e.size != a.Size {
		c.log.Warn("cached file has the wrong size; fetching it again", "sha256", a.SHA256, "size", e.size, "want", a.Size)
		if err := c.removeLocked(a.SHA256); err != nil {
			c.log.Error("remove cached file", "sha256", a.SHA256, "err", err)
		}
		return false
	}
	return true
}

// ensure downloads a unless it is present or another call is downloading
// it, in which case it waits for that call. It returns the bytes received.
func (c *Cache) ensure(ctx context.Context, a marquee.MediaAsset) (int64, error) {
	for {
		c.mu.Lock()
		if c.files[a.SHA256] != nil {
			c.mu.Unlock()
			return 0, nil
		}
		if f := c.flights[a.SHA256]; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			if f.err != nil && !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
				return 0, f.err
			}
			continue // present now, or the other caller gave up: look again
		}
		f := &flight{done: make(chan struct{})}
		c.flights[a.SHA256] = f
		c.mu.Unlock()

		n, err := c.fetch(ctx, a)
		c.mu.Lock()
		delete(c.flights, a.SHA256)
		c.mu.Unlock()
		f.err = err
		close(f.done)
		return n, err
	}
}

// fetch makes up to MaxAttempts attempts to download a, backing off
// between them.
func (c *Cache) fetch(ctx context.Context, a marquee.MediaAsset) (int64, error) {
	var total int64
	for attempt := 1; ; attempt++ {
		select {
		case c.downloads <- struct{}{}:
		case <-ctx.Done():
			return total, ctx.Err()
		}
		n, err := c.attempt(ctx, a)
		<-c.downloads
		total += n
		if err == nil {
			c.log.Info("media fetched", "sha256", a.SHA256, "name", a.Name, "bytes", n, "attempt", attempt)
			return total, nil
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
		if isPermanent(err) || attempt >= c.cfg.MaxAttempts {
			c.log.Warn("media download failed", "sha256", a.SHA256, "name", a.Name, "url", a.URL, "attempts", attempt, "err", err)
			return total, err
		}
		d := c.backoff(attempt)
		c.log.Info("media download failed; retrying", "sha256", a.SHA256, "attempt", attempt, "retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		}
	}
}

// backoff returns the delay after the given failed attempt: RetryDelay
// doubled per attempt, capped at a minute, ±20% jitter so a fleet does not
// retry in step.
func (c *Cache) backoff(attempt int) time.Duration {
	d := c.cfg.RetryDelay
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, maxRetryDelay)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// attempt makes one download attempt into Dir/partial/<sha256>, resuming
// what is there, and commits the file when it is complete and verified. It
// returns the bytes received.
func (c *Cache) attempt(ctx context.Context, a marquee.MediaAsset) (int64, error) {
	part := filepath.Join(c.partDir, a.SHA256)
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("open partial file: %w", err)
	}
	defer f.Close() // after commit's own Close: harmless

	h := sha256.New()
	have, err := resumePoint(f, h, a.Size)
	if err != nil {
		return 0, err
	}
	if a.Size > 0 && have == a.Size { // complete from an earlier run
		return 0, c.commit(f, h, a, have)
	}
	if a.Size > 0 {
		if free, err := freeDisk(c.partDir); err == nil && free-(a.Size-have) < diskReserve {
			return 0, &permanentError{marquee.Errorf(marquee.EUNAVAILABLE, "not enough disk space for %s (%d bytes free, %d needed)", a.SHA256, free, a.Size-have)}
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.cfg.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	resp, err := c.get(ctx, a, have)
	if err != nil {
		return 0, c.idleErr(ctx, err)
	}
	defer resp.Body.Close()
	if have, err = c.checkResponse(resp, f, h, a, have); err != nil {
		return 0, err
	}

	n, err := c.receive(ctx, f, h, resp.Body, idle, a, have)
	if err != nil {
		return n, err
	}
	return n, c.commit(f, h, a, have+n)
}

// resumePoint returns how many bytes of the partial file f can be kept,
// with h fed those bytes. It truncates a file longer than size.
func resumePoint(f *os.File, h hash.Hash, size int64) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat partial file: %w", err)
	}
	have := fi.Size()
	if size > 0 && have > size {
		have = 0
	}
	if have > 0 {
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, have)); err != nil {
			h.Reset()
			have = 0
		}
	}
	if have != fi.Size() {
		if err := f.Truncate(have); err != nil {
			return 0, fmt.Errorf("truncate partial file: %w", err)
		}
	}
	return have, nil
}

// get sends the request for a, asking for the bytes from offset on.
func (c *Cache) get(ctx context.Context, a marquee.MediaAsset, offset int64) (*http.Response, error) {
	u, sendToken, err := c.assetURL(a.URL)
	if err != nil {
		return nil, &permanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &permanentError{marquee.WrapError(marquee.EINVALID, err, "asset %s: bad url", a.SHA256)}
	}
	// identity: a transparently gunzipped body would break Range offsets.
	req.Header.Set("Accept-Encoding", "identity")
	if sendToken && c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u.Redacted(), err)
	}
	return resp, nil
}

// assetURL resolves an asset URL against BaseURL and reports whether the
// bearer token may be sent to it (only to BaseURL's origin).
func (c *Cache) assetURL(raw string) (*url.URL, bool, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, false, marquee.WrapError(marquee.EINVALID, err, "asset url %q is invalid", raw)
	}
	if u.IsAbs() {
		same := c.base != nil && u.Scheme == c.base.Scheme && u.Host == c.base.Host
		return u, same, nil
	}
	if c.base == nil {
		return nil, false, marquee.Errorf(marquee.EINVALID, "asset url %q is relative and no base URL is configured", raw)
	}
	r := *c.base
	r.Path = strings.TrimSuffix(c.base.Path, "/") + "/" + strings.TrimPrefix(u.Path, "/")
	r.RawPath = ""
	r.RawQuery = u.RawQuery
	r.Fragment = ""
	return &r, true, nil
}

// checkResponse decides from the status and headers where the body goes:
// it returns the offset the body starts at, truncating the partial file
// when the server starts over. Refusals come back as errors.
func (c *Cache) checkResponse(resp *http.Response, f *os.File, h hash.Hash, a marquee.MediaAsset, have int64) (int64, error) {
	restart := func() error {
		h.Reset()
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("truncate partial file: %w", err)
		}
		return nil
	}
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have || (a.Size > 0 && total >= 0 && total != a.Size) {
			if err := restart(); err != nil {
				return 0, err
			}
			return 0, fmt.Errorf("server answered range %d- with Content-Range %q; starting over", have, resp.Header.Get("Content-Range"))
		}
	case code == http.StatusOK:
		if have > 0 {
			c.log.Info("server ignored the range request; downloading from the start", "sha256", a.SHA256, "had", have)
			if err := restart(); err != nil {
				return 0, err
			}
			have = 0
		}
	case code == http.StatusRequestedRangeNotSatisfiable:
		if err := restart(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("server refused range %d-: %s; starting over", have, resp.Status)
	default:
		return 0, statusError(resp, a)
	}
	if a.Size > 0 && resp.ContentLength >= 0 && have+resp.ContentLength != a.Size {
		if err := restart(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("server sends %d bytes from offset %d; the manifest says the file has %d", resp.ContentLength, have, a.Size)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return 0, fmt.Errorf("seek partial file: %w", err)
	}
	return have, nil
}

// statusError classifies an unexpected status: 5xx, 408 and 429 are worth
// retrying; the other client errors are not.
func statusError(resp *http.Response, a marquee.MediaAsset) error {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
	msg := fmt.Sprintf("get %s: %s", a.URL, resp.Status)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		return &permanentError{marquee.Errorf(marquee.EUNAUTHORIZED, "%s", msg)}
	case code == http.StatusForbidden:
		return &permanentError{marquee.Errorf(marquee.EFORBIDDEN, "%s", msg)}
	case code == http.StatusNotFound:
		return &permanentError{marquee.Errorf(marquee.ENOTFOUND, "%s", msg)}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return marquee.Errorf(marquee.EUNAVAILABLE, "%s", msg)
	default:
		return &permanentError{marquee.Errorf(marquee.EINVALID, "%s", msg)}
	}
}

// parseContentRange parses "bytes start-end/total" (total -1 for "*").
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t <= end {
			return 0, 0, false
		}
		total = t
	}
	return start, total, true
}

// receive copies the body into f (positioned at have) and h, resetting the
// idle timer on every read. It returns the bytes written; on a cut
// connection they stay in the partial file for the next attempt.
func (c *Cache) receive(ctx context.Context, f *os.File, h hash.Hash, body io.Reader, idle *time.Timer, a marquee.MediaAsset, have int64) (int64, error) {
	if a.Size > 0 {
		body = io.LimitReader(body, a.Size-have+1) // one more: to notice excess
	}
	buf := make([]byte, copyBufSize)
	var n int64
	for {
		m, rerr := body.Read(buf)
		if m > 0 {
			idle.Reset(c.cfg.IdleTimeout)
			if _, err := f.Write(buf[:m]); err != nil {
				f.Truncate(have + n) // keep only whole, received bytes
				return n, fmt.Errorf("write partial file: %w", err)
			}
			h.Write(buf[:m])
			n += int64(m)
		}
		if errors.Is(rerr, io.EOF) {
			break
		} else if rerr != nil {
			return n, c.idleErr(ctx, fmt.Errorf("download %s: %w", a.SHA256, rerr))
		}
	}
	if got := have + n; a.Size > 0 && got != a.Size {
		if got > a.Size {
			f.Truncate(0)
			return n, fmt.Errorf("server sent more than the %d bytes the manifest gives", a.Size)
		}
		return n, fmt.Errorf("download %s: body ended at %d of %d bytes", a.SHA256, got, a.Size)
	}
	return n, nil
}

// idleErr names a stall when the idle timer cancelled the request.
func (c *Cache) idleErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errIdle) {
		return fmt.Errorf("%w: no data for %v (%v)", errIdle, c.cfg.IdleTimeout, err)
	}
	return err
}

// commit verifies the complete partial file f and moves it into Dir/files:
// fsync, rename, fsync of the directory. A file whose hash does not match
// is deleted.
func (c *Cache) commit(f *os.File, h hash.Hash, a marquee.MediaAsset, size int64) error {
	part := f.Name()
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 || size == 0 {
		f.Close()
		os.Remove(part)
		return fmt.Errorf("downloaded %d bytes hash to %s, want %s: discarded", size, got, a.SHA256)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", a.SHA256, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", a.SHA256, err)
	}
	// The mtime records the last use (see Touch) in Now's terms.
	now := c.cfg.Now()
	_ = os.Chtimes(part, now, now)
	c.mu.Lock()
	err := os.Rename(part, filepath.Join(c.filesDir, a.SHA256))
	if err == nil {
		c.add(a.SHA256, size, now)
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("move %s into the cache: %w", a.SHA256, err)
	}
	if err := syncDir(c.filesDir); err != nil {
		// The file is verified and in place; a power cut before the
		// directory reaches the disk only costs a download.
		c.log.Warn("fsync of the cache directory failed", "err", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
