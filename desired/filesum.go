package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// fileSum returns the SHA-256 and size of a cached rendition. Rendition paths
// name their content (source hash, size, fit), so a sum never goes stale
// while the file exists.
func (b *Builder) fileSum(path string) (fileSum, error) {
	b.mu.Lock()
	s, ok := b.hashes[path]
	b.mu.Unlock()
	if ok {
		return s, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fileSum{}, fmt.Errorf("open rendition: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileSum{}, fmt.Errorf("hash rendition: %w", err)
	}
	s = fileSum{sha: hex.EncodeToString(h.Sum(nil)), size: n}
	b.mu.Lock()
	if len(b.hashes) > 100_000 {
		clear(b.hashes) // a crude bound; sums are cheap to recompute
	}
	b.hashes[path] = s
	b.mu.Unlock()
	return s, nil
}
