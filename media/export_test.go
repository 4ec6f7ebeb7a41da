package media

import (
	"context"
	"image"
)

// Test-only access to internals for package media_test.

// FullDecodes returns how many full image decodes l has started.
func (l *Library) FullDecodes() int64 { return l.fullDecodes.Load() }

// Generations returns how many renditions l has generated.
func (l *Library) Generations() int64 { return l.generations.Load() }

// SetGenerateHook makes every generation call fn first (while holding its
// worker slot), e.g. to block it.
func (l *Library) SetGenerateHook(fn func()) { l.generateHook = fn }

// RenditionUncached generates a rendition even when it is cached: benchmarks
// measure a full decode, resize and encode per iteration.
func (l *Library) RenditionUncached(ctx context.Context, id string, w, h int, fit Fit) (Rendition, error) {
	it, err := l.Get(ctx, id)
	if err != nil {
		return Rendition{}, err
	}
	return l.generate(it, w, h, fit, false)
}

// Render exposes the pure resize step.
func Render(src image.Image, w, h int, fit Fit) image.Image { return render(src, w, h, fit) }
