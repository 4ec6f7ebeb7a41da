package cache

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
)

// Defaults for the zero Config fields.
const (
	DefaultLimit       = 2 << 30
	DefaultConcurrency = 2
	DefaultMaxAttempts = 5
	DefaultRetryDelay  = time.Second
	DefaultIdleTimeout = time.Minute
	maxRetryDelay      = time.Minute
)

// touchPersistEvery is how often Touch writes a file's last use to its
// mtime, so LRU order survives a restart without a metadata write per play.
const touchPersistEvery = time.Hour

// Config configures a Cache. Only Dir is required.
type Config struct {
	// Dir holds verified files in Dir/files/<sha256> and partial downloads
	// in Dir/partial/<sha256>. Both must be on one filesystem (they are
	// subdirectories), so a verified file moves into place by rename.
	Dir string
	// Limit is the cache size in bytes that Evict enforces. 0 means
	// DefaultLimit (2 GiB).
	Limit int64
	// BaseURL is the server's base URL; relative asset URLs are resolved
	// against it, keeping its path as a prefix ("https://h/marquee" and
	// "/api/v1/media/x" give "https://h/marquee/api/v1/media/x").
	BaseURL string
	// Token is sent as "Authorization: Bearer <token>" to BaseURL's host
	// (never to another host an absolute asset URL names).
	Token string
	// HTTPClient makes the requests. nil means a client with connect, TLS
	// and response-header timeouts but no overall timeout: large videos
	// take long; IdleTimeout bounds a stalled body instead.
	HTTPClient *http.Client
	// Concurrency bounds parallel downloads across all Sync calls. 0 means
	// DefaultConcurrency (2).
	Concurrency int
	// MaxAttempts bounds the attempts per file in one Sync call. 0 means
	// DefaultMaxAttempts (5).
	MaxAttempts int
	// RetryDelay is the first back-off between attempts; it doubles per
	// attempt, is capped at one minute and jittered by ±20%. 0 means
	// DefaultRetryDelay (1 s).
	RetryDelay time.Duration
	// IdleTimeout aborts a download that receives no byte for this long
	// (waiting for the response headers included). 0 means
	// DefaultIdleTimeout (1 min).
	IdleTimeout time.Duration
	// Now tells the time for LRU bookkeeping. nil means time.Now.
	Now func() time.Time
	// Logger receives download failures and removals. nil discards them.
	Logger *slog.Logger
}

// Cache is the player's verified, content-addressed media cache. Its
// methods are safe for concurrent use. It owns no goroutine outside its
// method calls, so it needs no Close.
type Cache struct {
	cfg       Config
	filesDir  string
	partDir   string
	base      *url.URL // nil when BaseURL is empty
	client    *http.Client
	log       *slog.Logger
	downloads chan struct{} // semaphore: Concurrency slots

	mu      sync.Mutex
	files   map[string]*entry  // verified files by sha256
	total   int64              // bytes of files
	flights map[string]*flight // downloads in progress by sha256
}

// entry is one verified file.
type entry struct {
	size      int64
	used      time.Time // last Touch (or mtime at Open)
	persisted time.Time // last time used was written to the mtime
}

// Open opens the cache in cfg.Dir, creating its directories. It indexes
// Dir/files (removing anything whose name is not a lower-case sha256 and
// empty files) and removes partial downloads whose names are not a sha256.
// Files in Dir/files are trusted: they got there only by rename after
// verification; Verify re-hashes them on demand.
func Open(cfg Config) (*Cache, error) {
	if cfg.Dir == "" {
		return nil, marquee.Errorf(marquee.EINVALID, "cache dir is required")
	}
	if cfg.Limit <= 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{
		cfg:       cfg,
		filesDir:  filepath.Join(cfg.Dir, "files"),
		partDir:   filepath.Join(cfg.Dir, "partial"),
		client:    cfg.HTTPClient,
		log:       cfg.Logger,
		downloads: make(chan struct{}, cfg.Concurrency),
		files:     map[string]*entry{},
		flights:   map[string]*flight{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.client == nil {
		c.client = defaultClient()
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, marquee.Errorf(marquee.EINVALID, "cache base URL %q is not an absolute URL", cfg.BaseURL)
		}
		c.base = u
	}
	for _, d := range []string{c.filesDir, c.partDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	if err := c.index(); err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	if err := c.cleanPartials(); err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	return c, nil
}

func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}}
}

// index builds the in-memory index from Dir/files.
func (c *Cache) index() error {
	ents, err := os.ReadDir(c.filesDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		path := filepath.Join(c.filesDir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue // vanished meanwhile
		}
		if !validSHA256(e.Name()) || !info.Mode().IsRegular() || info.Size() == 0 {
			c.log.Warn("removing a stray file from the media cache", "path", path)
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			continue
		}
		c.files[e.Name()] = &entry{size: info.Size(), used: info.ModTime(), persisted: info.ModTime()}
		c.total += info.Size()
	}
	return nil
}

// cleanPartials removes stale temp files from Dir/partial: anything not
// named by a sha256. Partial downloads are kept to be resumed.
func (c *Cache) cleanPartials() error {
	ents, err := os.ReadDir(c.partDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !validSHA256(e.Name()) || !e.Type().IsRegular() {
			if err := os.RemoveAll(filepath.Join(c.partDir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// validSHA256 reports whether s is 64 lower-case hex digits.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < '0' || b > '9') && (b < 'a' || b > 'f') {
			return false
		}
	}
	return true
}

// Has reports whether the verified file with this SHA-256 is cached.
func (c *Cache) Has(sha256 string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.files[sha256] != nil
}

// Path returns the path of the verified file with this SHA-256, and false if
// it is not cached. Only files whose hash was checked after download are
// ever returned; a partial download never is. Evict, Clear or Verify may
// remove the file later; an open file stays readable (POSIX unlink).
func (c *Cache) Path(sha256 string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files[sha256] == nil {
		return "", false
	}
	return filepath.Join(c.filesDir, sha256), true
}

// Touch marks a file as used now, for least-recently-used eviction. It does
// nothing for a file that is not cached.
func (c *Cache) Touch(sha256 string) {
	now := c.cfg.Now()
	c.mu.Lock()
	e := c.files[sha256]
	persist := false
	if e != nil {
		e.used = now
		if now.Sub(e.persisted) >= touchPersistEvery {
			e.persisted, persist = now, true
		}
	}
	c.mu.Unlock()
	if persist {
		// Best effort: the mtime only seeds LRU order after a restart.
		_ = os.Chtimes(filepath.Join(c.filesDir, sha256), now, now)
	}
}

// Bytes returns the total size of the verified files.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// FreeDisk returns the bytes available to this process on Dir's filesystem.
func (c *Cache) FreeDisk() (int64, error) {
	return freeDisk(c.cfg.Dir)
}

// add indexes a file just renamed into Dir/files. Called with mu held.
func (c *Cache) add(sha string, size int64, now time.Time) {
	if old := c.files[sha]; old != nil {
		c.total -= old.size
	}
	c.files[sha] = &entry{size: size, used: now, persisted: now}
	c.total += size
}

// removeLocked forgets and deletes a verified file. Called with mu held, so
// no rename of a fresh copy can slip between the check and the unlink.
func (c *Cache) removeLocked(sha string) error {
	e := c.files[sha]
	if e == nil {
		return nil
	}
	delete(c.files, sha)
	c.total -= e.size
	if err := os.Remove(filepath.Join(c.filesDir, sha)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
