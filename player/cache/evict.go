package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Evict removes verified files not in keep, least recently used first (see
// Touch), while the cache holds more than Limit bytes. A file in keep is
// never removed, even if the kept files alone exceed Limit. Partial
// downloads not in keep and not in progress are discarded too: they belong
// to states no longer wanted. It returns the bytes freed; on error, what
// was removed before it stays removed.
func (c *Cache) Evict(keep map[string]bool) (freed int64, err error) {
	freed, err = c.dropPartials(keep)
	if err != nil {
		return freed, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total <= c.cfg.Limit {
		return freed, nil
	}
	var lru []string
	for sha := range c.files {
		if !keep[sha] {
			lru = append(lru, sha)
		}
	}
	slices.SortFunc(lru, func(a, b string) int {
		if cmp := c.files[a].used.Compare(c.files[b].used); cmp != 0 {
			return cmp
		}
		return strings.Compare(a, b)
	})
	for _, sha := range lru {
		if c.total <= c.cfg.Limit {
			break
		}
		size := c.files[sha].size
		if err := c.removeLocked(sha); err != nil {
			return freed, fmt.Errorf("evict %s: %w", sha, err)
		}
		freed += size
		c.log.Info("evicted from the media cache", "sha256", sha, "bytes", size)
	}
	if c.total > c.cfg.Limit {
		c.log.Warn("media cache over its limit with only needed files left", "bytes", c.total, "limit", c.cfg.Limit)
	}
	return freed, nil
}

// Clear removes every verified file not in keep, and every partial download
// not in keep and not in progress (the clear-cache command). It returns how
// many verified files it removed.
func (c *Cache) Clear(keep map[string]bool) (removed int, err error) {
	if _, err := c.dropPartials(keep); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for sha := range c.files {
		if keep[sha] {
			continue
		}
		if err := c.removeLocked(sha); err != nil {
			return removed, fmt.Errorf("clear %s: %w", sha, err)
		}
		removed++
	}
	return removed, nil
}

// dropPartials removes partial downloads not in keep and not in progress.
func (c *Cache) dropPartials(keep map[string]bool) (int64, error) {
	ents, err := os.ReadDir(c.partDir)
	if err != nil {
		return 0, fmt.Errorf("list partial downloads: %w", err)
	}
	var freed int64
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range ents {
		sha := e.Name()
		if keep[sha] || c.flights[sha] != nil {
			continue
		}
		if info, err := e.Info(); err == nil {
			freed += info.Size()
		}
		if err := os.Remove(filepath.Join(c.partDir, sha)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return freed, fmt.Errorf("remove partial download: %w", err)
		}
	}
	return freed, nil
}

// Verify re-hashes every verified file and removes those whose content no
// longer matches their name (the resync-media command; a following Sync
// fetches them again). It returns how many it removed, and ctx's error if
// ctx ended first.
func (c *Cache) Verify(ctx context.Context) (removed int, err error) {
	c.mu.Lock()
	todo := make(map[string]*entry, len(c.files))
	for sha, e := range c.files {
		todo[sha] = e
	}
	c.mu.Unlock()

	for sha, e := range todo {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		ok, err := c.verifyFile(ctx, sha)
		if err != nil {
			if ctx.Err() != nil {
				return removed, ctx.Err()
			}
			c.log.Warn("cannot read a cached file; removing it", "sha256", sha, "err", err)
		} else if ok {
			continue
		} else {
			c.log.Warn("cached file is corrupt; removing it", "sha256", sha)
		}
		c.mu.Lock()
		if c.files[sha] == e { // not replaced by a fresh download meanwhile
			if err := c.removeLocked(sha); err != nil {
				c.mu.Unlock()
				return removed, fmt.Errorf("remove corrupt %s: %w", sha, err)
			}
			removed++
		}
		c.mu.Unlock()
	}
	return removed, nil
}

// verifyFile reports whether the file's SHA-256 matches its name.
func (c *Cache) verifyFile(ctx context.Context, sha string) (bool, error) {
	f, err := os.Open(filepath.Join(c.filesDir, sha))
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return false, err
	}
	return n > 0 && hex.EncodeToString(h.Sum(nil)) == sha, nil
}

// ctxReader stops reading once ctx ends, so Verify of gigabytes stops
// promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
