package media

import (
	"bufio"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strconv"

	"golang.org/x/image/webp"

	"github.com/marquee-signage/marquee"
)

// formatName is the user-facing name of an image MIME type.
func formatName(mime string) string {
	switch mime {
	case mimeJPEG:
		return "JPEG"
	case mimePNG:
		return "PNG"
	case mimeGIF:
		return "GIF"
	case mimeWebP:
		return "WebP"
	}
	return "image"
}

// imageConfig reads only the header of the image in r and returns its size.
// The decoder is chosen by mime, never by image.DecodeConfig's registry,
// which imaging extends with TIFF and BMP.
func imageConfig(r io.Reader, mime string) (image.Config, error) {
	switch mime {
	case mimeJPEG:
		return jpeg.DecodeConfig(r)
	case mimePNG:
		return png.DecodeConfig(r)
	case mimeGIF:
		return gif.DecodeConfig(r)
	case mimeWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("no decoder for %s", mime)
}

// checkSize refuses images larger than the configured limits.
func (l *Library) checkSize(w, h int) error {
	if w <= 0 || h <= 0 {
		return marquee.Errorf(marquee.EINVALID, "image is %d×%d; it has no pixels", w, h)
	}
	if int64(w)*int64(h) > int64(l.cfg.MaxPixels) || w > l.cfg.MaxSide || h > l.cfg.MaxSide {
		mp := strconv.FormatFloat(float64(l.cfg.MaxPixels)/1e6, 'f', -1, 64)
		return marquee.Errorf(marquee.EINVALID, "image is %d×%d; at most %s MP and %d px a side",
			w, h, mp, l.cfg.MaxSide)
	}
	return nil
}

// decodeImageFile decodes the image at path, of type mime, in two steps: the
// header alone first, refusing images over the pixel and side limits, so a
// small file declaring a huge canvas (a decompression bomb) never reaches the
// full decoder; then the full decode, which proves the data is complete.
// JPEGs are turned by their EXIF orientation; a GIF yields its first frame.
// Failures are EINVALID. The caller holds a worker-pool slot.
func (l *Library) decodeImageFile(path, mime string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	cfg, err := imageConfig(bufio.NewReader(f), mime)
	if err != nil {
		return nil, corruptImage(mime, err)
	}
	if err := l.checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind image: %w", err)
	}
	l.fullDecodes.Add(1)
	img, err := decodeFull(bufio.NewReaderSize(f, 64<<10), mime, cfg)
	if err != nil {
		return nil, corruptImage(mime, err)
	}
	return img, nil
}

// decodeFull decodes a whole image whose header gave cfg.
func decodeFull(r io.Reader, mime string, cfg image.Config) (image.Image, error) {
	switch mime {
	case mimeJPEG:
		return decodeJPEGOriented(r)
	case mimePNG:
		return png.Decode(r)
	case mimeWebP:
		return webp.Decode(r)
	case mimeGIF:
		img, err := gif.Decode(r)
		if err != nil {
			return nil, err
		}
		return gifFrameOnScreen(img, cfg), nil
	}
	return nil, fmt.Errorf("no decoder for %s", mime)
}

// gifFrameOnScreen places a GIF's first frame on its logical screen when the
// frame covers only part of it, leaving the rest transparent.
func gifFrameOnScreen(frame image.Image, cfg image.Config) image.Image {
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	if frame.Bounds() == screen {
		return frame
	}
	canvas := image.NewNRGBA(screen)
	draw.Draw(canvas, frame.Bounds(), frame, frame.Bounds().Min, draw.Src)
	return canvas
}

// corruptImage is the EINVALID error for an image that fails to decode.
// The decoders do not tell truncation from corruption reliably (a cut JPEG
// is "short Huffman data"), so the message names both.
func corruptImage(mime string, err error) error {
	return marquee.WrapError(marquee.EINVALID, err, "the %s image is corrupt or truncated", formatName(mime))
}

// opaque reports whether every pixel of img is fully opaque.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xFFFF {
				return false
			}
		}
	}
	return true
}
