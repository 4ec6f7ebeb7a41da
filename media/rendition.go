package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
)

// Fit is how a source is fitted into a rendition's exact size.
type Fit string

// The fit modes.
const (
	FitFill    Fit = "fill"    // scale to cover, crop the overflow around the centre
	FitFit     Fit = "fit"     // scale to fit inside, letterbox on black
	FitStretch Fit = "stretch" // scale each axis independently
)

// ParseFit parses a fit mode, case-insensitively; "" means FitFill.
// Anything else is EINVALID.
func ParseFit(s string) (Fit, error) {
	switch f := Fit(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FitFill, nil
	case FitFill, FitFit, FitStretch:
		return f, nil
	}
	return "", marquee.Errorf(marquee.EINVALID, "fit must be fill, fit or stretch")
}

// Rendition is a cached file holding an item cut to an exact size.
type Rendition struct {
	Path          string // absolute path of the cached file; open it promptly
	MIME          string // image/jpeg or image/png
	Width, Height int
	ETag          string // strong, quoted; changes whenever the bytes may
	ModTime       time.Time
}

// Thumbnail returns the item's 320×180 rendition with FitFit. An item
// outside the actor's scope is ENOTFOUND.
func (l *Library) Thumbnail(ctx context.Context, id string) (Rendition, error) {
	if _, err := l.Get(ctx, id); err != nil {
		return Rendition{}, err
	}
	return l.Rendition(ctx, id, 320, 180, FitFit)
}

// Rendition returns item id scaled to exactly w×h pixels with fit (see
// Fit): a JPEG (quality 85), or a PNG when the source has any pixel that is
// not fully opaque. Letterbox bars are opaque black in both cases. JPEG
// sources are turned by their EXIF orientation first; a GIF renders its
// first frame; a video renders a frame at 1 s (or its first frame), which
// needs ffmpeg: without it, EUNSUPPORTED.
//
// Renditions are cached on disk under Dir/renditions and generated at most
// once, even under concurrent identical requests; generation runs in the
// worker pool and carries on for other callers if this ctx is cancelled.
// w and h must be 1..MaxRenditionSide, else EINVALID; an unknown id is
// ENOTFOUND. After Close, cached renditions are still returned; anything
// that would need generating is EUNAVAILABLE.
//
// Rendition does not apply the actor's scope: desired states name media of
// any organisation above a display's, and their builder cuts renditions
// while a user previews a display. Callers serving a user check with Get
// first.
func (l *Library) Rendition(ctx context.Context, id string, w, h int, fit Fit) (Rendition, error) {
	if err := l.checkRenditionSize(w, h); err != nil {
		return Rendition{}, err
	}
	fit, err := ParseFit(string(fit))
	if err != nil {
		return Rendition{}, err
	}
	it, err := l.find(ctx, id)
	if err != nil {
		return Rendition{}, err
	}
	if err := checkSHA(it); err != nil {
		return Rendition{}, err
	}
	if r, ok := l.cached(it.SHA256, w, h, fit); ok {
		return r, nil
	}
	if it.Kind == KindVideo && l.ffmpeg == "" {
		return Rendition{}, marquee.Errorf(marquee.EUNSUPPORTED, "video renditions need ffmpeg on the server")
	}
	key := renditionStem(it.SHA256, w, h, fit)
	ch := l.flight.DoChan(key, func() (any, error) {
		return l.generate(it, w, h, fit, true)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Rendition{}, res.Err
		}
		return res.Val.(Rendition), nil
	case <-ctx.Done():
		return Rendition{}, fmt.Errorf("rendition: %w", ctx.Err())
	}
}

func (l *Library) checkRenditionSize(w, h int) error {
	if w < 1 || h < 1 || w > l.cfg.MaxRenditionSide || h > l.cfg.MaxRenditionSide {
		return marquee.Errorf(marquee.EINVALID, "rendition size %d×%d: each side must be 1 to %d px",
			w, h, l.cfg.MaxRenditionSide)
	}
	return nil
}

// renditionStem is the cache file name without extension, also the
// singleflight key.
func renditionStem(sha string, w, h int, fit Fit) string {
	return fmt.Sprintf("%s_%dx%d_%s", sha, w, h, fit)
}

func (l *Library) renditionPath(sha string, w, h int, fit Fit, ext string) string {
	return filepath.Join(l.renditionDir, sha[:2], renditionStem(sha, w, h, fit)+ext)
}

// Rendition file types.
var renditionTypes = []struct{ ext, mime string }{{".jpg", mimeJPEG}, {".png", mimePNG}}

// cached returns the cached rendition, if there is one.
func (l *Library) cached(sha string, w, h int, fit Fit) (Rendition, bool) {
	for _, t := range renditionTypes {
		p := l.renditionPath(sha, w, h, fit, t.ext)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return Rendition{
				Path: p, MIME: t.mime, Width: w, Height: h, ModTime: st.ModTime(),
				ETag: fmt.Sprintf(`"%s-%dx%d-%s%s"`, sha[:20], w, h, fit, t.ext),
			}, true
		}
	}
	return Rendition{}, false
}

// generate makes the rendition and writes it to the cache. It runs detached
// from any request (singleflight) under the library's own context, as
// tracked work that Close waits for. With useCache false it regenerates
// even when the file exists (benchmarks).
func (l *Library) generate(it *Item, w, h int, fit Fit, useCache bool) (Rendition, error) {
	if err := l.begin(); err != nil {
		return Rendition{}, err
	}
	defer l.working.Done()
	ctx, cancel := context.WithTimeout(l.baseCtx, renditionTimeout)
	defer cancel()

	// A request that missed the cache just before the previous generation
	// of this key finished would otherwise generate it again.
	if r, ok := l.cached(it.SHA256, w, h, fit); ok && useCache {
		return r, nil
	}
	unlock := l.locks.rlock(it.SHA256) // the blob cannot be deleted meanwhile
	defer unlock()
	blob := l.blobPath(it.SHA256)
	if _, err := os.Stat(blob); errors.Is(err, fs.ErrNotExist) {
		return Rendition{}, marquee.WrapError(marquee.ENOTFOUND, err, "the media file is missing")
	}
	release, err := l.acquire(ctx)
	if err != nil {
		return Rendition{}, err
	}
	defer release()
	l.generations.Add(1)
	if l.generateHook != nil {
		l.generateHook()
	}

	src, err := l.source(ctx, it, blob)
	if err != nil {
		return Rendition{}, err
	}
	out := render(src, w, h, fit)
	ext, encode := ".jpg", encodeJPEG
	if !opaque(src) {
		ext, encode = ".png", encodePNG
	}
	src = nil // let the decoded source go before encoding
	if err := l.writeRendition(out, l.renditionPath(it.SHA256, w, h, fit, ext), encode); err != nil {
		return Rendition{}, err
	}
	if r, ok := l.cached(it.SHA256, w, h, fit); ok {
		return r, nil
	}
	return Rendition{}, fmt.Errorf("rendition of %s vanished after writing", it.ID)
}

// source decodes the picture a rendition is made from.
func (l *Library) source(ctx context.Context, it *Item, blob string) (image.Image, error) {
	if it.Kind == KindVideo {
		return l.videoFrame(ctx, blob, it.MIME, it.DurationMS)
	}
	img, err := l.decodeImageFile(blob, it.MIME)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", it.ID, err)
	}
	return img, nil
}

// writeRendition encodes img into a temp file and renames it to dst.
func (l *Library) writeRendition(img image.Image, dst string, encode func(io.Writer, image.Image) error) error {
	f, err := os.CreateTemp(l.tmpDir, "rendition-*")
	if err != nil {
		return fmt.Errorf("create rendition file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = encode(bw, img)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("encode rendition: %w", err)
	}
	return commitFile(f, f.Name(), dst)
}
