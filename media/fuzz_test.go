package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
)

// The probes and the sniffer read untrusted bytes: they must never panic
// or loop, whatever they are given.

func FuzzProbeMP4(f *testing.F) {
	f.Add(BuildMP4(64, 32, 10, true))
	f.Add(concat(BuildFtyp("isom"), BuildBox64("moov", BuildMvhd(1, 1, 1), BuildTrak(BuildTkhd(1, 1, 1, true)))))
	if b, err := os.ReadFile("testdata/clip.mp4"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkProbe(t, probeMP4, b)
	})
}

func FuzzProbeWebM(f *testing.F) {
	f.Add(concat(ebmlHeader("webm"), elUnknown(mkvIDSegment), el(mkvIDInfo, f64El(mkvIDDuration, 1)),
		webmTracks(8, 8), elUnknown(mkvIDCluster), el(0xA3, []byte{1})))
	if b, err := os.ReadFile("testdata/clip.webm"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkProbe(t, probeWebM, b)
	})
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add(BuildFtyp("isom", "iso2"))
	f.Add(ebmlHeader("webm"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 {
			checkSniff(t, b)
		}
	})
}

// checkProbe runs a container probe on b: it must not panic, must answer
// the same twice (it reads at offsets only, nothing is kept), and what it
// accepts has no negative size or duration.
func checkProbe(t *testing.T, probe func(io.ReaderAt, int64) (videoInfo, error), b []byte) {
	t.Helper()
	info, err := probe(bytes.NewReader(b), int64(len(b)))
	info2, err2 := probe(bytes.NewReader(b), int64(len(b)))
	if info != info2 || (err == nil) != (err2 == nil) {
		t.Fatalf("two probes disagree: %+v, %v and %+v, %v", info, err, info2, err2)
	}
	if err == nil && (info.Width < 0 || info.Height < 0 || info.DurationMS < 0) {
		t.Fatalf("probe accepted %+v", info)
	}
}

// acceptedMIME is the kind of each MIME type sniff may answer.
var acceptedMIME = map[string]Kind{
	mimeJPEG: KindImage, mimePNG: KindImage, mimeWebP: KindImage, mimeGIF: KindImage,
	mimeMP4: KindVideo, mimeQuickTime: KindVideo, mimeWebM: KindVideo, mimeMatroska: KindVideo,
}

// checkSniff sniffs b: an accepted format is one of the list, with a
// decoder for images; a refusal is EUNSUPPORTED listing what is accepted,
// or EINVALID for an accepted format's corrupt header. Its message is
// shown to the client as is, so it must be plain text that echoes no
// control bytes of the file.
func checkSniff(t *testing.T, b []byte) {
	t.Helper()
	ft, err := sniff(b)
	if err != nil {
		msg := marquee.ErrorMessage(err)
		switch marquee.ErrorCode(err) {
		case marquee.EUNSUPPORTED:
			if !strings.Contains(msg, acceptedFormats) {
				t.Fatalf("sniff refused with %v, which does not say what is accepted", err)
			}
		case marquee.EINVALID:
		default:
			t.Fatalf("sniff refused with %v", err)
		}
		if !utf8.ValidString(msg) || strings.IndexFunc(msg, unicode.IsControl) >= 0 {
			t.Fatalf("refusal message %q is not plain text", msg)
		}
		return
	}
	if kind, ok := acceptedMIME[ft.MIME]; !ok || kind != ft.Kind {
		t.Fatalf("sniff accepted %+v", ft)
	}
	if ft.Kind == KindImage {
		if _, err := imageConfig(bytes.NewReader(b), ft.MIME); err != nil && strings.HasPrefix(err.Error(), "no decoder") {
			t.Fatalf("sniffed %s, which has no decoder", ft.MIME)
		}
	}
}

// fuzzStore is a Store that Stage never calls: uploads are only staged.
type fuzzStore struct{ Store }

// Small limits keep each input cheap; they are what the invariants check.
const (
	fuzzMaxPixels = 1 << 20
	fuzzMaxSide   = 2048
)

// FuzzStage runs an upload's whole validation on any bytes: magic-byte
// sniffing, the size limits, the image header check before any full decode
// (decompression bombs), the full decode with EXIF orientation, and the
// MP4 and WebM probes (ffprobe off, so the built-in ones run). It must not
// panic. A refusal is EINVALID, EUNSUPPORTED or ETOOLARGE, its message
// does not name the server's files, no temp file is left, and an image
// over the pixel limits was never fully decoded. An accepted upload is
// what sniff says, hashed and sized right, and has a picture within the
// limits, whose size is the header's (turned by a quarter for EXIF
// orientations that rotate).
func FuzzStage(f *testing.F) {
	for _, b := range fuzzImages(f) {
		f.Add(b)
	}
	f.Add(BuildMP4(64, 32, 10, true))
	f.Add(concat(ebmlHeader("webm"), elUnknown(mkvIDSegment), el(mkvIDInfo, f64El(mkvIDDuration, 1)),
		webmTracks(8, 8), elUnknown(mkvIDCluster), el(0xA3, []byte{1})))
	for _, name := range []string{"testdata/clip.mp4", "testdata/clip.webm"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(pngBomb(100000, 100000))
	f.Add([]byte("II*\x00 a TIFF"))
	f.Add([]byte{0xFF, 0xD8, 0xFF})
	f.Add([]byte{})

	dir := f.TempDir()
	lib, err := NewLibrary(fuzzStore{}, Config{Dir: dir, FFprobePath: "-", FFmpegPath: "-",
		MaxImageBytes: 4 << 20, MaxVideoBytes: 8 << 20, MaxPixels: fuzzMaxPixels, MaxSide: fuzzMaxSide})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { lib.Close(context.Background()) })
	tmp := filepath.Join(dir, "tmp")

	f.Fuzz(func(t *testing.T, b []byte) {
		decodes := lib.FullDecodes()
		s, err := lib.Stage(context.Background(), bytes.NewReader(b))
		if err != nil {
			switch marquee.ErrorCode(err) {
			case marquee.EINVALID, marquee.EUNSUPPORTED, marquee.ETOOLARGE:
			default:
				t.Fatalf("Stage refused with %v", err)
			}
			if msg := marquee.ErrorMessage(err); strings.Contains(msg, dir) || strings.Contains(msg, "upload-") {
				t.Fatalf("refusal message %q names a file", msg)
			}
			if strings.Contains(err.Error(), "MP and") && lib.FullDecodes() != decodes {
				t.Fatalf("an image over the pixel limits was decoded: %v", err)
			}
			wantNoTemp(t, tmp)
			return
		}
		defer func() {
			if err := s.Discard(); err != nil {
				t.Error(err)
			}
			wantNoTemp(t, tmp)
		}()
		ft, err := sniff(b[:min(len(b), sniffLen)])
		sum := sha256.Sum256(b)
		switch {
		case err != nil || ft.Kind != s.Kind || ft.MIME != s.MIME:
			t.Fatalf("staged %s %s, but sniff says %+v, %v", s.Kind, s.MIME, ft, err)
		case s.Size != int64(len(b)) || s.SHA256 != hex.EncodeToString(sum[:]):
			t.Fatalf("staged %d bytes %s, want %d bytes %x", s.Size, s.SHA256, len(b), sum)
		case s.Width <= 0 || s.Height <= 0 || s.DurationMS < 0:
			t.Fatalf("staged %dx%d, %d ms", s.Width, s.Height, s.DurationMS)
		}
		if s.Kind != KindImage {
			return
		}
		if s.Width*s.Height > fuzzMaxPixels || s.Width > fuzzMaxSide || s.Height > fuzzMaxSide {
			t.Fatalf("staged a %dx%d image, over the limits", s.Width, s.Height)
		}
		cfg, err := imageConfig(bytes.NewReader(b), s.MIME)
		if err != nil {
			t.Fatalf("staged an image whose header does not decode: %v", err)
		}
		if !(s.Width == cfg.Width && s.Height == cfg.Height) && !(s.MIME == mimeJPEG && s.Width == cfg.Height && s.Height == cfg.Width) {
			t.Fatalf("staged %dx%d, but the %s header says %dx%d", s.Width, s.Height, s.MIME, cfg.Width, cfg.Height)
		}
	})
}

func wantNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d temp files left in %s", len(entries), dir)
	}
}

// fuzzImages are small images of every accepted kind, a JPEG with an
// EXIF orientation that turns it, and one with a broken EXIF block.
func fuzzImages(f *testing.F) [][]byte {
	img := image.NewNRGBA(image.Rect(0, 0, 12, 5))
	for x := range 12 {
		img.Set(x, x%5, color.NRGBA{uint8(20 * x), 80, 160, 255})
	}
	var j, p, g bytes.Buffer
	if err := jpeg.Encode(&j, img, nil); err != nil {
		f.Fatal(err)
	}
	if err := png.Encode(&p, img); err != nil {
		f.Fatal(err)
	}
	if err := gif.Encode(&g, img, nil); err != nil {
		f.Fatal(err)
	}
	withExif := func(orientation uint16, tiff []byte) []byte {
		if tiff == nil {
			// Big-endian TIFF header, one IFD with one SHORT entry:
			// Orientation (0x0112).
			tiff = []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
			tiff = binary.BigEndian.AppendUint16(tiff, orientation)
			tiff = append(tiff, 0, 0, 0, 0, 0, 0)
		}
		app1 := append([]byte("Exif\x00\x00"), tiff...)
		seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(app1)+2))
		return concat(j.Bytes()[:2], seg, app1, j.Bytes()[2:])
	}
	webp := []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00") // 1×1, lossless
	return [][]byte{j.Bytes(), p.Bytes(), g.Bytes(), webp,
		withExif(6, nil), withExif(3, nil), withExif(8, nil), withExif(0, []byte("MM\x00*\xff\xff\xff\xff"))}
}

// pngBomb is a valid PNG header declaring w×h pixels, with no data after
// it: only the header check stands between it and a huge allocation.
func pngBomb(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))
	chunk = append(chunk, "IHDR"...)
	chunk = append(chunk, ihdr...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return concat([]byte("\x89PNG\r\n\x1a\n"), chunk)
}
