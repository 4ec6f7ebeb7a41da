package media

import (
	"bytes"
	"encoding/binary"

	"github.com/marquee-signage/marquee"
)

// sniffLen is how many leading bytes Stage reads before deciding what a file
// is. It covers every magic number below and a typical EBML header.
const sniffLen = 4096

// acceptedFormats is the user-facing list shown when a format is refused.
const acceptedFormats = "JPEG, PNG, WebP, GIF, MP4/MOV, WebM/Matroska"

// The MIME types the library accepts and stores.
const (
	mimeJPEG      = "image/jpeg"
	mimePNG       = "image/png"
	mimeWebP      = "image/webp"
	mimeGIF       = "image/gif"
	mimeMP4       = "video/mp4"
	mimeQuickTime = "video/quicktime"
	mimeWebM      = "video/webm"
	mimeMatroska  = "video/x-matroska"
)

// format is the outcome of sniffing: the kind and MIME type of an accepted
// file.
type format struct {
	Kind Kind
	MIME string
}

// mp4Brands are the ftyp brands accepted as MP4/MOV-family video. Brands
// ending in '*' are prefixes ("iso*" covers iso2…iso9, isom is listed too).
var mp4Brands = []string{"isom", "iso*", "mp41", "mp42", "avc1", "M4V ", "M4VP", "qt  "}

// sniff classifies head, the first bytes of a file, by magic numbers only:
// names and client-declared types are never consulted. head must not be
// empty. It returns EUNSUPPORTED, naming what was detected, for anything
// that is not an accepted image or video format.
func sniff(head []byte) (format, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return format{KindImage, mimeJPEG}, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return format{KindImage, mimePNG}, nil
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return format{KindImage, mimeGIF}, nil
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		if webpAnimated(head) {
			return format{}, unsupported("an animated WebP")
		}
		return format{KindImage, mimeWebP}, nil
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return sniffFtyp(head)
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return sniffEBML(head)
	}
	return format{}, unsupported(describeUnknown(head))
}

// unsupported returns the EUNSUPPORTED error for a detected format.
func unsupported(what string) error {
	return marquee.Errorf(marquee.EUNSUPPORTED, "unsupported file type (%s); accepted: %s", what, acceptedFormats)
}

// webpAnimated reports whether an extended (VP8X) WebP header has its
// animation flag set: x/image/webp decodes stills only.
func webpAnimated(head []byte) bool {
	return len(head) >= 21 && string(head[12:16]) == "VP8X" && head[20]&0x02 != 0
}

// sniffFtyp classifies an ISO base media file by its ftyp brands: the major
// brand or any compatible brand must be an accepted video brand.
func sniffFtyp(head []byte) (format, error) {
	size := int(binary.BigEndian.Uint32(head[0:4]))
	if size < 16 || size > len(head) {
		size = min(len(head), 64)
	}
	major := string(head[8:12])
	brands := []string{major}
	for off := 16; off+4 <= size; off += 4 {
		brands = append(brands, string(head[off:off+4]))
	}
	for _, b := range brands {
		if mp4BrandOK(b) {
			if major == "qt  " {
				return format{KindVideo, mimeQuickTime}, nil
			}
			return format{KindVideo, mimeMP4}, nil
		}
	}
	switch major {
	case "heic", "heix", "mif1", "msf1", "hevc", "heim", "heis":
		return format{}, unsupported("a HEIF/HEIC image")
	case "avif", "avis":
		return format{}, unsupported("an AVIF image")
	case "crx ":
		return format{}, unsupported("a Canon raw image")
	}
	return format{}, unsupported("an ISO media file with brand " + printable(major))
}

func mp4BrandOK(b string) bool {
	for _, ok := range mp4Brands {
		if ok == b || (ok[3] == '*' && len(b) == 4 && b[:3] == ok[:3]) {
			return true
		}
	}
	return false
}

// sniffEBML classifies an EBML file by the DocType of its header. A header
// without DocType is Matroska, the EBML default.
func sniffEBML(head []byte) (format, error) {
	docType, err := ebmlDocType(head)
	if err != nil {
		return format{}, marquee.WrapError(marquee.EINVALID, err, "the WebM/Matroska header is corrupt")
	}
	switch docType {
	case "webm":
		return format{KindVideo, mimeWebM}, nil
	case "matroska":
		return format{KindVideo, mimeMatroska}, nil
	}
	return format{}, unsupported("an EBML file of type " + printable(docType))
}

// describeUnknown names a refused format for the error message.
func describeUnknown(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "a TIFF image"
	case bytes.HasPrefix(head, []byte("BM")):
		return "a BMP image"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "a PDF document"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "an ELF executable"
	case bytes.HasPrefix(head, []byte("MZ")):
		return "a Windows executable"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a ZIP archive"
	case bytes.HasPrefix(head, []byte{0x1F, 0x8B}):
		return "a gzip archive"
	case bytes.HasPrefix(head, []byte("8BPS")):
		return "a Photoshop document"
	case bytes.HasPrefix(head, []byte{0, 0, 1, 0}):
		return "an icon file"
	case len(head) >= 12 && string(head[:4]) == "RIFF":
		return "a RIFF file of type " + printable(string(head[8:12]))
	}
	if markup := describeMarkup(head); markup != "" {
		return markup
	}
	return "unrecognised data"
}

// describeMarkup recognises SVG, HTML and other XML after an optional byte
// order mark and leading white space.
func describeMarkup(head []byte) string {
	text := bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	text = bytes.TrimLeft(text, " \t\r\n")
	if len(text) == 0 || text[0] != '<' {
		return ""
	}
	lower := bytes.ToLower(text)
	switch {
	case bytes.Contains(lower, []byte("<svg")):
		return "an SVG image"
	case bytes.Contains(lower, []byte("<!doctype html")), bytes.Contains(lower, []byte("<html")),
		bytes.Contains(lower, []byte("<head")), bytes.Contains(lower, []byte("<body")),
		bytes.Contains(lower, []byte("<script")):
		return "an HTML document"
	case bytes.HasPrefix(lower, []byte("<?xml")):
		return "an XML document"
	}
	return "a markup document"
}

// printable quotes s for a user message, replacing bytes that are not
// printable ASCII so that binary junk never reaches a client.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return "\"" + string(b) + "\""
}
