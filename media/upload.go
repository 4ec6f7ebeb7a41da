package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// Staged is an upload that has been received, hashed and validated but not
// yet recorded: its bytes sit in a temp file under Dir/tmp. Pass it to
// Commit, or call Discard. Its fields describe the file for the caller;
// Commit stores them as they are, so they must not be modified.
type Staged struct {
	Kind       Kind
	MIME       string
	SHA256     string // lower-case hex
	Size       int64
	Width      int // pixels as displayed (after EXIF orientation or track rotation)
	Height     int
	DurationMS int64 // 0 for images

	mu   sync.Mutex
	file *os.File // nil once committed or discarded
	path string
}

// Discard removes the temp file. It is idempotent and safe after Commit.
func (s *Staged) Discard() error {
	f, path := s.take()
	if f == nil {
		return nil
	}
	f.Close()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("discard upload: %w", err)
	}
	return nil
}

// take hands the temp file over to the caller exactly once.
func (s *Staged) take() (*os.File, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, path := s.file, s.path
	s.file, s.path = nil, ""
	return f, path
}

// Stage streams r to a temp file while hashing it, never holding the body in
// memory, and validates it:
//
//   - the format is sniffed from the first bytes (magic numbers only) and
//     must be JPEG, PNG, WebP, GIF, MP4/MOV or WebM/Matroska, else
//     EUNSUPPORTED; an empty body is EINVALID;
//   - as soon as the kind is known, more than MaxImageBytes or
//     MaxVideoBytes is ETOOLARGE, and reading stops;
//   - an image's header must declare at most MaxPixels and MaxSide, checked
//     before any full decode, and the full decode must then succeed;
//   - a video must yield its picture size (ffprobe when available, else the
//     built-in MP4/WebM readers); failing that is EINVALID.
//
// Errors reading r are returned wrapped, so callers can recognise their
// reader's errors (such as *http.MaxBytesError) with errors.As. On any
// error the temp file is already gone.
func (l *Library) Stage(ctx context.Context, r io.Reader) (*Staged, error) {
	if l.isClosed() {
		return nil, errClosed
	}
	f, err := os.CreateTemp(l.tmpDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create upload file: %w", err)
	}
	s := &Staged{file: f, path: f.Name()}
	if err := l.stage(ctx, s, ctxReader{ctx, r}); err != nil {
		s.Discard()
		return nil, err
	}
	return s, nil
}

func (l *Library) stage(ctx context.Context, s *Staged, r io.Reader) error {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return marquee.Errorf(marquee.EINVALID, "empty file")
	case err != nil && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("read upload: %w", err)
	}
	sniffed, err := sniff(head[:n])
	if err != nil {
		return err
	}
	s.Kind, s.MIME = sniffed.Kind, sniffed.MIME
	limit := l.cfg.MaxImageBytes
	if s.Kind == KindVideo {
		limit = l.cfg.MaxVideoBytes
	}
	h := sha256.New()
	w := io.MultiWriter(s.file, h)
	if int64(n) > limit {
		return tooLarge(s.Kind, limit)
	}
	if _, err := w.Write(head[:n]); err != nil {
		return fmt.Errorf("write upload: %w", err)
	}
	// Read at most one byte past the limit: enough to know it was exceeded.
	copied, err := io.CopyBuffer(w, io.LimitReader(r, limit-int64(n)+1), make([]byte, 1<<20))
	if err != nil {
		return fmt.Errorf("receive upload: %w", err)
	}
	s.Size = int64(n) + copied
	if s.Size > limit {
		return tooLarge(s.Kind, limit)
	}
	s.SHA256 = hex.EncodeToString(h.Sum(nil))
	if s.Kind == KindImage {
		return l.probeImage(ctx, s)
	}
	return l.probeVideo(ctx, s)
}

func tooLarge(k Kind, limit int64) error {
	return marquee.Errorf(marquee.ETOOLARGE, "the file is larger than the %s limit for %ss", formatBytes(limit), k)
}

// formatBytes renders a byte count for messages: "64 MiB", "1.5 GiB", "100 bytes".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %ciB", int64(v), "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}

// probeImage fills in an image's size after proving it decodes, in a worker
// slot since a full decode is what costs memory.
func (l *Library) probeImage(ctx context.Context, s *Staged) error {
	release, err := l.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	img, err := l.decodeImageFile(s.path, s.MIME)
	if err != nil {
		return err
	}
	s.Width, s.Height = img.Bounds().Dx(), img.Bounds().Dy()
	return nil
}

// Commit records a staged upload as a new item owned by m.OrgID, which
// must be in the actor's scope (auth.Scope.CheckOwner). It
// normalises m (see Meta: name required, at most MaxNameRunes; tags
// lower-cased, deduplicated, sorted, at most MaxTags of 1..MaxTagRunes
// letters, digits and ":-_."; otherwise EINVALID), moves the bytes into the
// blob store (or drops them when that blob already exists) and inserts the
// row. If the insert fails, a blob no other item uses is removed again.
//
// Commit consumes s whatever the outcome: afterwards no temp file is left
// and s cannot be committed again (EINVALID).
func (l *Library) Commit(ctx context.Context, s *Staged, m Meta) (*Item, error) {
	if s == nil {
		return nil, marquee.Errorf(marquee.EINVALID, "no upload to commit")
	}
	f, tmp := s.take()
	if f == nil {
		return nil, marquee.Errorf(marquee.EINVALID, "the upload was already committed or discarded")
	}
	moved := false
	defer func() {
		if !moved {
			f.Close()
			os.Remove(tmp)
		}
	}()
	name, tags, err := normaliseMeta(m)
	if err != nil {
		return nil, err
	}
	if err := auth.ScopeFrom(ctx).CheckOwner(m.OrgID); err != nil {
		return nil, err
	}
	if !validSHA256(s.SHA256) {
		return nil, marquee.Errorf(marquee.EINVALID, "the upload was not staged by this library")
	}
	now := l.now()
	it := &Item{
		ID: marquee.NewID("med_"), OrgID: m.OrgID, Name: name, Kind: s.Kind, MIME: s.MIME,
		SHA256: s.SHA256, Size: s.Size, Width: s.Width, Height: s.Height, DurationMS: s.DurationMS,
		Tags: tags, CreatedBy: m.CreatedBy, CreatedAt: now, UpdatedAt: now,
	}

	unlock := l.locks.lock(it.SHA256)
	defer unlock()
	moved = true // storeBlob disposes of f and tmp from here on
	if err := l.storeBlob(f, tmp, it.SHA256, it.Size); err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	if err := l.store.CreateMedia(ctx, it); err != nil {
		l.dropBlobIfUnused(context.WithoutCancel(ctx), it.SHA256)
		return nil, fmt.Errorf("create media: %w", err)
	}
	return it, nil
}

// normaliseMeta normalises the name and tags of m.
func normaliseMeta(m Meta) (name string, tags []string, err error) {
	if name, err = normaliseName(m.Name); err != nil {
		return "", nil, err
	}
	if tags, err = normaliseTags(m.Tags); err != nil {
		return "", nil, err
	}
	return name, tags, nil
}

// dropBlobIfUnused removes the blob of sha (and its renditions) when no item
// refers to it. The caller holds the sha's write lock. Failures are logged:
// the worst outcome is an orphan file, never a dangling row.
func (l *Library) dropBlobIfUnused(ctx context.Context, sha string) {
	n, err := l.store.CountMediaBySHA256(ctx, sha)
	if err != nil {
		l.log.Warn("media blob may be orphaned", "sha256", sha, "err", err)
		return
	}
	if n > 0 {
		return
	}
	if err := l.removeBlob(sha); err != nil {
		l.log.Warn("remove media blob", "sha256", sha, "err", err)
	}
}

// Upload stages r and commits it with m: see Stage and Commit. m is
// validated before r is read. A failed upload leaves no temp file, blob or
// row behind.
func (l *Library) Upload(ctx context.Context, r io.Reader, m Meta) (*Item, error) {
	if _, _, err := normaliseMeta(m); err != nil {
		return nil, err
	}
	if err := auth.ScopeFrom(ctx).CheckOwner(m.OrgID); err != nil {
		return nil, err
	}
	s, err := l.Stage(ctx, r)
	if err != nil {
		return nil, err
	}
	return l.Commit(ctx, s, m)
}

// ctxReader stops reading once ctx is done, so an abandoned upload does not
// keep its goroutine copying.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
