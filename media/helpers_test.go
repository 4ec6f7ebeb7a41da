package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/sqlstore"
)

// testEnv is a Library on a fresh SQLite store and data directory.
type testEnv struct {
	lib *media.Library
	dir string
	db  *sqlstore.DB
}

// newEnv opens a migrated SQLite store and a Library on a temp directory;
// cfg.Dir is set unless given. Both are closed when t ends.
func newEnv(t testing.TB, cfg media.Config) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	lib, err := media.NewLibrary(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := lib.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testEnv{lib: lib, dir: cfg.Dir, db: db}
}

func meta(name string, tags ...string) media.Meta {
	return media.Meta{Name: name, Tags: tags, OrgID: "org_root", CreatedBy: "usr_test"}
}

func (e *testEnv) mustUpload(t testing.TB, data []byte, name string) *media.Item {
	t.Helper()
	it, err := e.lib.Upload(context.Background(), bytes.NewReader(data), meta(name))
	if err != nil {
		t.Fatalf("Upload(%s): %v", name, err)
	}
	return it
}

// files lists the regular files under e.dir/sub with their sizes.
func (e *testEnv) files(t testing.TB, sub string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	root := filepath.Join(e.dir, sub)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// state is what a failed upload must leave unchanged.
type state struct {
	tmp, blobs map[string]int64
	rows       int
}

func (e *testEnv) state(t testing.TB) state {
	t.Helper()
	items, _, err := e.lib.List(context.Background(), media.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return state{tmp: e.files(t, "tmp"), blobs: e.files(t, "blobs"), rows: len(items)}
}

func (e *testEnv) assertUnchanged(t testing.TB, before state) {
	t.Helper()
	after := e.state(t)
	if !sameFiles(before.tmp, after.tmp) {
		t.Errorf("Dir/tmp changed: before %v, after %v", before.tmp, after.tmp)
	}
	if !sameFiles(before.blobs, after.blobs) {
		t.Errorf("Dir/blobs changed: before %v, after %v", before.blobs, after.blobs)
	}
	if before.rows != after.rows {
		t.Errorf("rows: before %d, after %d", before.rows, after.rows)
	}
}

func sameFiles(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := marquee.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

// Colours used by the layout tests.
var (
	red    = color.NRGBA{255, 0, 0, 255}
	green  = color.NRGBA{0, 255, 0, 255}
	blue   = color.NRGBA{0, 0, 255, 255}
	yellow = color.NRGBA{255, 255, 0, 255}
	black  = color.NRGBA{0, 0, 0, 255}
)

// stripes returns a w×h image of equal-width vertical stripes.
func stripes(w, h int, cols ...color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, cols[x*len(cols)/w])
		}
	}
	return img
}

// noise returns a w×h image of deterministic noise that compresses badly.
func noise(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withEXIFOrientation inserts an APP1 Exif segment holding only an
// Orientation tag right after the JPEG's SOI marker.
func withEXIFOrientation(jpg []byte, orientation uint16) []byte {
	tiff := []byte("MM\x00\x2A")
	tiff = binary.BigEndian.AppendUint32(tiff, 8) // offset of IFD0
	tiff = binary.BigEndian.AppendUint16(tiff, 1) // one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3) // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1) // count
	tiff = binary.BigEndian.AppendUint16(tiff, orientation)
	tiff = append(tiff, 0, 0)                     // value padding
	tiff = binary.BigEndian.AppendUint32(tiff, 0) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngHeaderOnly returns a small PNG whose IHDR declares w×h RGBA pixels,
// with valid CRCs, a tiny IDAT and IEND: a decompression-bomb shape.
func pngHeaderOnly(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, deflate, no filter, no interlace
	// zlib stream of a few zero bytes.
	idat := []byte{0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01}
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", idat)...)
	return append(out, chunk("IEND", nil)...)
}

// decodeFile decodes a rendition.
func decodeFile(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", filepath.Base(path), err)
	}
	return img
}

// near reports whether c is within tol of want on every channel, alpha
// included.
func near(c color.Color, want color.NRGBA, tol float64) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) float64 { return math.Abs(float64(a) - float64(b)) }
	if n.A == 0 && want.A == 0 {
		return true
	}
	return d(n.R, want.R) <= tol && d(n.G, want.G) <= tol && d(n.B, want.B) <= tol && d(n.A, want.A) <= tol
}

// checkPixels asserts colours at points of img.
func checkPixels(t testing.TB, img image.Image, want map[image.Point]color.NRGBA) {
	t.Helper()
	for p, c := range want {
		if got := img.At(img.Bounds().Min.X+p.X, img.Bounds().Min.Y+p.Y); !near(got, c, 48) {
			t.Errorf("pixel %v = %v, want %v", p, color.NRGBAModel.Convert(got), c)
		}
	}
}
