package media

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/marquee-signage/marquee"
)

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	jpg := encoded(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	pngb := encoded(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	gifb := encoded(t, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) })
	tif := encoded(t, func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) })
	bmpb := encoded(t, func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) })
	webpStill := []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
	webpAnim := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00")

	tests := []struct {
		name     string
		head     []byte
		wantMIME string // "" when refused
		wantCode string
		wantMsg  string
	}{
		{"jpeg", jpg, mimeJPEG, "", ""},
		{"png", pngb, mimePNG, "", ""},
		{"gif", gifb, mimeGIF, "", ""},
		{"webp", webpStill, mimeWebP, "", ""},
		{"mp4 isom", BuildFtyp("isom", "isom"), mimeMP4, "", ""},
		{"mp4 by compatible brand", BuildFtyp("dash", "iso6", "mp41"), mimeMP4, "", ""},
		{"m4v", BuildFtyp("M4V ", "M4V "), mimeMP4, "", ""},
		{"quicktime", BuildFtyp("qt  ", "qt  "), mimeQuickTime, "", ""},
		{"webm", ebmlHeader("webm"), mimeWebM, "", ""},
		{"matroska", ebmlHeader("matroska"), mimeMatroska, "", ""},
		{"ebml without doctype", el(ebmlIDHeader, uintEl(0x4286, 1)), mimeMatroska, "", ""},

		{"animated webp", webpAnim, "", marquee.EUNSUPPORTED, "animated WebP"},
		{"tiff", tif, "", marquee.EUNSUPPORTED, "TIFF"},
		{"bmp", bmpb, "", marquee.EUNSUPPORTED, "BMP"},
		{"svg", []byte("\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), "", marquee.EUNSUPPORTED, "SVG"},
		{"xml", []byte("<?xml version=\"1.0\"?><feed/>"), "", marquee.EUNSUPPORTED, "XML"},
		{"html", []byte("\n<!DOCTYPE html><html><body>hi</body></html>"), "", marquee.EUNSUPPORTED, "HTML"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "", marquee.EUNSUPPORTED, "PDF"},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00"), "", marquee.EUNSUPPORTED, "ELF"},
		{"pe", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), "", marquee.EUNSUPPORTED, "Windows executable"},
		{"zip", []byte("PK\x03\x04\x14\x00"), "", marquee.EUNSUPPORTED, "ZIP"},
		{"heic", BuildFtyp("heic", "mif1", "heic"), "", marquee.EUNSUPPORTED, "HEIF"},
		{"avif", BuildFtyp("avif", "avif", "mif1"), "", marquee.EUNSUPPORTED, "AVIF"},
		{"other ftyp", BuildFtyp("3gp4", "3gp4"), "", marquee.EUNSUPPORTED, `brand "3gp4"`},
		{"wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), "", marquee.EUNSUPPORTED, `RIFF file of type "WAVE"`},
		{"other ebml", ebmlHeader("foo\x01"), "", marquee.EUNSUPPORTED, `"foo?"`},
		{"text", []byte("hello, world"), "", marquee.EUNSUPPORTED, "unrecognised"},
		{"one byte", []byte{0xFF}, "", marquee.EUNSUPPORTED, "unrecognised"},
		{"corrupt ebml", []byte{0x1A, 0x45, 0xDF, 0xA3, 0x00}, "", marquee.EINVALID, "corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sniff(tt.head)
			if tt.wantMIME != "" {
				if err != nil || got.MIME != tt.wantMIME {
					t.Fatalf("sniff = %+v, %v; want %s", got, err, tt.wantMIME)
				}
				return
			}
			if code := marquee.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("sniff error = %v (code %q), want code %q", err, code, tt.wantCode)
			}
			msg := marquee.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("message %q does not name %q", msg, tt.wantMsg)
			}
			if tt.wantCode == marquee.EUNSUPPORTED && !strings.Contains(msg, acceptedFormats) {
				t.Fatalf("message %q does not list the accepted formats", msg)
			}
		})
	}
}
