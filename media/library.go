package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/marquee-signage/marquee"
)

// Config holds the settings of a Library. Zero values mean the documented
// defaults; only Dir is required.
type Config struct {
	// Dir is the data directory. The library owns Dir/blobs (originals by
	// sha256), Dir/renditions (cached renditions) and Dir/tmp (files being
	// written). One process at a time may use a Dir: NewLibrary empties
	// Dir/tmp.
	Dir string

	MaxImageBytes    int64 // largest image upload; 0 → 64 MiB
	MaxVideoBytes    int64 // largest video upload; 0 → 512 MiB
	MaxPixels        int   // most pixels in a source image; 0 → 40_000_000
	MaxSide          int   // longest side of a source image; 0 → 16384
	MaxRenditionSide int   // longest side of a rendition; 0 → 8192

	// RenditionWorkers bounds how many images are decoded, resized or
	// encoded at once (uploads and renditions alike), which bounds memory:
	// a 24 MP photo needs ~70 MB while it is worked on. 0 → runtime.NumCPU().
	RenditionWorkers int

	// FFprobePath is the ffprobe binary used to probe videos: "" looks up
	// "ffprobe" on PATH and goes without it if absent; "-" never uses it.
	// Without ffprobe, videos are probed by the built-in MP4 and WebM readers.
	FFprobePath string
	// FFmpegPath is the ffmpeg binary used only to cut video thumbnails and
	// renditions: "" looks up "ffmpeg" on PATH; "-" never uses it.
	FFmpegPath string

	Now    func() time.Time // clock; nil → time.Now
	Logger *slog.Logger     // nil → discard
}

// Defaults applied by NewLibrary to zero Config fields.
const (
	DefaultMaxImageBytes    = 64 << 20
	DefaultMaxVideoBytes    = 512 << 20
	DefaultMaxPixels        = 40_000_000
	DefaultMaxSide          = 16384
	DefaultMaxRenditionSide = 8192
)

// renditionTimeout bounds the generation of one rendition, ffmpeg included.
const renditionTimeout = 2 * time.Minute

// Library is the media library service: it validates and stores uploads,
// keeps one blob per distinct content, and cuts renditions to exact panel
// sizes. It is safe for concurrent use. Create it with NewLibrary and stop
// it with Close.
type Library struct {
	store Store
	cfg   Config
	log   *slog.Logger

	blobDir, renditionDir, tmpDir string
	ffprobe, ffmpeg               string // "" when not used

	pool   chan struct{} // worker-pool slots
	flight singleflight.Group
	locks  keyedLocks // per-sha256: blob lifecycle vs. renditions

	mu      sync.Mutex
	closed  bool
	working sync.WaitGroup // rendition generations in flight
	baseCtx context.Context
	cancel  context.CancelFunc

	fullDecodes  atomic.Int64 // full image decodes (tests prove bombs never reach one)
	generations  atomic.Int64 // renditions generated (tests prove singleflight works)
	generateHook func()       // tests only: runs at the start of each generation
}

// NewLibrary returns a Library storing rows in store and files under
// cfg.Dir. It creates the directories it owns and removes files left in
// Dir/tmp by a crash. An explicitly configured ffprobe or ffmpeg path that
// is not an executable is an error.
func NewLibrary(store Store, cfg Config) (*Library, error) {
	if store == nil {
		return nil, errors.New("media: nil store")
	}
	if cfg.Dir == "" {
		return nil, errors.New("media: Config.Dir is required")
	}
	if err := applyDefaults(&cfg); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("media: data directory: %w", err)
	}
	cfg.Dir = dir
	l := &Library{
		store:        store,
		cfg:          cfg,
		log:          cfg.Logger,
		blobDir:      filepath.Join(dir, "blobs"),
		renditionDir: filepath.Join(dir, "renditions"),
		tmpDir:       filepath.Join(dir, "tmp"),
		pool:         make(chan struct{}, cfg.RenditionWorkers),
	}
	if l.ffprobe, err = lookTool(cfg.FFprobePath, "ffprobe"); err != nil {
		return nil, err
	}
	if l.ffmpeg, err = lookTool(cfg.FFmpegPath, "ffmpeg"); err != nil {
		return nil, err
	}
	for _, d := range []string{l.blobDir, l.renditionDir, l.tmpDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("media: create directory: %w", err)
		}
	}
	if err := l.cleanTmp(); err != nil {
		return nil, err
	}
	l.baseCtx, l.cancel = context.WithCancel(context.Background())
	l.log.Debug("media library ready", "dir", dir, "ffprobe", l.ffprobe, "ffmpeg", l.ffmpeg,
		"workers", cfg.RenditionWorkers)
	return l, nil
}

func applyDefaults(c *Config) error {
	if c.MaxImageBytes < 0 || c.MaxVideoBytes < 0 || c.MaxPixels < 0 || c.MaxSide < 0 ||
		c.MaxRenditionSide < 0 || c.RenditionWorkers < 0 {
		return errors.New("media: negative limit in Config")
	}
	setDefault(&c.MaxImageBytes, DefaultMaxImageBytes)
	setDefault(&c.MaxVideoBytes, DefaultMaxVideoBytes)
	setDefault(&c.MaxPixels, DefaultMaxPixels)
	setDefault(&c.MaxSide, DefaultMaxSide)
	setDefault(&c.MaxRenditionSide, DefaultMaxRenditionSide)
	setDefault(&c.RenditionWorkers, runtime.NumCPU())
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func setDefault[T int | int64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// lookTool resolves a configured tool path: "-" disables it, "" looks name
// up on PATH (absent is fine), anything else must be executable.
func lookTool(configured, name string) (string, error) {
	switch configured {
	case "-":
		return "", nil
	case "":
		p, err := exec.LookPath(name)
		if err != nil {
			return "", nil
		}
		return p, nil
	}
	p, err := exec.LookPath(configured)
	if err != nil {
		return "", fmt.Errorf("media: %s: %w", name, err)
	}
	return p, nil
}

// cleanTmp removes everything in Dir/tmp: files there belong to uploads and
// renditions that a crash interrupted.
func (l *Library) cleanTmp() error {
	entries, err := os.ReadDir(l.tmpDir)
	if err != nil {
		return fmt.Errorf("media: read tmp directory: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(l.tmpDir, e.Name())); err != nil {
			return fmt.Errorf("media: clean tmp directory: %w", err)
		}
	}
	if len(entries) > 0 {
		l.log.Info("removed stale temporary media files", "count", len(entries))
	}
	return nil
}

// Close stops accepting uploads and renditions and waits for renditions in
// flight until ctx is done; it then cancels them (killing ffmpeg) and
// returns ctx's error. Close may be called more than once.
func (l *Library) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		l.working.Wait()
		close(done)
	}()
	select {
	case <-done:
		l.cancel()
		return nil
	case <-ctx.Done():
		l.cancel()
		return fmt.Errorf("close media library: %w", ctx.Err())
	}
}

// begin registers one unit of background work; it fails once Close has
// been called. The caller must call l.working.Done.
func (l *Library) begin() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	l.working.Add(1)
	return nil
}

var errClosed = marquee.Errorf(marquee.EUNAVAILABLE, "the media library is shutting down")

func (l *Library) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// acquire takes a worker-pool slot, waiting until one is free or ctx is
// done. The returned function gives it back.
func (l *Library) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.pool <- struct{}{}:
		return func() { <-l.pool }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a media worker: %w", ctx.Err())
	}
}

// now returns the current time as stored: UTC, millisecond precision (what
// every SQL dialect keeps).
func (l *Library) now() time.Time {
	return l.cfg.Now().UTC().Truncate(time.Millisecond)
}
