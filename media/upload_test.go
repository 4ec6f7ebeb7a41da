package media_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/media"
)

func TestUploadImage(t *testing.T) {
	e := newEnv(t, media.Config{})
	data := pngBytes(t, stripes(30, 20, red, blue))
	it, err := e.lib.Upload(context.Background(), bytes.NewReader(data),
		media.Meta{Name: " ../../etc/passwd\n", Tags: []string{"Lobby", "lobby", "sale:tet"}, OrgID: "org_root", CreatedBy: "usr_1"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := media.Item{
		ID: it.ID, OrgID: "org_root", Name: "../../etc/passwd", Kind: media.KindImage, MIME: "image/png",
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Width: 30, Height: 20,
		Tags: []string{"lobby", "sale:tet"}, CreatedBy: "usr_1", CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	if !strings.HasPrefix(it.ID, "med_") || it.CreatedAt.IsZero() {
		t.Errorf("ID %q, CreatedAt %v", it.ID, it.CreatedAt)
	}
	if !equalItems(*it, want) {
		t.Fatalf("Upload = %+v\nwant %+v", *it, want)
	}
	got, err := e.lib.Get(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !equalItems(*got, want) {
		t.Fatalf("Get = %+v\nwant %+v", *got, want)
	}
	// The name is data: the blob lives under its hash.
	if blobs := e.files(t, "blobs"); len(blobs) != 1 || blobs[filepath.Join(want.SHA256[:2], want.SHA256)] != want.Size {
		t.Fatalf("blobs = %v", blobs)
	}
	if tmp := e.files(t, "tmp"); len(tmp) != 0 {
		t.Fatalf("tmp = %v", tmp)
	}
	_, f, err := e.lib.Open(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); !bytes.Equal(b, data) {
		t.Fatal("Open returned other bytes")
	}
}

func equalItems(a, b media.Item) bool {
	return a.ID == b.ID && a.OrgID == b.OrgID && a.Name == b.Name && a.Kind == b.Kind && a.MIME == b.MIME &&
		a.SHA256 == b.SHA256 && a.Size == b.Size && a.Width == b.Width && a.Height == b.Height &&
		a.DurationMS == b.DurationMS && slices.Equal(a.Tags, b.Tags) && a.CreatedBy == b.CreatedBy &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestUploadFormats(t *testing.T) {
	e := newEnv(t, media.Config{FFprobePath: "-"})
	var gifBuf bytes.Buffer
	pal := &image.Paletted{Pix: make([]uint8, 12*8), Stride: 12, Rect: image.Rect(0, 0, 12, 8),
		Palette: color.Palette{red, blue}}
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}
	// A 1×1 lossless WebP.
	webp := []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
	tests := []struct {
		name, mime string
		data       []byte
		w, h       int
	}{
		{"jpeg", "image/jpeg", jpegBytes(t, stripes(40, 30, red)), 40, 30},
		{"gif", "image/gif", gifBuf.Bytes(), 12, 8},
		{"webp", "image/webp", webp, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := e.mustUpload(t, tt.data, tt.name)
			if it.MIME != tt.mime || it.Kind != media.KindImage || it.Width != tt.w || it.Height != tt.h {
				t.Fatalf("item = %+v, want %s %d×%d", it, tt.mime, tt.w, tt.h)
			}
		})
	}
}

// Videos are probed by the built-in readers (FFprobePath "-") and, where
// installed, by ffprobe; both must agree.
func TestUploadVideo(t *testing.T) {
	probes := []struct{ name, ffprobe string }{{"builtin", "-"}, {"ffprobe", ""}}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			if p.ffprobe == "" {
				if _, err := exec.LookPath("ffprobe"); err != nil {
					t.Skip("ffprobe not installed")
				}
			}
			e := newEnv(t, media.Config{FFprobePath: p.ffprobe})
			for _, fx := range []struct{ file, mime string }{{"clip.mp4", "video/mp4"}, {"clip.webm", "video/webm"}} {
				data, err := os.ReadFile(filepath.Join("testdata", fx.file))
				if err != nil {
					t.Fatal(err)
				}
				it := e.mustUpload(t, data, fx.file)
				if it.Kind != media.KindVideo || it.MIME != fx.mime || it.Width != 64 || it.Height != 32 || it.DurationMS != 2000 {
					t.Errorf("%s: item = %+v", fx.file, it)
				}
			}
			if p.ffprobe != "-" {
				return // ffprobe rightly refuses the synthetic file: it has no sample table
			}
			// A synthetic MP4 with its moov at the end.
			it := e.mustUpload(t, media.BuildMP4(1280, 720, 5000, false), "synthetic")
			if it.Width != 1280 || it.Height != 720 || it.DurationMS != 10_000 {
				t.Errorf("synthetic: item = %+v", it)
			}
		})
	}
}

// badInput is an upload that must be refused without a trace.
type badInput struct {
	name     string
	cfg      media.Config
	data     []byte
	wantCode string
	wantMsg  string // substring of the user message
}

func badInputs(t *testing.T) []badInput {
	var tif, bmpb bytes.Buffer
	img := stripes(8, 8, red, blue)
	if err := tiff.Encode(&tif, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&bmpb, img); err != nil {
		t.Fatal(err)
	}
	jpg := jpegBytes(t, stripes(64, 64, red, green, blue))
	pngb := pngBytes(t, stripes(64, 64, red, green, blue))
	badCRC := bytes.Clone(pngb)
	badCRC[len(badCRC)-20] ^= 0xFF // inside the last IDAT
	clip, err := os.ReadFile("testdata/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	webm, err := os.ReadFile("testdata/clip.webm")
	if err != nil {
		t.Fatal(err)
	}
	noMoov := append(media.BuildFtyp("isom", "isom", "mp41"), media.BuildBox("mdat", make([]byte, 100))...)
	notWebM := bytes.Replace(webm[:200], []byte("webm"), []byte("wxyz"), 1)
	small := media.Config{MaxImageBytes: 1000, MaxVideoBytes: 1000, FFprobePath: "-"}
	return []badInput{
		{"empty", media.Config{}, nil, marquee.EINVALID, "empty file"},
		{"tiff", media.Config{}, tif.Bytes(), marquee.EUNSUPPORTED, "TIFF image"},
		{"bmp", media.Config{}, bmpb.Bytes(), marquee.EUNSUPPORTED, "BMP image"},
		{"svg", media.Config{}, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
			marquee.EUNSUPPORTED, "SVG image"},
		{"xml", media.Config{}, []byte(`<?xml version="1.0"?><x/>`), marquee.EUNSUPPORTED, "XML document"},
		{"html", media.Config{}, []byte("<!doctype html><title>x</title>"), marquee.EUNSUPPORTED, "HTML document"},
		{"pdf", media.Config{}, []byte("%PDF-1.4\n1 0 obj\n"), marquee.EUNSUPPORTED, "PDF document"},
		{"elf", media.Config{}, append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 100)...), marquee.EUNSUPPORTED, "ELF executable"},
		{"pe", media.Config{}, append([]byte("MZ\x90\x00"), make([]byte, 100)...), marquee.EUNSUPPORTED, "Windows executable"},
		{"garbage", media.Config{}, bytes.Repeat([]byte{0xAB}, 5000), marquee.EUNSUPPORTED, "unrecognised data"},
		{"heic", media.Config{}, media.BuildFtyp("heic", "mif1", "heic"), marquee.EUNSUPPORTED, "HEIF"},
		{"webm with another DocType", media.Config{}, notWebM, marquee.EUNSUPPORTED, `"wxyz"`},
		{"truncated jpeg", media.Config{}, jpg[:len(jpg)/2], marquee.EINVALID, "the JPEG image is corrupt or truncated"},
		{"jpeg header only", media.Config{}, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0}, marquee.EINVALID, "JPEG image is"},
		{"truncated png", media.Config{}, pngb[:len(pngb)/2], marquee.EINVALID, "the PNG image is corrupt or truncated"},
		{"png with a bad checksum", media.Config{}, badCRC, marquee.EINVALID, "PNG image is corrupt"},
		{"png bomb", media.Config{}, pngHeaderOnly(50000, 50000), marquee.EINVALID,
			"image is 50000×50000; at most 40 MP and 16384 px a side"},
		{"png too wide", media.Config{}, pngHeaderOnly(20000, 10), marquee.EINVALID,
			"image is 20000×10; at most 40 MP and 16384 px a side"},
		{"png with no pixels", media.Config{}, pngHeaderOnly(0, 10), marquee.EINVALID, "PNG image is corrupt"},
		{"mp4 without moov", media.Config{FFprobePath: "-"}, noMoov, marquee.EINVALID, "the video is corrupt or truncated"},
		{"mp4 without moov (ffprobe)", media.Config{}, noMoov, marquee.EINVALID, "the video is corrupt or truncated"},
		{"truncated mp4", media.Config{FFprobePath: "-"}, clip[:len(clip)-100], marquee.EINVALID, "the video is corrupt or truncated"},
		{"truncated webm", media.Config{FFprobePath: "-"}, webm[:300], marquee.EINVALID, "the video is corrupt or truncated"},
		{"audio-only mp4", media.Config{FFprobePath: "-"},
			append(media.BuildFtyp("isom", "isom"), media.BuildBox("moov", media.BuildMvhd(0, 1000, 1000),
				media.BuildTrak(media.BuildTkhd(0, 0, 0, false)))...),
			marquee.EINVALID, "the video has no picture"},
		{"image over the byte limit", small, pngBytes(t, noise(100, 100)),
			marquee.ETOOLARGE, "larger than the 1000 bytes limit for images"},
		{"video over the byte limit", small, clip, marquee.ETOOLARGE, "limit for videos"},
	}
}

// Every refused upload returns its code and leaves Dir/tmp, Dir/blobs and
// the media table exactly as they were.
func TestUploadRejects(t *testing.T) {
	for _, tt := range badInputs(t) {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			e.mustUpload(t, pngBytes(t, stripes(4, 4, green)), "existing") // something to leave alone
			before := e.state(t)
			decodes := e.lib.FullDecodes()
			_, err := e.lib.Upload(context.Background(), bytes.NewReader(tt.data), meta("x.jpg"))
			wantCode(t, err, tt.wantCode)
			if msg := marquee.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q, want it to contain %q", msg, tt.wantMsg)
			}
			if strings.Contains(marquee.ErrorMessage(err), e.dir) {
				t.Errorf("message %q shows a path", marquee.ErrorMessage(err))
			}
			e.assertUnchanged(t, before)
			if strings.Contains(tt.name, "bomb") || strings.Contains(tt.name, "wide") {
				if n := e.lib.FullDecodes() - decodes; n != 0 {
					t.Errorf("%d full decodes of an oversized image, want 0", n)
				}
			}
		})
	}
}

// The oversized image is refused from its header: the refusal allocates
// next to nothing (a full decode would need 10 GB) and never reaches the
// full decoder.
func TestUploadBombRefusedBeforeDecode(t *testing.T) {
	e := newEnv(t, media.Config{})
	bomb := pngHeaderOnly(50000, 50000)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := e.lib.Stage(context.Background(), bytes.NewReader(bomb))
	runtime.ReadMemStats(&m1)
	wantCode(t, err, marquee.EINVALID)
	if got, want := marquee.ErrorMessage(err), "image is 50000×50000; at most 40 MP and 16384 px a side"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
	if n := e.lib.FullDecodes(); n != 0 {
		t.Fatalf("full decodes = %d, want 0", n)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("Stage allocated %d bytes, want < 8 MiB", alloc)
	}
}

// lazyReader produces n bytes after prefix without ever holding them,
// counting what it handed out.
type lazyReader struct {
	prefix   []byte
	n        int64 // bytes after prefix; < 0 for endless
	produced int64
}

func (r *lazyReader) Read(p []byte) (int, error) {
	if len(r.prefix) > 0 {
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		r.produced += int64(n)
		return n, nil
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	if r.n > 0 && int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = byte(i)
	}
	if r.n > 0 {
		r.n -= int64(len(p))
	}
	r.produced += int64(len(p))
	return len(p), nil
}

// An endless body is cut off one byte past the limit, and streaming it
// does not hold it in memory.
func TestUploadTooLargeStreams(t *testing.T) {
	const limit = 32 << 20
	e := newEnv(t, media.Config{MaxVideoBytes: limit, MaxImageBytes: 1 << 20, FFprobePath: "-"})
	before := e.state(t)

	r := &lazyReader{prefix: media.BuildFtyp("isom", "isom"), n: -1}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err := e.lib.Upload(context.Background(), r, meta("endless"))
	runtime.ReadMemStats(&m1)
	wantCode(t, err, marquee.ETOOLARGE)
	if got, want := marquee.ErrorMessage(err), "the file is larger than the 32 MiB limit for videos"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if r.produced > limit+1 {
		t.Errorf("read %d bytes, want at most limit+1 = %d", r.produced, limit+1)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8<<20 {
		t.Errorf("streaming %d bytes allocated %d bytes, want < 8 MiB", r.produced, alloc)
	}
	e.assertUnchanged(t, before)

	img := &lazyReader{prefix: []byte{0xFF, 0xD8, 0xFF, 0xE0}, n: -1}
	_, err = e.lib.Upload(context.Background(), img, meta("endless image"))
	wantCode(t, err, marquee.ETOOLARGE)
	if img.produced > 1<<20+1 {
		t.Errorf("read %d bytes of an image, want at most %d", img.produced, 1<<20+1)
	}
	e.assertUnchanged(t, before)
}

// The limit is inclusive: a file of exactly MaxVideoBytes is accepted.
func TestUploadLimitBoundary(t *testing.T) {
	mp4 := media.BuildMP4(64, 32, 100, true)
	e := newEnv(t, media.Config{MaxVideoBytes: int64(len(mp4)), FFprobePath: "-"})
	e.mustUpload(t, mp4, "exact")
	_, err := e.lib.Upload(context.Background(), bytes.NewReader(append(mp4, 0)), meta("one more"))
	wantCode(t, err, marquee.ETOOLARGE)
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestStageReadErrorCleansUp(t *testing.T) {
	e := newEnv(t, media.Config{})
	before := e.state(t)
	boom := errors.New("connection reset")
	body := pngBytes(t, noise(200, 200))
	_, err := e.lib.Stage(context.Background(), &failingReader{data: body[:20000], err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Stage error = %v, want it to wrap the reader's error", err)
	}
	e.assertUnchanged(t, before)

	// The client goes away after 1 MiB of an endless body.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancellingReader{lazyReader: lazyReader{prefix: media.BuildFtyp("isom", "isom"), n: -1},
		after: 1 << 20, cancel: cancel}
	_, err = e.lib.Stage(ctx, r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Stage error = %v, want context.Canceled", err)
	}
	e.assertUnchanged(t, before)
}

// cancellingReader cancels a context once it has produced after bytes.
type cancellingReader struct {
	lazyReader
	after  int64
	cancel context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.produced >= r.after {
		r.cancel()
	}
	return r.lazyReader.Read(p)
}

func TestStageDiscardAndCommitOnce(t *testing.T) {
	e := newEnv(t, media.Config{})
	before := e.state(t)
	data := pngBytes(t, stripes(10, 10, red))
	s, err := e.lib.Stage(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != media.KindImage || s.MIME != "image/png" || s.Size != int64(len(data)) || s.Width != 10 {
		t.Fatalf("staged = %+v", s)
	}
	if tmp := e.files(t, "tmp"); len(tmp) != 1 {
		t.Fatalf("tmp while staged = %v, want one file", tmp)
	}
	for range 2 {
		if err := s.Discard(); err != nil {
			t.Fatal(err)
		}
	}
	e.assertUnchanged(t, before)
	_, err = e.lib.Commit(context.Background(), s, meta("late"))
	wantCode(t, err, marquee.EINVALID)

	s, err = e.lib.Stage(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.lib.Commit(context.Background(), s, meta("ok")); err != nil {
		t.Fatal(err)
	}
	_, err = e.lib.Commit(context.Background(), s, meta("again"))
	wantCode(t, err, marquee.EINVALID)
	if err := s.Discard(); err != nil {
		t.Fatal(err)
	}
	if len(e.files(t, "blobs")) != 1 || len(e.files(t, "tmp")) != 0 {
		t.Fatal("want one blob and no temp file")
	}
}

// Bad metadata fails before the body is read; a bad name at Commit drops
// the staged file.
func TestUploadInvalidMeta(t *testing.T) {
	e := newEnv(t, media.Config{})
	before := e.state(t)
	body := &failingReader{err: errors.New("the body must not be read")}
	tests := []media.Meta{
		{Name: "  ", OrgID: "org_root"},
		{Name: strings.Repeat("n", 256), OrgID: "org_root"},
		{Name: "ok", Tags: []string{"no spaces"}, OrgID: "org_root"},
		{Name: "ok", Tags: []string{""}, OrgID: "org_root"},
	}
	for _, m := range tests {
		_, err := e.lib.Upload(context.Background(), body, m)
		wantCode(t, err, marquee.EINVALID)
	}
	s, err := e.lib.Stage(context.Background(), bytes.NewReader(pngBytes(t, stripes(4, 4, red))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.lib.Commit(context.Background(), s, media.Meta{Name: "\t"})
	wantCode(t, err, marquee.EINVALID)
	e.assertUnchanged(t, before)
}

// A failed insert removes the blob it created, but not a blob another item
// uses.
func TestCommitStoreFailureLeavesNoBlob(t *testing.T) {
	e := newEnv(t, media.Config{})
	data := pngBytes(t, stripes(8, 8, blue))
	before := e.state(t)
	_, err := e.lib.Upload(context.Background(), bytes.NewReader(data),
		media.Meta{Name: "orphan", OrgID: "org_does_not_exist"})
	wantCode(t, err, marquee.EINVALID) // the store refuses the unknown organisation
	e.assertUnchanged(t, before)

	e.mustUpload(t, data, "first")
	before = e.state(t)
	_, err = e.lib.Upload(context.Background(), bytes.NewReader(data),
		media.Meta{Name: "orphan", OrgID: "org_does_not_exist"})
	wantCode(t, err, marquee.EINVALID)
	e.assertUnchanged(t, before) // the shared blob stays
}

// Same bytes twice: two items, one blob. The blob and its renditions go
// with the last item.
func TestDedupAndDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, media.Config{})
	data := pngBytes(t, stripes(64, 32, red, blue))
	a := e.mustUpload(t, data, "a")
	b := e.mustUpload(t, data, "b")
	if a.ID == b.ID || a.SHA256 != b.SHA256 {
		t.Fatalf("items %s/%s, hashes %s/%s", a.ID, b.ID, a.SHA256, b.SHA256)
	}
	if blobs := e.files(t, "blobs"); len(blobs) != 1 {
		t.Fatalf("blobs = %v, want one", blobs)
	}
	if _, err := e.lib.Rendition(ctx, a.ID, 16, 16, media.FitFill); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lib.Thumbnail(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(e.files(t, "renditions")); n != 2 {
		t.Fatalf("%d renditions, want 2", n)
	}

	if err := e.lib.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if len(e.files(t, "blobs")) != 1 || len(e.files(t, "renditions")) != 2 {
		t.Fatal("deleting one of two items removed shared files")
	}
	_, err := e.lib.Get(ctx, a.ID)
	wantCode(t, err, marquee.ENOTFOUND)
	if _, f, err := e.lib.Open(ctx, b.ID); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}

	if err := e.lib.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if blobs, rends := e.files(t, "blobs"), e.files(t, "renditions"); len(blobs) != 0 || len(rends) != 0 {
		t.Fatalf("after deleting both: blobs %v, renditions %v", blobs, rends)
	}
	wantCode(t, e.lib.Delete(ctx, b.ID), marquee.ENOTFOUND)
	_, _, err = e.lib.Open(ctx, b.ID)
	wantCode(t, err, marquee.ENOTFOUND)
}

func TestUpdateAndList(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, media.Config{FFprobePath: "-"})
	img := e.mustUpload(t, pngBytes(t, stripes(4, 4, red)), "image")
	vid := e.mustUpload(t, media.BuildMP4(64, 32, 10, true), "video")

	name, tags := "  Renamed\x07 ", []string{"Lobby", "LOBBY", "tet"}
	it, err := e.lib.Update(ctx, img.ID, media.Update{Name: &name, Tags: &tags})
	if err != nil {
		t.Fatal(err)
	}
	if it.Name != "Renamed" || !slices.Equal(it.Tags, []string{"lobby", "tet"}) {
		t.Fatalf("Update = %q %q", it.Name, it.Tags)
	}
	bad := []string{"a b"}
	_, err = e.lib.Update(ctx, img.ID, media.Update{Tags: &bad})
	wantCode(t, err, marquee.EINVALID)
	_, err = e.lib.Update(ctx, "med_nope", media.Update{Name: &name})
	wantCode(t, err, marquee.ENOTFOUND)

	items, _, err := e.lib.List(ctx, media.Filter{Tag: " LOBBY "})
	if err != nil || len(items) != 1 || items[0].ID != img.ID {
		t.Fatalf("List(tag) = %v, %v", items, err)
	}
	items, _, err = e.lib.List(ctx, media.Filter{Kind: media.KindVideo})
	if err != nil || len(items) != 1 || items[0].ID != vid.ID {
		t.Fatalf("List(kind) = %v, %v", items, err)
	}
	_, _, err = e.lib.List(ctx, media.Filter{Kind: "audio"})
	wantCode(t, err, marquee.EINVALID)
	_, _, err = e.lib.List(ctx, media.Filter{Limit: 501})
	wantCode(t, err, marquee.EINVALID)
}

// NewLibrary removes what a crash left in Dir/tmp.
func TestNewLibraryCleansTmp(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tmp/upload-123", "tmp/sub/x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, media.Config{Dir: dir})
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "tmp")); len(entries) != 0 {
		t.Fatalf("tmp holds %d entries after NewLibrary", len(entries))
	}
	if _, err := media.NewLibrary(e.db, media.Config{Dir: dir, FFprobePath: "/no/such/ffprobe"}); err == nil {
		t.Fatal("NewLibrary with a missing ffprobe path: want an error")
	}
	if _, err := media.NewLibrary(e.db, media.Config{}); err == nil {
		t.Fatal("NewLibrary without Dir: want an error")
	}
}
